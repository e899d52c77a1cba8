"""Motion transfer: where the source face's landmarks go for one driving frame.

The driving motion is taken relative to the driving's reference (first) frame and split in two:

- the head's motion ``R_t``: a similarity (rotation, uniform scale, translation) fitted on
  points expressions barely move (:data:`~clothflow.animate.face.landmarks.STABLE`);
- the expression: what is left once ``R_t`` is undone, a displacement per landmark in the
  reference frame's coordinates.

A similarity ``S`` from the driving's reference face to the source face carries both into the
source's frame, so the driver's head position and size in their video do not matter:
``target = (S R_t S^-1)(source + S_lin(expression))``. Eye openness is transferred as a ratio
(driving lid gap over its reference lid gap, applied to the source's own lid gap) so that a
closed driving eye closes the source's eye whatever the two eyes' sizes.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> src = rng.uniform(100, 200, (478, 2)); drv = src * 0.5 + 7
    >>> moved = drv.copy(); moved += (3, 0)                      # the driver's head moves 3 px right
    >>> out = transfer_motion(src, drv, moved, MotionConfig(eye_ratio=False))
    >>> np.allclose(out, src + (6, 0))                         # 6 px on the source, twice the size
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clothflow.animate.face.landmarks import EYES, STABLE


@dataclass(frozen=True)
class MotionConfig:
    """How driving motion is carried over.

    Attributes:
        head_motion: transfer the head's translation, in-plane rotation and scale too;
            False keeps the source head still and transfers the expression only.
        eye_ratio: transfer eye openness as a ratio of lid gaps (see the module docstring);
            False moves the lids by the driving's displacement like every other point.
        eye_closed_below: an eye whose openness ratio is below this counts as fully closed
            (the face mesh rarely brings the lids fully together on a closed eye); ratios
            between it and 1 are stretched onto [0, 1].
        eye_open_max: the openness ratio is clipped to this (eyes opened wide).
    """

    head_motion: bool = True
    eye_ratio: bool = True
    eye_closed_below: float = 0.4
    eye_open_max: float = 1.3


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity ``dst ~ s R src + t`` (Umeyama, no reflection).

    Args:
        src, dst: K x 2 corresponding points, K >= 2.

    Returns:
        2 x 3 float64 matrix [s R | t].
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    var = (a**2).sum() / len(a)
    u, sig, vt = np.linalg.svd(b.T @ a / len(a))
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1, 1] = -1.0
    rot = u @ d @ vt
    scale = float(np.trace(np.diag(sig) @ d) / max(var, 1e-12))
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points (K x 2) mapped by a 2 x 3 affine matrix."""
    return np.asarray(pts, np.float64) @ m[:, :2].T + m[:, 2]


def invert_affine(m: np.ndarray) -> np.ndarray:
    """The inverse of a 2 x 3 affine matrix."""
    a_inv = np.linalg.inv(m[:, :2])
    return np.concatenate([a_inv, -(a_inv @ m[:, 2])[:, None]], axis=1)


def compose_affine(m2: np.ndarray, m1: np.ndarray) -> np.ndarray:
    """The affine ``m2 after m1`` (both 2 x 3)."""
    return np.concatenate([m2[:, :2] @ m1[:, :2], (m2[:, :2] @ m1[:, 2] + m2[:, 2])[:, None]], axis=1)


def eye_openness(landmarks: np.ndarray, eye: int) -> np.ndarray:
    """Lid gaps (upper minus lower lid point, K x 2 vectors) of one eye, outer corner to inner."""
    lm = np.asarray(landmarks, np.float64)
    _, pairs = EYES[eye]
    return np.stack([lm[u] - lm[l] for u, l in pairs])


def transfer_motion(
    source: np.ndarray, driving_ref: np.ndarray, driving: np.ndarray, config: MotionConfig | None = None
) -> np.ndarray:
    """The source's landmarks moved as the driving face moved since its reference frame.

    Args:
        source: N x 2 landmarks of the source face (pixels of the source image).
        driving_ref: N x 2 landmarks of the driving's reference (first) frame.
        driving: N x 2 landmarks of the current driving frame.
        config: see :class:`MotionConfig`.

    Returns:
        N x 2 float64 target landmarks in the source image's pixels.
    """
    cfg = config or MotionConfig()
    src = np.asarray(source, np.float64)
    ref = np.asarray(driving_ref, np.float64)
    cur = np.asarray(driving, np.float64)
    stable = list(STABLE)
    head = fit_similarity(ref[stable], cur[stable])  # R_t: reference -> current, driving pixels
    to_src = fit_similarity(ref[stable], src[stable])  # S: driving reference -> source
    expression = apply_affine(invert_affine(head), cur) - ref  # N x 2, reference frame
    target = src + expression @ to_src[:, :2].T
    if cfg.eye_ratio:
        for eye, (_, pairs) in enumerate(EYES):
            ref_gap = np.linalg.norm(eye_openness(ref, eye), axis=1).mean()
            cur_gap = np.linalg.norm(eye_openness(apply_affine(invert_affine(head), cur), eye), axis=1).mean()
            ratio = float(np.clip(cur_gap / max(ref_gap, 1e-6), 0.0, cfg.eye_open_max))
            if ratio < 1.0:  # [eye_closed_below, 1] stretched onto [0, 1]
                ratio = max(0.0, (ratio - cfg.eye_closed_below) / (1.0 - cfg.eye_closed_below))
            src_gaps = eye_openness(src, eye)
            for k, (upper, lower) in enumerate(pairs):
                target[upper] = target[lower] + src_gaps[k] * ratio
    if cfg.head_motion:
        target = apply_affine(compose_affine(to_src, compose_affine(head, invert_affine(to_src))), target)
    return target

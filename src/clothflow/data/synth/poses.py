"""Poses for the synthetic renderer: a sampler with joint limits, and real keypoint sets.

A :class:`Pose` always holds all 18 COCO-18 keypoints (missing ones of real poses are filled
from a default skeleton, see :func:`fill_missing`); the renderer hides what the view hides.
Lengths are in torso units ``unit`` (pixels from the neck to the mid-hip).

Example:
    >>> pose = PoseSampler(0).sample((64, 44))
    >>> pose.keypoints.shape, pose.keypoints.dtype
    ((18, 2), dtype('float32'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clothflow.core.ops.pose import NUM_KEYPOINTS
from clothflow.core.errors import ClothflowError

# Default front-view skeleton, person facing the camera (their right on the image left),
# in torso units with the neck at the origin and y pointing down.
TEMPLATE = np.array(
    [
        [0.0, -0.36],  # nose
        [0.0, 0.0],  # neck
        [-0.39, 0.05], [-0.5, 0.66], [-0.56, 1.18],  # r shoulder, elbow, wrist
        [0.39, 0.05], [0.5, 0.66], [0.56, 1.18],  # l shoulder, elbow, wrist
        [-0.22, 1.0], [-0.25, 1.9], [-0.26, 2.75],  # r hip, knee, ankle
        [0.22, 1.0], [0.25, 1.9], [0.26, 2.75],  # l hip, knee, ankle
        [-0.07, -0.42], [0.07, -0.42],  # r eye, l eye
        [-0.16, -0.38], [0.16, -0.38],  # r ear, l ear
    ],
    dtype=np.float64,
)
# Fill order for missing points: (child, parent); a missing child is its parent plus the
# template bone, rotated and scaled like the rest of the pose.
_CHAINS: tuple[tuple[int, int], ...] = (
    (3, 2), (4, 3), (6, 5), (7, 6), (9, 8), (10, 9), (12, 11), (13, 12),
    (0, 1), (14, 0), (15, 0), (16, 0), (17, 0),
)
_CORE = (1, 2, 5, 8, 11)  # neck, shoulders, hips: filled from the whole-pose fit


@dataclass(frozen=True)
class Pose:
    """A full 18-point pose in an image of a given size.

    Attributes:
        keypoints: 18 x 2 float32 (x, y) pixels, all filled in (may lie outside the image).
        back: True for a back view (the person faces away; their right is on the image right).
        unit: torso length in pixels (neck to mid-hip), the scale of all body widths.
    """

    keypoints: np.ndarray
    back: bool
    unit: float


def _rot(deg: float) -> np.ndarray:
    r = np.deg2rad(deg)
    return np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])


def _limb(start: np.ndarray, angle_deg: float, length: float, outward: float) -> np.ndarray:
    """End of a bone hanging from ``start`` at ``angle_deg`` from straight down, + = outward."""
    r = np.deg2rad(angle_deg)
    return start + length * np.array([outward * np.sin(r), np.cos(r)])


class PoseSampler:
    """Random plausible standing / walking poses, or poses drawn from real keypoint sets.

    Args:
        rng: a numpy Generator or an int seed.
        back_prob: probability of a back view.
        real: optional M x 18 x 2 real poses (x, y) in a ``frame_hw`` frame; when given,
            :meth:`sample` draws one of them instead of a random pose (use :meth:`from_keypoints`).
        frame_hw: the (H, W) frame of ``real``.
    """

    def __init__(self, rng: np.random.Generator | int = 0, back_prob: float = 0.3, real: np.ndarray | None = None, frame_hw: tuple[int, int] | None = None) -> None:
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.back_prob = back_prob
        self.real = real
        self.frame_hw = frame_hw

    @classmethod
    def from_keypoints(cls, keypoints: np.ndarray, frame_hw: tuple[int, int], rng: np.random.Generator | int = 0) -> "PoseSampler":
        """A sampler over real poses; rows with fewer than 3 present points are dropped.

        Args:
            keypoints: N x 18 x 2 (x, y) pixels, -1 for missing.
            frame_hw: (H, W) of the frame the keypoints are in.

        Raises:
            ClothflowError: if no row has enough points.
        """
        kps = np.asarray(keypoints, dtype=np.float64).reshape(-1, NUM_KEYPOINTS, 2)
        present = (kps >= 0).all(-1)
        keep = (present.sum(1) >= 3) & present[:, [1, 2, 5]].any(1)
        if not keep.any():
            raise ClothflowError("no pose has at least 3 keypoints including the neck or a shoulder")
        return cls(rng, real=kps[keep], frame_hw=tuple(frame_hw))

    def sample(self, size: tuple[int, int], body=None, back: bool | None = None, arm_range: float = 1.0) -> Pose:
        """Draw a pose for an image of ``size`` (H, W).

        Args:
            size: (H, W) of the image to render.
            body: an Identity (its proportions are used by random poses); None = average.
            back: force a front (False) or back (True) view; None = random.
            arm_range: scale of the arm angle ranges (try-on uses calmer arms, e.g. 0.6).

        Returns:
            A :class:`Pose`.
        """
        if self.real is not None:
            row = self.real[int(self.rng.integers(len(self.real)))]
            return pose_from_keypoints(row, self.frame_hw, size)
        is_back = bool(self.rng.random() < self.back_prob) if back is None else back
        return self._random(size, body, is_back, arm_range)

    def _random(self, size: tuple[int, int], body, back: bool, arm_range: float) -> Pose:
        rng = self.rng
        sh = body.shoulder if body is not None else 0.39
        hp = body.hip if body is not None else 0.22
        arm = body.arm_len if body is not None else 1.17
        leg = body.leg_len if body is not None else 1.75
        k = TEMPLATE.copy()
        k[2], k[5] = (-sh, 0.05), (sh, 0.05)
        k[8], k[11] = (-hp, 1.0), (hp, 1.0)
        for side, (s, e, w) in ((-1.0, (2, 3, 4)), (1.0, (5, 6, 7))):
            up = rng.uniform(4, 50 * arm_range) if rng.random() > 0.1 else rng.uniform(60, 150 * arm_range)
            bend = rng.uniform(0, 25) if rng.random() < 0.5 else rng.uniform(20, 150 * arm_range)
            k[e] = _limb(k[s], up, 0.55 * arm, side)
            k[w] = _limb(k[e], up - bend, 0.45 * arm, side)
        stride = rng.uniform(0, 35)
        for i, (side, (h, kn, a)) in enumerate(((-1.0, (8, 9, 10)), (1.0, (11, 12, 13)))):
            spread = rng.uniform(-2, 12)
            lift = np.cos(np.deg2rad(stride)) if i == int(rng.integers(2)) else 1.0
            k[kn] = _limb(k[h], spread, 0.52 * leg * lift, side)
            k[a] = _limb(k[kn], spread + rng.uniform(-8, 6), 0.48 * leg, side)
        face = [0, 14, 15, 16, 17]
        k[face] = (k[face] - k[1]) @ _rot(rng.uniform(-12, 12)).T * (body.head if body is not None else 1.0) + k[1]
        hipc = (k[8] + k[11]) / 2
        k = (k - hipc) @ _rot(rng.uniform(-6, 6)).T + hipc
        if back:
            k[:, 0] = -k[:, 0]
        top = (k[1] + (k[1] - hipc) / np.linalg.norm(k[1] - hipc) * 0.66)[1]
        bottom = max(k[10, 1], k[13, 1]) + 0.2
        h, w = size
        unit = rng.uniform(0.8, 0.94) * h / (bottom - top)
        x0 = w / 2 + rng.uniform(-0.07, 0.07) * w
        y0 = rng.uniform(0.0, 1.0) * max(h - (bottom - top) * unit, 0.0) - top * unit
        kps = (k * unit + [x0, y0]).astype(np.float32)
        return Pose(kps, back, float(unit))


def _fit_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares s, R, t with dst ~ s R src + t (no reflection). src, dst: N x 2, N >= 2."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ sign @ vt
    var = (a**2).sum() / len(src)
    scale = float((d * np.diag(sign)).sum() / max(var, 1e-9))
    return scale, rot, mu_d - scale * rot @ mu_s


def fill_missing(kps: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """Complete a real pose from the default skeleton.

    Neck, shoulders and hips missing are placed by a similarity fit of :data:`TEMPLATE` to the
    present points; other missing points hang from their parent with the template bone.
    The view is "back" when the right shoulder is right of the left one (or, lacking shoulders,
    the face points are missing while an ear is present).

    Args:
        kps: 18 x 2 (x, y), -1 for missing; at least 2 present points.

    Returns:
        (filled 18 x 2 float64, back flag, torso unit in pixels).
    """
    kps = np.asarray(kps, dtype=np.float64)
    present = (kps >= 0).all(-1)
    if present[2] and present[5]:
        back = bool(kps[2, 0] > kps[5, 0])
    else:
        back = bool(not present[[0, 14, 15]].any() and present[[16, 17]].any())
    tmpl = TEMPLATE * [-1.0, 1.0] if back else TEMPLATE
    idx = np.flatnonzero(present)
    if len(idx) < 2:
        raise ClothflowError("a pose needs at least 2 keypoints to be completed")
    scale, rot, t = _fit_similarity(tmpl[idx], kps[idx])
    scale = max(scale, 1e-3)
    out = kps.copy()
    for i in _CORE:
        if not present[i]:
            out[i] = scale * rot @ tmpl[i] + t
    for child, parent in _CHAINS:
        if not present[child]:
            out[child] = out[parent] + scale * rot @ (tmpl[child] - tmpl[parent])
    unit = float(np.linalg.norm(out[1] - (out[8] + out[11]) / 2))
    return out, back, max(unit, 0.5 * scale)


def pose_from_keypoints(kps: np.ndarray, frame_hw: tuple[int, int], size: tuple[int, int]) -> Pose:
    """A real pose in a ``frame_hw`` frame -> a :class:`Pose` for an image of ``size``.

    The frame is scaled to the image height and centred horizontally (256 x 256 DeepFashion
    keypoints land in a 256 x 176 image at x - 40).
    """
    kps = np.asarray(kps, dtype=np.float64)
    present = (kps >= 0).all(-1)
    s = size[0] / frame_hw[0]
    moved = np.where(present[:, None], (kps - [frame_hw[1] / 2, 0.0]) * s + [size[1] / 2, 0.0], -1.0)
    filled, back, unit = fill_missing(moved)
    return Pose(filled.astype(np.float32), back, max(unit, size[0] / 24))


__all__ = ["Pose", "PoseSampler", "TEMPLATE", "fill_missing", "pose_from_keypoints"]

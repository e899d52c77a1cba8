"""Head pose read off the face mesh's 3-D landmarks, a rigid fit between two meshes, and the
measures of head turning: the pose, identity kept by landmark geometry
(:func:`identity_error`) and by appearance once turned back (:func:`appearance_error`).

Coordinates are the face mesh's own, in pixels: x to the image's right, y down, z away from
the camera (MediaPipe's z, multiplied by the image width as its x is, so the three share a
scale; :meth:`~clothflow.animate.face.landmarks.FaceLandmarker.landmarks3d`). The camera is
taken as orthographic (the mesh's x and y are already the pixels the face covers).

The face's own axes come from its left/right symmetry and its vertical midline: x from the
person's right to their left (the mean of many symmetric pairs), y from the forehead down to
the nose base, z out of the back of the head. The pose is the rotation from the camera's
axes to those, read as three angles in degrees:

- yaw > 0: the face turns towards the image's right (the person's own left);
- pitch > 0: the face tilts up;
- roll > 0: the head leans clockwise in the image.

``R = Ry(-yaw) Rx(-pitch) Rz(roll)`` (:func:`rotation_matrix`) rebuilds the rotation. Zero is
where the eye line is level and the forehead sits straight above the nose base, so a face
looking at the camera reads a few degrees of pitch that belong to its anatomy; compare
angles of one face (a clip against its first frame, an output against its portrait), not
of two people.

Example (random points stand in for a face; turned to look at the camera, then by 30 degrees):
    >>> rng = np.random.default_rng(0)
    >>> lm = rng.normal(0, 40, (478, 3))
    >>> level = lm @ face_rotation(lm)
    >>> [round(a, 1) for a in head_pose(level @ rotation_matrix(30, -10, 5).T)]
    [30.0, -10.0, 5.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from clothflow.animate.face.fill import Box
from clothflow.animate.face.landmarks import (
    CHEEKS,
    EYEBROWS,
    EYES,
    FACE_OVAL,
    MOUTH_CORNERS,
    NOSE,
    OUTER_LIP_UPPER,
    STABLE,
)
from clothflow.animate.face.mesh import affine_maps, face_triangles, orient, rasterise, texture_maps, visible_fraction

# Symmetric landmark pairs (person's right id, left id), read off the named groups.
PAIRS: tuple[tuple[int, int], ...] = (
    tuple((EYES[0][0][k], EYES[1][0][k]) for k in (0, 1))
    + tuple(p for (ru, rl), (lu, ll) in zip(EYES[0][1], EYES[1][1]) for p in ((ru, lu), (rl, ll)))
    + tuple((FACE_OVAL[len(FACE_OVAL) - k], FACE_OVAL[k]) for k in range(1, len(FACE_OVAL) // 2))
    + tuple(zip(EYEBROWS[:10], EYEBROWS[10:]))
    + tuple(zip(CHEEKS[0::2], CHEEKS[1::2]))
    + ((98, 327), (48, 278), (115, 344), MOUTH_CORNERS)
    + tuple((OUTER_LIP_UPPER[k], OUTER_LIP_UPPER[-1 - k]) for k in range(1, 5))
)
# The up direction: from the nose base to the brow line (eye corners averaged); the jaw is left out.
_UPPER = (10, 151, 9, 8, 168, 33, 133, 362, 263)
_LOWER = (2, 94, 98, 327, 164)
# Points that move with the skull only (no jaw, lips or lids): rigid fits use these.
RIGID = tuple(dict.fromkeys(STABLE + (151, 9, 8, 1, 2, 94, 98, 327, 48, 278, 115, 344, 21, 251, 54, 284)))
# About 60 points spread over the face, for the identity measure.
IDENTITY = tuple(dict.fromkeys(
    FACE_OVAL[::2] + EYEBROWS[::2] + NOSE + CHEEKS + (33, 133, 362, 263, 61, 291, 0, 17, 37, 267, 84, 314)
))


def _check3(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 2 or lm.shape[1] != 3 or lm.shape[0] < 468:
        raise ValueError(f"expected N x 3 face-mesh landmarks (N >= 468), got shape {lm.shape}")
    return lm


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def rotation_matrix(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """The 3 x 3 rotation of a head at (yaw, pitch, roll) degrees (see the module docstring)."""
    return _ry(-np.radians(yaw)) @ _rx(-np.radians(pitch)) @ _rz(np.radians(roll))


def euler_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a 3 x 3 rotation; the inverse of :func:`rotation_matrix`."""
    r = np.asarray(rotation, np.float64)
    forward = -r[:, 2]  # where the face looks: (0, 0, -1), towards the camera, at rest
    yaw = np.arctan2(forward[0], -forward[2])
    pitch = np.arctan2(-forward[1], np.hypot(forward[0], forward[2]))
    rest = _rx(pitch) @ _ry(yaw) @ r  # a rotation about z alone
    return float(np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(np.arctan2(rest[1, 0], rest[0, 0])))


def face_rotation(landmarks: np.ndarray) -> np.ndarray:
    """The head's 3 x 3 rotation (identity for a level face looking at the camera).

    Args:
        landmarks: N x 3 face-mesh landmarks (pixels, see the module docstring).

    Returns:
        3 x 3 float64 rotation whose columns are the face's x, y, z axes in camera coordinates.
    """
    lm = _check3(landmarks)
    pairs = np.array(PAIRS)
    x = (lm[pairs[:, 1]] - lm[pairs[:, 0]]).sum(0)
    x /= max(np.linalg.norm(x), 1e-9)
    down = lm[list(_LOWER)].mean(0) - lm[list(_UPPER)].mean(0)
    y = down - x * (down @ x)
    y /= max(np.linalg.norm(y), 1e-9)
    return np.stack([x, y, np.cross(x, y)], 1)


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of the head whose N x 3 face-mesh landmarks are given."""
    return euler_angles(face_rotation(landmarks))


@dataclass(frozen=True)
class RigidMotion:
    """``y = scale * rotation @ (x - origin) + origin + shift``: a head's motion between two meshes.

    Attributes:
        scale: uniform scale.
        rotation: 3 x 3 rotation.
        origin: 3 point the rotation turns about (the first mesh's centroid of the fitted points).
        shift: 3 translation of that point.
    """

    scale: float
    rotation: np.ndarray
    origin: np.ndarray
    shift: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        """K x 3 points moved."""
        p = np.asarray(points, np.float64)
        return self.scale * (p - self.origin) @ self.rotation.T + self.origin + self.shift

    def undo(self, points: np.ndarray) -> np.ndarray:
        """K x 3 points moved back (the inverse of :meth:`apply`)."""
        p = np.asarray(points, np.float64)
        return (p - self.origin - self.shift) @ self.rotation / self.scale + self.origin


def fit_rigid(src: np.ndarray, dst: np.ndarray, ids: tuple[int, ...] = RIGID) -> RigidMotion:
    """Least-squares similarity ``dst ~ s R (src - c) + c + t`` on ``ids`` (Umeyama, no reflection).

    Args:
        src, dst: N x 3 landmarks of two meshes.
        ids: the landmarks fitted (default: :data:`RIGID`, points the jaw and lids leave still).

    Returns:
        The motion, about the centroid ``c`` of ``src[ids]``.
    """
    a = np.asarray(src, np.float64)[list(ids)]
    b = np.asarray(dst, np.float64)[list(ids)]
    mu_a, mu_b = a.mean(0), b.mean(0)
    a0, b0 = a - mu_a, b - mu_b
    u, sig, vt = np.linalg.svd(b0.T @ a0 / len(a))
    d = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2, 2] = -1.0
    rot = u @ d @ vt
    scale = float(np.trace(np.diag(sig) @ d) / max((a0**2).sum() / len(a), 1e-12))
    return RigidMotion(scale, rot, mu_a, mu_b - mu_a)


def pairwise_shape(points: np.ndarray) -> np.ndarray:
    """Distances between all pairs of K x 2 points over their mean (K (K - 1) / 2 values)."""
    p = np.asarray(points, np.float64)
    i, j = np.triu_indices(len(p), 1)
    d = np.linalg.norm(p[i] - p[j], axis=1)
    return d / max(float(d.mean()), 1e-9)


def identity_error(portrait: np.ndarray, output: np.ndarray, rotation: np.ndarray | None = None,
                   ids: tuple[int, ...] = IDENTITY) -> float:
    """How far a face's landmark geometry is from the portrait's at the same pose (0 the same).

    The portrait's 3-D landmarks are turned to the pose (by default the output's own, a rigid
    fit on :data:`RIGID` of the two readings), both are projected onto the image plane, and
    the normalised distances between all pairs of ``ids`` are compared: the mean absolute
    difference, a relative error (0.05 is 5 % of the typical distance).

    Args:
        portrait: N x 3 landmarks of the portrait.
        output: N x 3 landmarks of an animated frame (or of another face).
        rotation: 3 x 3 turn of the portrait to compare at (e.g. the driver's since its first
            frame: where the output should be); None: the output's own pose.
        ids: the landmarks compared (default: :data:`IDENTITY`, about 60 over the whole face).

    Returns:
        The relative error.
    """
    src, out = _check3(portrait), _check3(output)
    turn = fit_rigid(src, out).rotation if rotation is None else np.asarray(rotation, np.float64)
    turned = src @ turn.T
    a, b = pairwise_shape(turned[list(ids), :2]), pairwise_shape(out[list(ids), :2])
    return float(np.abs(a - b).mean())


def appearance_error(portrait: np.ndarray, portrait_lm: np.ndarray, output: np.ndarray, output_lm: np.ndarray,
                     min_seen: float = 0.5) -> float:
    """How far an output's face looks from the portrait's once turned back (0-255 levels).

    The face mesh read on the output carries the output's pixels back onto the portrait's
    view, triangle by triangle (the piecewise-affine map between the two readings); the mean
    absolute difference from the portrait over the triangles the output shows (at least
    ``min_seen`` of their area unhidden) is the error. A face turned as a surface comes back
    as the portrait, blurred where it was foreshortened; a face folded or smeared by a 2-D
    warp comes back with the fold. A face not turned at all comes back exact, so read this
    with the pose error.

    Args:
        portrait, output: H x W x 3 uint8 images.
        portrait_lm, output_lm: their N x 3 face-mesh landmarks.
        min_seen: visible share of a triangle in the output for it to count.

    Returns:
        Mean absolute difference per channel, 0-255.
    """
    src, out = _check3(portrait_lm), _check3(output_lm)
    tris = orient(face_triangles(), src)
    h, w = portrait.shape[:2]
    seen = visible_fraction(out, out[:, 2], tris, output.shape[:2])
    ids = rasterise(src, src[:, 2], tris, (h, w))
    map_x, map_y = texture_maps(ids, affine_maps(src, out, tris), Box(0, 0, w, h))
    back = cv2.remap(np.asarray(output), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    keep = (ids >= 0) & (seen[np.maximum(ids, 0)] >= min_seen)
    if not keep.any():
        return float("nan")
    return float(np.abs(back.astype(np.float64) - np.asarray(portrait, np.float64))[keep].mean())


def relative_angles(readings: list[np.ndarray]) -> np.ndarray:
    """(yaw, pitch) of each of F face-mesh readings (N x 3) relative to the first, a rigid fit
    of the two on :data:`RIGID`: F x 2 degrees. How a clip's turns are measured (the driver's
    and the output's alike), so a face's own pose at rest does not count."""
    first = np.asarray(readings[0], np.float64)
    return np.array([euler_angles(fit_rigid(first, lm).rotation)[:2] for lm in readings])

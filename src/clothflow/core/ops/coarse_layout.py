"""A coarse human-parsing map from keypoints (and a person mask), for data without parsing.

The DeepFashion pose-transfer splits ship poses but no parsing. When no parser output is
available, :func:`coarse_layout` splits the person region into five coarse parts by the
nearest bone of the skeleton: head (face + hair), upper body (upper-clothes), arms, lower body
(pants, hips to knees) and legs (knees down), written as LIP ids.

Limits, stated plainly: it knows nothing about clothing. A dress or skirt is labelled as
upper-clothes down to the hips and pants below; sleeves are labelled as arms; long hair over
the shoulders becomes upper-clothes; shoes are part of the legs; the face / hair split is a
disc around the eyes and nose. Without a person mask the region is a fixed-width "capsule"
body around the bones, not the person's outline. It is a stand-in for training the layout and
flow stages on real photos, not a parser.

Example:
    >>> import numpy as np
    >>> from clothflow.data.synth.poses import PoseSampler
    >>> kps = PoseSampler(0).sample((64, 44)).keypoints
    >>> parse = coarse_layout(kps, (64, 44))
    >>> parse.shape, parse.dtype, bool((parse == 5).any())
    ((64, 44), dtype('uint8'), True)
"""

from __future__ import annotations

import cv2
import numpy as np

from clothflow.core.ops.labels import LIP
from clothflow.core.ops.pose import visible

# (keypoint a, keypoint b, LIP id) for every bone that votes for a label.
_BONES: tuple[tuple[int, int, int], ...] = (
    (0, 14, LIP["face"]), (0, 15, LIP["face"]), (14, 16, LIP["face"]), (15, 17, LIP["face"]),
    (1, 2, LIP["upper-clothes"]), (1, 5, LIP["upper-clothes"]), (1, 8, LIP["upper-clothes"]),
    (1, 11, LIP["upper-clothes"]), (2, 8, LIP["upper-clothes"]), (5, 11, LIP["upper-clothes"]),
    (2, 3, LIP["right-arm"]), (3, 4, LIP["right-arm"]),
    (5, 6, LIP["left-arm"]), (6, 7, LIP["left-arm"]),
    (8, 11, LIP["pants"]), (8, 9, LIP["pants"]), (11, 12, LIP["pants"]),
    (9, 10, LIP["right-leg"]), (12, 13, LIP["left-leg"]),
)
_FACE_POINTS = (0, 14, 15)
_HEAD_POINTS = (0, 14, 15, 16, 17)


def body_unit(kps: np.ndarray, size: tuple[int, int]) -> float:
    """Torso length in pixels (neck to mid-hip), from shoulders or the image height when unknown.

    Args:
        kps: 18 x 2 (x, y), -1 missing.
        size: (H, W) of the image.

    Returns:
        A positive length in pixels.
    """
    ok = visible(kps)
    if ok[1] and ok[8] and ok[11]:
        return max(float(np.linalg.norm(kps[1] - (kps[8] + kps[11]) / 2)), 2.0)
    if ok[2] and ok[5]:
        return max(1.3 * float(np.linalg.norm(kps[2] - kps[5])), 2.0)
    return size[0] / 4.0


def capsule_mask(kps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A body-shaped region drawn from the bones: thick limbs, filled torso, a head disc.

    Args:
        kps: 18 x 2 (x, y) at ``size``, -1 missing.
        size: (H, W).

    Returns:
        H x W bool.
    """
    h, w = size
    ok = visible(kps)
    unit = body_unit(kps, size)
    canvas = np.zeros((h, w), np.uint8)
    pt = lambda i: (int(round(float(kps[i, 0]))), int(round(float(kps[i, 1]))))  # noqa: E731
    torso = [i for i in (2, 5, 11, 8) if ok[i]]
    if len(torso) >= 3:
        cv2.fillPoly(canvas, [np.array([pt(i) for i in torso], np.int32)], 1)
    for a, b, label in _BONES:
        if ok[a] and ok[b]:
            thick = 0.22 if label in (LIP["right-arm"], LIP["left-arm"]) else 0.3
            cv2.line(canvas, pt(a), pt(b), 1, max(int(thick * unit), 1), cv2.LINE_8)
    head = [i for i in _HEAD_POINTS if ok[i]]
    if head:
        centre = kps[head].mean(0)
        cv2.circle(canvas, (int(round(float(centre[0]))), int(round(float(centre[1])))), max(int(0.3 * unit), 1), 1, -1)
    return canvas.astype(bool)


def _segment_distance(px: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of N x 2 points to the segment a-b."""
    ab = b - a
    t = np.clip(((px - a) @ ab) / max(float(ab @ ab), 1e-6), 0.0, 1.0)
    return np.linalg.norm(px - (a + t[:, None] * ab), axis=1)


def coarse_layout(kps: np.ndarray, size: tuple[int, int], mask: np.ndarray | None = None) -> np.ndarray:
    """Coarse parsing of one person: each person pixel takes the label of its nearest bone.

    Args:
        kps: 18 x 2 (x, y) pixels at ``size``, -1 missing.
        size: (H, W) of the output.
        mask: optional H x W bool person mask (a silhouette, or :func:`foreground_mask`);
            default the :func:`capsule_mask` of the pose.

    Returns:
        H x W uint8 LIP ids: 0 background, 2 hair, 13 face, 5 upper-clothes, 14/15 arms,
        9 pants, 16/17 legs. All background when fewer than two keypoints are present.
    """
    h, w = size
    kps = np.asarray(kps, np.float64)
    ok = visible(kps)
    out = np.zeros((h, w), np.uint8)
    bones = [(kps[a], kps[b], lab) for a, b, lab in _BONES if ok[a] and ok[b]]
    if not bones:
        return out
    region = capsule_mask(kps, size) if mask is None else np.asarray(mask, bool)
    ys, xs = np.nonzero(region)
    if len(ys) == 0:
        return out
    px = np.stack([xs, ys], 1).astype(np.float64)
    dist = np.stack([_segment_distance(px, a, b) for a, b, _ in bones], 1)
    labels = np.array([lab for _, _, lab in bones], np.uint8)[dist.argmin(1)]
    torso = [i for i in (2, 5, 11, 8) if ok[i]]
    if len(torso) >= 3:  # the torso polygon belongs to the upper body, whatever bone is nearest
        poly = np.zeros((h, w), np.uint8)
        cv2.fillPoly(poly, [np.rint(kps[torso]).astype(np.int32)], 1)
        labels[poly[ys, xs] > 0] = LIP["upper-clothes"]
    unit = body_unit(kps, size)
    head = [i for i in _HEAD_POINTS if ok[i]]
    if head:
        centre = kps[head].mean(0)
        near_head = np.linalg.norm(px - centre, axis=1) < 0.42 * unit
        above_neck = px[:, 1] < (kps[1, 1] if ok[1] else centre[1] + 0.3 * unit)
        labels[near_head & above_neck] = LIP["face"]
        head_px = labels == LIP["face"]
        face = [i for i in _FACE_POINTS if ok[i]]
        if face:  # face: a disc around nose and eyes, the rest of the head is hair
            fc = kps[face].mean(0)
            is_face = (np.linalg.norm(px - fc, axis=1) < 0.2 * unit) | (px[:, 1] > fc[1] + 0.05 * unit)
            labels[head_px & ~is_face] = LIP["hair"]
        else:  # back view: all hair
            labels[head_px] = LIP["hair"]
    out[ys, xs] = labels
    return out


def foreground_mask(image: np.ndarray, kps: np.ndarray, threshold: float = 30.0) -> np.ndarray:
    """Person mask by background thresholding (studio photos on a plain background).

    The background colour is the median of the image border; pixels further than
    ``threshold`` (RGB distance) from it are foreground, kept only near the skeleton.

    Args:
        image: H x W x 3 uint8 RGB.
        kps: 18 x 2 (x, y) at the image's size, -1 missing.
        threshold: colour distance counted as foreground.

    Returns:
        H x W bool.
    """
    h, w = image.shape[:2]
    img = image.astype(np.float32)
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    fg = np.linalg.norm(img - np.median(border, 0), axis=-1) > threshold
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    near = cv2.dilate(capsule_mask(kps, (h, w)).astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=max(int(0.3 * body_unit(kps, (h, w))), 1)).astype(bool)
    return fg & near

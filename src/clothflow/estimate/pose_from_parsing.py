"""A rough pose read off a human parsing, for photos where the pose estimator finds no one.

MediaPipe misses people seen from the back in loose garments and close crops that cut off the
head. A parsing still shows where the head, the upper body, the arms and the legs are, and
their extents give the joints roughly: the neck at the top of the upper body, the shoulders
at its sides a little below, the hips where the upper body meets the lower one, the wrists at
the arm pixels farthest from the shoulders (arms told apart by the image side they are on),
the ankles at the bottom of each leg. A head of hair with little face is a view from the back:
sides are then swapped, as COCO names the person's own left and right. It is a fallback, a few pixels to tens of pixels off, never the first choice.

Example:
    >>> parse = np.zeros((100, 60), np.uint8)
    >>> parse[5:20, 22:38] = 13; parse[20:60, 15:45] = 5; parse[60:95, 18:29] = 16; parse[60:95, 31:42] = 17
    >>> kps = pose_from_parsing(parse)
    >>> [int(v) for v in kps[1]], int((kps[:, 0] >= 0).sum())
    ([29, 20], 10)
"""

from __future__ import annotations

import numpy as np

from clothflow.core.ops.labels import GROUPS, LIP
from clothflow.core.ops.pose import NUM_KEYPOINTS

_UPPER = GROUPS["upper"] + GROUPS["dress"]
_LOWER = GROUPS["bottom"]
_LEGS = (LIP["left-leg"], LIP["right-leg"], LIP["left-shoe"], LIP["right-shoe"])
_ARMS = (LIP["left-arm"], LIP["right-arm"])


def _rows(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask.any(1))


def _span(mask: np.ndarray, y: int) -> tuple[int, int] | None:
    xs = np.flatnonzero(mask[y])
    return (int(xs[0]), int(xs[-1])) if len(xs) else None


def pose_from_parsing(parse: np.ndarray, min_pixels: int = 20) -> np.ndarray:
    """18 COCO keypoints (x, y) read off a LIP parsing; -1 where the parsing does not show them.

    Args:
        parse: H x W LIP ids.
        min_pixels: a part smaller than this is taken as absent.

    Returns:
        18 x 2 float32 pixels, -1 missing.
    """
    parse = np.asarray(parse)
    kps = np.full((NUM_KEYPOINTS, 2), -1.0, np.float32)
    upper = np.isin(parse, _UPPER)
    face = np.isin(parse, GROUPS["face"])
    head = face | np.isin(parse, GROUPS["hair"])
    lower = np.isin(parse, _LOWER) | np.isin(parse, _LEGS)
    if upper.sum() < min_pixels:
        return kps
    ys = _rows(upper)
    bottom = int(ys[-1])
    centre = float(np.argwhere(upper)[:, 1].mean())
    column = np.flatnonzero(upper[:, int(round(centre))])  # the neck: where the body's middle column starts
    top = int(column[0]) if len(column) else int(ys[0])
    height = bottom - top + 1
    kps[1] = (centre, top)
    shoulder_y = int(ys[np.searchsorted(ys, min(top + int(0.12 * height), bottom))])
    left, right = _span(upper, shoulder_y)
    kps[2], kps[5] = (left + 0.15 * (right - left), shoulder_y), (right - 0.15 * (right - left), shoulder_y)
    # The hips: where the lower garment or the legs start, but no lower than a torso's length
    # (1.6 shoulder widths) below the neck, where a dress or a long coat hides them.
    hip_y = int(_rows(lower)[0]) if lower.sum() >= min_pixels else bottom
    hip_y = min(hip_y, bottom, int(top + 1.6 * (right - left)))
    hips = _span(upper | lower, min(hip_y, parse.shape[0] - 1))
    if hips is not None:
        width = hips[1] - hips[0]
        kps[8], kps[11] = (hips[0] + 0.3 * width, hip_y), (hips[1] - 0.3 * width, hip_y)
    for hip, knee, ankle, side in ((8, 9, 10, 0), (11, 12, 13, 1)):
        if kps[hip, 0] < 0 or lower.sum() < min_pixels:
            continue
        half = np.zeros_like(lower)
        cut = int(round(centre))
        if side == 0:
            half[:, :cut] = lower[:, :cut]
        else:
            half[:, cut:] = lower[:, cut:]
        rows = _rows(half)
        if len(rows) == 0 or rows[-1] - hip_y < 0.3 * height:
            continue
        foot = int(rows[-1])
        xs = np.flatnonzero(half[foot])
        kps[ankle] = (xs.mean(), foot)
        kps[knee] = ((kps[hip, 0] + kps[ankle, 0]) / 2, (hip_y + foot) / 2)
    arms = np.argwhere(np.isin(parse, _ARMS))  # split by the image side: the parser's sides flip in back views
    for shoulder, elbow, wrist, on_left in ((2, 3, 4, True), (5, 6, 7, False)):
        arm = arms[(arms[:, 1] < centre) == on_left]
        if len(arm) < min_pixels:
            continue
        far = arm[np.argmax(np.hypot(arm[:, 1] - kps[shoulder, 0], arm[:, 0] - kps[shoulder, 1]))]
        kps[wrist] = (far[1], far[0])
        kps[elbow] = (kps[shoulder] + kps[wrist]) / 2
    if face.sum() >= max(min_pixels, 0.15 * head.sum()):
        fy, fx = np.argwhere(face).mean(0)
        kps[0] = (fx, fy)
    elif head.sum() >= min_pixels:  # (nearly) all hair: seen from the back; COCO sides are the person's own
        kps[[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]] = kps[[5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10]]
    return kps

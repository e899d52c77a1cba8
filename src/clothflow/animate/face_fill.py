"""What a warp alone cannot show: closing eyelids and an opening mouth.

A warp only moves the source's pixels. When the lids close, the eye's interior (iris, white) is
squeezed, not covered; when a closed mouth opens, the lip line is stretched, not opened. Both are
fixed by comparing two masks in the output frame:

- the source region carried by the warp (the source's eye or inner-mouth polygon, warped like
  the image), and
- the same region drawn from the target landmarks.

Where the warped source eye shows but the target eye is shut, the output takes the eyelid image
(the source with its eye interiors painted over from the skin around them, warped the same way)
and a lash line is drawn along the closed lid. Where the target mouth is open but the source
showed lips, the output takes a dark mouth-interior colour. When target and source agree (the
first frame) both differences are zero and the output is the warped source untouched.

Example:
    >>> import numpy as np
    >>> m = polygon_mask(np.array([[2, 2], [8, 2], [8, 8], [2, 8]], np.float64), (10, 10))
    >>> float(m[5, 5]), float(m[0, 0])
    (1.0, 0.0)
"""

from __future__ import annotations

import cv2
import numpy as np

from clothflow.animate.face_landmarks import EYES, eye_contour, inner_mouth_contour

_SHIFT = 4  # sub-pixel bits for cv2 drawing


def polygon_mask(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An anti-aliased filled polygon.

    Args:
        points: K x 2 vertices (pixels, sub-pixel precision kept).
        size: (H, W) of the mask.

    Returns:
        H x W float32 in [0, 1].
    """
    mask = np.zeros(size, np.uint8)
    pts = np.round(np.asarray(points, np.float64) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA, _SHIFT)
    return mask.astype(np.float32) / 255.0


def region_masks(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Masks of both eyes' interiors and the inner mouth.

    Args:
        landmarks: N x 2 face-mesh landmarks (pixels).
        size: (H, W).

    Returns:
        H x W x 2 float32: channel 0 both eyes (between the lids), channel 1 the inner mouth.
    """
    lm = np.asarray(landmarks, np.float64)
    eyes = np.maximum(polygon_mask(lm[list(eye_contour(0))], size), polygon_mask(lm[list(eye_contour(1))], size))
    mouth = polygon_mask(lm[list(inner_mouth_contour())], size)
    return np.stack([eyes, mouth], -1)


def eyelid_image(source: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The source with both eyes painted over by the skin around them (the closed-lid look).

    The eye polygons are grown by about a third of the eye's height, so lashes and lid
    creases are painted over too, and filled by OpenCV's Telea inpainting from the skin
    around them, then lightly blurred so no streaks show.

    Args:
        source: H x W x 3 uint8 RGB.
        landmarks: N x 2 face-mesh landmarks of ``source``.

    Returns:
        H x W x 3 uint8 RGB.
    """
    lm = np.asarray(landmarks, np.float64)
    mask = np.zeros(source.shape[:2], np.uint8)
    out = source.copy()
    for eye in (0, 1):
        contour = lm[list(eye_contour(eye))]
        (outer, inner), _ = EYES[eye]
        width = float(np.linalg.norm(lm[outer] - lm[inner]))
        grow = max(2, int(round(width * 0.12)))
        pts = np.round(contour * (1 << _SHIFT)).astype(np.int32)
        one = np.zeros_like(mask)
        cv2.fillPoly(one, [pts], 255, cv2.LINE_8, _SHIFT)
        one = cv2.dilate(one, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        mask |= one
    painted = cv2.inpaint(out, mask, max(3.0, float(mask.shape[0]) / 100), cv2.INPAINT_TELEA)
    smooth = cv2.GaussianBlur(painted, (0, 0), 1.5)
    out[mask > 0] = smooth[mask > 0]
    return out


def lash_colour(source: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A lash-line colour: the darkest third of the source's pixels along both upper lids (3 float32)."""
    lm = np.asarray(landmarks, np.float64)
    h, w = source.shape[:2]
    ids = [u for _, pairs in EYES for u, _ in pairs]
    xy = np.clip(np.round(lm[ids]).astype(int), 0, [w - 1, h - 1])
    samples = source[xy[:, 1], xy[:, 0]].astype(np.float32)
    order = np.argsort(samples.sum(1))
    return samples[order[: max(1, len(order) // 3)]].mean(0)


def eye_closure(source: np.ndarray, target: np.ndarray, eye: int) -> float:
    """How far one eye is shut in ``target`` compared with ``source`` landmarks: 0 as open, 1 shut."""
    _, pairs = EYES[eye]
    s = np.mean([np.linalg.norm(source[u] - source[l]) for u, l in pairs])
    t = np.mean([np.linalg.norm(target[u] - target[l]) for u, l in pairs])
    return float(np.clip(1.0 - t / max(s, 1e-6), 0.0, 1.0))


def _blend(out: np.ndarray, other: np.ndarray | tuple, alpha: np.ndarray) -> None:
    """out = out (1 - alpha) + other alpha, in place (out float32 H x W x 3, alpha H x W)."""
    a = alpha[..., None]
    out *= 1.0 - a
    out += a * np.asarray(other, np.float32)


def close_eyes(
    out: np.ndarray, lids: np.ndarray, warped_eyes: np.ndarray, target_eyes: np.ndarray,
    source_lm: np.ndarray, target_lm: np.ndarray, lash: np.ndarray,
) -> None:
    """Cover what the target's lids cover, and draw the lash line of shut eyes (in place).

    Args:
        out: H x W x 3 float32 warped source (0-255).
        lids: H x W x 3 float32 the warped :func:`eyelid_image`.
        warped_eyes: H x W float32 the source's eye mask, warped.
        target_eyes: H x W float32 the eye mask of the target landmarks.
        source_lm, target_lm: N x 2 landmarks of the source and of this output frame.
        lash: 3 float32 lash colour.
    """
    size = out.shape[:2]
    _blend(out, lids, np.clip(warped_eyes - target_eyes, 0.0, 1.0))
    for eye in (0, 1):
        shut = eye_closure(source_lm, target_lm, eye)
        alpha = float(np.clip((shut - 0.5) / 0.4, 0.0, 1.0)) * 0.85
        if alpha <= 0:
            continue
        (outer, inner), pairs = EYES[eye]
        # the closed lid's edge: the middle between upper and lower lid points
        line = [target_lm[outer]] + [(target_lm[u] + target_lm[l]) / 2 for u, l in pairs] + [target_lm[inner]]
        width = float(np.linalg.norm(target_lm[outer] - target_lm[inner]))
        layer = np.zeros(size, np.uint8)
        pts = np.round(np.asarray(line) * (1 << _SHIFT)).astype(np.int32)
        cv2.polylines(layer, [pts], False, 255, max(1, int(round(width / 14))), cv2.LINE_AA, _SHIFT)
        _blend(out, lash, layer.astype(np.float32) / 255.0 * alpha)


def open_mouth(out: np.ndarray, warped_mouth: np.ndarray, target_mouth: np.ndarray, colour: tuple[int, int, int]) -> None:
    """Paint the mouth interior where the target's lips part wider than the source's did (in place).

    Args:
        out: H x W x 3 float32 warped source (0-255).
        warped_mouth: H x W float32 the source's inner-mouth mask, warped.
        target_mouth: H x W float32 the inner-mouth mask of the target landmarks.
        colour: RGB of the mouth interior.
    """
    alpha = np.clip(target_mouth - warped_mouth, 0.0, 1.0)
    if alpha.max() > 0:
        _blend(out, colour, cv2.GaussianBlur(alpha, (0, 0), 0.7))

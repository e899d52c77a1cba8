"""What a warp alone cannot show: lids that cover the eyes and a mouth that opens.

A warp only moves the source's pixels. When the lids close, the eye's interior (iris, white)
would be squeezed, not covered; when a mouth opens, the lips and teeth would be stretched, not
parted. So the eyes and the inner mouth are treated as openings through which an interior is
seen, each drawn from the target landmarks:

- inside a target opening, the source's own interior, moved rigidly with the opening (with the
  eye corners for an eye, with the middle of the upper lip for the mouth, so the upper teeth
  hang from the upper lip); where the opening is larger than the source's interior (a mouth
  opened wider than in the photo), a dark mouth-interior colour;
- where the warp carries the source's eye but the target eye is shut, the eyelid image (the
  source with its eyes painted over from the skin around them, warped the same way), and a
  lash line along a closed lid.

When target and source agree (the first frame) every blend weight is zero or replaces a pixel
by itself, so the output is the source untouched.

All functions work on a region of interest (:class:`Box`) around the eyes and mouth.

Example:
    >>> import numpy as np
    >>> m = polygon_mask(np.array([[2, 2], [8, 2], [8, 8], [2, 8]], np.float64), (10, 10))
    >>> float(m[5, 5]), float(m[0, 0])
    (1.0, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from clothflow.animate.face.landmarks import EYES, INNER_LIP_MIDDLE, eye_contour, inner_mouth_contour

_SHIFT = 4  # sub-pixel bits for cv2 drawing
REGIONS = 3  # channels of region masks: person's right eye, left eye, inner mouth


@dataclass(frozen=True)
class Box:
    """A pixel box (x0, y0) inclusive to (x1, y1) exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return self.y1 - self.y0, self.x1 - self.x0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def offset(self) -> np.ndarray:
        return np.array([self.x0, self.y0], np.float64)


def bounding_box(points: np.ndarray, size: tuple[int, int], margin: float) -> Box:
    """The box around K x 2 points grown by ``margin`` pixels, clipped to an (H, W) image."""
    h, w = size
    lo = np.floor(points.min(0) - margin).astype(int)
    hi = np.ceil(points.max(0) + margin).astype(int) + 1
    return Box(int(np.clip(lo[0], 0, w - 1)), int(np.clip(lo[1], 0, h - 1)), int(np.clip(hi[0], 1, w)), int(np.clip(hi[1], 1, h)))


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
    """Masks of the openings: each eye between its lids, and the inner mouth.

    Args:
        landmarks: N x 2 face-mesh landmarks (pixels of the mask's frame).
        size: (H, W).

    Returns:
        H x W x 3 float32 in [0, 1]: person's right eye, left eye, inner mouth.
    """
    lm = np.asarray(landmarks, np.float64)
    contours = (eye_contour(0), eye_contour(1), inner_mouth_contour())
    return np.stack([polygon_mask(lm[list(c)], size) for c in contours], -1)


def grown_eye_masks(landmarks: np.ndarray, size: tuple[int, int], grow: np.ndarray) -> np.ndarray:
    """Both eyes' masks, each contour point pushed ``grow`` pixels away from its eye's centre.

    With the push scaled down as an eye shuts, a shut eye's grown mask is as thin as the eye,
    so the lids painted over the warped (grown) source eye hide its lashes and lid margins too.

    Args:
        landmarks: N x 2 face-mesh landmarks (pixels of the mask's frame).
        size: (H, W).
        grow: 2 pixel amounts (person's right eye, left eye).

    Returns:
        H x W x 2 float32 in [0, 1].
    """
    lm = np.asarray(landmarks, np.float64)
    masks = []
    for eye in (0, 1):
        contour = lm[list(eye_contour(eye))]
        centre = contour.mean(0)
        away = contour - centre
        away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-6)
        masks.append(polygon_mask(contour + away * float(grow[eye]), size))
    return np.stack(masks, -1)


def opening_shifts(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """How far each opening's interior moves (3 x 2 pixels): eyes with their corners, mouth with the upper lip."""
    shifts = [np.mean([target[i] - source[i] for i in corners], 0) for corners, _ in EYES]
    shifts.append(target[INNER_LIP_MIDDLE[0]] - source[INNER_LIP_MIDDLE[0]])
    return np.array(shifts)


def shifted(image: np.ndarray, shift: np.ndarray, box: Box) -> np.ndarray:
    """``image`` translated by ``shift`` (x, y pixels), cut to ``box``; edges repeat. Float32 out."""
    h, w = box.size
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx = xs + np.float32(box.x0 - shift[0])
    my = ys + np.float32(box.y0 - shift[1])
    return cv2.remap(image.astype(np.float32, copy=False), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def eyelid_image(source: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The source with both eyes painted over by the skin around them (the closed-lid look).

    The eye polygons are grown by a fifth of the eye's width, so lashes and lid creases are
    painted over too, filled by OpenCV's Telea inpainting from the skin around them, then
    lightly blurred so no streaks show.

    Args:
        source: H x W x 3 uint8 RGB.
        landmarks: N x 2 face-mesh landmarks of ``source``.

    Returns:
        H x W x 3 uint8 RGB.
    """
    lm = np.asarray(landmarks, np.float64)
    mask = np.zeros(source.shape[:2], np.uint8)
    for eye in (0, 1):
        (outer, inner), _ = EYES[eye]
        grow = max(2, int(round(float(np.linalg.norm(lm[outer] - lm[inner])) * 0.2)))
        one = np.zeros_like(mask)
        pts = np.round(lm[list(eye_contour(eye))] * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(one, [pts], 255, cv2.LINE_8, _SHIFT)
        mask |= cv2.dilate(one, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    painted = cv2.inpaint(source, mask, max(3.0, float(mask.shape[0]) / 100), cv2.INPAINT_TELEA)
    smooth = cv2.GaussianBlur(painted, (0, 0), 1.5)
    out = source.copy()
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


def blend(out: np.ndarray, other: np.ndarray | tuple, alpha: np.ndarray) -> None:
    """out = out (1 - alpha) + other alpha, in place (out float32 H x W x 3, alpha H x W)."""
    a = alpha[..., None]
    out *= 1.0 - a
    out += a * np.asarray(other, np.float32)


def show_interior(
    out: np.ndarray, interior: np.ndarray, interior_mask: np.ndarray, opening: np.ndarray,
    fill: tuple[int, int, int] | None = None,
) -> None:
    """Draw an interior seen through a target opening (in place).

    Args:
        out: H x W x 3 float32 image (0-255).
        interior: H x W x 3 float32 the source moved with the opening (:func:`shifted`).
        interior_mask: H x W float32 the source's opening, moved the same way.
        opening: H x W float32 the target's opening.
        fill: colour where the opening reaches beyond the moved interior (None: the warp's pixels).
    """
    blend(out, interior, np.minimum(opening, interior_mask))
    if fill is not None:
        extra = np.clip(opening - interior_mask, 0.0, 1.0)
        if extra.max() > 0:
            blend(out, fill, cv2.GaussianBlur(extra, (0, 0), 0.7))


def draw_lashes(out: np.ndarray, source_lm: np.ndarray, target_lm: np.ndarray, colour: np.ndarray) -> None:
    """Draw the lash line of each eye that is more than half shut (in place, landmarks in ``out``'s frame).

    Args:
        out: H x W x 3 float32 image (0-255).
        source_lm, target_lm: N x 2 landmarks of the source and of this frame.
        colour: 3 float32 lash colour.
    """
    for eye in (0, 1):
        alpha = float(np.clip((eye_closure(source_lm, target_lm, eye) - 0.5) / 0.4, 0.0, 1.0)) * 0.85
        if alpha <= 0:
            continue
        (outer, inner), pairs = EYES[eye]
        line = [target_lm[outer]] + [(target_lm[u] + target_lm[l]) / 2 for u, l in pairs] + [target_lm[inner]]
        width = float(np.linalg.norm(target_lm[outer] - target_lm[inner]))
        layer = np.zeros(out.shape[:2], np.uint8)
        pts = np.round(np.asarray(line) * (1 << _SHIFT)).astype(np.int32)
        cv2.polylines(layer, [pts], False, 255, max(1, int(round(width / 14))), cv2.LINE_AA, _SHIFT)
        blend(out, colour, layer.astype(np.float32) / 255.0 * alpha)

"""Driving clips made from one still portrait: nods, a blink, an opening mouth; and a head that turns.

There is rarely a driving video at hand in tests, benchmarks and docs, so this edits a real
photo directly, frame by frame, without the animation code: the head moves by a rigid
rotation and shift of the whole picture, the eyes are shut by painting each eye over with the
skin colour next to it and drawing a lash line, and the mouth opens by pushing everything
below the lips down along a lens-shaped gap that is filled with a dark interior. The clip is
then framed differently from the portrait (cropped and resized), as a real driver would be.
:func:`turning_face_clip` turns the head by known yaw and pitch angles, which a 2-D edit
cannot do; it is rendered by face mode 2 (:mod:`clothflow.animate.face.turn`), and says why
that is circular and what checks it independently.

Example (scikit-image ships this portrait):
    >>> from skimage.data import astronaut
    >>> from clothflow.animate.face.landmarks import FaceLandmarker
    >>> portrait = astronaut()[:256, 96:352]  # 256 x 256 x 3 around the face
    >>> with FaceLandmarker() as find:
    ...     landmarks = find(portrait)
    >>> clip = synthetic_face_clip(portrait, landmarks)
    >>> clip.events[:4]
    ('neutral', 'nod', 'nod', 'neutral')
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from clothflow.animate.face.landmarks import EYES, INNER_LIP_MIDDLE, MOUTH_CORNERS, eye_contour

# (event, head rotation in degrees, head shift in face widths (x, y), mouth opening in mouth widths)
SCRIPT: tuple[tuple[str, float, tuple[float, float], float], ...] = (
    ("neutral", 0.0, (0.0, 0.0), 0.0),
    ("nod", 2.0, (0.0, 0.05), 0.0),
    ("nod", 4.0, (0.03, 0.1), 0.0),
    ("neutral", 0.0, (0.0, 0.0), 0.0),
    ("eyes_closed", 0.0, (0.0, 0.0), 0.0),
    ("eyes_closed", -2.0, (-0.03, 0.02), 0.0),
    ("neutral", 0.0, (0.0, 0.0), 0.0),
    ("mouth_open", 0.0, (0.0, 0.0), 0.2),
    ("mouth_open", 0.0, (0.0, 0.0), 0.4),
    ("neutral", -3.0, (-0.05, 0.0), 0.0),
    ("neutral", 0.0, (0.0, 0.0), 0.0),
)


# (event, yaw, pitch in degrees): the head turned right and left, then tilted up and down, then
# shut eyes and an open mouth on a turned head
TURN_SCRIPT: tuple[tuple[str, float, float], ...] = (
    ("neutral", 0.0, 0.0),
    ("turn", 15.0, 0.0),
    ("turn", 30.0, 0.0),
    ("turn", 35.0, 0.0),
    ("turn", 15.0, 0.0),
    ("neutral", 0.0, 0.0),
    ("turn", -15.0, 0.0),
    ("turn", -30.0, 0.0),
    ("turn", -35.0, 0.0),
    ("turn", -15.0, 0.0),
    ("neutral", 0.0, 0.0),
    ("tilt", 0.0, 10.0),
    ("tilt", 0.0, 20.0),
    ("tilt", 0.0, 10.0),
    ("neutral", 0.0, 0.0),
    ("tilt", 0.0, -10.0),
    ("tilt", 0.0, -20.0),
    ("tilt", 0.0, -10.0),
    ("neutral", 0.0, 0.0),
    ("eyes_closed", 20.0, 0.0),
    ("mouth_open", -20.0, 0.0),
    ("neutral", 0.0, 0.0),
)


@dataclass
class FaceClip:
    """A driving clip: frames (H x W x 3 uint8 RGB), what each shows (see :data:`SCRIPT` and
    :data:`TURN_SCRIPT`) and, for a turning clip, each frame's true (yaw, pitch) in degrees."""

    frames: list[np.ndarray]
    events: tuple[str, ...]
    angles: tuple[tuple[float, float], ...] = ()


def shut_eyes(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The portrait with both eyes painted shut (H x W x 3 uint8 in, same out)."""
    out = image.astype(np.float32)
    lm = np.asarray(landmarks, np.float64)
    h, w = image.shape[:2]
    for eye in (0, 1):
        (outer, inner), pairs = EYES[eye]
        width = float(np.linalg.norm(lm[outer] - lm[inner]))
        # skin just above the upper lid and just below the lower one; the brighter is the skin
        # (the darker is often a brow, lashes or a spectacle frame)
        above = np.array([lm[u] + (lm[u] - lm[l]) * 1.2 + (0, -0.08 * width) for u, l in pairs])
        below = np.array([lm[l] - (lm[u] - lm[l]) * 1.0 + (0, 0.08 * width) for u, l in pairs])
        medians = []
        for pts in (above, below):
            xy = np.clip(np.round(pts).astype(int), 0, [w - 1, h - 1])
            medians.append(np.median(image[xy[:, 1], xy[:, 0]].astype(np.float32), axis=0))
        skin = max(medians, key=lambda c: float(c.sum()))
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round(lm[list(eye_contour(eye))]).astype(np.int32)], 255)
        grow = max(2, int(round(width * 0.15)))
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
        soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), max(1.0, width / 20))[..., None]
        out = out * (1 - soft) + skin * soft
        lid = [lm[outer]] + [(lm[u] + 2 * lm[l]) / 3 for u, l in pairs] + [lm[inner]]
        lash = np.zeros((h, w), np.uint8)
        cv2.polylines(lash, [np.round(np.array(lid)).astype(np.int32)], False, 255, max(1, int(round(width / 12))), cv2.LINE_AA)
        a = lash.astype(np.float32)[..., None] / 255.0 * 0.9
        out = out * (1 - a) + np.array([35, 25, 25], np.float32) * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def open_mouth(image: np.ndarray, landmarks: np.ndarray, amount: float) -> np.ndarray:
    """The portrait with its mouth opened by ``amount`` mouth widths at the middle (uint8 in and out)."""
    lm = np.asarray(landmarks, np.float64)
    h, w = image.shape[:2]
    left, right = lm[MOUTH_CORNERS[0]], lm[MOUTH_CORNERS[1]]
    cx, cy = (left + right) / 2
    cy = (lm[INNER_LIP_MIDDLE[0], 1] + lm[INNER_LIP_MIDDLE[1], 1]) / 2
    half = float(np.linalg.norm(right - left)) / 2
    depth = amount * 2 * half
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    lens = depth * np.sqrt(np.clip(1 - ((xs - cx) / half) ** 2, 0, 1))  # gap height per column
    sideways = np.exp(-(((xs - cx) / (1.6 * half)) ** 2))  # the jaw drops in the middle
    drop = depth * sideways * np.exp(-(np.clip(ys - cy - depth, 0, None) / (3.0 * half)) ** 2)
    below = ys > cy
    map_y = np.where(below, ys - np.maximum(drop, lens), ys).astype(np.float32)
    out = cv2.remap(image, xs, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    gap = ((ys > cy) & (ys < cy + lens)).astype(np.float32)
    gap = cv2.GaussianBlur(gap, (0, 0), 0.8)[..., None]
    out = out * (1 - gap) + np.array([40, 15, 20], np.float32) * gap
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _framing(portrait: np.ndarray, landmarks: np.ndarray, crop: float) -> tuple[int, int, int]:
    """The square (x0, y0, side) every frame shows: the central ``crop`` part around the face, shifted to one side."""
    h, w = portrait.shape[:2]
    centre = np.asarray(landmarks, np.float64).mean(0)
    side = int(round(min(h, w) * crop))
    x0 = int(np.clip(centre[0] - side * 0.4, 0, w - side))
    y0 = int(np.clip(centre[1] - side * 0.45, 0, h - side))
    return x0, y0, side


def synthetic_face_clip(
    portrait: np.ndarray, landmarks: np.ndarray, *, crop: float = 0.8, size: int | None = None
) -> FaceClip:
    """Frames of :data:`SCRIPT` made from ``portrait``.

    Args:
        portrait: H x W x 3 uint8 RGB with one face.
        landmarks: its N x 2 face-mesh landmarks (pixels).
        crop: every frame shows the central ``crop`` part of the picture around the face,
            shifted to one side, so the driver's face sits elsewhere and at another scale.
        size: side of the square output frames; None keeps the crop's own size.

    Returns:
        The clip, ``len(SCRIPT)`` frames.
    """
    lm = np.asarray(landmarks, np.float64)
    h, w = portrait.shape[:2]
    xs = lm[:, 0]
    face_w = float(xs.max() - xs.min())
    centre = lm.mean(0)
    shut = shut_eyes(portrait, lm)
    x0, y0, side = _framing(portrait, lm, crop)
    frames, events = [], []
    for event, angle, (sx, sy), mouth in SCRIPT:
        frame = shut if event == "eyes_closed" else portrait
        if mouth > 0:
            frame = open_mouth(frame, lm, mouth)
        m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)
        m[:, 2] += (sx * face_w, sy * face_w)
        frame = cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frame = frame[y0 : y0 + side, x0 : x0 + side]
        if size is not None:
            frame = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
        frames.append(np.ascontiguousarray(frame))
        events.append(event)
    return FaceClip(frames=frames, events=tuple(events))


def turning_face_clip(portrait: np.ndarray, *, crop: float = 0.8, size: int | None = None, animator=None) -> FaceClip:
    """Frames of :data:`TURN_SCRIPT` made from ``portrait``: the head turned by known angles.

    A photo cannot turn its own head, so these frames are rendered by face mode 2
    (:class:`~clothflow.animate.face.turn.TurnAnimator`: the portrait's face mesh turned by
    each frame's yaw and pitch); the eyes are shut and the mouth opened by the edits of
    :func:`shut_eyes` and :func:`open_mouth` on the texture, not by the animation code. The
    frames are then framed like :func:`synthetic_face_clip`'s.

    This is circular when the clip drives mode 2: mode 2 made the head the driver shows, so a
    flaw of mode 2 (a turn too shallow, say) is in the driver too and the output follows it
    faithfully. What does not depend on mode 2 is the face mesh's reading of the frames: it
    should find each frame's head at its true angle (``angles``), which the tests check
    before using the clip, and the clip drives mode 1 and other portraits as well.

    Args:
        portrait: H x W x 3 uint8 RGB with one face.
        crop, size: the framing, as in :func:`synthetic_face_clip`.
        animator: a :class:`~clothflow.animate.face.turn.TurnAnimator` of ``portrait`` already
            made; None makes one (it finds the face).

    Returns:
        The clip, ``len(TURN_SCRIPT)`` frames, with ``angles``.
    """
    from clothflow.animate.face.headpose import rotation_matrix
    from clothflow.animate.face.turn import TurnAnimator

    animator = animator or TurnAnimator(portrait)
    lm = animator.landmarks
    textures = {"eyes_closed": shut_eyes(animator.source, lm), "mouth_open": open_mouth(animator.source, lm, 0.3)}
    x0, y0, side = _framing(animator.source, lm, crop)
    frames, events, angles = [], [], []
    for event, yaw, pitch in TURN_SCRIPT:
        frame = animator.render(rotation_matrix(yaw, pitch), texture=textures.get(event))
        frame = frame[y0 : y0 + side, x0 : x0 + side]
        if size is not None:
            frame = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
        frames.append(np.ascontiguousarray(frame))
        events.append(event)
        angles.append((yaw, pitch))
    return FaceClip(frames=frames, events=tuple(events), angles=tuple(angles))

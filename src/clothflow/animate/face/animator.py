"""Animate one portrait with the face of a driving video: the identity-preserving mode.

Every output frame is the source photo itself, warped: face landmarks are found on the source
and on every driving frame (:class:`~clothflow.animate.face.landmarks.FaceLandmarker`), the
driving's motion since its first frame is carried onto the source's landmarks
(:func:`~clothflow.animate.face.motion.transfer_motion`), a thin-plate spline through those
points (plus fixed anchors on a ring around the face and on the image border) gives a dense
backward map (:func:`~clothflow.animate.face.warp.backward_map`), and closing eyelids and an
opening mouth are painted where a warp cannot show them (:mod:`clothflow.animate.face.fill`).
No pixel is invented except the eyelid skin, the lash line and the dark mouth interior, so the
person stays who they are.

What it cannot do: large head turns (the warp is 2-D; a head turned well away from the
source's view stretches the near cheek instead of revealing the far one),
occluded faces (hands, hair over the eyes), teeth or tongue (an opening mouth shows the
portrait's own teeth, if it shows any, and a dark interior), hair or shoulders following the head (they bend within the anchor ring),
gaze (the irises move with the lids, not on their own).

Example (a scikit-image portrait, driven by a clip made from itself):
    >>> from skimage.data import astronaut
    >>> from clothflow.animate.face.driving import synthetic_face_clip
    >>> from clothflow.animate.face.landmarks import FaceLandmarker
    >>> portrait = astronaut()[:256, 96:352]
    >>> with FaceLandmarker() as find:
    ...     clip = synthetic_face_clip(portrait, find(portrait))
    >>> frames = list(animate_face(portrait, clip.frames[:3]))
    >>> len(frames), frames[0].shape, frames[0].dtype
    (3, (256, 256, 3), dtype('uint8'))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clothflow.animate.face.fill import (
    REGIONS,
    blend,
    bounding_box,
    draw_lashes,
    eye_closure,
    eyelid_image,
    grown_eye_masks,
    lash_colour,
    opening_shifts,
    region_masks,
    shifted,
    show_interior,
)
from clothflow.animate.face.landmarks import (
    CONTROL,
    EYES,
    FACE_OVAL,
    FaceLandmarker,
    eye_contour,
    face_size,
    inner_mouth_contour,
)
from clothflow.animate.face.motion import MotionConfig, transfer_motion
from clothflow.animate.face.smoothing import SmoothingConfig
from clothflow.animate.face.stream import DrivenSession, as_rgb, drive
from clothflow.animate.face.warp import (
    backward_map,
    border_anchors,
    ellipse_window,
    face_ellipse,
    remap,
    ring_anchors,
)
from clothflow.core.errors import ClothflowError


@dataclass(frozen=True)
class FaceAnimateConfig:
    """Options of face animation.

    Attributes:
        motion: how driving motion is carried over (head motion on/off, eye openness).
        grid_step: spacing in pixels of the grid the spline is evaluated on over the face;
            None picks 1/24 of the source face's width, between 2 and 16. The rest of the
            image uses four times that.
        lid_floor: the warp closes lids to at most this fraction of the source's lid gap
            (a spline folding a lid fully onto the other tears the skin around it); the rest
            of the closing is covered by painted eyelids.
        regularization: thin-plate-spline smoothing (in coordinates over the image's longer
            side); 0 interpolates the landmarks exactly.
        anchor_ring: fixed anchors on an ellipse this many times the face oval's size, and
            a window that fades the warp out from that ellipse to 1.4 times it, keep the
            background still; 0 leaves only the image border fixed.
        fill_eyes: paint eyelids over eyes the driving closes (else the warp only squeezes them).
        fill_mouth: paint a dark interior into a mouth the driving opens.
        mouth_colour: RGB of the mouth interior.
        min_confidence: face detection / tracking confidence below which no face is found.
        smoothing: the One Euro filter over the driving landmarks
            (:mod:`clothflow.animate.face.smoothing`); None leaves them raw.
        fps: the driving's frame rate, the smoothing's time step between frames.
    """

    motion: MotionConfig = field(default_factory=MotionConfig)
    grid_step: int | None = None
    lid_floor: float = 0.4
    regularization: float = 1e-5
    anchor_ring: float = 2.0
    fill_eyes: bool = True
    fill_mouth: bool = True
    mouth_colour: tuple[int, int, int] = (52, 20, 24)
    min_confidence: float = 0.5
    smoothing: SmoothingConfig | None = field(default_factory=SmoothingConfig)
    fps: float = 25.0

    def __post_init__(self) -> None:
        if self.grid_step is not None and self.grid_step < 1:
            raise ClothflowError(f"grid_step must be >= 1 pixel, got {self.grid_step}")
        if not 0.0 <= self.lid_floor <= 1.0:
            raise ClothflowError(f"lid_floor must be in [0, 1], got {self.lid_floor}")
        if self.regularization < 0:
            raise ClothflowError(f"regularization must be >= 0, got {self.regularization}")
        if self.anchor_ring != 0 and self.anchor_ring <= 1.0:
            raise ClothflowError(f"anchor_ring must be 0 (off) or > 1 face size, got {self.anchor_ring}")
        if not 0.0 <= self.motion.eye_closed_below < 1.0:
            raise ClothflowError(f"eye_closed_below must be in [0, 1), got {self.motion.eye_closed_below}")
        if not 0.0 < self.min_confidence < 1.0:
            raise ClothflowError(f"min_confidence must be in (0, 1), got {self.min_confidence}")
        if self.fps <= 0:
            raise ClothflowError(f"fps must be positive, got {self.fps}")


class FaceAnimator:
    """The source-dependent part of face animation, computed once; :meth:`render` makes frames.

    Args:
        source: H x W x 3 uint8 RGB portrait (grey and RGBA are accepted too).
        config: options; defaults when None.
        source_name: the source's file name, for error messages.

    Raises:
        ClothflowError: the source is not an image, or no face is found in it.

    Attributes:
        source: the H x W x 3 uint8 source.
        landmarks: its N x 2 face landmarks (pixels).
    """

    def __init__(
        self, source: np.ndarray, *, config: FaceAnimateConfig | None = None, source_name: str | Path | None = None
    ) -> None:
        self.config = config or FaceAnimateConfig()
        self.source = as_rgb(source, source_name, "source")
        with FaceLandmarker(static=True, min_confidence=self.config.min_confidence) as find:
            landmarks = find(self.source)
        if landmarks is None:
            raise ClothflowError(
                "no face found in the source image (face animation needs a clearly visible, roughly frontal face)",
                source_name,
            )
        self.landmarks = landmarks.astype(np.float64)
        self.size = self.source.shape[:2]
        self.face_width = face_size(self.landmarks)
        self.grid_step = self.config.grid_step or int(np.clip(round(self.face_width / 24), 2, 16))
        anchors = [border_anchors(self.size)]
        self._window = None
        if self.config.anchor_ring > 0:
            anchors.append(ring_anchors(self.landmarks, FACE_OVAL, self.config.anchor_ring))
            self._window = ellipse_window(self.size, *face_ellipse(self.landmarks, FACE_OVAL, self.config.anchor_ring))
        self._anchors = np.concatenate(anchors)
        self._control = list(CONTROL)
        self._openings = list(dict.fromkeys(eye_contour(0) + eye_contour(1) + inner_mouth_contour()))
        self._lids = eyelid_image(self.source, self.landmarks).astype(np.float32)
        self._regions = region_masks(self.landmarks, self.size)
        # lids painted over a shut eye also hide its lashes: the eye grown by 15% of its width
        self._grow = np.array([0.15 * np.linalg.norm(self.landmarks[o] - self.landmarks[i]) for (o, i), _ in EYES])
        self._covers = grown_eye_masks(self.landmarks, self.size, self._grow)
        self._source_f = self.source.astype(np.float32)
        self._lash = lash_colour(self.source, self.landmarks)

    def warp_target(self, target: np.ndarray) -> np.ndarray:
        """The landmarks the warp follows: ``target`` with lids kept ``lid_floor`` apart (N x 2)."""
        out = np.array(target, np.float64)
        src = self.landmarks
        for (outer, inner), pairs in EYES:
            # the source's lid gaps, rotated and scaled as the eye's corner-to-corner axis is
            a, b = src[inner] - src[outer], out[inner] - out[outer]
            scale = np.linalg.norm(b) / max(np.linalg.norm(a), 1e-6)
            ang = np.arctan2(b[1], b[0]) - np.arctan2(a[1], a[0])
            rot = scale * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
            for upper, lower in pairs:
                floor = rot @ (src[upper] - src[lower]) * self.config.lid_floor
                if np.linalg.norm(out[upper] - out[lower]) < np.linalg.norm(floor):
                    out[upper] = out[lower] + floor
        return out

    def render(self, target: np.ndarray) -> np.ndarray:
        """The source with its landmarks moved to ``target``.

        Args:
            target: N x 2 landmarks (source pixels), e.g. from :func:`transfer_motion`.

        Returns:
            H x W x 3 uint8 RGB, the source's size.
        """
        cfg = self.config
        target = np.asarray(target, np.float64)
        follow = self.warp_target(target)
        ctrl_t = np.concatenate([follow[self._control], self._anchors])
        ctrl_s = np.concatenate([self.landmarks[self._control], self._anchors])
        face = bounding_box(np.concatenate([target[list(FACE_OVAL)], self.landmarks[list(FACE_OVAL)]]), self.size, 0.25 * self.face_width)
        map_x, map_y = backward_map(
            ctrl_t, ctrl_s, self.size, 4 * self.grid_step, cfg.regularization,
            fine_box=(face.x0, face.y0, face.x1, face.y1), fine_step=self.grid_step, window=self._window,
        )
        out = remap(self.source, map_x, map_y)
        if not (cfg.fill_eyes or cfg.fill_mouth):
            return out
        ids = self._openings
        box = bounding_box(np.concatenate([target[ids], self.landmarks[ids]]), self.size, 0.1 * self.face_width)
        rows, cols = box.slices
        part = out[rows, cols].astype(np.float32)
        wanted = region_masks(target - box.offset, box.size)
        moves = opening_shifts(self.landmarks, target)
        if cfg.fill_eyes:  # lids cover what the warp brings of an eye that the target shows shut
            open_part = np.array([1.0 - eye_closure(self.landmarks, target, e) for e in (0, 1)])
            warped_covers = remap(self._covers, map_x[rows, cols], map_y[rows, cols])
            wanted_covers = grown_eye_masks(target - box.offset, box.size, self._grow * open_part)
            cover = np.clip(warped_covers - wanted_covers, 0.0, 1.0).max(-1)
            if cover.max() > 0:
                blend(part, remap(self._lids, map_x[rows, cols], map_y[rows, cols]), cover)
        for k in range(REGIONS):
            if k < 2 and not cfg.fill_eyes or k == 2 and not cfg.fill_mouth:
                continue
            interior = shifted(self._source_f, moves[k], box)
            interior_mask = shifted(self._regions[..., k], moves[k], box)
            show_interior(part, interior, interior_mask, wanted[..., k], cfg.mouth_colour if k == 2 else None)
        if cfg.fill_eyes:
            draw_lashes(part, self.landmarks - box.offset, target - box.offset, self._lash)
        out[rows, cols] = np.clip(part + 0.5, 0, 255).astype(np.uint8)
        return out


def animate_face(
    source: np.ndarray,
    driving: Iterable[np.ndarray],
    *,
    config: FaceAnimateConfig | None = None,
    source_name: str | Path | None = None,
    driving_name: str | Path | None = None,
) -> Iterator[np.ndarray]:
    """Animate ``source`` with the face motion of ``driving``, one output frame per driving frame.

    The source is checked (and its face found) when this is called, so a bad source raises
    here, before any frame is read; the driving frames are read lazily, so a webcam or a long
    video can drive it. A driving frame without a face repeats the last motion (the source
    as it is until the first face is seen).

    Args:
        source: H x W x 3 uint8 RGB portrait.
        driving: H' x W' x 3 uint8 RGB frames (any size, e.g. :func:`clothflow.data.formats.video.iter_video`
            or :func:`clothflow.data.formats.video.camera_frames`); motion is relative to the first frame
            with a face.
        config: options; defaults when None.
        source_name, driving_name: file names (or e.g. "camera 0") for error messages.

    Returns:
        An iterator of H x W x 3 uint8 RGB frames the size of the source.

    Raises:
        ClothflowError: the source has no face (at call time); a driving frame is not an
            image, or no driving frame has a face (while iterating, after the last frame).
    """
    animator = FaceAnimator(source, config=config, source_name=source_name)
    return drive(lambda: FaceSession(animator, driving_name), driving)


class FaceSession(DrivenSession):
    """One driving stream animating one portrait, a frame per :meth:`step`: what a stream needs
    between frames (the tracking landmark model, the One Euro filter, the driving's reference
    landmarks, the last target). :func:`animate_face` pulls frames through one; a live page
    pushes them, irregularly, for as long as its camera runs.

    The :class:`FaceAnimator` is only read, so one animator may serve several sessions; the
    landmark model is the session's own and is released by :meth:`close`. The loop is
    :class:`~clothflow.animate.face.stream.DrivenSession`'s; this mode follows the driving's
    2-D motion (:func:`~clothflow.animate.face.motion.transfer_motion`).

    Args:
        animator: the portrait, prepared once (may be shared between sessions).
        driving_name: what drives it (e.g. "camera"), for error messages.

    Attributes:
        frames: driving frames seen so far.
        found: whether the last driving frame had a face.
        reference: the driving's first landmarks with a face (None until one is seen).
        target: the portrait's landmarks moved as the driving's last face (what is rendered).
        closed: whether :meth:`close` was called (the landmark model is released).

    Example (driven by a clip made from the portrait itself):
        >>> from skimage.data import astronaut
        >>> from clothflow.animate.face.driving import synthetic_face_clip
        >>> portrait = astronaut()[:256, 96:352]
        >>> animator = FaceAnimator(portrait)
        >>> clip = synthetic_face_clip(portrait, animator.landmarks)
        >>> with FaceSession(animator) as session:
        ...     out = [session.step(frame) for frame in clip.frames[:2]]
        >>> out[0].shape, session.frames, session.found, session.closed
        ((256, 256, 3), 2, True, True)
    """

    def __init__(self, animator: FaceAnimator, driving_name: str | Path | None = None) -> None:
        cfg = animator.config
        super().__init__(animator, cfg.fps, cfg.smoothing, cfg.min_confidence, driving_name)
        self.target = animator.landmarks

    def _landmarks(self, frame: np.ndarray) -> np.ndarray | None:
        return self._find(frame)

    def _follow(self, found: np.ndarray) -> None:
        self.target = transfer_motion(self.animator.landmarks, self.reference, found, self.animator.config.motion)

    def _still(self) -> None:
        self.target = self.animator.landmarks

    def _render(self) -> np.ndarray:
        return self.animator.render(self.target)

"""What every face mode does between driving frames: one stream, a frame per ``step``.

A driving stream (a clip pulled frame by frame, or a live camera pushing frames irregularly)
needs the same state whatever the face mode: the tracking landmark model, the One Euro filter
over the landmarks, the driving's reference landmarks (its first face), and the last motion,
kept while no face is seen. :class:`DrivenSession` holds that loop; a face mode says how it
reads a frame's landmarks, how it follows them, and how it renders
(:class:`~clothflow.animate.face.animator.FaceSession` for the warp,
:class:`~clothflow.animate.face.turn.TurnSession` for head turning).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from clothflow.animate.face.landmarks import EXPRESSIVE, FaceLandmarker, face_size
from clothflow.animate.face.smoothing import LandmarkSmoother, SmoothingConfig
from clothflow.core.errors import ClothflowError


def as_rgb(image: np.ndarray, name: str | Path | None = None, what: str = "image") -> np.ndarray:
    """An image as H x W x 3 uint8 RGB (grey is repeated, an alpha channel dropped).

    Raises:
        ClothflowError: anything else, naming ``name`` when given.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ClothflowError(f"the {what} must be 8-bit (uint8), got {image.dtype}", name)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 16:
        raise ClothflowError(f"the {what} must be an H x W x 3 RGB picture of at least 16 x 16, got shape {image.shape}", name)
    return np.ascontiguousarray(image[..., :3])


class DrivenSession:
    """One driving stream animating one prepared portrait (the animator is only read).

    Subclasses give :meth:`_landmarks` (a frame's landmarks, None without a face),
    :meth:`_follow` (take the motion from the reference to the landmarks found),
    :meth:`_still` (back to the portrait as it is) and :meth:`_render`.

    Args:
        animator: the portrait, prepared once (may be shared between sessions).
        fps, smoothing, min_confidence: the stream's nominal rate, its landmark smoothing
            (None: raw landmarks) and the landmark model's confidence.
        driving_name: what drives it (e.g. "camera"), for error messages.

    Attributes:
        frames: driving frames seen so far.
        found: whether the last driving frame had a face.
        reference: the driving's first landmarks with a face (None until one is seen).
        closed: whether :meth:`close` was called (the landmark model is released).
    """

    def __init__(self, animator, fps: float, smoothing: SmoothingConfig | None, min_confidence: float,
                 driving_name: str | Path | None = None) -> None:
        self.animator = animator
        self.driving_name = driving_name
        self.frames = 0
        self.found = False
        self.closed = False
        self.reference: np.ndarray | None = None
        self._smooth = LandmarkSmoother(fps, smoothing, EXPRESSIVE) if smoothing is not None else None
        self._find = FaceLandmarker(static=False, min_confidence=min_confidence)

    def _landmarks(self, frame: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def _follow(self, found: np.ndarray) -> None:
        raise NotImplementedError

    def _still(self) -> None:
        raise NotImplementedError

    def _render(self) -> np.ndarray:
        raise NotImplementedError

    def step(self, frame: np.ndarray, dt: float | None = None) -> np.ndarray:
        """The portrait moved as the driving face in ``frame`` is.

        A frame without a face repeats the last motion (the portrait as it is until the first
        face is seen), and the next face is taken as it comes, not glided to.

        Args:
            frame: H x W x 3 uint8 RGB driving frame (any size).
            dt: seconds since the previous driving frame, for the smoothing (None: ``1 / fps``);
                a live stream passes its real spacing.

        Returns:
            H x W x 3 uint8 RGB, the portrait's size.

        Raises:
            ClothflowError: the frame is not an image, or the session is closed.
        """
        if self.closed:
            raise ClothflowError("the face session is closed")
        frame = as_rgb(frame, self.driving_name, f"driving frame {self.frames}")
        self.frames += 1
        found = self._landmarks(frame)
        self.found = found is not None
        if found is None:
            if self._smooth is not None:
                self._smooth.reset()
        else:
            found = found.astype(np.float64)
            if self._smooth is not None:
                found = self._smooth(found, face_size(found[:, :2]), dt)
            if self.reference is None:
                self.reference = found
            self._follow(found)
        return self._render()

    def restart(self) -> None:
        """Take the next face seen as the new reference (e.g. the person sat back down)."""
        self.reference = None
        self._still()
        if self._smooth is not None:
            self._smooth.reset()

    def close(self) -> None:
        """Release the landmark model; safe to call more than once."""
        if not self.closed:
            self.closed = True
            self._find.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def drive(open_session: Callable[[], DrivenSession], driving: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Pull ``driving`` through a session opened when the first frame is asked for, one output
    frame per frame, and close it.

    Raises:
        ClothflowError: no driving frame had a face (after the last frame).
    """
    with open_session() as session:
        for frame in driving:
            yield session.step(frame)
    if session.frames and session.reference is None:
        raise ClothflowError(f"no face found in any of the {session.frames} driving frames", session.driving_name)


__all__ = ["DrivenSession", "as_rgb", "drive"]

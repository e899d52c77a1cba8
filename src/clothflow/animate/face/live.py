"""Face animation one frame at a time, for a live camera: the per-frame state of a driving stream.

:func:`~clothflow.animate.face.animator.animate_face` pulls driving frames from an iterator;
a live page pushes them instead, one at a time, irregularly (frames are dropped when the
machine is busy) and for as long as the camera runs. :class:`FaceSession` keeps what one
driving stream needs between frames: the tracking landmark model, the One Euro filter, the
driving's reference landmarks (the first frame with a face) and the last target. Given the
same frames it makes the same pictures as ``animate_face``.

The :class:`~clothflow.animate.face.animator.FaceAnimator` (the portrait's precomputed part)
is only read, so one animator may serve several sessions; the landmark model is the
session's own and is released by :meth:`FaceSession.close`.

Example (a scikit-image portrait, driven by a clip made from itself):
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

from __future__ import annotations

from pathlib import Path

import numpy as np

from clothflow.animate.face.animator import FaceAnimator, as_rgb
from clothflow.animate.face.landmarks import EXPRESSIVE, FaceLandmarker, face_size
from clothflow.animate.face.motion import transfer_motion
from clothflow.animate.face.smoothing import LandmarkSmoother
from clothflow.core.errors import ClothflowError


class FaceSession:
    """One driving stream animating one portrait, a frame per :meth:`step`.

    Args:
        animator: the portrait, prepared once (may be shared between sessions).
        driving_name: what drives it (e.g. "camera"), for error messages.

    Attributes:
        frames: driving frames seen so far.
        found: whether the last driving frame had a face.
        closed: whether :meth:`close` was called (the landmark model is released).
    """

    def __init__(self, animator: FaceAnimator, driving_name: str | Path | None = None) -> None:
        cfg = animator.config
        self.animator = animator
        self.driving_name = driving_name
        self.frames = 0
        self.found = False
        self.closed = False
        self.reference: np.ndarray | None = None
        self.target = animator.landmarks
        self._smooth = LandmarkSmoother(cfg.fps, cfg.smoothing, EXPRESSIVE) if cfg.smoothing is not None else None
        self._find = FaceLandmarker(static=False, min_confidence=cfg.min_confidence)

    def step(self, frame: np.ndarray, dt: float | None = None) -> np.ndarray:
        """The portrait moved as the driving face in ``frame`` is.

        A frame without a face repeats the last motion (the portrait as it is until the first
        face is seen), and the next face is taken as it comes, not glided to.

        Args:
            frame: H x W x 3 uint8 RGB driving frame (any size).
            dt: seconds since the previous driving frame, for the smoothing (None: ``1 / fps``
                of the animator's config); a live stream passes its real spacing.

        Returns:
            H x W x 3 uint8 RGB, the portrait's size.

        Raises:
            ClothflowError: the frame is not an image, or the session is closed.
        """
        if self.closed:
            raise ClothflowError("the face session is closed")
        frame = as_rgb(frame, self.driving_name, f"driving frame {self.frames}")
        self.frames += 1
        found = self._find(frame)
        self.found = found is not None
        if found is None:
            if self._smooth is not None:
                self._smooth.reset()
        else:
            if self._smooth is not None:
                found = self._smooth(found, face_size(found), dt)
            if self.reference is None:
                self.reference = found.astype(np.float64)
            self.target = transfer_motion(self.animator.landmarks, self.reference, found, self.animator.config.motion)
        return self.animator.render(self.target)

    def restart(self) -> None:
        """Take the next face seen as the new reference (e.g. the person sat back down)."""
        self.reference = None
        self.target = self.animator.landmarks
        if self._smooth is not None:
            self._smooth.reset()

    def close(self) -> None:
        """Release the landmark model; safe to call more than once."""
        if not self.closed:
            self.closed = True
            self._find.close()

    def __enter__(self) -> FaceSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["FaceSession"]

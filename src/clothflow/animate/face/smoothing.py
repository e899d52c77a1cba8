"""Temporal smoothing of driving landmarks: the One Euro filter (Casiez, Roussel and Vogel, CHI 2012).

A face mesh run on every frame of a webcam trembles by a pixel or two even when the face is
still, and an animated portrait trembles with it. A fixed low-pass filter would calm it but
make fast motion lag. The One Euro filter adapts its cut-off to the speed: a still landmark is
smoothed hard (cut-off ``min_cutoff``), a moving one barely (the cut-off grows by ``beta`` per
unit of speed), so jitter goes and a blink or a nod comes through at once.

Speeds here are in face widths per second, so the same settings suit a face of any size in
the frame. Eyelids and lips move faster than a head does (a blink shuts an eye within a frame
or two), so they may get a larger ``beta`` of their own (``fast_beta`` for the ``fast``
landmarks): still, they are smoothed; shutting, they follow at once.

Example (a still point with noise, then a jump: the noise shrinks, the jump is followed):
    >>> rng = np.random.default_rng(0)
    >>> still = 100 + rng.normal(0, 1.0, (50, 1, 2))
    >>> smooth = LandmarkSmoother(fps=25.0)
    >>> out = np.stack([smooth(p, face_width=100.0) for p in still])
    >>> bool(np.std(np.diff(out[10:], axis=0)) < 0.5 * np.std(np.diff(still[10:], axis=0)))
    True
    >>> moved = smooth(still[-1] + 30, face_width=100.0)
    >>> bool(np.abs(moved - (still[-1] + 30)).max() < 10)
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from clothflow.core.errors import ClothflowError


@dataclass(frozen=True)
class SmoothingConfig:
    """The One Euro filter's settings.

    Attributes:
        min_cutoff: cut-off frequency (Hz) of a still landmark; lower is smoother and slower.
        beta: how fast the cut-off grows with speed (per face width per second).
        derivative_cutoff: cut-off (Hz) of the speed estimate itself.
        fast_beta: ``beta`` of the fast landmarks (eyelids, lips) given to the smoother.
    """

    min_cutoff: float = 1.0
    beta: float = 4.0
    derivative_cutoff: float = 5.0
    fast_beta: float = 100.0

    def __post_init__(self) -> None:
        if self.min_cutoff <= 0 or self.derivative_cutoff <= 0 or self.beta < 0 or self.fast_beta < 0:
            raise ClothflowError(f"smoothing needs min_cutoff > 0, derivative_cutoff > 0 and betas >= 0, got {self}")


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """The exponential smoothing factor of a first-order low-pass at ``cutoff`` Hz, ``dt`` s a step."""
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class LandmarkSmoother:
    """One Euro filter over N x 2 landmarks, one call per frame (state kept between calls).

    Args:
        fps: the frame rate the landmarks arrive at (the time step when none is given).
        config: the filter's settings.
        fast: indices of the landmarks smoothed with ``config.fast_beta`` (eyelids, lips).
    """

    def __init__(self, fps: float, config: SmoothingConfig | None = None, fast: tuple[int, ...] = ()) -> None:
        if fps <= 0:
            raise ClothflowError(f"fps must be positive, got {fps}")
        self.dt = 1.0 / fps
        self.config = config or SmoothingConfig()
        self.fast = np.asarray(fast, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget the past (e.g. when the face was lost): the next landmarks pass unchanged."""
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None

    def __call__(self, landmarks: np.ndarray, face_width: float, dt: float | None = None) -> np.ndarray:
        """The smoothed landmarks of this frame.

        Args:
            landmarks: N x 2 pixels.
            face_width: the face's width in pixels (speeds are measured in face widths).
            dt: seconds since the previous frame (default ``1 / fps``).
        """
        x = np.asarray(landmarks, np.float64)
        dt = self.dt if dt is None or dt <= 0 else dt
        if self._value is None or self._value.shape != x.shape:
            self._value, self._speed = x.copy(), np.zeros(x.shape[0])
            return x.copy()
        cfg = self.config
        raw_speed = np.linalg.norm(x - self._value, axis=1) / (dt * max(face_width, 1e-6))
        self._speed = self._speed + _alpha(cfg.derivative_cutoff, dt) * (raw_speed - self._speed)
        beta = np.full(x.shape[0], cfg.beta)
        beta[self.fast[self.fast < x.shape[0]]] = cfg.fast_beta
        a = _alpha(cfg.min_cutoff + beta * self._speed, dt)[:, None]
        self._value = self._value + a * (x - self._value)
        return self._value.copy()

"""Temporal smoothing of the driving landmarks: less jitter when still, no lag beyond a frame, blinks kept."""

from __future__ import annotations

import numpy as np
import pytest

from clothflow.animate.face.smoothing import LandmarkSmoother, SmoothingConfig
from clothflow.core.errors import ClothflowError

FPS = 25.0
FACE = 100.0  # face width, pixels


def _run(smooth: LandmarkSmoother, track: np.ndarray) -> np.ndarray:
    return np.stack([smooth(points, FACE) for points in track])


def _jitter(track: np.ndarray) -> float:
    return float(np.sqrt((np.diff(track, axis=0) ** 2).sum(-1).mean()))


def test_still_landmarks_jitter_less_and_a_head_shift_lags_under_one_frame():
    rng = np.random.default_rng(1)
    still = 50 + rng.normal(0, 0.3, (60, 5, 2))
    out = _run(LandmarkSmoother(FPS), still)
    assert _jitter(out[5:]) < 0.5 * _jitter(still[5:])

    t = np.arange(60, dtype=float)
    x = np.clip(t - 20, 0, 25) * FACE / FPS  # 1 face width per second for 25 frames
    ramp = np.stack([np.stack([x, np.zeros_like(x)], -1)] * 5, 1) + rng.normal(0, 0.3, (60, 5, 2))
    out = _run(LandmarkSmoother(FPS), ramp)
    behind = (ramp[24:45, :, 0] - out[24:45, :, 0]).mean() / (FACE / FPS)
    assert 0 < behind <= 1.0, behind
    assert np.abs(out[-1] - ramp[-10:].mean(0)).max() < 1.0  # settles where the head stopped


def test_fast_landmarks_follow_a_blink_within_a_frame():
    rng = np.random.default_rng(2)
    track = 50 + rng.normal(0, 0.3, (20, 2, 2))
    track[10:, :, 1] += 6.0  # both points jump 6 px down (a lid shutting) at frame 10
    slow = _run(LandmarkSmoother(FPS, fast=()), track)
    fast = _run(LandmarkSmoother(FPS, fast=(0, 1)), track)
    assert fast[10, :, 1].mean() - fast[9, :, 1].mean() > 0.8 * 6.0
    assert slow[10, :, 1].mean() - slow[9, :, 1].mean() < 0.8 * 6.0  # what fast_beta is for


def test_reset_passes_the_next_landmarks_through_and_bad_settings_are_refused():
    smooth = LandmarkSmoother(FPS)
    smooth(np.zeros((3, 2)), FACE)
    smooth.reset()
    np.testing.assert_array_equal(smooth(np.full((3, 2), 40.0), FACE), np.full((3, 2), 40.0))
    with pytest.raises(ClothflowError, match="min_cutoff"):
        SmoothingConfig(min_cutoff=0)
    with pytest.raises(ClothflowError, match="fps"):
        LandmarkSmoother(0)


def test_face_mesh_on_a_still_noisy_portrait_jitters_less_once_smoothed():
    pytest.importorskip("mediapipe", reason="needs the [pose] extra (mediapipe)")
    from skimage.data import astronaut

    from clothflow.animate.face.landmarks import EXPRESSIVE, FaceLandmarker, face_size

    portrait = astronaut()[:256, 128:384]
    rng = np.random.default_rng(0)
    frames = [np.clip(portrait + rng.normal(0, 3, portrait.shape), 0, 255).astype(np.uint8) for _ in range(30)]
    with FaceLandmarker(static=False) as find:
        raw = np.stack([find(f) for f in frames]).astype(np.float64)
    smooth = LandmarkSmoother(FPS, fast=EXPRESSIVE)
    out = np.stack([smooth(f, face_size(f)) for f in raw])
    assert _jitter(out[5:]) < 0.5 * _jitter(raw[5:]), (_jitter(out[5:]), _jitter(raw[5:]))

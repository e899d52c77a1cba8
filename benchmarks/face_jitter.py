"""Landmark jitter on a still driver, and the lag of motion, with and without temporal smoothing.

    python benchmarks/face_jitter.py [--frames 75] [--noise 3] [--settings 1:4:5:100 ...]

The driver is scikit-image's astronaut portrait (256 x 256 crop), still: every frame is the same
photo with fresh Gaussian sensor noise of ``--noise`` grey levels, as a webcam gives. MediaPipe's
face mesh (tracking mode, as ``animate --face`` runs it) reads every frame; the raw landmarks
and the One Euro filter's output (:mod:`clothflow.animate.face.smoothing`, each
``min_cutoff:beta:derivative_cutoff:fast_beta`` of ``--settings``; the eyelids, irises and
lips are its fast landmarks) are scored by:

- jitter: the root mean square of the frame-to-frame landmark displacement on the still
  driver, in pixels and in thousandths of the face width;
- lag: the same photo moving sideways at 1 face width per second for 20 frames at 25 frames/s
  (a quick head shift), then still; the frames by which the landmarks' mean x trails the raw
  landmarks' (least squares over the ramp);
- blink: the eye aspect ratio on the frames of a sudden blink (eyes painted shut for 3
  frames, :func:`clothflow.animate.face.driving.shut_eyes`), raw against smoothed.
"""

from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np

from clothflow.animate.face.driving import shut_eyes
from clothflow.animate.face.landmarks import EXPRESSIVE, FaceLandmarker, eye_aspect_ratio, face_size
from clothflow.animate.face.smoothing import LandmarkSmoother, SmoothingConfig

FPS = 25.0


def portrait() -> np.ndarray:
    from skimage.data import astronaut

    return cv2.resize(astronaut()[:320, 96:416], (256, 256), interpolation=cv2.INTER_AREA)


def noisy(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def shifted(image: np.ndarray, dx: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, 0]])
    return cv2.warpAffine(image, m, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)


def track(frames: list[np.ndarray]) -> np.ndarray:
    with FaceLandmarker(static=False) as find:
        found = [find(f) for f in frames]
    if any(f is None for f in found):
        raise SystemExit("the face mesh lost the face in the benchmark clip")
    return np.stack(found).astype(np.float64)


def smoothed(raw: np.ndarray, setting: SmoothingConfig) -> np.ndarray:
    smooth = LandmarkSmoother(FPS, setting, fast=EXPRESSIVE)
    return np.stack([smooth(f, face_size(f)) for f in raw])


def jitter(track_: np.ndarray) -> float:
    steps = np.diff(track_, axis=0)
    return float(np.sqrt((steps**2).sum(-1).mean()))


def lag(raw: np.ndarray, out: np.ndarray, span: slice) -> float:
    """Frames by which ``out``'s mean x trails ``raw``'s over ``span`` (raw's slope as the speed)."""
    x_raw, x_out = raw[span, :, 0].mean(1), out[span, :, 0].mean(1)
    slope = np.polyfit(np.arange(len(x_raw)), x_raw, 1)[0]
    return float(np.mean(x_raw - x_out) / slope)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=75)
    ap.add_argument("--noise", type=float, default=3.0, help="sensor noise, grey levels")
    ap.add_argument("--settings", nargs="+", default=["1:4:5:100"],
                    help="min_cutoff:beta:derivative_cutoff:fast_beta of the One Euro filter")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    face = portrait()
    still = track([noisy(face, args.noise, rng) for _ in range(args.frames)])
    width = face_size(still[0])
    speed = width / FPS  # 1 face width per second
    moving_frames = [noisy(shifted(face, -10 * speed + min(i, 20) * speed), args.noise, rng) for i in range(40)]
    moving = track([noisy(face, args.noise, rng) for _ in range(10)] + moving_frames)
    with FaceLandmarker() as find:
        lm = find(face)
    closed = shut_eyes(face, lm)
    blink_frames = [face] * 8 + [closed] * 3 + [face] * 6
    blink = track([noisy(f, args.noise, rng) for f in blink_frames])
    ramp = slice(13, 30)
    print(f"face width {width:.0f} px, {args.frames} still frames, noise {args.noise:g} grey levels, {FPS:g} frames/s")
    print(f"{'landmarks':18s} {'jitter px':>9s} {'jitter /1000 fw':>15s} {'lag frames':>10s}  blink EAR (frames 7-12)")
    rows = [("raw", still, moving, blink)]
    for s in args.settings:
        mc, beta, dcut, fast = (float(v) for v in s.split(":"))
        cfg = SmoothingConfig(min_cutoff=mc, beta=beta, derivative_cutoff=dcut, fast_beta=fast)
        rows.append((f"one euro {s}", smoothed(still, cfg), smoothed(moving, cfg), smoothed(blink, cfg)))
    for name, st, mv, bl in rows:
        ear = " ".join(f"{float(np.mean(eye_aspect_ratio(f))):.2f}" for f in bl[7:13])
        print(f"{name:18s} {jitter(st[5:]):9.3f} {1000 * jitter(st[5:]) / width:15.2f} {lag(moving, mv, ramp):10.2f}  {ear}")


if __name__ == "__main__":
    sys.exit(main())

"""Face mode 2 (head turns): speed, pose following, and identity against mode 1.

Usage: python benchmarks/face_turn.py [--sizes 256 512] [--threads 1 2] [--hold 3]
                                      [--pictures /tmp/turn]

The portrait is scikit-image's astronaut, cropped around the face (256 x 256, enlarged for
larger sizes); the driver is :func:`clothflow.animate.face.driving.turning_face_clip`: the
head turned to known yaw and pitch angles. That clip is rendered by mode 2 itself, so the
driver is also checked independently: the face mesh's reading of each clip frame against its
true angle. A second driver is Grace Hopper's portrait (matplotlib's sample data, installed
with mediapipe) turned the same way, driving the astronaut: another face, another framing.

Speed (end to end: the driver's landmarks, the motion, mode 1's expression, the turned mesh)
is measured in a fresh process per thread count (OpenCV and BLAS limited to it; MediaPipe
runs its own TFLite threads). Every driving frame is held ``--hold`` frames (a live camera
sends 25 a second; the smoothing settles) and the last output of each is measured.

Measures, each read by the face mesh on driver and output frames alike:
- yaw / pitch error: |output angle - driver angle|, each relative to its first frame;
- identity by geometry (:func:`~clothflow.animate.face.headpose.identity_error`): the
  portrait's landmarks turned to the output's own pose vs the output's, relative error;
- identity by appearance (:func:`~clothflow.animate.face.headpose.appearance_error`): the
  output turned back onto the portrait's view vs the portrait, mean |difference| (0-255).
"""

from __future__ import annotations

import argparse
import os
import sys

from blas_threads import from_argv

from_argv("--threads-now", replace=True)  # a child process measuring speed

import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage.data import astronaut  # noqa: E402

from clothflow.animate.face.animator import FaceSession  # noqa: E402
from clothflow.animate.face.driving import FaceClip, turning_face_clip  # noqa: E402
from clothflow.animate.face.headpose import appearance_error, identity_error, relative_angles  # noqa: E402
from clothflow.animate.face.landmarks import FaceLandmarker  # noqa: E402
from clothflow.animate.face.turn import TurnAnimator, TurnSession  # noqa: E402

PICTURE_ANGLES = ((-30, 0), (-15, 0), (0, 0), (15, 0), (30, 0), (0, 20), (0, -20))


def portrait(size: int = 256) -> np.ndarray:
    image = np.ascontiguousarray(astronaut()[:256, 96:352])
    return image if size == 256 else cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)


def hopper() -> np.ndarray | None:
    try:
        import matplotlib.cbook as cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    except Exception:  # matplotlib missing or without its sample data
        return None
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(cv2.resize(image[40:552], (256, 256), interpolation=cv2.INTER_AREA))


def speed(size: int, repeats: int) -> float:
    """End-to-end frames per second of mode 2 at ``size`` (portrait and driving frames that size)."""
    cv2.setNumThreads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    image = portrait(size)
    animator = TurnAnimator(image)
    clip = turning_face_clip(image, animator=animator)
    frames = [cv2.resize(f, (size, size)) for f in clip.frames]
    with TurnSession(animator) as session:
        for f in frames[:3]:
            session.step(f)
        start = time.perf_counter()
        for _ in range(repeats):
            for f in frames:
                session.step(f)
        return repeats * len(frames) / (time.perf_counter() - start)


def drive(animator: TurnAnimator, frames: list[np.ndarray], hold: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Mode 1's and mode 2's output for every driving frame (each held ``hold`` frames)."""
    outputs = []
    for session in (FaceSession(animator.face), TurnSession(animator)):
        with session:
            outputs.append([[session.step(f) for _ in range(hold)][-1] for f in frames])
    return outputs[0], outputs[1]


def evaluate(name: str, animator: TurnAnimator, clip: FaceClip, hold: int) -> dict:
    mode1, mode2 = drive(animator, clip.frames, hold)
    with FaceLandmarker() as find:
        source_lm = find.landmarks3d(animator.source).astype(np.float64)
        read = {k: [find.landmarks3d(f) for f in frames] for k, frames in
                (("driver", clip.frames), ("mode 1", mode1), ("mode 2", mode2))}
    if any(lm is None for seq in read.values() for lm in seq):
        raise SystemExit(f"{name}: the face mesh lost the face in some frame")
    angles = {k: relative_angles(v) for k, v in read.items()}
    rows = []
    for i, (event, true) in enumerate(zip(clip.events, clip.angles)):
        row = {"event": event, "true": true, "driver": angles["driver"][i]}
        for k, outputs in (("mode 1", mode1), ("mode 2", mode2)):
            lm = read[k][i].astype(np.float64)
            row[k] = {"angles": angles[k][i], "geometry": identity_error(source_lm, lm),
                      "appearance": appearance_error(animator.source, source_lm, outputs[i], lm)}
        rows.append(row)
    return {"name": name, "rows": rows, "mode1": mode1, "mode2": mode2}


def buckets(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """Rows grouped by the clip's true pose: neutral, |yaw| 15 / 30 / 35, |pitch| 10 / 20 (no expression frames)."""
    out = [("yaw 0", [r for r in rows if r["event"] == "neutral"])]
    for yaw in (15, 30, 35):
        out.append((f"yaw ±{yaw}", [r for r in rows if r["event"] == "turn" and abs(r["true"][0]) == yaw]))
    for pitch in (10, 20):
        out.append((f"pitch ±{pitch}", [r for r in rows if r["event"] == "tilt" and abs(r["true"][1]) == pitch]))
    return [(k, v) for k, v in out if v]


def table(result: dict) -> str:
    lines = [f"**{result['name']}**", "",
             "| pose (true) | driver read yaw / pitch | yaw err m1 / m2 | pitch err m1 / m2 | "
             "geometry m1 / m2 | appearance m1 / m2 |",
             "|---|---|---|---|---|---|"]
    for label, rows in buckets(result["rows"]):
        drv = np.mean([np.abs(r["driver"]) for r in rows], 0)
        err = {k: np.array([np.abs(r[k]["angles"] - r["driver"]) for r in rows]) for k in ("mode 1", "mode 2")}
        geo = {k: np.mean([r[k]["geometry"] for r in rows]) for k in err}
        app = {k: np.mean([r[k]["appearance"] for r in rows]) for k in err}
        lines.append(f"| {label} | {drv[0]:.1f} / {drv[1]:.1f} | {err['mode 1'][:, 0].mean():.1f} / "
                     f"{err['mode 2'][:, 0].mean():.1f} | {err['mode 1'][:, 1].mean():.1f} / {err['mode 2'][:, 1].mean():.1f} | "
                     f"{geo['mode 1']:.3f} / {geo['mode 2']:.3f} | {app['mode 1']:.1f} / {app['mode 2']:.1f} |")
    turned = [r for r in result["rows"] if r["event"] in ("turn", "tilt")]
    e2 = np.array([np.abs(r["mode 2"]["angles"] - r["driver"]) for r in turned])
    lines += ["", f"mode 2 over the turns and tilts: yaw error mean {e2[:, 0].mean():.1f}, max {e2[:, 0].max():.1f}; "
              f"pitch error mean {e2[:, 1].mean():.1f}, max {e2[:, 1].max():.1f} degrees"]
    return "\n".join(lines)


def clip_check(clip: FaceClip) -> str:
    """The face mesh's reading of the driving clip against its true angles."""
    with FaceLandmarker() as find:
        read = relative_angles([find.landmarks3d(f) for f in clip.frames])
    true = np.array(clip.angles)
    lines = ["| true yaw / pitch | read yaw / pitch |", "|---|---|"]
    seen = set()
    for t, r in zip(true, read):
        if tuple(t) not in seen:
            seen.add(tuple(t))
            lines.append(f"| {t[0]:.0f} / {t[1]:.0f} | {r[0]:.1f} / {r[1]:.1f} |")
    return "\n".join(lines)


def pictures(animator: TurnAnimator, folder: Path, driver: TurnAnimator | None = None) -> None:
    """portrait | driver | mode 1 | mode 2 at each of :data:`PICTURE_ANGLES`, one PNG each and all
    together; the driver is ``driver``'s portrait turned (default: the portrait's own)."""
    from clothflow.animate.face.headpose import rotation_matrix

    driver = driver or animator
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for yaw, pitch in PICTURE_ANGLES:
        frame = driver.render(rotation_matrix(yaw, pitch))
        mode1, mode2 = drive(animator, [driver.source, frame], 3)
        frame = cv2.resize(frame, animator.source.shape[1::-1], interpolation=cv2.INTER_AREA)
        row = np.concatenate([animator.source, frame, mode1[1], mode2[1]], 1)
        for k, text in enumerate(("portrait", f"driver {yaw:+d} / {pitch:+d}", "mode 1", "mode 2")):
            cv2.putText(row, text, (k * animator.source.shape[1] + 6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        (255, 255, 255), 1, cv2.LINE_AA)
        cv2.imwrite(str(folder / f"yaw{yaw:+d}_pitch{pitch:+d}.png"), cv2.cvtColor(row, cv2.COLOR_RGB2BGR))
        rows.append(row)
    cv2.imwrite(str(folder / "all.png"), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=2, help="passes over the clip when timing")
    parser.add_argument("--hold", type=int, default=3, help="output frames per driving frame when measuring quality")
    parser.add_argument("--pictures", type=Path, help="write the visual check here (PNG)")
    parser.add_argument("--threads-now", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads_now:
        for size in args.sizes:
            print(f"{size} {speed(size, args.repeats):.2f}")
        return
    print("command: python " + " ".join(sys.argv))
    fps = {}
    for n in args.threads:
        done = subprocess.run([sys.executable, __file__, "--threads-now", str(n), "--repeats", str(args.repeats),
                               "--sizes", *map(str, args.sizes)], capture_output=True, text=True, check=True)
        for line in done.stdout.split("\n"):
            if line.strip():
                size, value = line.split()
                fps[int(size), n] = float(value)
    print("\n| size | " + " | ".join(f"{n} thread{'s' * (n > 1)}" for n in args.threads) + " |")
    print("|---|" + "---|" * len(args.threads))
    for size in args.sizes:
        print(f"| {size} x {size} | " + " | ".join(f"{fps[size, n]:.1f} frames/s" for n in args.threads) + " |")
    animator = TurnAnimator(portrait())
    own = turning_face_clip(animator.source, animator=animator)
    print("\nthe driving clip read by the face mesh (degrees, relative to its first frame):\n")
    print(clip_check(own))
    print()
    print(table(evaluate("astronaut driven by her own turning clip", animator, own, args.hold)))
    other = hopper()
    other_animator = TurnAnimator(other) if other is not None else None
    if other_animator is not None:
        clip = turning_face_clip(other, animator=other_animator)
        print()
        print(table(evaluate("astronaut driven by Grace Hopper's turning clip", animator, clip, args.hold)))
    if args.pictures:
        pictures(animator, args.pictures / "self")
        if other_animator is not None:
            pictures(animator, args.pictures / "hopper", other_animator)
            pictures(other_animator, args.pictures / "hopper_self")
        print(f"\npictures in {args.pictures}: self/ (driven by her own turns), hopper/ (by Grace Hopper's), "
              "hopper_self/ (Grace Hopper by her own)")


if __name__ == "__main__":
    main()

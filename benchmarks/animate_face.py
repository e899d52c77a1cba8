"""Speed of face animation (frames per second), and the README's contact sheet.

Usage: python benchmarks/animate_face.py [--sizes 512 256] [--repeats 3] [--threads 2]
                                         [--sheet docs/animate_face.png]

The source is scikit-image's astronaut photo (512 x 512, resized for other sizes); the driving
clip is made from the same photo by :func:`clothflow.animate.face.driving.synthetic_face_clip`
(320 x 320 frames, framed differently). The contact sheet animates another person with that
clip: Grace Hopper's portrait from matplotlib's sample data when matplotlib is installed
(it is not a dependency), else the astronaut herself. Two figures per size:
end to end (driving landmarks + rendering, what ``clothflow animate --face`` does apart from
video decoding and encoding) and rendering alone (given the target landmarks).
OpenCV and BLAS are limited to ``--threads``; MediaPipe runs its own TFLite threads.
"""

from __future__ import annotations

import argparse

from blas_threads import from_argv

from_argv("--threads", default="2")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage.data import astronaut  # noqa: E402

from clothflow.animate.face.animator import FaceAnimator, animate_face  # noqa: E402
from clothflow.animate.face.driving import FaceClip, synthetic_face_clip  # noqa: E402
from clothflow.animate.face.landmarks import FaceLandmarker, eye_aspect_ratio, mouth_open_ratio  # noqa: E402
from clothflow.animate.face.motion import transfer_motion  # noqa: E402


def sheet_portrait() -> tuple[np.ndarray, str]:
    """Grace Hopper from matplotlib's sample data if available, else the astronaut."""
    try:
        import matplotlib.cbook as cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), "Grace Hopper (matplotlib sample data)"
    except Exception:  # matplotlib missing or without its sample data
        return astronaut(), "the astronaut herself (matplotlib not installed)"


def make_clip(portrait: np.ndarray) -> FaceClip:
    with FaceLandmarker() as find:
        landmarks = find(portrait)
    if landmarks is None:
        raise SystemExit("no face found in the driving portrait")
    return synthetic_face_clip(portrait, landmarks, size=320)


def measure(source: np.ndarray, clip: FaceClip, repeats: int) -> tuple[float, float, list[np.ndarray]]:
    """(end-to-end fps, render-only fps, the first pass's output frames)."""
    frames = clip.frames * repeats
    outputs = list(animate_face(source, clip.frames))  # warm-up, and the frames for the sheet
    start = time.perf_counter()
    for _ in animate_face(source, frames):
        pass
    end_to_end = len(frames) / (time.perf_counter() - start)
    animator = FaceAnimator(source)
    with FaceLandmarker(static=False) as find:
        found = [find(f) for f in clip.frames]
    targets = [transfer_motion(animator.landmarks, found[0], lm) for lm in found] * repeats
    start = time.perf_counter()
    for target in targets:
        animator.render(target)
    render = len(targets) / (time.perf_counter() - start)
    return end_to_end, render, outputs


def report(clip: FaceClip, outputs: list[np.ndarray]) -> None:
    """Eye aspect ratio (mean of both eyes) and mouth opening, measured on driving and output frames."""
    with FaceLandmarker() as find:
        print("frame event        EAR driving / output   mouth driving / output")
        for i, (event, frame, out) in enumerate(zip(clip.events, clip.frames, outputs)):
            d, o = find(frame), find(out)
            ear = [f"{eye_aspect_ratio(x).mean():.3f}" if x is not None else "  -  " for x in (d, o)]
            mouth = [f"{mouth_open_ratio(x):.3f}" if x is not None else "  -  " for x in (d, o)]
            print(f"{i:5d} {event:12s} {ear[0]} / {ear[1]}          {mouth[0]} / {mouth[1]}")


def face_crops(frames: list[np.ndarray], cell: int) -> list[np.ndarray]:
    """``cell`` x ``cell`` close-ups of the frames, all around where the first frame's face is."""
    with FaceLandmarker() as find:
        lm = find(frames[0])
    h, w = frames[0].shape[:2]
    half = min(int(0.85 * np.ptp(lm[:, 0])), h // 2, w // 2)
    centre = lm.mean(0)
    x0, y0 = (int(np.clip(c - half, 0, s - 2 * half)) for c, s in zip(centre, (w, h)))
    return [cv2.resize(f[y0 : y0 + 2 * half, x0 : x0 + 2 * half], (cell, cell), interpolation=cv2.INTER_AREA) for f in frames]


def contact_sheet(clip: FaceClip, outputs: list[np.ndarray], path: Path, cell: int = 160) -> None:
    """Rows: the driving frames' faces close up (labelled), the outputs' faces close up, the whole outputs.

    Columns: the first frame and every frame that is not neutral.
    """
    keep = [0] + [i for i, e in enumerate(clip.events) if e != "neutral"]
    clip = FaceClip([clip.frames[i] for i in keep], tuple(clip.events[i] for i in keep))
    outputs = [outputs[i] for i in keep]
    top = face_crops(clip.frames, cell)
    for image, event in zip(top, clip.events):
        cv2.putText(image, event.replace("_", " "), (4, cell - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    whole = [cv2.resize(o, (cell, int(round(cell * o.shape[0] / o.shape[1]))), interpolation=cv2.INTER_AREA) for o in outputs]
    sheet = np.concatenate([np.concatenate(row, 1) for row in (top, face_crops(outputs, cell), whole)], 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 256], help="source sides in pixels")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the 11-frame clip per measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sheet", type=Path, help="write the contact sheet (driving frames, then the animated "
                        "portrait's face close up and whole) here")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    clip = make_clip(astronaut())
    print(f"driving: {len(clip.frames)} frames of 320 x 320 made from the astronaut photo; {args.threads} threads")
    for size in args.sizes:
        source = astronaut() if size == 512 else cv2.resize(astronaut(), (size, size), interpolation=cv2.INTER_AREA)
        end_to_end, render, outputs = measure(source, clip, args.repeats)
        print(f"source {size} x {size}: {end_to_end:.1f} frames/s end to end, {render:.1f} frames/s rendering only "
              f"({len(clip.frames) * args.repeats} frames)")
        if size == 512:
            report(clip, outputs)
    if args.sheet is not None:
        portrait, who = sheet_portrait()
        outputs = list(animate_face(portrait, clip.frames))
        print(f"contact sheet: {who} driven by the clip")
        report(clip, outputs)
        contact_sheet(clip, outputs, args.sheet)
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()

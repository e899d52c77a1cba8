"""Body animation of real photos by a real motion: flicker, clothes kept, and a sheet of frames.

    python benchmarks/animate_real.py --driving ../shared/data/driving_walk \
        --sources PHOTO [PHOTO ...] [--model transfer-deepfashion-256] [--sheet docs/animate_real.png]

Each source photo is prepared as `clothflow animate` prepares it (the shipped parser, MediaPipe,
else a pose read off the parsing), then driven by the sequence's poses (estimated per frame,
tracked). Figures per source:
- flicker: mean absolute difference of consecutive frames, in 8-bit grey levels, over the static
  background: the pixels of the network's frame that its predicted layout calls background in
  every frame (the columns outside the network's frame are the photo's own and never change);
- clothes kept: the mean colour distance (RGB, grey levels) between the upper garment of the
  source and of each frame (the predicted layout's "upper" class), mean over frames, beside the
  same distance between two different photos' garments (what "not kept" looks like);
- fps of the animator alone.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from blas_threads import from_argv

from_argv("--threads", default="2")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from clothflow.animate.body import AnimateConfig, BodyAnimator, encode_source  # noqa: E402
from clothflow.animate.cli import load_source  # noqa: E402
from clothflow.animate.driving import open_driving  # noqa: E402
from clothflow.core.images import save_png, to_uint8  # noqa: E402
from clothflow.core.ops import labels  # noqa: E402
from clothflow.core.pretrained import DEFAULT_MODELS, resolve_model  # noqa: E402
from clothflow.data.formats.images import fit_to_size, place_in_frame, read_rgb  # noqa: E402
from clothflow.models.pipeline import ClothFlowPipeline  # noqa: E402

UPPER = list(labels.GROUPS).index("upper")
BACKGROUND = list(labels.GROUPS).index("background")


def animate(pipe: ClothFlowPipeline, photo: Path, driving) -> dict:
    """Frames (in the photo's frame), the network's frames, their layouts, and the source's garment colour."""
    image, parse, kps = load_source(photo, None, None)
    source = encode_source(pipe, image, parse, kps)
    animator = BodyAnimator(pipe, source, driving.fps, AnimateConfig())
    start = time.perf_counter()
    with torch.inference_mode():
        out = list(animator.run(driving.poses))
    seconds = time.perf_counter() - start
    small = [to_uint8(f.image[0]) for f in out]
    frames = [place_in_frame(f, image) for f in small]
    with torch.inference_mode():  # the layout each frame was drawn with (without the temporal blending)
        layouts = [pipe.predict_layout(pipe.encode(source.image, source.parse, torch.from_numpy(f.keypoints)[None]))
                   .argmax(1)[0].numpy() for f in out]
    src_small = fit_to_size(image, pipe.config.size)
    src_classes = source.classes[0].numpy()
    return {"frames": frames, "small": small, "layouts": layouts, "seconds": seconds,
            "garment": src_small[src_classes == UPPER].reshape(-1, 3).mean(0) if (src_classes == UPPER).any() else None}


def flicker(small: list[np.ndarray], layouts: list[np.ndarray]) -> float:
    """Mean absolute grey-level change between consecutive frames where every frame is background."""
    still = np.all([lay == BACKGROUND for lay in layouts], axis=0)
    grey = [f.astype(np.float32).mean(-1) for f in small]
    return float(np.mean([np.abs(b - a)[still].mean() for a, b in zip(grey, grey[1:])])) if still.any() else float("nan")


def garment_distance(small: list[np.ndarray], layouts: list[np.ndarray], colour: np.ndarray | None) -> float:
    if colour is None:
        return float("nan")
    d = [np.abs(f[lay == UPPER].reshape(-1, 3).mean(0) - colour).mean() for f, lay in zip(small, layouts) if (lay == UPPER).any()]
    return float(np.mean(d)) if d else float("nan")


def sheet(results: list[dict], driving_frames: list[np.ndarray], picks: list[int], height: int = 192) -> np.ndarray:
    """Rows: the driving frames on top, then per source: the photo, then its frames at ``picks``."""
    import cv2

    def fit(img):
        return cv2.resize(img, (max(1, round(img.shape[1] * height / img.shape[0])), height), interpolation=cv2.INTER_AREA)

    rows = []
    width = None
    for r in results:
        cells = [fit(r["photo"])] + [fit(r["frames"][i]) for i in picks]
        rows.append(np.concatenate(cells, 1))
        width = rows[-1].shape[1]
    top = [np.full((height, fit(results[0]["photo"]).shape[1], 3), 255, np.uint8)]
    for i in picks:
        d = fit(driving_frames[i])
        cell = np.full((height, fit(results[0]["frames"][i]).shape[1], 3), 255, np.uint8)
        x = (cell.shape[1] - d.shape[1]) // 2
        cell[:, max(x, 0):max(x, 0) + d.shape[1]] = d[:, :cell.shape[1]]
        top.append(cell)
    top_row = np.concatenate(top, 1)[:, :width]
    return np.concatenate([top_row] + rows, 0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--driving", type=Path, required=True, help="a folder of frames, or a video")
    p.add_argument("--sources", type=Path, nargs="+", required=True, help="person photos to animate")
    p.add_argument("--model", default=DEFAULT_MODELS["transfer"])
    p.add_argument("--sheet", type=Path, help="write a sheet of frames (PNG)")
    p.add_argument("--picks", type=int, nargs="*", default=[0, 8, 16, 24, 32, 40, 48, 56])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    pipe = ClothFlowPipeline.from_pretrained(resolve_model(args.model)).eval()
    driving = open_driving(args.driving)
    driving.poses = list(driving.poses)
    results, figures = [], []
    for photo in args.sources:
        r = animate(pipe, photo, driving)
        r["photo"] = read_rgb(photo)
        results.append(r)
    for i, r in enumerate(results):
        other = results[(i + 1) % len(results)]["garment"] if len(results) > 1 else None
        row = {"source": r and str(args.sources[i].name), "frames": len(r["frames"]),
               "flicker": flicker(r["small"], r["layouts"]),
               "garment_kept": garment_distance(r["small"], r["layouts"], r["garment"]),
               "garment_other_photo": float(np.abs(other - r["garment"]).mean()) if other is not None and r["garment"] is not None else float("nan"),
               "fps": len(r["frames"]) / r["seconds"]}
        figures.append(row)
        print(json.dumps(row))
    keys = ("flicker", "garment_kept", "garment_other_photo", "fps")
    print("mean " + " ".join(f"{k} {np.nanmean([f[k] for f in figures]):.2f}" for k in keys))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    if args.sheet:
        files = sorted(p for p in args.driving.iterdir() if p.suffix.lower() in (".jpg", ".png")) if args.driving.is_dir() else []
        driving_frames = [read_rgb(f) for f in files] if files else [np.full((64, 32, 3), 255, np.uint8)] * len(driving.poses)
        picks = [i for i in args.picks if i < len(results[0]["frames"])]
        save_png(args.sheet, sheet(results, driving_frames, picks))
        print(f"wrote {args.sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

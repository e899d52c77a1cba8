"""Body animation on synthetic walk and wave sequences: quality, temporal stability and speed.

Usage:
    python benchmarks/animate_body.py [--model clothflow-demo/model] [--frames 48] [--threads 2]
                                      [--sheet docs/animate_walk.png]

For each motion, the person of seed 0 standing still is the source photo; the true frames are
the same person rendered in the motion's poses. Two drivers: the person's own keypoints
("self"), and the same motion performed by the person of seed 1, with other proportions,
seen in a 256 x 176 frame ("other"; retargeting matters). Each is run with and without
temporal reuse.

Figures:
- SSIM: per-frame SSIM of the output against the true frame (whole image), mean over frames.
- stability: mean absolute difference, in 8-bit grey levels, between frame t and frame t - 1
  warped to t by the *true* flow between the two true frames, over the pixels where that flow
  is known (visible body pixels, and background in both frames); mean over t. The same figure
  of the true frames themselves (only resampling error) is the floor.
- sharpness: mean absolute difference between neighbouring pixels (grey levels, over the
  true frame's body pixels), as a share of the true frames' own: blending frames blurs, and
  blur alone would also make the stability figure look better.
- fps: frames per second of the animator alone (retarget, smooth, three stages), on
  ``--threads`` threads, driving poses given (no pose estimation).

``--video``: also render the other person's motion to an MP4 and drive from it the way
``clothflow animate --driving video.mp4`` does (MediaPipe, the ``[pose]`` extra): the
keypoint error against the renderer's keypoints and the jitter (mean norm of the second
difference over time) of the raw and the smoothed poses, then the same figures as above
("video" driver) and the pose estimator's own frames per second.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from clothflow.animate.body import AnimateConfig, BodyAnimator, encode_source
from clothflow.core.ops.pose import draw_skeleton
from clothflow.data.synth.renderer import true_flow
from clothflow.data.synth.motion import motion_identity, motion_poses, motion_sequence
from clothflow.evaluation.metrics import ssim
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.core.ops.warp import warp
from clothflow.core.images import save_png, to_uint8
from clothflow.evaluation.visualize import grid

DRIVER_FRAME = (256, 176)


def as_tensor(image: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 -> 1 x 3 x H x W in [-1, 1]."""
    return torch.from_numpy(image).permute(2, 0, 1).float().div(127.5).sub(1)[None]


def stability(frames: list[torch.Tensor], truth) -> float:
    """Mean |I_t - W(I_{t-1}, true flow t -> t-1)| in grey levels over the known pixels (see the notes)."""
    diffs = []
    for t in range(1, len(frames)):
        flow, vis = true_flow(truth[t - 1], truth[t])
        known = vis | ((truth[t].surface == 0) & (truth[t - 1].surface == 0))
        f = torch.from_numpy(flow).permute(2, 0, 1)[None]
        moved = warp(frames[t - 1], f, padding_mode="border")
        mask = torch.from_numpy(known)[None, None].float()
        err = ((frames[t] - moved).abs().mean(1, keepdim=True) * mask).sum() / mask.sum().clamp(min=1)
        diffs.append(float(err) * 127.5)
    return float(np.mean(diffs))


def gradient_energy(frames: list[torch.Tensor], truth) -> float:
    """Mean |horizontal| + |vertical| neighbour difference in grey levels over the true body pixels."""
    values = []
    for image, render in zip(frames, truth):
        gy = (image[..., 1:, :-1] - image[..., :-1, :-1]).abs()
        gx = (image[..., :-1, 1:] - image[..., :-1, :-1]).abs()
        mask = torch.from_numpy(render.surface[:-1, :-1] > 0)[None, None].float()
        values.append(float(((gx + gy).mean(1, keepdim=True) * mask).sum() / mask.sum().clamp(min=1)) * 127.5)
    return float(np.mean(values))


def jitter(poses: np.ndarray) -> float:
    """Mean norm of the second difference over time of points present in three frames running (pixels)."""
    ok = (poses >= 0).all(-1)
    both = ok[2:] & ok[1:-1] & ok[:-2]
    return float(np.linalg.norm(np.diff(poses, 2, axis=0), axis=-1)[both].mean())


def estimated_poses(kind: str, frames: int, seed: int, fps: float) -> list[np.ndarray]:
    """The motion of person ``seed`` as an MP4, its poses estimated as ``clothflow animate`` does."""
    import tempfile

    from clothflow.animate.driving import open_driving
    from clothflow.animate.retarget import OneEuroFilter
    from clothflow.data.formats.video import write_video

    seq = motion_sequence(kind, frames, DRIVER_FRAME, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}.mp4"
        write_video(path, [f.image for f in seq.frames], fps=fps)
        start = time.perf_counter()
        poses = np.stack(open_driving(path).poses)
        seconds = time.perf_counter() - start
    truth = seq.keypoints()
    unit = motion_poses(kind, 1, DRIVER_FRAME, motion_identity(seed))[0].unit  # torso length in pixels
    filt = OneEuroFilter(fps, scale=unit)
    smooth = np.stack([filt(p) for p in poses])
    ok = (poses >= 0).all(-1) & (truth >= 0).all(-1)
    err = lambda x: float(np.linalg.norm(x - truth, axis=-1)[ok & (x >= 0).all(-1)].mean())  # noqa: E731
    print(f"{kind} video ({DRIVER_FRAME[0]} x {DRIVER_FRAME[1]}): pose estimation {frames / seconds:.1f} frames/s; "
          f"{ok.mean():.0%} of points found; error vs the renderer's keypoints raw {err(poses):.2f} px, smoothed "
          f"{err(smooth):.2f} px; jitter raw {jitter(poses):.2f} px, smoothed {jitter(smooth):.2f} px, "
          f"true poses {jitter(truth):.2f} px")
    return list(poses)


def run(pipe, source, poses, fps: float, reuse: bool):
    """Animate; returns (frames, seconds per frame)."""
    animator = BodyAnimator(pipe, source, fps, AnimateConfig(temporal_reuse=reuse))
    start = time.perf_counter()
    frames = list(animator.run(poses))
    return frames, (time.perf_counter() - start) / len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("clothflow-demo/model"))
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--motions", nargs="+", default=["walk", "wave"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of the sequences (One-Euro filter)")
    parser.add_argument("--sheet", type=Path, help="write a contact sheet of the walk here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--video", action="store_true", help="also drive from an MP4 through the pose estimator")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = ClothFlowPipeline.from_pretrained(args.model)
    size = tuple(pipe.config.size)
    results = {}
    print(f"model {args.model} ({size[0]} x {size[1]}), {args.frames} frames per sequence, {args.threads} threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'motion':6} {'driver':6} {'reuse':5} {'SSIM':>6} {'min SSIM':>8} {'stability':>9} {'truth stab.':>11} "
          f"{'sharpness':>9} {'fps':>6}")
    for kind in args.motions:
        seq = motion_sequence(kind, args.frames, size, seed=args.seed)
        truth = [as_tensor(f.image) for f in seq.frames]
        truth_stab = stability(truth, seq.frames)
        truth_sharp = gradient_energy(truth, seq.frames)
        source = encode_source(pipe, seq.rest.image, seq.rest.parse, seq.rest.keypoints)
        other = [p.keypoints for p in motion_poses(kind, args.frames, DRIVER_FRAME, motion_identity(args.seed + 1))]
        drivers = {"self": list(seq.keypoints()), "other": other}
        if args.video:
            drivers["video"] = estimated_poses(kind, args.frames, args.seed + 1, args.fps)
        run(pipe, source, drivers["self"][:3], args.fps, True)  # warm-up
        for driver, poses in drivers.items():
            for reuse in (False, True):
                frames, spf = run(pipe, source, poses, args.fps, reuse)
                images = [f.image for f in frames]
                scores = [float(ssim(o, t)) for o, t in zip(images, truth)]
                row = {"ssim": float(np.mean(scores)), "ssim_min": float(np.min(scores)), "ssim_per_frame": scores,
                       "stability": stability(images, seq.frames), "truth_stability": truth_stab,
                       "sharpness": gradient_energy(images, seq.frames) / truth_sharp, "fps": 1.0 / spf}
                results[f"{kind}/{driver}/{'reuse' if reuse else 'no_reuse'}"] = row
                print(f"{kind:6} {driver:6} {'on' if reuse else 'off':5} {row['ssim']:6.3f} {row['ssim_min']:8.3f} "
                      f"{row['stability']:9.2f} {truth_stab:11.2f} {row['sharpness']:9.2f} {row['fps']:6.1f}")
                if kind == "walk" and driver == "other":
                    keep = {"reuse" if reuse else "no_reuse": frames}
                    results.setdefault("_frames", {}).update(keep)
        if kind == "walk":
            results["_walk"] = (seq, drivers["other"])
    for key, row in results.items():
        if key.endswith("/self/reuse"):
            print(f"per-frame SSIM, {key}: " + " ".join(f"{s:.3f}" for s in row["ssim_per_frame"]))
    if args.sheet is not None and "_walk" in results:
        save_png(args.sheet, contact_sheet(results["_walk"], results["_frames"], size))
        print(f"contact sheet: {args.sheet}")
    if args.json is not None:
        args.json.write_text(json.dumps({k: v for k, v in results.items() if not k.startswith("_")}, indent=2))


def contact_sheet(walk, frames: dict, size: tuple[int, int], rows: int = 6) -> np.ndarray:
    """Rows over one cycle: source | driving person | pose used | output (reuse) | output (no reuse) | truth."""
    seq, _ = walk
    other_seq = motion_sequence(seq.kind, len(seq.frames), DRIVER_FRAME, seed=1)
    h, w = size
    pick = np.linspace(0, min(len(seq.frames), 24) - 1, rows).round().astype(int)
    cells = []
    for t in pick:
        drv = other_seq.frames[t].image
        drv_small = np.asarray(torch.nn.functional.interpolate(as_tensor(drv), size=size, mode="area")[0].add(1).mul(127.5)
                               .round().byte().permute(1, 2, 0))
        pose = frames["reuse"][t].keypoints
        bones = draw_skeleton(pose, h, w, thickness=1)
        cells.append([seq.rest.image, drv_small, bones, to_uint8(frames["reuse"][t].image[0]),
                      to_uint8(frames["no_reuse"][t].image[0]), seq.frames[t].image])
    return grid(cells, ["source", "driving", "pose used", "output", "no reuse", "truth"])


if __name__ == "__main__":
    main()

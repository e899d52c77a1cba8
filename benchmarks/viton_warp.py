"""The warp stage alone on real try-on data (VITON): ClothFlow's cascaded flow against other warps.

    python benchmarks/viton_warp.py --data ~/.cache/viton/viton --out runs/viton-warp \
        [--minutes 20] [--size 256x192] [--variants full tps no_cascade] [--pairs 457] \
        [--set train.loss.flow.mask=10 ...] [--variant-set tps:train.stage_lr.flow=1e-4 ...]

Each variant's flow stage is trained by ``clothflow train --task tryon --stage flow`` on
``train/`` (the true layout is its target, as in the paper) for the same wall-clock budget,
then scored on the persons of ``test_clean.txt`` in the paired setting: the in-shop garment
warped by the flow (with the person's true layout) against the person's own garment region.
Two non-learned warps are scored beside them: the garment left where it is (``no_warp``)
and placed on the torso by scale and translation (``torso_affine``).

Scores, as CP-VTON+ reports its warp: SSIM of the warped garment and the person's garment
region (the skimage protocol, on the region), L1 inside the region, and the IoU of the
warped garment mask with the region. Also the mean flow length (a collapsed flow throws the
garment out of the frame: long flows, IoU near 0). Results go to ``OUT/warp.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from clothflow.core.ops.warp import warp
from clothflow.data.datasets.viton import VitonDataset
from clothflow.evaluation import metrics
from clothflow.evaluation.baselines import torso_affine_flow
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.training.checkpoint import load_checkpoint


def train_flow(data: Path, run: Path, variant: str, size: str, minutes: float, batch: int, sets: list[str]) -> None:
    """Train (or continue) the flow stage of one variant for ``minutes``."""
    if (run / "train.json").is_file():
        cmd = ["clothflow", "train", "--resume", str(run), "--minutes", str(minutes)]
    else:
        cmd = ["clothflow", "train", "--task", "tryon", "--data", str(data / "train"), "--preset", "fast",
               "--set", f"size={size}", "--variant", variant, "--stage", "flow", "--steps", "100000",
               "--batch-size", str(batch), "--workers", "1", "--minutes", str(minutes), "--out", str(run)]
        for s in sets:
            cmd += ["--set", s]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def _scores(warped: torch.Tensor, warped_mask: torch.Tensor, truth: torch.Tensor, region: torch.Tensor) -> dict:
    """Per-image SSIM, masked L1 and mask IoU of warped garments against the garment regions."""
    target = truth * region + (1 - region)  # the person's garment on white, as the in-shop image
    shown = warped * warped_mask + (1 - warped_mask)
    inside = region.flatten(1).sum(1).clamp(min=1)
    l1 = ((shown - target).abs().mean(1, keepdim=True) * region).flatten(1).sum(1) / inside
    hard = warped_mask > 0.5
    inter = (hard & (region > 0.5)).flatten(1).sum(1).float()
    union = (hard | (region > 0.5)).flatten(1).sum(1).float().clamp(min=1)
    return {"ssim": metrics.paper_ssim(target, shown), "l1": l1.numpy(), "iou": (inter / union).numpy()}


@torch.inference_mode()
def score(pipe: ClothFlowPipeline | None, dataset, batch: int = 16) -> dict:
    """Mean scores over ``dataset``; ``pipe`` None scores the two non-learned warps."""
    out: dict[str, dict[str, list]] = {}
    for item in DataLoader(dataset, batch_size=batch):
        if pipe is None:
            from clothflow.models.tasks import TASKS

            task = TASKS["tryon"]
            x, truth = task.encode(task.batch_inputs(item)), task.truth(item)
            region = task.cloth_region(truth.classes)
            flows = {"no_warp": torch.zeros_like(x.cloth[:, :2]),
                     "torso_affine": torso_affine_flow(x.cloth_mask, item["person_pose"])}
            warps = {k: (warp(x.cloth, f), warp(x.cloth_mask, f), f) for k, f in flows.items()}
        else:
            x, truth = pipe.encode_batch(item), pipe.task.truth(item)
            region = pipe.task.cloth_region(truth.classes)
            f = pipe.estimate_flow(x, truth.classes)
            warps = {"model": (f.warped_cloth, f.warped_mask, f.flow)}
        for name, (cloth, mask, flow) in warps.items():
            s = _scores(cloth, mask, truth.image, region)
            s["flow_px"] = flow.norm(dim=1).flatten(1).mean(1).numpy()
            for k, v in s.items():
                out.setdefault(name, {}).setdefault(k, []).extend(np.asarray(v).tolist())
    return {name: {k: round(float(np.mean(v)), 4) for k, v in d.items()} for name, d in out.items()}


def _variant_set(text: str) -> tuple[str, str]:
    """``VARIANT:KEY=VALUE`` -> (variant, ``KEY=VALUE``)."""
    variant, _, setting = text.partition(":")
    if "=" not in setting:
        raise argparse.ArgumentTypeError(f"{text!r} is not VARIANT:KEY=VALUE")
    return variant, setting


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="the extracted viton/ folder (train/, test/, lists)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--variants", nargs="+", default=["full", "tps", "no_cascade"])
    ap.add_argument("--minutes", type=float, default=20.0, help="training budget of each variant")
    ap.add_argument("--size", default="256x192")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--pairs", type=int, default=457, help="test_clean pairs scored (all 457 by default)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed to clothflow train")
    ap.add_argument("--variant-set", action="append", default=[], type=_variant_set, metavar="VARIANT:KEY=VALUE",
                    help="passed to clothflow train for that variant only (after the --set ones)")
    ap.add_argument("--name", help="result row name prefix (default: the variant)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    h, w = (int(v) for v in args.size.lower().split("x"))
    test = VitonDataset(args.data / "test", "test_clean.txt", size=(h, w))
    test = Subset(test, range(min(args.pairs, len(test))))
    result_path = args.out / "warp.json"
    results = json.loads(result_path.read_text()) if result_path.is_file() else {}
    results.update(score(None, test))
    for variant in args.variants:
        name = f"{args.name}-{variant}" if args.name else variant
        run = args.out / "runs" / name
        started = time.monotonic()
        own = [setting for of, setting in args.variant_set if of == variant]
        train_flow(args.data, run, variant, args.size, args.minutes, args.batch_size, args.set + own)
        pipe = ClothFlowPipeline.from_pretrained(run).eval()
        row = score(pipe, test)["model"]
        row["train_minutes"] = round((time.monotonic() - started) / 60, 1)
        state, _ = load_checkpoint(run / "checkpoint.safetensors", pipe)
        row["steps"] = int(state.stage_steps.get("flow", state.step))
        if own:
            row["set"] = own
        results[name] = row
        print(name, row, flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        result_path.write_text(json.dumps(results, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    result_path.write_text(json.dumps(results, indent=2))
    for name, row in results.items():
        print(f"{name:24s} " + "  ".join(f"{k} {v}" for k, v in row.items()))


if __name__ == "__main__":
    sys.exit(main())

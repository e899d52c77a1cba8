"""Pose-transfer models side by side on the same held-out people, each at its own size.

Two held-out sets, the ablation benchmark's (``ablation.held_out_sets``): synthetic pairs of
seed 10,000, and synthetic people rendered in real DeepFashion test poses (seed 10,001; skipped
when the annotation CSV is absent). For each model: final SSIM, warp SSIM (warped cloth against the
target's cloth region) and flow end-point error on visible target cloth, with the flow
stage's baselines (the cloth not warped; a zero flow) and EPE as a share of the zero flow's.

    python benchmarks/shipped_transfer.py --models transfer-synthetic-256 runs/demo/model --pairs 128

Models are shipped names or run folders; a ``clothflow demo --train`` run's model is its
``model/`` folder.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from clothflow.evaluation.evaluate import evaluate
from clothflow.models.pipeline import ClothFlowPipeline

from ablation import REAL_POSES, held_out_sets


def row(model: str, size: tuple[int, int], set_name: str, m: dict, seconds: float) -> dict:
    epe, zero = m["flow_epe"]["clothflow"], m["flow_epe"]["zero_flow"]
    return {"model": model, "size": f"{size[0]} x {size[1]}", "set": set_name, "ssim": m["final_ssim"],
            "warp_ssim": m["warp_ssim"]["clothflow"], "warp_ssim_no_warp": m["warp_ssim"]["no_warp"],
            "epe": epe, "epe_zero_flow": zero, "epe_share": round(epe / zero, 3), "layout_miou": m.get("layout_miou"),
            "seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", required=True, help="shipped names or model folders")
    ap.add_argument("--pairs", type=int, default=128, help="held-out pairs per set")
    ap.add_argument("--poses", type=Path, default=REAL_POSES, help="DeepFashion annotation CSV of real test poses")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print("$ python benchmarks/shipped_transfer.py " + shlex.join(argv if argv is not None else sys.argv[1:]))
    rows = []
    for name in args.models:
        pipe = ClothFlowPipeline.from_pretrained(name).eval()
        if pipe.config.task != "transfer":
            raise SystemExit(f"{name} is a {pipe.config.task} model; this benchmark compares pose transfer")
        size = tuple(pipe.config.size)
        for set_name, data in held_out_sets(size, args.pairs, args.poses).items():
            started = time.perf_counter()
            found, _ = evaluate(pipe, data)
            rows.append(row(name, size, set_name, found, time.perf_counter() - started))
            print(json.dumps(rows[-1]), flush=True)
    print()
    print("| model | size | held-out set | SSIM | warp SSIM (no warp) | flow EPE px (zero flow) | EPE / zero flow | layout mIoU |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['size']} | {r['set']} | {r['ssim']:.3f} | {r['warp_ssim']:.3f} ({r['warp_ssim_no_warp']:.3f}) "
              f"| {r['epe']:.2f} ({r['epe_zero_flow']:.2f}) | {r['epe_share']:.2f} | {r['layout_miou']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

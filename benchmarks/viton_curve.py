"""Paired SSIM against training time: train a try-on run's stage in slices, scoring after each.

    python benchmarks/viton_curve.py --run RUN --data ~/.cache/viton/viton --stage render \
        --slices 5 --minutes 15 [--pairs test_clean.txt] [--threads 1] [--set train.stage_lr.render=4e-4]

Each slice resumes ``RUN`` (``clothflow train --resume RUN --set train.stage=STAGE --minutes M``)
and then scores it with ``clothflow evaluate`` on the paired test list; one line per slice is
appended to ``RUN/curve.jsonl``: the stage's steps so far, its training minutes so far, and the
paired SSIM (skimage protocol), PSNR, L1 and garment-region SSIM. The curve says what more
training time would give. ``--set`` (repeatable) is passed to each slice's ``clothflow train``,
e.g. a lower rate for a stage that has reached its plateau.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.training.checkpoint import load_checkpoint


def stage_steps(run: Path, stage: str) -> int:
    state, _ = load_checkpoint(run / "checkpoint.safetensors", ClothFlowPipeline.from_pretrained(run))
    return int(state.stage_steps.get(stage, state.step if state.stage == stage else 0))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="the extracted viton/ folder")
    ap.add_argument("--stage", default="render", choices=["layout", "flow", "render"])
    ap.add_argument("--slices", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=15.0, help="training minutes per slice")
    ap.add_argument("--pairs", default="test_clean.txt", help="paired test list scored after each slice")
    ap.add_argument("--threads", type=int, default=None, help="torch threads of the training and scoring processes")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="train.KEY=VALUE",
                    help="passed to each slice's clothflow train (repeatable)")
    args = ap.parse_args(argv)
    overrides = [arg for item in args.overrides for arg in ("--set", item)]
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    curve = args.run / "curve.jsonl"
    done_minutes = 0.0
    if curve.is_file():
        rows = [json.loads(line) for line in curve.read_text().splitlines() if line.strip()]
        done_minutes = max((r["minutes"] for r in rows if r["stage"] == args.stage), default=0.0)
    for _ in range(args.slices):
        started = time.monotonic()
        subprocess.run(["clothflow", "train", "--resume", str(args.run), "--set", f"train.stage={args.stage}",
                        "--minutes", str(args.minutes), *overrides], check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        done_minutes += (time.monotonic() - started) / 60
        report = args.run / f"eval-{args.stage}-{stage_steps(args.run, args.stage)}"
        subprocess.run(["clothflow", "evaluate", "--model", str(args.run), "--data", str(args.data / "test"),
                        "--pairs", args.pairs, "--out", str(report)], check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        paper = json.loads((report / "metrics.json").read_text())["paper"]
        row = {"stage": args.stage, "steps": stage_steps(args.run, args.stage), "minutes": round(done_minutes, 1),
               "pairs": args.pairs, **({"set": args.overrides} if args.overrides else {}), **{k: paper[k] for k in ("ssim", "psnr", "l1", "cloth_ssim") if k in paper}}
        with open(curve, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""Does the ``fast`` preset lose quality against ``paper``? Both trained alike, scored alike.

    python benchmarks/fast_quality.py --out fast-quality/ [--size 64x44] [--steps 150]
        [--batch-size 8] [--seeds 0 1 2] [--candidate NAME=KEY=VALUE,KEY=VALUE ...]

Trains the ``paper`` and the ``fast`` architectures (their widths, depths and working scales),
each with its preset's training settings (``clothflow.training.settings.preset_training``: ``fast``'s
learning rates), for the same number of steps per stage, on the same synthetic training set,
at the same image size (default: the evaluation benchmark's 64 x 44, see
``benchmarks/ablation.py``; give ``--size 256x176`` with a GPU for the presets' own size), and
scores them on the same held-out synthetic pairs. Prints a table (mean +- std over seeds) of
final SSIM and flow EPE, each architecture's loss against paper and whether it stays within
the targets (at most 0.01 SSIM and at most 10% flow EPE), and the GFLOP per image at 256 x 176.

``--candidate`` adds rows: overrides of a preset (``preset=NAME``, default ``paper``), of its
model (``--set``-style) and of its training (``train.KEY=VALUE``), e.g.
``w16=layout.base_channels=16,flow.base_channels=16,render.base_channels=16`` or
``paper-lr8e-4=train.lr=8e-4`` or ``fast-lr2e-4=preset=fast,train.lr=2e-4,train.stage_lr.layout=0,...``.
Runs are kept in ``out/runs`` and reused by name.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ablation import held_out_sets, run_one  # benchmarks/ablation.py, beside this script
from backends import flops_per_image  # benchmarks/backends.py, beside this script
from clothflow.core.config import apply_overrides, parse_size
from clothflow.models.config import preset
from clothflow.training.settings import preset_training

MAX_SSIM_LOSS = 0.01
MAX_EPE_LOSS = 0.10


def parse_candidate(text: str) -> tuple[str, tuple[str, list[str], list[str]]]:
    """``NAME=KEY=VALUE,...`` -> (NAME, (preset, model overrides, training overrides))."""
    name, _, sets = text.partition("=")
    if not name or not sets:
        raise argparse.ArgumentTypeError(f"expected NAME=KEY=VALUE[,KEY=VALUE...], got {text!r}")
    base, model, training = "paper", [], []
    for item in sets.split(","):
        key, _, value = item.partition("=")
        if key == "preset":
            base = value
        elif key.startswith("train."):
            training.append(item[len("train."):])
        else:
            model.append(item)
    return name, (base, model, training)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("fast-quality"))
    parser.add_argument("--size", type=parse_size, default=(64, 44))
    parser.add_argument("--steps", type=int, default=150, help="steps per stage")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--train-pairs", type=int, default=2000)
    parser.add_argument("--eval-pairs", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--candidate", type=parse_candidate, action="append", default=[],
                        help="NAME=KEY=VALUE,...: another row: preset=NAME, model and train.* overrides")
    parser.add_argument("--reference", default="paper", help="the row the others are measured against")
    args = parser.parse_args()
    args.real_poses = None
    archs = {"paper": ("paper", [], []), "fast": ("fast", [], []), **dict(args.candidate)}
    if args.reference not in archs:
        parser.error(f"--reference {args.reference!r} is not a row of the table")
    torch.set_num_threads(args.threads)
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    eval_sets = held_out_sets(args.size, args.eval_pairs, None)
    results: dict[str, list[dict]] = {name: [] for name in archs}
    for seed in args.seeds:
        for name, (preset_name, sets, train_sets) in archs.items():
            base = apply_overrides(preset(preset_name), sets)
            base.size = args.size
            record = run_one(args.out, "full", seed, args, eval_sets, base=base, tag=name,
                             train_sets=preset_training(preset_name) + train_sets)
            m = record["synthetic"]
            results[name].append(m)
            print(f"{name:>6} seed {seed}: SSIM {m['final_ssim']:.3f}  EPE {m['flow_epe']['clothflow']:.2f} px"
                  f"  ({record['train_seconds']:.0f} s training)", flush=True)

    def stat(name: str, key) -> tuple[float, float]:
        values = [key(m) for m in results[name]]
        return float(np.mean(values)), float(np.std(values))

    ssim = {n: stat(n, lambda m: m["final_ssim"]) for n in results}
    epe = {n: stat(n, lambda m: m["flow_epe"]["clothflow"]) for n in results}
    gflops = {n: flops_per_image(p, sets) / 1e9 for n, (p, sets, _) in archs.items()}  # at the presets' 256 x 176

    ref = args.reference

    def against_reference(n: str) -> str:
        if n == ref:
            return "| | |"
        ssim_loss = ssim[ref][0] - ssim[n][0]
        epe_loss = epe[n][0] / epe[ref][0] - 1
        return (f"| {-ssim_loss:+.3f} ({'met' if ssim_loss <= MAX_SSIM_LOSS else 'not met'}) "
                f"| {epe_loss:+.1%} ({'met' if epe_loss <= MAX_EPE_LOSS else 'not met'}) |")

    h, w = args.size
    lines = [
        f"{h} x {w}, {args.steps} steps per stage, batch {args.batch_size}, {args.eval_pairs} held-out synthetic "
        f"pairs, seeds {args.seeds} (mean ± std); targets against {ref}: SSIM at most {MAX_SSIM_LOSS} lower, "
        f"EPE at most {MAX_EPE_LOSS:.0%} higher",
        "",
        "| name | preset | its overrides | GFLOP/image at 256 x 176 | final SSIM ↑ | flow EPE (px) ↓ "
        f"| SSIM vs {ref} | EPE vs {ref} |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {n} | {p} | {' '.join(sets + ['train.' + t for t in train_sets]) or '-'} | {gflops[n]:.1f} "
          f"| {ssim[n][0]:.3f} ± {ssim[n][1]:.3f} | {epe[n][0]:.2f} ± {epe[n][1]:.2f} {against_reference(n)}"
          for n, (p, sets, train_sets) in archs.items()),
    ]
    text = "\n".join(lines)
    (args.out / "fast_quality.md").write_text(text + "\n")
    (args.out / "fast_quality.json").write_text(json.dumps(results, indent=2))
    print(text)


if __name__ == "__main__":
    main()

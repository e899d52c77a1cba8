"""The paper's ablation table, reproduced on synthetic data with known ground truth.

    python benchmarks/ablation.py --out ablation/ [--steps 150] [--seeds 0 1 2] [--preset tiny]

Trains every variant (see ``clothflow.models.variants``) for the same number of steps per stage on
the same synthetic training set, evaluates each on the same held-out synthetic pairs (and,
when the DeepFashion test poses are found, on held-out pairs rendered in real DeepFashion
poses), over several seeds, and writes ``ablation.md`` (mean +- std), ``ablation.json``
(every run) and ``ablation.png`` (bar charts). Finished runs are kept in ``out/runs`` and
reused, so an interrupted benchmark continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from clothflow.models.variants import ABLATIONS, apply_variant
from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.data.datasets.synthetic import SyntheticPairs
from clothflow.evaluation.evaluate import evaluate
from clothflow.training.settings import TrainConfig, preset_training, variant_training
from clothflow.training.stages import train

# (column title, metrics key path, higher is better)
COLUMNS = [
    ("SSIM", ("final_ssim",), True),
    ("masked SSIM", ("final_masked_ssim",), True),
    ("LPIPS", ("lpips",), False),
    ("warp SSIM", ("warp_ssim", "clothflow"), True),
    ("flow EPE (px)", ("flow_epe", "clothflow"), False),
    ("layout mIoU", ("layout_miou",), True),
]


def _get(metrics: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(metrics, dict) or key not in metrics:
            return None
        metrics = metrics[key]
    return metrics

# The DeepFashion test poses the held-out "real poses" people are drawn in.
REAL_POSES = (Path(os.environ.get("CLOTHFLOW_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
              / "deepfashion_test_poses" / "fasion-annotation-test.csv")


def held_out_sets(size, eval_pairs: int, real_poses: Path | None) -> dict:
    sets = {"synthetic": SyntheticPairs(eval_pairs, size=size, seed=10_000)}
    if real_poses is not None and real_poses.is_file():
        try:
            sets["real poses"] = SyntheticPairs(eval_pairs, size=size, seed=10_001, poses=real_poses)
        except TypeError:  # a renderer without real-pose support
            pass
    return sets


def run_one(out: Path, variant: str, seed: int, args, eval_sets: dict, base=None, tag: str | None = None,
            train_sets: list[str] = ()) -> dict:
    """Train one variant of ``base`` (default: ``preset(args.preset)``) for one seed and evaluate it.

    ``train_sets`` are ``TrainConfig`` overrides (``key=value``), e.g. a preset's learning rates.

    The run and its metrics are kept under ``out/runs/<tag or variant>-seed<seed>`` and reused.
    """
    name = tag or variant
    result_file = out / "runs" / f"{name}-seed{seed}.json"
    if result_file.is_file():
        return json.loads(result_file.read_text())
    run = out / "runs" / f"{name}-seed{seed}"
    pipe_cfg = apply_variant(variant, base if base is not None else preset(args.preset))
    train_cfg = apply_overrides(TrainConfig(steps=args.steps, batch_size=args.batch_size, num_pairs=args.train_pairs,
                                            seed=seed, checkpoint_every=args.steps),
                                variant_training(variant) + list(train_sets))
    started = time.monotonic()
    if (run / "checkpoint.safetensors").exists():
        pipe = train(run, train_cfg=train_cfg, resume=True, progress=False)
    else:
        pipe = train(run, pipe_cfg, train_cfg, progress=False)
    seconds = time.monotonic() - started
    record = {"variant": variant, "seed": seed, "train_seconds": round(seconds, 1)}
    if tag:
        record["tag"] = tag
    for name, dataset in eval_sets.items():
        record[name], _ = evaluate(pipe, dataset)
    result_file.write_text(json.dumps(record, indent=2))
    return record


def summarise(records: list[dict], set_name: str) -> list[list[str]]:
    rows = []
    for variant in [v for v in ABLATIONS if any(r["variant"] == v for r in records)]:
        mine = [r[set_name] for r in records if r["variant"] == variant and set_name in r]
        row = [variant]
        for _, path, _ in COLUMNS:
            values = [v for v in (_get(m, path) for m in mine) if v is not None]
            row.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "n/a")
        rows.append(row)
    return rows


def markdown(records: list[dict], args, sets: list[str]) -> str:
    seeds = sorted({r["seed"] for r in records})
    lines = [
        f"Preset `{args.preset}`, {args.steps} steps per stage, batch {args.batch_size}, "
        f"{args.train_pairs} training pairs, {args.eval_pairs} held-out pairs per set, seeds {seeds} "
        "(mean ± std over seeds). Arrows: ↑ higher is better, ↓ lower is better.",
        "",
    ]
    for set_name in sets:
        lines += [f"**Held-out set: {set_name}**", ""]
        header = ["variant"] + [f"{t} {'↑' if up else '↓'}" for t, _, up in COLUMNS]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for row in summarise(records, set_name):
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def bar_chart(records: list[dict], set_name: str, path: Path) -> None:
    """One panel per metric: a bar per variant (mean) with a whisker (std)."""
    panels = [(t, p, up) for t, p, up in COLUMNS if any(_get(r[set_name], p) is not None for r in records)]
    pw, ph, margin = 300, 250, 32
    canvas = np.full((ph, pw * len(panels), 3), 255, np.uint8)
    names = [v for v in ABLATIONS if any(r["variant"] == v for r in records)]
    colours = [tuple(int(c) for c in cv2.cvtColor(np.uint8([[[int(180 * i / len(names)), 200, 220]]]),
                                                    cv2.COLOR_HSV2BGR)[0, 0]) for i in range(len(names))]
    for k, (title, p, up) in enumerate(panels):
        x0 = k * pw
        stats = []
        for v in names:
            vals = [_get(r[set_name], p) for r in records if r["variant"] == v]
            vals = [x for x in vals if x is not None]
            stats.append((np.mean(vals), np.std(vals)) if vals else None)
        top = max((m + s for m, s in filter(None, stats)), default=1.0) or 1.0
        cv2.putText(canvas, f"{title} {'(higher better)' if up else '(lower better)'}", (x0 + 8, 18),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
        bw = (pw - 2 * margin) // len(names)
        for i, (stat, name) in enumerate(zip(stats, names)):
            bx = x0 + margin + i * bw
            label_y = ph - margin + (12 if i % 2 == 0 else 24)  # alternate rows so labels don't collide
            cv2.putText(canvas, name.replace("no_", "-"), (bx + 1, label_y), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                        (0, 0, 0), 1, cv2.LINE_AA)
            if stat is None:  # the variant has no such output (e.g. no layout stage)
                cv2.putText(canvas, "n/a", (bx + 2, ph - margin - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (0, 0, 0), 1,
                            cv2.LINE_AA)
                continue
            m, s = stat
            h = int((ph - 2 * margin - 20) * m / top)
            cv2.rectangle(canvas, (bx + 2, ph - margin - h), (bx + bw - 2, ph - margin), colours[i], -1)
            e = int((ph - 2 * margin - 20) * s / top)
            cx = bx + bw // 2
            cv2.line(canvas, (cx, ph - margin - h - e), (cx, ph - margin - h + e), (0, 0, 0), 1)
            cv2.putText(canvas, f"{m:.2f}", (bx + 2, ph - margin - h - e - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                        (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), canvas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("ablation"))
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--steps", type=int, default=150, help="steps per stage")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--train-pairs", type=int, default=2000)
    parser.add_argument("--eval-pairs", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(ABLATIONS))
    parser.add_argument("--real-poses", type=Path, default=REAL_POSES)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    size = preset(args.preset).size
    eval_sets = held_out_sets(size, args.eval_pairs, args.real_poses)
    records = []
    for seed in args.seeds:
        for variant in args.variants:
            record = run_one(args.out, variant, seed, args, eval_sets, train_sets=preset_training(args.preset))
            records.append(record)
            m = record["synthetic"]
            print(f"{variant:>10} seed {seed}: SSIM {m['final_ssim']:.3f}  warp SSIM {m['warp_ssim']['clothflow']:.3f}"
                  f"  EPE {m['flow_epe']['clothflow']:.2f}  ({record['train_seconds']:.0f} s)", flush=True)
    text = markdown(records, args, list(eval_sets))
    (args.out / "ablation.md").write_text(text + "\n")
    (args.out / "ablation.json").write_text(json.dumps(records, indent=2))
    bar_chart(records, "synthetic", args.out / "ablation.png")
    print(text)


if __name__ == "__main__":
    main()

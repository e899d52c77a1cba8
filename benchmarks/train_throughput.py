"""Training throughput: the data pipeline alone vs whole training steps, in samples per second.

    python benchmarks/train_throughput.py [--presets tiny paper] [--threads 2] [--workers 0 1 2]

1. Data: a DataLoader over :class:`SyntheticPairs` (batches drawn as training draws them) with
   0, 1 and 2 worker processes; nothing is computed on the batches.
2. Training: ``clothflow.training.stages.train`` for a few steps of each stage (layout, flow, render)
   with data in the main process, timed between steps (the first step of each stage, which
   builds the optimizer, is left out).

If the data pipeline's samples/s is not well above the training steps', training waits
for data: use ``workers`` (train.workers) where cores are free.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.data.datasets.synthetic import SyntheticPairs
from clothflow.training.loop import StepBatchSampler
from clothflow.training.settings import TrainConfig
from clothflow.training.stages import train


def data_rate(size: tuple[int, int], batch: int, batches: int, workers: int) -> float:
    """Samples/s of the DataLoader alone (after its first batch)."""
    dataset = SyntheticPairs(num_pairs=10_000, size=size, seed=0)
    sampler = StepBatchSampler(len(dataset), batch, seed=0, start=0, stop=batches + 1)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=workers)
    it = iter(loader)
    next(it)  # worker start-up and warm-up
    start = time.perf_counter()
    n = sum(len(b["src_image"]) for b in it)
    return n / (time.perf_counter() - start)


def train_rates(preset_name: str, sets: list[str], batch: int, steps: int) -> dict[str, float]:
    """Samples/s of training steps of each stage (data in the main process)."""
    cfg = apply_overrides(preset(preset_name), sets)
    stamps: dict[str, list[float]] = {}

    def on_step(stage: str, step: int, losses: dict) -> None:
        stamps.setdefault(stage, []).append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp:
        tcfg = TrainConfig(stage="all", steps=steps, batch_size=batch, num_pairs=1000, checkpoint_every=10**6,
                           log_every=10**6, device="cpu")
        train(Path(tmp) / "run", cfg, tcfg, progress=False, on_step=on_step)
    return {s: batch * (len(t) - 1) / (t[-1] - t[0]) for s, t in stamps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "paper"])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch", type=int, default=8, help="batch of the data loader and tiny training")
    parser.add_argument("--paper-batch", type=int, default=2, help="training batch of the paper preset")
    parser.add_argument("--batches", type=int, default=10, help="data: batches timed")
    parser.add_argument("--steps", type=int, default=4, help="training: steps per stage")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("clothflow").setLevel(logging.ERROR)
    print(f"{args.threads} torch threads; samples/s")
    for name in args.presets:
        size = preset(name).size
        for w in args.workers:
            rate = data_rate(size, args.batch, args.batches, w)
            print(f"{name:>6} {size[0]}x{size[1]}  data, {w} worker(s), batch {args.batch}: {rate:8.1f}", flush=True)
        batch = args.paper_batch if name == "paper" else args.batch
        for stage, rate in train_rates(name, args.set, batch, args.steps).items():
            print(f"{name:>6} {size[0]}x{size[1]}  train {stage:>6}, batch {batch}: {rate:8.1f}", flush=True)


if __name__ == "__main__":
    main()

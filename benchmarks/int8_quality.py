"""int8 vs float32 ONNX Runtime: speed and quality of a trained model on held-out synthetic pairs.

    python benchmarks/int8_quality.py --model RUN [--pairs 64] [--threads 2] [--batch 8]

Exports RUN to float32 ONNX, quantises a copy to int8 (``clothflow.deploy.quantize``: QDQ convolutions
calibrated on synthetic pairs of another seed), runs both on the same held-out synthetic pairs
(seed 10 000, as ``clothflow evaluate``) and prints ms/image at ``--batch`` and ``--threads``
(best of 3, the two models timed alternately so they share the machine's load), SSIM and L1
against the true target, the mean absolute difference between the two outputs, flow EPE and
layout agreement.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from clothflow.data.datasets.synthetic import SyntheticPairs
from clothflow.deploy.onnx_export import OnnxPipeline, export_onnx
from clothflow.evaluation.metrics import endpoint_error, ssim
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.deploy.quantize import quantize_onnx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = ClothFlowPipeline.from_pretrained(args.model).eval()
    cfg = pipe.config
    data = SyntheticPairs(num_pairs=args.pairs, size=cfg.size, seed=10_000, task=cfg.task)
    batch = {k: torch.stack([data[i][k] for i in range(args.pairs)]) for k in data[0]}
    timing = {k: v[: args.batch] for k, v in batch.items()}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(pipe, Path(tmp) / "model.onnx")
        int8 = quantize_onnx(fp32, Path(tmp) / "model.int8.onnx")
        models = {"float32": OnnxPipeline(fp32, threads=args.threads), "int8": OnnxPipeline(int8, threads=args.threads)}
        best = {name: float("inf") for name in models}
        for m in models.values():
            m.predict(timing)  # warm-up
        for _ in range(3):
            for name, m in models.items():
                start = time.perf_counter()
                m.predict(timing)
                best[name] = min(best[name], (time.perf_counter() - start) * 1000 / args.batch)
        out = {name: m.predict(batch) for name, m in models.items()}
    truth = batch["tgt_image" if cfg.task == "transfer" else "target"]
    h, w = cfg.size
    print(f"{args.model}: {cfg.task}, {h} x {w}, {args.pairs} held-out pairs; speed at batch {args.batch}, "
          f"{args.threads} threads")
    print(f"{'model':>8} {'ms/image':>9} {'SSIM':>6} {'L1':>6} {'flow EPE px':>11}")
    for name, r in out.items():
        epe = endpoint_error(r.flow.flow, batch["flow"], batch["visible"]).mean().item()
        print(f"{name:>8} {best[name]:>9.1f} {ssim(r.image, truth).mean().item():>6.3f} "
              f"{(r.image - truth).abs().mean().item():>6.3f} {epe:>11.2f}")
    a, b = out["float32"], out["int8"]
    print(f"int8 vs float32: mean |image difference| {(a.image - b.image).abs().mean().item():.4f} (images in [-1, 1]), "
          f"layout agreement {(a.layout == b.layout).float().mean().item():.1%}")


if __name__ == "__main__":
    main()

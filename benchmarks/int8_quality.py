"""int8 vs float32 ONNX Runtime: speed and quality of a trained model on held-out pairs.

    python benchmarks/int8_quality.py --model RUN [--pairs 64] [--threads 2] [--batch 8]
    python benchmarks/int8_quality.py --model tryon-viton-256 --data ~/.cache/viton/viton/test \
        --pairs-file test_clean.txt --calibration ~/.cache/viton/viton/train

Exports RUN to float32 ONNX, quantises a copy to int8 (``clothflow.deploy.quantize``: QDQ convolutions
calibrated on synthetic pairs of another seed, or on 32 pairs of ``--calibration``), runs both
on the same held-out pairs (synthetic, seed 10 000 as ``clothflow evaluate``; or the first
``--pairs`` of ``--data`` in the paired setting) and prints ms/image at ``--batch`` and
``--threads`` (best of 3, the two models timed alternately so they share the machine's load),
SSIM (the project's, and the try-on papers' skimage protocol) and L1 against the truth, the
mean absolute difference between the two outputs, flow EPE (synthetic) and layout agreement.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from clothflow.data.datasets.synthetic import SyntheticPairs
from clothflow.deploy.onnx_export import OnnxPipeline, export_onnx
from clothflow.data.datasets import make_dataset
from clothflow.evaluation.metrics import endpoint_error, paper_ssim, ssim
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.deploy.quantize import dataset_calibration, quantize_onnx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--data", help="a dataset folder to score on (default: synthetic pairs)")
    parser.add_argument("--pairs-file", help="its pair list (e.g. test_clean.txt)")
    parser.add_argument("--calibration", help="a dataset folder to calibrate on (default: synthetic pairs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = ClothFlowPipeline.from_pretrained(args.model).eval()
    cfg = pipe.config
    if args.data:
        data = make_dataset(args.data, cfg.size, args.pairs, 0, cfg.task, pairs_file=args.pairs_file)
    else:
        data = SyntheticPairs(num_pairs=args.pairs, size=cfg.size, seed=10_000, task=cfg.task)
    count = min(args.pairs, len(data))
    items = [data[i] for i in range(count)]
    batch = {k: torch.stack([item[k] for item in items]) for k in items[0] if torch.is_tensor(items[0][k])}
    feeds = None
    if args.calibration:
        feeds = dataset_calibration(cfg, make_dataset(args.calibration, cfg.size, 32, 0, cfg.task))
    timing = {k: v[: args.batch] for k, v in batch.items()}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(pipe, Path(tmp) / "model.onnx")
        int8 = quantize_onnx(fp32, Path(tmp) / "model.int8.onnx", feeds)
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
    truth = pipe.task.truth(batch).image
    h, w = cfg.size
    print(f"{args.model}: {cfg.task}, {h} x {w}, {count} held-out pairs ({args.data or 'synthetic'}); "
          f"speed at batch {args.batch}, {args.threads} threads")
    print(f"{'model':>8} {'ms/image':>9} {'SSIM':>6} {'paper SSIM':>10} {'L1':>6} {'flow EPE px':>11}")
    for name, r in out.items():
        epe = endpoint_error(r.flow.flow, batch["flow"], batch["visible"]).mean().item() if "flow" in batch else float("nan")
        print(f"{name:>8} {best[name]:>9.1f} {ssim(r.image, truth).mean().item():>6.3f} "
              f"{float(paper_ssim(truth, r.image).mean()):>10.4f} {(r.image - truth).abs().mean().item():>6.3f} {epe:>11.2f}")
    a, b = out["float32"], out["int8"]
    print(f"int8 vs float32: mean |image difference| {(a.image - b.image).abs().mean().item():.4f} (images in [-1, 1]), "
          f"layout agreement {(a.layout == b.layout).float().mean().item():.1%}")


if __name__ == "__main__":
    main()

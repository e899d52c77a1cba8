"""Inference speed of each stage and the whole pipeline, with FLOPs and achieved GFLOP/s.

    python benchmarks/inference.py [--preset paper] [--batch 1 8] [--threads 2] [--repeats 3]

Prints, for each batch size: milliseconds per image of stage 1 (layout), stage 2 (flow),
stage 3 (render) and the pipeline, the FLOPs per image of each (torch.utils.flop_counter)
and the GFLOP/s achieved.

    python benchmarks/inference.py --compare [--presets paper tiny] [--backends eager compile onnx onnx-int8]
        [--compare-threads 1 2] [--batch 1 8] [--grad-modes]

Side by side, one subprocess per configuration: eager vs ``torch.compile`` vs ONNX Runtime
(``onnx-int8``: its int8-quantised export), with ms/image, peak memory, FLOPs per image and the
fraction of the machine's peak (a float32 matmul and a 3 x 3 conv measured in the same run);
see ``benchmarks/backends.py``.
"""

from __future__ import annotations

import argparse

import torch

from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.core.ops import labels
from clothflow.models.pipeline import ClothFlowPipeline

from backends import best_ms, count_flops  # benchmarks/backends.py, beside this script


def stage_calls(pipe: ClothFlowPipeline, n: int):
    h, w = pipe.config.size
    g = torch.Generator().manual_seed(0)
    image = torch.rand(n, 3, h, w, generator=g) * 2 - 1
    parse = torch.randint(0, 20, (n, h, w), generator=g)
    kps = torch.rand(n, 18, 2, generator=g) * torch.tensor([w - 1, h - 1])
    x = pipe.encode(image, parse, kps)
    classes = labels.to_groups(parse)
    flow_out = pipe.estimate_flow(x, classes)
    return {
        "layout": lambda: pipe.predict_layout(x),
        "flow": lambda: pipe.estimate_flow(x, classes),
        "render": lambda: pipe.render_output(x, flow_out, classes),
        "pipeline": lambda: pipe.transfer(image, parse, kps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare", action="store_true", help="eager vs torch.compile vs ONNX Runtime")
    parser.add_argument("--presets", nargs="+", default=["paper", "tiny"], help="--compare: presets")
    parser.add_argument("--backends", nargs="+", default=["eager", "compile", "onnx"],
                        help="--compare: eager, compile, onnx, onnx-int8")
    parser.add_argument("--compare-threads", type=int, nargs="+", default=[1, 2], help="--compare: thread counts")
    parser.add_argument("--grad-modes", action="store_true",
                        help="--compare: also time eager under no_grad vs inference_mode")
    args = parser.parse_args()
    if args.compare:
        from backends import compare  # benchmarks/backends.py, beside this script

        compare(args.presets, args.backends, args.compare_threads, args.batch, args.repeats, args.set,
                args.grad_modes)
        return
    torch.set_num_threads(args.threads)
    cfg = apply_overrides(preset(args.preset), args.set)
    pipe = ClothFlowPipeline(cfg).eval()
    h, w = cfg.size
    print(f"preset {args.preset}, {h} x {w}, float32, {args.threads} threads, best of {args.repeats}")
    print(f"{'batch':>5} {'stage':>9} {'ms/image':>10} {'GFLOP/image':>12} {'GFLOP/s':>9}")
    with torch.inference_mode():
        for n in args.batch:
            for name, fn in stage_calls(pipe, n).items():
                flops = count_flops(fn) / n
                ms = best_ms(fn, args.repeats) / n
                print(f"{n:>5} {name:>9} {ms:>10.1f} {flops / 1e9:>12.2f} {flops / 1e9 / (ms / 1000):>9.1f}")


if __name__ == "__main__":
    main()

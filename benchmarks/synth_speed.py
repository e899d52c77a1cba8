"""Speed of the synthetic renderer: pose-transfer pairs (two renders + true flow) per second.

Usage: python benchmarks/synth_speed.py [--size 256x176] [--pairs 200] [--task transfer|tryon]
Runs on one thread (torch and OpenCV), the way one DataLoader worker would.
"""

from __future__ import annotations

import argparse
import time

import cv2
import torch

from clothflow.data.synth.renderer import make_transfer_pair, make_tryon_pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256x176", help="HxW, e.g. 256x176")
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", choices=("transfer", "tryon"), default="transfer")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    h, w = (int(v) for v in args.size.lower().split("x"))
    make = make_transfer_pair if args.task == "transfer" else make_tryon_pair
    make(args.seed, 10**6, (h, w))  # warm-up (imports, caches)
    start = time.perf_counter()
    for i in range(args.pairs):
        make(args.seed, i, (h, w))
    elapsed = time.perf_counter() - start
    print(f"{args.task} {h}x{w}: {args.pairs} pairs in {elapsed:.2f} s = {args.pairs / elapsed:.1f} pairs/s "
          f"({1000 * elapsed / args.pairs:.2f} ms/pair, 1 thread)")


if __name__ == "__main__":
    main()

"""The try-on flow loss on fixed warps of real pairs: why a mask weight of 1 lets the garment fly off.

    python benchmarks/flow_loss_warps.py --data ~/.cache/viton/viton [--size 128x96] [--pairs 16]

For pairs of ``train/`` (every 50th), the flow stage's loss terms (weight-free perceptual
substitute, mask L1, smoothness) of four fixed warps of the in-shop garment: none, a
torso-affine placement, a 30 px shift, and everything out of the frame; totals at mask
weights 1 and 10.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.data import DataLoader, Subset

from clothflow.core.ops.warp import warp
from clothflow.data.datasets.viton import VitonDataset
from clothflow.evaluation.baselines import torso_affine_flow
from clothflow.models.flow import FlowOutput
from clothflow.models.tasks import TASKS
from clothflow.training.losses import FeatureLoss, flow_losses
from clothflow.training.settings import FlowLossWeights


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the extracted viton/ folder")
    ap.add_argument("--size", default="128x96")
    ap.add_argument("--pairs", type=int, default=16)
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.split("x"))
    ds = VitonDataset(f"{args.data}/train", size=(h, w))
    batch = next(iter(DataLoader(Subset(ds, range(0, 50 * args.pairs, 50)), batch_size=args.pairs)))
    task = TASKS["tryon"]
    x, truth = task.encode(task.batch_inputs(batch)), task.truth(batch)
    region = task.cloth_region(truth.classes)
    n = x.cloth.shape[0]
    shift = torch.zeros(n, 2, h, w)
    shift[:, 0] = 30.0
    flows = {"none": torch.zeros(n, 2, h, w), "torso_affine": torso_affine_flow(x.cloth_mask, batch["person_pose"]),
             "shift_30px": shift, "out_of_frame": torch.full((n, 2, h, w), 10.0 * max(h, w))}
    features = FeatureLoss(None)
    print(f"{'warp':14s} {'perceptual':>10s} {'mask':>7s} {'smooth':>7s} {'total@1':>8s} {'total@10':>9s}")
    for name, flow in flows.items():
        out = FlowOutput([flow], flow, warp(x.cloth, flow), warp(x.cloth_mask, flow))
        one = flow_losses(out, truth.image * region, region, features, FlowLossWeights(mask=1.0))
        ten = flow_losses(out, truth.image * region, region, features, FlowLossWeights(mask=10.0))
        print(f"{name:14s} {float(one['perceptual']):10.3f} {float(one['mask']):7.3f} {float(one['smooth']):7.3f} "
              f"{float(one['total']):8.3f} {float(ten['total']):9.3f}")


if __name__ == "__main__":
    main()

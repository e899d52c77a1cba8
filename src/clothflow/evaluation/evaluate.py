"""Evaluation on pairs with ground truth (layout, flow, image), for both tasks.

The flow stage is compared with the baselines the paper's argument rests on. Pose transfer:
the source cloth not warped at all (``no_warp``) and a zero flow (``zero_flow``). Try-on:
the in-shop garment placed without warping, scaled and centred on the torso (``affine``).
Warp metrics are computed on the target's cloth region; flow EPE on target cloth pixels
visible in the source. ``*_gt_layout`` entries run the flow stage on the true target layout,
isolating it from stage 1's errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch.utils.data import DataLoader, Dataset

from clothflow.evaluation import metrics
from clothflow.evaluation.baselines import torso_affine_flow
from clothflow.core.ops import labels
from clothflow.core.ops.agnostic import garment_mask
from clothflow.models.pipeline import ClothFlowPipeline, TransferResult
from clothflow.core.ops.warp import warp


@dataclass
class Case:
    """What one batch gives to the metrics."""

    result: TransferResult
    target: torch.Tensor  # N x 3 x H x W
    target_classes: torch.Tensor  # N x H x W
    cloth_mask: torch.Tensor  # N x 1 x H x W, the target's cloth region
    warped: dict[str, torch.Tensor]  # name -> the cloth warped onto the target, N x 3 x H x W
    flows: dict[str, torch.Tensor]  # name -> N x 2 x H x W


def transfer_case(pipe: ClothFlowPipeline, batch: dict) -> Case:
    result = pipe.predict(batch)
    x = pipe.encode_transfer(batch["src_image"], batch["src_parse"], batch["tgt_pose"],
                             batch.get("src_iuv"), batch.get("tgt_iuv"))
    tgt_classes = labels.to_groups(batch["tgt_parse"])
    src_cloth, _ = pipe.source_cloth(batch["src_image"], x.src_classes)
    gt_layout = pipe.estimate_flow(x, tgt_classes if pipe.config.use_layout else None)
    return Case(
        result=result,
        target=batch["tgt_image"],
        target_classes=tgt_classes,
        cloth_mask=labels.cloth_mask(tgt_classes),
        warped={"clothflow": result.flow.warped_cloth, "clothflow_gt_layout": gt_layout.warped_cloth,
                "no_warp": src_cloth},
        flows={"clothflow": result.flow.flow, "clothflow_gt_layout": gt_layout.flow,
               "zero_flow": torch.zeros_like(result.flow.flow)},
    )


def tryon_case(pipe: ClothFlowPipeline, batch: dict) -> Case:
    result = pipe.predict(batch)
    tgt_classes = labels.to_groups(batch["target_parse"])
    cloth = batch["cloth"] * batch["cloth_mask"]
    gt_layout = pipe.garment_flow(batch["cloth"], batch["cloth_mask"], tgt_classes)
    affine = torso_affine_flow(batch["cloth_mask"], batch["person_pose"])
    return Case(
        result=result,
        target=batch["target"],
        target_classes=tgt_classes,
        cloth_mask=garment_mask(tgt_classes),
        warped={"clothflow": result.flow.warped_cloth, "clothflow_gt_layout": gt_layout.warped_cloth,
                "affine": warp(cloth, affine)},
        flows={"clothflow": result.flow.flow, "clothflow_gt_layout": gt_layout.flow, "affine": affine},
    )


@torch.inference_mode()
def evaluate(
    pipe: ClothFlowPipeline, dataset: Dataset, batch_size: int = 16, on_batch: Callable[[dict, Case], None] | None = None
) -> tuple[dict, tuple[dict, TransferResult]]:
    """Evaluate on every pair of ``dataset``.

    Flow metrics need ground-truth ``flow`` and ``visible`` (synthetic data); without them
    only image and layout metrics are reported.

    Args:
        on_batch: called with every batch and its :class:`Case` (for per-pair reports).

    Returns:
        (metrics dict, (first batch, its result)) - the batch is for drawing a grid.
    """
    pipe.eval()
    case_fn = tryon_case if pipe.config.task == "tryon" else transfer_case
    sums: dict[str, list[float]] = {}  # name -> [total, images counted]
    count = 0
    conf = torch.zeros(labels.NUM_CLASSES, labels.NUM_CLASSES, dtype=torch.long)
    first = None

    def add(name: str, per_image: torch.Tensor, valid: torch.Tensor | None = None) -> None:
        """Accumulate per-image values; ``valid`` leaves out images where the metric is undefined."""
        valid = torch.ones_like(per_image, dtype=torch.bool) if valid is None else valid
        total = sums.setdefault(name, [0.0, 0])
        total[0] += float(per_image[valid].sum())
        total[1] += int(valid.sum())

    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        case = case_fn(pipe, batch)
        if first is None:
            first = (batch, case.result)
        count += case.target.shape[0]
        mask = case.cloth_mask
        target_cloth = case.target * mask
        for name, warped in case.warped.items():
            add(f"warp_ssim/{name}", metrics.ssim(warped * mask, target_cloth, mask))
        if "flow" in batch:  # pairs with no target cloth visible in the source have no flow to score
            scored = batch["visible"] * mask
            has_flow = scored.flatten(1).sum(1) > 0
            for name, flow in case.flows.items():
                add(f"flow_epe/{name}", metrics.endpoint_error(flow, batch["flow"], scored), has_flow)
        add("final_ssim", metrics.ssim(case.result.image, case.target))
        person = (case.target_classes != 0).unsqueeze(1).float()
        add("final_masked_ssim", metrics.ssim(case.result.image, case.target, person))
        add("final_l1", metrics.l1(case.result.image, case.target))
        if case.result.layout is not None:
            conf += metrics.confusion(case.result.layout, case.target_classes, labels.NUM_CLASSES)
        if on_batch is not None:
            on_batch(batch, case)

    out: dict = {}
    for name, (total, n) in sums.items():
        group, _, key = name.partition("/")
        value = round(total / n, 4) if n else None
        if key:
            out.setdefault(group, {})[key] = value
        else:
            out[group] = value
    has_layout = bool(conf.sum() > 0)  # variants without a layout stage have no layout to score
    iou = metrics.iou_from_confusion(conf)
    out["layout_miou"] = round(metrics.mean_iou(conf), 4) if has_layout else None
    out["layout_iou"] = {
        name: (None if torch.isnan(v) else round(float(v), 4)) for name, v in zip(labels.GROUP_NAMES, iou)
    } if has_layout else None
    out["pairs"] = count
    return out, first

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
from typing import Callable, NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from clothflow.evaluation import metrics
from clothflow.evaluation.baselines import torso_affine_flow
from clothflow.core.ops import labels
from clothflow.models.pipeline import ClothFlowPipeline, PipelineOutput
from clothflow.models.tasks import StageInputs
from clothflow.core.ops.warp import warp


@dataclass
class Case:
    """What one batch gives to the metrics."""

    result: PipelineOutput
    target: torch.Tensor  # N x 3 x H x W
    target_classes: torch.Tensor  # N x H x W
    cloth_mask: torch.Tensor  # N x 1 x H x W, the target's cloth region
    warped: dict[str, torch.Tensor]  # name -> the cloth warped onto the target, N x 3 x H x W
    flows: dict[str, torch.Tensor]  # name -> N x 2 x H x W


def _unwarped(x: StageInputs, batch: dict) -> torch.Tensor:
    """Pose transfer's baseline: the source cloth left where it is (a zero flow)."""
    return torch.zeros_like(x.cloth[:, :2])


def _torso_affine(x: StageInputs, batch: dict) -> torch.Tensor:
    """Try-on's baseline: the in-shop garment scaled and centred on the person's torso."""
    return torso_affine_flow(x.cloth_mask, batch["person_pose"])


class Baseline(NamedTuple):
    """A task's non-learned warp: its name in the warp and flow metrics, and its flow."""

    warp_name: str
    flow_name: str
    flow: Callable[[StageInputs, dict], torch.Tensor]


BASELINES: dict[str, Baseline] = {
    "transfer": Baseline("no_warp", "zero_flow", _unwarped),
    "tryon": Baseline("affine", "affine", _torso_affine),
}


def make_case(pipe: ClothFlowPipeline, batch: dict) -> Case:
    """Run the pipeline on a batch, on the true target layout, and the task's baseline."""
    x, truth = pipe.encode_batch(batch), pipe.task.truth(batch)
    result = pipe.run(x)
    gt_layout = pipe.estimate_flow(x, truth.classes if pipe.layout is not None else None)
    baseline = BASELINES[pipe.task.name]
    base_flow = baseline.flow(x, batch)
    return Case(
        result=result,
        target=truth.image,
        target_classes=truth.classes,
        cloth_mask=pipe.task.cloth_region(truth.classes),
        warped={"clothflow": result.flow.warped_cloth, "clothflow_gt_layout": gt_layout.warped_cloth,
                baseline.warp_name: warp(x.cloth, base_flow)},
        flows={"clothflow": result.flow.flow, "clothflow_gt_layout": gt_layout.flow,
               baseline.flow_name: base_flow},
    )


@torch.inference_mode()
def evaluate(
    pipe: ClothFlowPipeline, dataset: Dataset, batch_size: int = 16, on_batch: Callable[[dict, Case], None] | None = None
) -> tuple[dict, tuple[dict, PipelineOutput]]:
    """Evaluate on every pair of ``dataset``.

    Flow metrics need ground-truth ``flow`` and ``visible`` (synthetic data); without them
    only image and layout metrics are reported.

    Args:
        on_batch: called with every batch and its :class:`Case` (for per-pair reports).

    Returns:
        (metrics dict, (first batch, its result)) - the batch is for drawing a grid.
    """
    pipe.eval()
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
        case = make_case(pipe, batch)
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

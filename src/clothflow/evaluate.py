"""Evaluation of a pose-transfer pipeline on pairs with ground truth (layout, flow, image).

The flow stage is compared with the baselines the paper's argument rests on: the cloth not
warped at all (``no_warp``) and a zero flow (``zero_flow``). Warp metrics are computed on the
target's cloth region; flow EPE on target cloth pixels visible in the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader, Dataset

from . import metrics
from .data import labels
from .models.pipeline import ClothFlowPipeline, TransferResult


@dataclass
class _Sums:
    values: dict[str, float] = field(default_factory=dict)
    count: int = 0

    def add(self, name: str, per_image: torch.Tensor) -> None:
        self.values[name] = self.values.get(name, 0.0) + float(per_image.sum())

    def mean(self, name: str) -> float:
        return self.values[name] / max(self.count, 1)


@torch.inference_mode()
def evaluate_transfer(
    pipe: ClothFlowPipeline, dataset: Dataset, batch_size: int = 16
) -> tuple[dict, tuple[dict, TransferResult]]:
    """Evaluate on every pair of ``dataset`` (pose-transfer keys, with ``flow`` and ``visible``).

    Returns:
        (metrics dict, (first batch, its result)) - the batch is for drawing a grid.
    """
    pipe.eval()
    sums = _Sums()
    conf = torch.zeros(labels.NUM_CLASSES, labels.NUM_CLASSES, dtype=torch.long)
    first = None
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        result = pipe.transfer(batch["src_image"], batch["src_parse"], batch["tgt_pose"])
        if first is None:
            first = (batch, result)
        src_classes = labels.to_groups(batch["src_parse"])
        tgt_classes = labels.to_groups(batch["tgt_parse"])
        src_cloth, _ = pipe.source_cloth(batch["src_image"], src_classes)
        tgt_cloth, tgt_mask = pipe.source_cloth(batch["tgt_image"], tgt_classes)
        flow_gt_layout = pipe.estimate_flow(batch["src_image"], src_classes, tgt_classes)

        sums.count += batch["src_image"].shape[0]
        for name, warped in (
            ("warp_ssim/clothflow", result.flow.warped_cloth),
            ("warp_ssim/clothflow_gt_layout", flow_gt_layout.warped_cloth),
            ("warp_ssim/no_warp", src_cloth),
        ):
            sums.add(name, metrics.ssim(warped * tgt_mask, tgt_cloth, tgt_mask))
        epe_mask = batch["visible"] * tgt_mask
        for name, flow in (
            ("flow_epe/clothflow", result.flow.flow),
            ("flow_epe/clothflow_gt_layout", flow_gt_layout.flow),
            ("flow_epe/zero_flow", torch.zeros_like(batch["flow"])),
        ):
            sums.add(name, metrics.endpoint_error(flow, batch["flow"], epe_mask))
        sums.add("final_ssim", metrics.ssim(result.image, batch["tgt_image"]))
        sums.add("final_l1", metrics.l1(result.image, batch["tgt_image"]))
        conf += metrics.confusion(result.layout, tgt_classes, labels.NUM_CLASSES)

    out: dict = {}
    for name in sums.values:
        group, _, key = name.partition("/")
        value = round(sums.mean(name), 4)
        if key:
            out.setdefault(group, {})[key] = value
        else:
            out[group] = value
    iou = metrics.iou_from_confusion(conf)
    out["layout_miou"] = round(metrics.mean_iou(conf), 4)
    out["layout_iou"] = {
        name: (None if torch.isnan(v) else round(float(v), 4)) for name, v in zip(labels.GROUP_NAMES, iou)
    }
    out["pairs"] = sums.count
    return out, first

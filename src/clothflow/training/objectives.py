"""What each stage is trained to do, for each task: one batch in, its losses out.

Each objective takes the pipeline, a batch (the keys of
:class:`clothflow.data.datasets.synthetic.SyntheticPairs` for the task) and the loss settings, and returns
a dict of scalar losses with the optimised one under ``"total"``. Stages are trained as in
the paper: the flow stage and the renderer see the ground-truth target layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from clothflow.training import losses
from clothflow.core.ops import labels
from clothflow.core.ops.agnostic import agnostic, garment_mask
from clothflow.training.losses import FeatureLoss, FlowLossWeights, RenderLossWeights
from clothflow.models.pipeline import ClothFlowPipeline

STAGES = ("layout", "flow", "render")


@dataclass
class LossConfig:
    """Loss weights of all stages.

    Args:
        layout_class_weighting: weight cross entropy by inverse class frequency in the batch.
        flow: weights of the flow stage's perceptual, mask and smoothness terms.
        render: weights of the renderer's L1, perceptual and style terms.
        vgg19: path to torchvision's vgg19 weights; empty = look in the usual places.
    """

    layout_class_weighting: bool = False
    flow: FlowLossWeights = field(default_factory=FlowLossWeights)
    render: RenderLossWeights = field(default_factory=RenderLossWeights)
    vgg19: str = ""


def _pose_inputs(pipe: ClothFlowPipeline, batch: dict[str, torch.Tensor]):
    """Encoded inputs and the true target classes of a pose-transfer batch."""
    x = pipe.encode_transfer(
        batch["src_image"], batch["src_parse"], batch["tgt_pose"], batch.get("src_iuv"), batch.get("tgt_iuv")
    )
    return x, labels.to_groups(batch["tgt_parse"])


def _class_weights(classes: torch.Tensor) -> torch.Tensor:
    counts = torch.bincount(classes.flatten(), minlength=labels.NUM_CLASSES).float()
    weights = counts.sum() / (counts.clamp(min=1) * labels.NUM_CLASSES)
    return weights.clamp(max=10.0)


def layout_objective(pipe, batch, features: FeatureLoss, cfg: LossConfig) -> dict[str, torch.Tensor]:
    x, tgt_classes = _pose_inputs(pipe, batch)
    logits = pipe.predict_layout(x)
    weights = _class_weights(tgt_classes) if cfg.layout_class_weighting else None
    loss = losses.layout_loss(logits, tgt_classes, weights)
    accuracy = (logits.argmax(1) == tgt_classes).float().mean()
    return {"total": loss, "ce": loss.detach(), "accuracy": accuracy}


def flow_objective(pipe, batch, features: FeatureLoss, cfg: LossConfig) -> dict[str, torch.Tensor]:
    x, tgt_classes = _pose_inputs(pipe, batch)
    out = pipe.estimate_flow(x, tgt_classes if pipe.config.use_layout else None)
    tgt_cloth, tgt_mask = pipe.source_cloth(batch["tgt_image"], tgt_classes)
    terms = losses.flow_losses(out, tgt_cloth, tgt_mask, features, cfg.flow)
    if "flow" in batch:  # monitoring only: the paper's flow is learned without flow labels
        terms["epe"] = losses.flow_epe(out.flow.detach(), batch["flow"], batch["visible"] * tgt_mask)
    return terms


def render_objective(pipe, batch, features: FeatureLoss, cfg: LossConfig) -> dict[str, torch.Tensor]:
    x, tgt_classes = _pose_inputs(pipe, batch)
    layout = tgt_classes if pipe.config.use_layout else None
    with torch.no_grad():
        flow = pipe.estimate_flow(x, layout)
    out = pipe.render_output(x, flow, layout)
    return losses.render_losses(out, batch["tgt_image"], features, cfg.render)


# ---- virtual try-on: batches with person, person_parse, person_pose, cloth, cloth_mask, target, target_parse
def _tryon_inputs(pipe, batch):
    person = batch["person"]
    rep = agnostic(person, labels.to_groups(batch["person_parse"]))
    maps = pipe.pose_maps(batch["person_pose"], person.shape[-2:])
    return rep, maps, labels.to_groups(batch["target_parse"])


def tryon_layout_objective(pipe, batch, features: FeatureLoss, cfg: LossConfig) -> dict[str, torch.Tensor]:
    rep, maps, tgt_classes = _tryon_inputs(pipe, batch)
    logits = pipe.tryon_layout(rep, maps, batch["cloth"], batch["cloth_mask"])
    weights = _class_weights(tgt_classes) if cfg.layout_class_weighting else None
    loss = losses.layout_loss(logits, tgt_classes, weights)
    accuracy = (logits.argmax(1) == tgt_classes).float().mean()
    return {"total": loss, "ce": loss.detach(), "accuracy": accuracy}


def tryon_flow_objective(pipe, batch, features: FeatureLoss, cfg: LossConfig) -> dict[str, torch.Tensor]:
    _, _, tgt_classes = _tryon_inputs(pipe, batch)
    out = pipe.garment_flow(batch["cloth"], batch["cloth_mask"], tgt_classes)
    tgt_mask = garment_mask(tgt_classes)
    terms = losses.flow_losses(out, batch["target"] * tgt_mask, tgt_mask, features, cfg.flow)
    if "flow" in batch:  # monitoring only
        terms["epe"] = losses.flow_epe(out.flow.detach(), batch["flow"], batch["visible"] * tgt_mask)
    return terms


def tryon_render_objective(pipe, batch, features: FeatureLoss, cfg: LossConfig) -> dict[str, torch.Tensor]:
    rep, maps, tgt_classes = _tryon_inputs(pipe, batch)
    with torch.no_grad():
        flow = pipe.garment_flow(batch["cloth"], batch["cloth_mask"], tgt_classes)
    out = pipe.render(flow.warped_cloth, flow.warped_mask, labels.one_hot(tgt_classes), maps, rep.image)
    return losses.render_losses(out, batch["target"], features, cfg.render)


OBJECTIVES = {
    "transfer": {"layout": layout_objective, "flow": flow_objective, "render": render_objective},
    "tryon": {"layout": tryon_layout_objective, "flow": tryon_flow_objective, "render": tryon_render_objective},
}


def stage_module(pipe: ClothFlowPipeline, stage: str) -> torch.nn.Module:
    """The sub-network a stage trains."""
    module = {"layout": pipe.layout, "flow": pipe.flow, "render": pipe.render}[stage]
    if module is None:
        raise ValueError(f"this pipeline variant has no {stage} stage")
    return module

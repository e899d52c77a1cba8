"""What each stage is trained to do: one batch in, its losses out, for every task.

The pipeline's task (:mod:`clothflow.models.tasks`) encodes the batch and reads its truth, so
one objective per stage serves pose transfer and try-on. Each objective takes the pipeline,
a batch (the keys of :class:`clothflow.data.datasets.synthetic.SyntheticPairs` for the task)
and the loss settings, and returns
a dict of scalar losses with the optimised one under ``"total"``. Stages are trained as in
the paper: the flow stage and the renderer see the ground-truth target layout.
"""

from __future__ import annotations

import torch

from clothflow.training import losses
from clothflow.core.ops import labels
from clothflow.training.losses import FeatureLoss
from clothflow.training.settings import LossConfig
from clothflow.models.pipeline import ClothFlowPipeline


def _class_weights(classes: torch.Tensor) -> torch.Tensor:
    counts = torch.bincount(classes.flatten(), minlength=labels.NUM_CLASSES).float()
    weights = counts.sum() / (counts.clamp(min=1) * labels.NUM_CLASSES)
    return weights.clamp(max=10.0)


def layout_objective(pipe: ClothFlowPipeline, batch, features: FeatureLoss, cfg: LossConfig) -> dict[str, torch.Tensor]:
    """Stage 1: cross entropy of the predicted against the true target layout."""
    x, truth = pipe.encode_batch(batch), pipe.task.truth(batch)
    logits = pipe.predict_layout(x)
    weights = _class_weights(truth.classes) if cfg.layout_class_weighting else None
    loss = losses.layout_loss(logits, truth.classes, weights)
    accuracy = (logits.argmax(1) == truth.classes).float().mean()
    return {"total": loss, "ce": loss.detach(), "accuracy": accuracy}


def flow_objective(pipe: ClothFlowPipeline, batch, features: FeatureLoss, cfg: LossConfig) -> dict[str, torch.Tensor]:
    """Stage 2 on the true target layout: the warped cloth against the target's cloth region."""
    x, truth = pipe.encode_batch(batch), pipe.task.truth(batch)
    out = pipe.estimate_flow(x, truth.classes if pipe.layout is not None else None)
    tgt_mask = pipe.task.cloth_region(truth.classes)
    terms = losses.flow_losses(out, truth.image * tgt_mask, tgt_mask, features, cfg.flow.for_task(pipe.task.name))
    if "flow" in batch:  # monitoring only: the paper's flow is learned without flow labels
        terms["epe"] = losses.flow_epe(out.flow.detach(), batch["flow"], batch["visible"] * tgt_mask)
    return terms


def render_objective(pipe: ClothFlowPipeline, batch, features: FeatureLoss, cfg: LossConfig) -> dict[str, torch.Tensor]:
    """Stage 3 on the true target layout and the trained flow: the image against the target."""
    x, truth = pipe.encode_batch(batch), pipe.task.truth(batch)
    layout = truth.classes if pipe.layout is not None else None
    with torch.no_grad():
        flow = pipe.estimate_flow(x, layout)
    out = pipe.render_output(x, flow, layout)
    return losses.render_losses(out, truth.image, features, cfg.render)


OBJECTIVES = {"layout": layout_objective, "flow": flow_objective, "render": render_objective}


def stage_module(pipe: ClothFlowPipeline, stage: str) -> torch.nn.Module:
    """The sub-network a stage trains."""
    module = {"layout": pipe.layout, "flow": pipe.flow, "render": pipe.render}[stage]
    if module is None:
        raise ValueError(f"this pipeline variant has no {stage} stage")
    return module

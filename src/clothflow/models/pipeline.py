"""ClothFlowPipeline: the three stages composed, saved and loaded as config.json + safetensors.

The pipeline only wires stages together; each stage lives in its own file. Inputs follow
the data contracts of the project: images N x 3 x H x W in [-1, 1], LIP parsing maps
N x H x W (grouped into model classes here), keypoints N x 18 x 2 in pixels (-1 missing).

Example:
    >>> import torch
    >>> from clothflow.models.config import preset
    >>> pipe = ClothFlowPipeline(preset("tiny")).eval()
    >>> n, (h, w) = 1, pipe.config.size
    >>> out = pipe.transfer(torch.zeros(n, 3, h, w), torch.zeros(n, h, w, dtype=torch.long),
    ...                     torch.full((n, 18, 2), -1.0))
    >>> out.image.shape
    torch.Size([1, 3, 64, 44])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from clothflow.models.config import PipelineConfig
from clothflow.core.ops import labels
from clothflow.core.pretrained import PretrainedMixin
from clothflow.models.flow import FlowNet, FlowOutput
from clothflow.models.layout import LayoutNet
from clothflow.models.render import RenderNet
from clothflow.models.tasks import StageInputs, Task
from clothflow.models.tps import TPSWarpNet


@dataclass
class PipelineOutput:
    """Everything the pipeline computed for one batch, whatever the task.

    Attributes:
        image: N x 3 x H x W generated person in [-1, 1].
        layout_logits: N x C x H x W stage-1 logits (None without a layout stage).
        layout: N x H x W predicted target classes (argmax; None without a layout stage).
        flow: stage-2 output (every level's flow, full-size flow, warped cloth and mask).
        composition_mask: N x 1 x H x W where stage 3 kept the warped cloth's pixels (its blending
            mask, :mod:`clothflow.models.render`); None when it renders directly, or from ONNX.
    """

    image: torch.Tensor
    layout_logits: torch.Tensor | None
    layout: torch.Tensor | None
    flow: FlowOutput
    composition_mask: torch.Tensor | None = None


class ClothFlowPipeline(PretrainedMixin, nn.Module):
    """Conditional layout -> cascaded clothing flow -> clothing-preserving rendering.

    Saved and loaded as a folder (``save_pretrained`` / ``from_pretrained``, see
    :class:`clothflow.core.pretrained.PretrainedMixin`): ``config.json`` of kind "clothflow"
    and ``model.safetensors``.

    The task (:mod:`clothflow.models.tasks`) encodes its inputs into :class:`StageInputs`;
    the three stages below read only those, so they are the same for pose transfer and try-on.

    The ablations of the paper are switched by the config: ``use_layout=False`` drops stage 1
    (the flow's target pyramid then sees the target pose, the renderer the source layout),
    ``warp="tps"`` replaces the flow by a TPS warp, ``warp="none"`` renders from the unwarped
    source, ``flow.num_levels=1`` removes the cascade, ``dense=True`` adds IUV maps to stages 1
    and 2. Sub-networks a variant does not use are not built.
    """

    kind = "clothflow"
    config_class = PipelineConfig
    missing_message = "not a saved clothflow model"

    def __init__(self, config: PipelineConfig) -> None:
        super().__init__()
        config.check()
        self.config = config
        self.task: Task = config.make_task()
        self.layout = LayoutNet(config.layout) if config.use_layout else None
        warp_nets = {"flow": FlowNet, "tps": TPSWarpNet}
        self.flow = warp_nets[config.warp](config.flow) if config.warp in warp_nets else None
        self.render = RenderNet(config.render)

    def stages(self) -> tuple[str, ...]:
        """The stages this variant has, in training order."""
        present = {"layout": self.layout, "flow": self.flow, "render": self.render}
        return tuple(name for name, module in present.items() if module is not None)

    # ---- inputs ------------------------------------------------------------------------
    def encode(self, *inputs: torch.Tensor) -> StageInputs:
        """The task's inputs (checked against the config's size) as the stages see them."""
        self.task.check(inputs, self.config.size)
        return self.task.encode(inputs)

    def encode_batch(self, batch: dict[str, torch.Tensor]) -> StageInputs:
        """:meth:`encode` of a dataset batch (the task's input keys)."""
        return self.encode(*self.task.batch_inputs(batch))

    # ---- the three stages --------------------------------------------------------------
    def predict_layout(self, x: StageInputs) -> torch.Tensor:
        """Stage 1: target-layout logits N x C x H x W."""
        return self.layout(x.image, labels.one_hot(x.classes), x.pose_maps, extra=x.layout_extra)

    def estimate_flow(self, x: StageInputs, tgt_classes: torch.Tensor | None) -> FlowOutput:
        """Stage 2: flow from the target layout to the cloth, and the warped cloth.

        ``tgt_classes`` is the target layout (predicted, or the truth in training); None
        without a layout stage, where the target pyramid sees the target pose instead.
        """
        if self.flow is None:  # the "no flow" ablation: the cloth stays where it is
            zero = torch.zeros_like(x.cloth[:, :2])
            return FlowOutput(flows=[zero], flow=zero, warped_cloth=x.cloth, warped_mask=x.cloth_mask)
        src_layout = labels.one_hot(x.cloth_classes)
        tgt_layout = labels.one_hot(tgt_classes) if tgt_classes is not None else torch.zeros_like(src_layout)
        return self.flow(x.cloth, x.cloth_mask, src_layout, tgt_layout, src_extra=x.src_extra, tgt_extra=x.tgt_extra)

    def render_output(self, x: StageInputs, flow: FlowOutput, tgt_classes: torch.Tensor | None):
        """Stage 3 (all outputs): renders with the target layout, or the source's without stage 1."""
        layout = tgt_classes if tgt_classes is not None else x.classes
        return self.render(flow.warped_cloth, flow.warped_mask, labels.one_hot(layout), x.pose_maps, x.image)

    def run(self, x: StageInputs) -> PipelineOutput:
        """The three stages on encoded inputs."""
        logits = self.predict_layout(x) if self.layout is not None else None
        tgt_classes = logits.argmax(1) if logits is not None else None
        flow = self.estimate_flow(x, tgt_classes)
        rendered = self.render_output(x, flow, tgt_classes)
        return PipelineOutput(image=rendered.image, layout_logits=logits, layout=tgt_classes, flow=flow,
                              composition_mask=rendered.composition_mask)

    def forward(self, *inputs: torch.Tensor) -> PipelineOutput:
        """Run the configured task on its inputs (:meth:`Task.input_names` order)."""
        return self.run(self.encode(*inputs))

    def predict(self, batch: dict[str, torch.Tensor]) -> PipelineOutput:
        """Run the task on a dataset batch (the tensor-dict keys of the project's datasets)."""
        return self.run(self.encode_batch(batch))

    def transfer(
        self,
        src_image: torch.Tensor,
        src_parse: torch.Tensor,
        tgt_pose: torch.Tensor,
        src_iuv: torch.Tensor | None = None,
        tgt_iuv: torch.Tensor | None = None,
    ) -> PipelineOutput:
        """Pose transfer: the source person re-posed to ``tgt_pose``.

        Args:
            src_image: N x 3 x H x W in [-1, 1], at ``config.size``.
            src_parse: N x H x W LIP label ids of the source.
            tgt_pose: N x 18 x 2 target keypoints in pixels (-1 missing).
            src_iuv, tgt_iuv: N x 3 x H x W IUV maps in [0, 1]; only the dense variant uses them.

        Returns:
            A :class:`PipelineOutput` (``layout`` is None without a layout stage).
        """
        if self.task.name != "transfer":
            raise ValueError("this pipeline is configured for try-on; use .tryon(...)")
        iuv = tuple(t for t in (src_iuv, tgt_iuv) if t is not None) if self.config.dense else ()  # checked by the task
        return self(src_image, src_parse, tgt_pose, *iuv)

    def tryon(
        self,
        person: torch.Tensor,
        person_parse: torch.Tensor,
        person_pose: torch.Tensor,
        cloth: torch.Tensor,
        cloth_mask: torch.Tensor,
    ) -> PipelineOutput:
        """Virtual try-on: the person wearing the in-shop garment ``cloth``.

        Args:
            person: N x 3 x H x W in [-1, 1], at ``config.size``.
            person_parse: N x H x W LIP label ids of the person.
            person_pose: N x 18 x 2 keypoints of the person in pixels (-1 missing).
            cloth: N x 3 x H x W in-shop garment in [-1, 1].
            cloth_mask: N x 1 x H x W garment mask in {0, 1}.

        Returns:
            A :class:`PipelineOutput` (layout of the dressed person, garment flow, image).
        """
        if self.task.name != "tryon":
            raise ValueError("this pipeline is configured for pose transfer; build it with preset(..., task='tryon')")
        return self(person, person_parse, person_pose, cloth, cloth_mask)

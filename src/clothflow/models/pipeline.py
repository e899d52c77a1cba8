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

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors
from torch import nn

from clothflow.models.config import PipelineConfig
from clothflow.core.ops import labels, pose
from clothflow.core.ops.agnostic import AgnosticPerson, agnostic, garment_classes
from clothflow.core.errors import ClothflowError
from clothflow.core.files import atomic_write_bytes, atomic_write_text
from clothflow.models.flow import FlowNet, FlowOutput
from clothflow.models.layout import LayoutNet
from clothflow.models.render import RenderNet
from clothflow.models.tps import TPSWarpNet

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class TransferResult:
    """Everything the pipeline computed for one batch.

    Attributes:
        image: N x 3 x H x W generated person in [-1, 1].
        layout_logits: N x C x H x W stage-1 logits (None without a layout stage).
        layout: N x H x W predicted target classes (argmax; None without a layout stage).
        flow: stage-2 output (every level's flow, full-size flow, warped cloth and mask).
    """

    image: torch.Tensor
    layout_logits: torch.Tensor | None
    layout: torch.Tensor | None
    flow: FlowOutput


@dataclass
class PoseInputs:
    """Model-side encodings of a pose-transfer input.

    Attributes:
        src_image: N x 3 x H x W in [-1, 1].
        src_classes: N x H x W source model classes.
        tgt_maps: N x 18 x H x W target pose heatmaps.
        src_iuv, tgt_iuv: N x 3 x H x W DensePose-style maps (the dense variant), else None.
    """

    src_image: torch.Tensor
    src_classes: torch.Tensor
    tgt_maps: torch.Tensor
    src_iuv: torch.Tensor | None = None
    tgt_iuv: torch.Tensor | None = None


class ClothFlowPipeline(nn.Module):
    """Conditional layout -> cascaded clothing flow -> clothing-preserving rendering.

    The ablations of the paper are switched by the config: ``use_layout=False`` drops stage 1
    (the flow's target pyramid then sees the target pose, the renderer the source layout),
    ``warp="tps"`` replaces the flow by a TPS warp, ``warp="none"`` renders from the unwarped
    source, ``flow.num_levels=1`` removes the cascade, ``dense=True`` adds IUV maps to stages 1
    and 2. Sub-networks a variant does not use are not built.
    """

    def __init__(self, config: PipelineConfig) -> None:
        super().__init__()
        config.check()
        self.config = config
        self.layout = LayoutNet(config.layout) if config.use_layout else None
        warp_nets = {"flow": FlowNet, "tps": TPSWarpNet}
        self.flow = warp_nets[config.warp](config.flow) if config.warp in warp_nets else None
        self.render = RenderNet(config.render)

    def stages(self) -> tuple[str, ...]:
        """The stages this variant has, in training order."""
        present = {"layout": self.layout, "flow": self.flow, "render": self.render}
        return tuple(name for name, module in present.items() if module is not None)

    # ---- input encodings -------------------------------------------------------------
    def pose_maps(self, kps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        sigma = self.config.heatmap_sigma or None
        return pose.heatmaps(kps, size[0], size[1], sigma)

    @staticmethod
    def source_cloth(image: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cloth region of a person image: (image * mask, mask) with mask N x 1 x H x W."""
        mask = labels.cloth_mask(classes)
        return image * mask, mask

    def encode_transfer(self, src_image, src_parse, tgt_pose, src_iuv=None, tgt_iuv=None) -> PoseInputs:
        """Group labels into classes and draw the target pose as heatmaps."""
        if self.config.dense and (src_iuv is None or tgt_iuv is None):
            raise ValueError("the dense variant needs src_iuv and tgt_iuv (DensePose-style maps)")
        return PoseInputs(
            src_image=src_image,
            src_classes=labels.to_groups(src_parse),
            tgt_maps=self.pose_maps(tgt_pose, src_image.shape[-2:]),
            src_iuv=src_iuv if self.config.dense else None,
            tgt_iuv=tgt_iuv if self.config.dense else None,
        )

    # ---- the three stages --------------------------------------------------------------
    def predict_layout(self, x: PoseInputs) -> torch.Tensor:
        """Stage 1: target-layout logits N x C x H x W."""
        return self.layout(x.src_image, labels.one_hot(x.src_classes), x.tgt_maps, extra=x.tgt_iuv)

    def estimate_flow(self, x: PoseInputs, tgt_classes: torch.Tensor | None) -> FlowOutput:
        """Stage 2: flow from the target layout to the source cloth, and the warped cloth.

        ``tgt_classes`` is the target layout (predicted, or the truth in training); None
        without a layout stage, where the target pyramid sees the target pose instead.
        """
        cloth, mask = self.source_cloth(x.src_image, x.src_classes)
        if self.flow is None:  # the "no flow" ablation: the cloth stays where it is
            zero = torch.zeros_like(cloth[:, :2])
            return FlowOutput(flows=[zero], flow=zero, warped_cloth=cloth, warped_mask=mask)
        src_layout = labels.one_hot(x.src_classes)
        tgt_layout = labels.one_hot(tgt_classes) if tgt_classes is not None else torch.zeros_like(src_layout)
        tgt_extra = [t for t in (None if self.config.use_layout else x.tgt_maps, x.tgt_iuv) if t is not None]
        return self.flow(
            cloth, mask, src_layout, tgt_layout, src_extra=x.src_iuv, tgt_extra=torch.cat(tgt_extra, 1) if tgt_extra else None
        )

    def render_output(self, x: PoseInputs, flow: FlowOutput, tgt_classes: torch.Tensor | None):
        """Stage 3 (all outputs): renders with the target layout, or the source's without stage 1."""
        layout = tgt_classes if self.config.use_layout else x.src_classes
        return self.render(flow.warped_cloth, flow.warped_mask, labels.one_hot(layout), x.tgt_maps, x.src_image)

    def transfer(
        self,
        src_image: torch.Tensor,
        src_parse: torch.Tensor,
        tgt_pose: torch.Tensor,
        src_iuv: torch.Tensor | None = None,
        tgt_iuv: torch.Tensor | None = None,
    ) -> TransferResult:
        """Pose transfer: the source person re-posed to ``tgt_pose``.

        Args:
            src_image: N x 3 x H x W in [-1, 1], at ``config.size``.
            src_parse: N x H x W LIP label ids of the source.
            tgt_pose: N x 18 x 2 target keypoints in pixels (-1 missing).
            src_iuv, tgt_iuv: N x 3 x H x W IUV maps in [0, 1]; only the dense variant uses them.

        Returns:
            A :class:`TransferResult` (``layout`` is None without a layout stage).
        """
        if self.config.task != "transfer":
            raise ValueError("this pipeline is configured for try-on; use .tryon(...)")
        _check_inputs(src_image, src_parse, tgt_pose, self.config.size)
        x = self.encode_transfer(src_image, src_parse, tgt_pose, src_iuv, tgt_iuv)
        logits = self.predict_layout(x) if self.layout is not None else None
        tgt_classes = logits.argmax(1) if logits is not None else None
        flow = self.estimate_flow(x, tgt_classes)
        image = self.render_output(x, flow, tgt_classes).image
        return TransferResult(image=image, layout_logits=logits, layout=tgt_classes, flow=flow)

    def forward(self, *inputs: torch.Tensor) -> TransferResult:
        """:meth:`transfer` or :meth:`tryon`, by ``config.task``."""
        return self.tryon(*inputs) if self.config.task == "tryon" else self.transfer(*inputs)

    # ---- virtual try-on ------------------------------------------------------------------------
    def tryon_layout(self, rep: AgnosticPerson, pose_maps, cloth, cloth_mask) -> torch.Tensor:
        """Stage 1 for try-on: the layout of the person wearing ``cloth``, N x C x H x W logits."""
        extra = torch.cat([rep.shape_mask, cloth * cloth_mask, cloth_mask], dim=1)
        return self.layout(rep.image, labels.one_hot(rep.classes), pose_maps, extra=extra)

    def garment_flow(self, cloth, cloth_mask, tgt_classes) -> FlowOutput:
        """Stage 2 for try-on: flow from the target layout to the in-shop garment."""
        garment = labels.one_hot(garment_classes(cloth_mask))
        return self.flow(cloth * cloth_mask, cloth_mask, garment, labels.one_hot(tgt_classes))

    def tryon(
        self,
        person: torch.Tensor,
        person_parse: torch.Tensor,
        person_pose: torch.Tensor,
        cloth: torch.Tensor,
        cloth_mask: torch.Tensor,
    ) -> TransferResult:
        """Virtual try-on: the person wearing the in-shop garment ``cloth``.

        Args:
            person: N x 3 x H x W in [-1, 1], at ``config.size``.
            person_parse: N x H x W LIP label ids of the person.
            person_pose: N x 18 x 2 keypoints of the person in pixels (-1 missing).
            cloth: N x 3 x H x W in-shop garment in [-1, 1].
            cloth_mask: N x 1 x H x W garment mask in {0, 1}.

        Returns:
            A :class:`TransferResult` (layout of the dressed person, garment flow, image).
        """
        if self.config.task != "tryon":
            raise ValueError("this pipeline is configured for pose transfer; build it with preset(..., task='tryon')")
        _check_inputs(person, person_parse, person_pose, self.config.size)
        if cloth.shape != person.shape or tuple(cloth_mask.shape) != (person.shape[0], 1, *person.shape[-2:]):
            raise ValueError(f"cloth must be N x 3 x H x W and cloth_mask N x 1 x H x W like the person, got "
                             f"{tuple(cloth.shape)} and {tuple(cloth_mask.shape)}")
        rep = agnostic(person, labels.to_groups(person_parse))
        maps = self.pose_maps(person_pose, person.shape[-2:])
        logits = self.tryon_layout(rep, maps, cloth, cloth_mask)
        tgt_classes = logits.argmax(1)
        flow = self.garment_flow(cloth, cloth_mask, tgt_classes)
        image = self.render(flow.warped_cloth, flow.warped_mask, labels.one_hot(tgt_classes), maps, rep.image).image
        return TransferResult(image=image, layout_logits=logits, layout=tgt_classes, flow=flow)

    def predict(self, batch: dict[str, torch.Tensor]) -> TransferResult:
        """Run the task on a dataset batch (the tensor-dict keys of the project's datasets)."""
        if self.config.task == "tryon":
            keys = ("person", "person_parse", "person_pose", "cloth", "cloth_mask")
            return self.tryon(*(batch[k] for k in keys))
        iuv = (batch["src_iuv"], batch["tgt_iuv"]) if self.config.dense else (None, None)
        return self.transfer(batch["src_image"], batch["src_parse"], batch["tgt_pose"], *iuv)

    # ---- persistence ---------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> None:
        """Write ``config.json`` and ``model.safetensors`` (atomically) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(directory / CONFIG_NAME, self.config.to_json())
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        atomic_write_bytes(directory / WEIGHTS_NAME, save_tensors(state, metadata={"format": "pt"}))

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str = "cpu") -> "ClothFlowPipeline":
        """Rebuild a pipeline saved by :meth:`save_pretrained` (or a training run folder)."""
        directory = Path(directory)
        config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
        for p in (config_path, weights_path):
            if not p.is_file():
                raise ClothflowError(
                    "not a saved clothflow model (missing "
                    f"{p.name}); pass a folder written by `clothflow train` or `clothflow demo`",
                    directory,
                )
        try:
            config = PipelineConfig.from_dict(json.loads(config_path.read_text()))
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise ClothflowError(f"unreadable model config: {exc}", config_path) from None
        pipe = cls(config)
        try:
            state = load_file(str(weights_path), device=map_location)
        except Exception as exc:  # safetensors raises its own error types
            raise ClothflowError(f"unreadable weights: {exc}", weights_path) from None
        missing, unexpected = pipe.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ClothflowError(
                f"weights do not match the config (missing {len(missing)}, unexpected {len(unexpected)} tensors,"
                f" e.g. {(missing or unexpected)[0]})",
                weights_path,
            )
        return pipe.eval()


def _check_inputs(src_image, src_parse, tgt_pose, size) -> None:
    if src_image.dim() != 4 or src_image.shape[1] != 3:
        raise ValueError(f"src_image must be N x 3 x H x W, got {tuple(src_image.shape)}")
    n, _, h, w = src_image.shape
    if (h, w) != tuple(size):
        raise ValueError(f"images must be {size[0]} x {size[1]} for this model, got {h} x {w}")
    if tuple(src_parse.shape) != (n, h, w):
        raise ValueError(f"src_parse must be N x H x W = {(n, h, w)}, got {tuple(src_parse.shape)}")
    if tuple(tgt_pose.shape) != (n, pose.NUM_KEYPOINTS, 2):
        raise ValueError(f"tgt_pose must be N x 18 x 2, got {tuple(tgt_pose.shape)}")

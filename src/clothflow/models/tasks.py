"""The tasks ClothFlow solves, as types: what each takes in and how it feeds the three stages.

A task turns its own inputs into :class:`StageInputs`, the one form the layout, flow and
render stages read, with a single :meth:`Task.encode`. Inference, the training objectives,
evaluation and ONNX export all go through it, so no other module needs to know which task it
runs. A task also names its inputs (the keys of a dataset batch, and the exported graph's
input names), reads the ground truth of a batch, and derives the channel counts its inputs
give the networks.

- :class:`PoseTransfer`: a source person, its parsing and a target pose -> the person re-posed.
  The flow moves the source's clothing region; the renderer sees the whole source person.
- :class:`TryOn`: a person, its parsing and pose, an in-shop garment and its mask -> the person
  wearing the garment. Stages see the clothing-agnostic person (:mod:`clothflow.core.ops.agnostic`);
  the flow moves the garment.

Example:
    >>> import torch
    >>> task = TASKS["tryon"]
    >>> task.input_names(dense=False)
    ('person', 'person_parse', 'person_pose', 'cloth', 'cloth_mask')
    >>> n, h, w = 1, 64, 44
    >>> x = task.encode((torch.zeros(n, 3, h, w), torch.zeros(n, h, w, dtype=torch.long),
    ...                  torch.full((n, 18, 2), -1.0), torch.zeros(n, 3, h, w), torch.ones(n, 1, h, w)))
    >>> x.image.shape, x.pose_maps.shape, x.layout_extra.shape
    (torch.Size([1, 3, 64, 44]), torch.Size([1, 18, 64, 44]), torch.Size([1, 5, 64, 44]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from clothflow.core.ops import labels, pose
from clothflow.core.ops.agnostic import agnostic, garment_classes, garment_mask

IUV_CHANNELS = 3  # DensePose-style I, U, V maps (the dense variant)


@dataclass
class StageInputs:
    """What the three stages see, whatever the task.

    Attributes:
        image: N x 3 x H x W person image the layout and render stages see (the source
            person; for try-on the clothing-agnostic person).
        classes: N x H x W model classes of ``image``.
        pose_maps: N x 18 x H x W heatmaps of the pose to generate.
        cloth: N x 3 x H x W what the flow warps, zero outside ``cloth_mask``.
        cloth_mask: N x 1 x H x W its mask.
        cloth_classes: N x H x W classes of the cloth image (the flow's source layout).
        layout_extra: N x E x H x W extra layout-stage inputs, or None.
        src_extra: N x E x H x W extra flow source inputs, or None.
        tgt_extra: N x E x H x W extra flow target inputs, or None.
    """

    image: torch.Tensor
    classes: torch.Tensor
    pose_maps: torch.Tensor
    cloth: torch.Tensor
    cloth_mask: torch.Tensor
    cloth_classes: torch.Tensor
    layout_extra: torch.Tensor | None = None
    src_extra: torch.Tensor | None = None
    tgt_extra: torch.Tensor | None = None


@dataclass
class Truth:
    """The ground truth of a batch: the person to generate and its classes (N x 3 x H x W, N x H x W)."""

    image: torch.Tensor
    classes: torch.Tensor


@dataclass(frozen=True)
class ExtraChannels:
    """Extra input channels a task's inputs give the networks (derived, never set by hand)."""

    layout: int = 0
    flow_source: int = 0
    flow_target: int = 0


class Task:
    """One of ClothFlow's tasks: its inputs, their encoding for the stages and their truth.

    Args:
        heatmap_sigma: Gaussian sigma of the pose heatmaps in pixels (0: size-relative default).
        use_layout: the pipeline has a layout stage (else the flow's target sees the pose).
        dense: the dense variant (IUV maps as extra inputs).
    """

    name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]  # batch keys and exported input names, in call order
    int_inputs: ClassVar[tuple[str, ...]]  # of those, the integer ones (label maps)
    truth_keys: ClassVar[tuple[str, str]]  # batch keys of the target image and its parsing

    def __init__(self, heatmap_sigma: float = 0.0, use_layout: bool = True, dense: bool = False) -> None:
        self.heatmap_sigma, self.use_layout, self.dense = heatmap_sigma, use_layout, dense

    def input_names(self, dense: bool | None = None) -> tuple[str, ...]:
        """The task's input names in call order (the dense variant adds IUV maps where it has them)."""
        return self.inputs

    def extra_channels(self) -> ExtraChannels:
        """Extra input channels of the layout stage and of the flow's two pyramids."""
        raise NotImplementedError

    def encode(self, inputs: tuple[torch.Tensor, ...]) -> StageInputs:
        """The task's inputs (in :meth:`input_names` order) as the stages see them."""
        raise NotImplementedError

    def check(self, inputs: tuple[torch.Tensor, ...], size: tuple[int, int]) -> None:
        """Raise ValueError naming the input whose shape does not fit ``size`` (H, W)."""
        names = self.input_names(self.dense)
        if len(inputs) != len(names):
            raise ValueError(f"{self.name} takes {len(names)} inputs ({', '.join(names)}), got {len(inputs)}")
        image, parse, kps = inputs[:3]
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"{names[0]} must be N x 3 x H x W, got {tuple(image.shape)}")
        n, _, h, w = image.shape
        if (h, w) != tuple(size):
            raise ValueError(f"images must be {size[0]} x {size[1]} for this model, got {h} x {w}")
        if tuple(parse.shape) != (n, h, w):
            raise ValueError(f"{names[1]} must be N x H x W = {(n, h, w)}, got {tuple(parse.shape)}")
        if tuple(kps.shape) != (n, pose.NUM_KEYPOINTS, 2):
            raise ValueError(f"{names[2]} must be N x 18 x 2, got {tuple(kps.shape)}")
        for name, x in zip(names[3:], inputs[3:]):
            channels = 1 if name.endswith("mask") else 3
            if tuple(x.shape) != (n, channels, h, w):
                raise ValueError(f"{name} must be N x {channels} x H x W like {names[0]}, got {tuple(x.shape)}")

    def batch_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The task's inputs taken from a dataset batch (a dict of tensors)."""
        missing = [k for k in self.input_names(self.dense) if k not in batch]
        if missing:
            raise KeyError(f"a {self.name} batch needs {', '.join(missing)}")
        return tuple(batch[k] for k in self.input_names(self.dense))

    def truth(self, batch: dict[str, torch.Tensor]) -> Truth:
        """The batch's target person and its model classes."""
        image, parse = self.truth_keys
        return Truth(batch[image], labels.to_groups(batch[parse]))

    def cloth_region(self, classes: torch.Tensor) -> torch.Tensor:
        """Where the warped cloth belongs on a person with these classes, N x 1 x H x W."""
        raise NotImplementedError

    def pose_maps(self, kps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return pose.heatmaps(kps, size[0], size[1], self.heatmap_sigma or None)

    def example_inputs(self, size: tuple[int, int], batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Random valid inputs (for tracing and tests), in :meth:`input_names` order."""
        g = torch.Generator().manual_seed(seed)
        h, w = size
        kps = torch.rand(batch, pose.NUM_KEYPOINTS, 2, generator=g) * torch.tensor([w - 1.0, h - 1.0])
        kps[:, ::5] = -1.0  # a few missing keypoints
        out = [torch.rand(batch, 3, h, w, generator=g) * 2 - 1, torch.randint(0, 20, (batch, h, w), generator=g), kps]
        for name in self.input_names(self.dense)[3:]:
            if name.endswith("mask"):
                mask = torch.zeros(batch, 1, h, w)
                mask[..., h // 4 : 3 * h // 4, w // 5 : 4 * w // 5] = 1.0
                out.append(mask)
            elif name.endswith("iuv"):
                out.append(torch.rand(batch, 3, h, w, generator=g))
            else:
                out.append(torch.rand(batch, 3, h, w, generator=g) * 2 - 1)
        return tuple(out)


class PoseTransfer(Task):
    """Pose-guided person generation: ``(src_image, src_parse, tgt_pose[, src_iuv, tgt_iuv])``."""

    name = "transfer"
    inputs = ("src_image", "src_parse", "tgt_pose")
    int_inputs = ("src_parse",)
    truth_keys = ("tgt_image", "tgt_parse")
    dense_inputs = ("src_iuv", "tgt_iuv")

    def input_names(self, dense: bool | None = None) -> tuple[str, ...]:
        dense = self.dense if dense is None else dense
        return self.inputs + (self.dense_inputs if dense else ())

    def _check_iuv(self, inputs: tuple) -> None:
        if self.dense and (len(inputs) < 5 or inputs[3] is None or inputs[4] is None):
            raise ValueError("the dense variant needs src_iuv and tgt_iuv (DensePose-style maps)")

    def check(self, inputs: tuple[torch.Tensor, ...], size: tuple[int, int]) -> None:
        self._check_iuv(inputs)
        super().check(inputs, size)

    def extra_channels(self) -> ExtraChannels:
        iuv = IUV_CHANNELS if self.dense else 0
        pose_in_target = 0 if self.use_layout else pose.NUM_KEYPOINTS
        return ExtraChannels(layout=iuv, flow_source=iuv, flow_target=iuv + pose_in_target)

    def encode(self, inputs: tuple[torch.Tensor, ...]) -> StageInputs:
        src_image, src_parse, tgt_pose = inputs[:3]
        self._check_iuv(inputs)
        src_iuv, tgt_iuv = inputs[3:5] if self.dense else (None, None)
        classes = labels.to_groups(src_parse)
        mask = labels.cloth_mask(classes)
        maps = self.pose_maps(tgt_pose, src_image.shape[-2:])
        tgt_extra = [t for t in (None if self.use_layout else maps, tgt_iuv) if t is not None]
        return StageInputs(
            image=src_image, classes=classes, pose_maps=maps, cloth=src_image * mask, cloth_mask=mask,
            cloth_classes=classes, layout_extra=tgt_iuv, src_extra=src_iuv,
            tgt_extra=torch.cat(tgt_extra, 1) if tgt_extra else None,
        )

    def cloth_region(self, classes: torch.Tensor) -> torch.Tensor:
        return labels.cloth_mask(classes)


class TryOn(Task):
    """Virtual try-on: ``(person, person_parse, person_pose, cloth, cloth_mask)``."""

    name = "tryon"
    inputs = ("person", "person_parse", "person_pose", "cloth", "cloth_mask")
    int_inputs = ("person_parse",)
    truth_keys = ("target", "target_parse")

    def extra_channels(self) -> ExtraChannels:
        # the layout stage also sees the body-shape mask (1), the garment (3) and its mask (1)
        return ExtraChannels(layout=1 + 3 + 1)

    def encode(self, inputs: tuple[torch.Tensor, ...]) -> StageInputs:
        person, person_parse, person_pose, cloth, cloth_mask = inputs
        rep = agnostic(person, labels.to_groups(person_parse))
        garment = cloth * cloth_mask
        return StageInputs(
            image=rep.image, classes=rep.classes, pose_maps=self.pose_maps(person_pose, person.shape[-2:]),
            cloth=garment, cloth_mask=cloth_mask, cloth_classes=garment_classes(cloth_mask),
            layout_extra=torch.cat([rep.shape_mask, garment, cloth_mask], dim=1),
        )

    def cloth_region(self, classes: torch.Tensor) -> torch.Tensor:
        return garment_mask(classes)


TASKS: dict[str, Task] = {t.name: t() for t in (PoseTransfer, TryOn)}


def make_task(name: str, heatmap_sigma: float = 0.0, use_layout: bool = True, dense: bool = False) -> Task:
    """The task called ``name`` ("transfer" or "tryon") with a pipeline's settings.

    Raises:
        KeyError: an unknown task name.
    """
    return type(TASKS[name])(heatmap_sigma=heatmap_sigma, use_layout=use_layout, dense=dense)

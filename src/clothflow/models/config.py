"""The pipeline's configuration: its typed dataclass and the named presets.

Every option is defined once, as a field of one dataclass. Presets are functions returning
configs; the command line changes any field with ``--set section.field=value``
(:func:`clothflow.core.config.apply_overrides`).

Example:
    >>> cfg = preset("tiny")
    >>> cfg.size, cfg.flow.num_levels
    ((64, 44), 4)
    >>> from clothflow.core.config import apply_overrides
    >>> apply_overrides(cfg, ["flow.num_levels=3", "size=128x88"]).flow.num_levels
    3
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from clothflow.core.config import from_dict
from clothflow.core.errors import ClothflowError
from clothflow.models.flow import FlowConfig
from clothflow.models.layout import LayoutConfig
from clothflow.models.render import RenderConfig
from clothflow.models.tasks import TASKS as TASK_TYPES
from clothflow.models.tasks import Task, make_task
from clothflow.core.ops import labels, pose


@dataclass
class PipelineConfig:
    """The whole ClothFlow pipeline: image size and the three stages' configs.

    Args:
        task: "transfer" (pose-guided person generation) or "tryon" (virtual try-on).
        size: (H, W) of the images the pipeline works at.
        heatmap_sigma: Gaussian sigma of pose heatmaps in pixels (0 = size-relative default).
        use_layout: run stage 1 (False: the "no layout" ablation).
        warp: "flow" (the cascaded flow), "tps" (a regressed TPS warp) or "none" (no warping).
        dense: feed DensePose-style IUV maps to stages 1 and 2 (ClothFlowDense).

    The stages' input channel counts (layout classes, pose heatmaps, the extra channels a
    task or variant adds) are derived from these choices (:meth:`clothflow.models.tasks.Task.extra_channels`),
    never set by hand: values read from a file are replaced by the derived ones.
    """

    task: str = "transfer"
    size: tuple[int, int] = (256, 176)
    heatmap_sigma: float = 0.0
    use_layout: bool = True
    warp: str = "flow"
    dense: bool = False
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    render: RenderConfig = field(default_factory=RenderConfig)

    def __post_init__(self) -> None:
        if self.task not in TASKS:  # reported by check()
            return
        extra = self.make_task().extra_channels()
        common = {"num_classes": labels.NUM_CLASSES}
        self.layout = dataclasses.replace(
            self.layout, extra_channels=extra.layout, pose_channels=pose.NUM_KEYPOINTS, **common
        )
        self.flow = dataclasses.replace(
            self.flow, source_extra_channels=extra.flow_source, target_extra_channels=extra.flow_target, **common
        )
        self.render = dataclasses.replace(self.render, pose_channels=pose.NUM_KEYPOINTS, **common)

    def make_task(self) -> Task:
        """The :class:`~clothflow.models.tasks.Task` this pipeline runs, with its settings."""
        return make_task(self.task, heatmap_sigma=self.heatmap_sigma, use_layout=self.use_layout, dense=self.dense)

    def check(self) -> None:
        """Raise ClothflowError for combinations the pipeline cannot build."""
        if self.task not in TASKS:
            raise ClothflowError(f"unknown task {self.task!r}; choose one of: {', '.join(TASKS)}")
        if self.warp not in WARPS:
            raise ClothflowError(f"unknown warp {self.warp!r}; choose one of: {', '.join(WARPS)}")
        if self.task == "tryon" and (not self.use_layout or self.dense or self.warp == "none"):
            raise ClothflowError("try-on supports the tps, no_cascade and no_style variants only")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PipelineConfig":
        return from_dict(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


TASKS = tuple(TASK_TYPES)
WARPS = ("flow", "tps", "none")


def preset(name: str, task: str = "transfer") -> PipelineConfig:
    """Named pipeline presets, for pose transfer or try-on.

    - ``paper``: 256 x 176, 64 base channels (the paper's U-Net widths), 4 flow levels.
    - ``tiny``: 64 x 44, 16 base channels, for CPU tests and the demo; trained at the same
      per-stage rates as ``fast`` (:func:`clothflow.training.settings.preset_training`).
    - ``fast``: 256 x 176 for CPU inference: widths 16, and the layout and render U-Nets work
      at half resolution (``scale=2``; the layout is upsampled, the render's composition mask
      and raw image too, while the warped cloth it blends in stays full resolution): 4.6
      GFLOP/image instead of the paper's 164. It trains with its own learning rates
      (:func:`clothflow.training.settings.preset_training`); so trained for as many steps
      as ``paper``, it scores 0.012 lower SSIM on the synthetic benchmark at 64 x 44 (five
      seeds), with a flow EPE within 5% (the README's tables).
      Speed: ``benchmarks/inference.py``; quality: ``benchmarks/fast_quality.py``.
    """
    if task not in TASKS:
        raise ClothflowError(f"unknown task {task!r}; choose one of: {', '.join(TASKS)}")
    sizes = {"paper": ((256, 176), 64, 1), "tiny": ((64, 44), 16, 1), "fast": ((256, 176), 16, 2)}
    _check_preset(name)
    size, base, scale = sizes[name]
    return PipelineConfig(
        task=task,
        size=size,
        layout=LayoutConfig(base_channels=base, depth=4, scale=scale),
        flow=FlowConfig(base_channels=base, num_levels=4, final_upsampling="bilinear"),
        render=RenderConfig(base_channels=base, depth=4, scale=scale),
    )


PRESETS = ("paper", "tiny", "fast")


def _check_preset(name: str) -> None:
    if name not in PRESETS:
        raise ClothflowError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")

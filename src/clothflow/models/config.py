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


@dataclass
class PipelineConfig:
    """The whole ClothFlow pipeline: image size and the three stages' configs.

    Args:
        task: "transfer" (pose-guided person generation) or "tryon" (virtual try-on).
        size: (H, W) of the images the pipeline works at.
        heatmap_sigma: Gaussian sigma of pose heatmaps in pixels (0 = size-relative default).
        use_layout: run stage 1 (False: the "no layout" ablation).
        warp: "flow" (the cascaded flow), "tps" (a regressed TPS warp) or "none" (no warping).
        dense: feed DensePose-style IUV maps to stages 1 and 2 (ClothFlowDense); the stage
            configs then need 3 extra channels (see :mod:`clothflow.models.variants`).
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

    def check(self) -> None:
        """Raise ClothflowError for combinations the pipeline cannot build."""
        if self.task not in TASKS:
            raise ClothflowError(f"unknown task {self.task!r}; choose one of: {', '.join(TASKS)}")
        if self.warp not in WARPS:
            raise ClothflowError(f"unknown warp {self.warp!r}; choose one of: {', '.join(WARPS)}")
        if self.task == "tryon" and (not self.use_layout or self.dense or self.warp == "none"):
            raise ClothflowError("try-on supports the tps, no_cascade and no_style variants only")
        want_layout_extra = (3 if self.dense else 0) + (TRYON_LAYOUT_EXTRA if self.task == "tryon" else 0)
        want_src_extra = 3 if self.dense else 0
        want_tgt_extra = (3 if self.dense else 0) + (0 if self.use_layout else 18)
        got = (self.layout.extra_channels, self.flow.source_extra_channels, self.flow.target_extra_channels)
        if got != (want_layout_extra, want_src_extra, want_tgt_extra):
            raise ClothflowError(
                f"extra input channels (layout, flow source, flow target) = {got} do not match this variant, "
                f"which needs {(want_layout_extra, want_src_extra, want_tgt_extra)}; use --variant to set them"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PipelineConfig":
        return from_dict(cls, data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


# Try-on's layout stage sees, besides the clothing-agnostic person, its body-shape mask (1)
# and the in-shop garment (3) with its mask (1).
TRYON_LAYOUT_EXTRA = 5
TASKS = ("transfer", "tryon")
WARPS = ("flow", "tps", "none")


def preset(name: str, task: str = "transfer") -> PipelineConfig:
    """Named pipeline presets, for pose transfer or try-on.

    - ``paper``: 256 x 176, 64 base channels (the paper's U-Net widths), 4 flow levels.
    - ``tiny``: 64 x 44, 16 base channels, for CPU tests and the demo; trained at the same
      per-stage rates as ``fast`` (:func:`preset_training`).
    - ``fast``: 256 x 176 for CPU inference: widths 16, and the layout and render U-Nets work
      at half resolution (``scale=2``; the layout is upsampled, the render's composition mask
      and raw image too, while the warped cloth it blends in stays full resolution): 4.6
      GFLOP/image instead of the paper's 164. It trains with its own learning rates
      (:func:`preset_training`); so trained for as many steps as ``paper``, it scores 0.012
      lower SSIM on the synthetic benchmark at 64 x 44 (five seeds), with a flow EPE within
      5% (the README's tables).
      Speed: ``benchmarks/inference.py``; quality: ``benchmarks/fast_quality.py``.
    """
    if task not in TASKS:
        raise ClothflowError(f"unknown task {task!r}; choose one of: {', '.join(TASKS)}")
    sizes = {"paper": ((256, 176), 64, 1), "tiny": ((64, 44), 16, 1), "fast": ((256, 176), 16, 2)}
    _check_preset(name)
    size, base, scale = sizes[name]
    extra = TRYON_LAYOUT_EXTRA if task == "tryon" else 0
    return PipelineConfig(
        task=task,
        size=size,
        layout=LayoutConfig(base_channels=base, depth=4, extra_channels=extra, scale=scale),
        flow=FlowConfig(base_channels=base, num_levels=4),
        render=RenderConfig(base_channels=base, depth=4, scale=scale),
    )


PRESETS = ("paper", "tiny", "fast")

# Training settings each preset is trained with unless told otherwise (TrainConfig fields, as
# after ``--set train.``). Widths-16 networks take much larger Adam steps than the paper's
# widths-64 ones; these rates are the best of a sweep at 64 x 44, 150 steps per stage
# (``benchmarks/fast_quality.py``; the README's table), and serve ``tiny`` as well.
_WIDTH16_RATES = ("stage_lr.layout=3.2e-3", "stage_lr.flow=4e-4", "stage_lr.render=3.2e-3")
_PRESET_TRAINING = {"fast": _WIDTH16_RATES, "tiny": _WIDTH16_RATES}


def preset_training(name: str) -> list[str]:
    """The ``TrainConfig`` overrides preset ``name`` trains with by default (``key=value``).

    Example:
        >>> preset_training("fast")[1]
        'stage_lr.flow=4e-4'
    """
    _check_preset(name)
    return list(_PRESET_TRAINING.get(name, ()))


def _check_preset(name: str) -> None:
    if name not in PRESETS:
        raise ClothflowError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")

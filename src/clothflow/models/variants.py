"""The paper's ablations as named sets of config overrides (no copies of code).

Each variant is a list of ``--set`` style overrides on the pipeline config, and ``train.``-
prefixed ones on the training config; :func:`apply_variant` returns both configs changed.

============  =========================================================================
variant       what changes
============  =========================================================================
full          nothing: ClothFlow as in the paper
no_layout     no stage 1; the flow's target pyramid sees the target pose heatmaps and
              the renderer the source layout
no_flow       no stage 2; the renderer gets the unwarped source cloth
tps           stage 2 is a regressed thin-plate-spline warp (as in CP-VTON)
no_cascade    one flow level at 1/4 resolution, upsampled
no_style      the renderer is trained without the style (Gram) loss
dense         ClothFlowDense: IUV maps as extra input to stages 1 and 2
============  =========================================================================

Example:
    >>> from clothflow.models.config import preset
    >>> from clothflow.training.loop import TrainConfig
    >>> p, t = apply_variant("no_cascade", preset("tiny"), TrainConfig())
    >>> p.flow.num_levels
    1
"""

from __future__ import annotations

from clothflow.models.config import PipelineConfig
from clothflow.core.config import apply_overrides
from clothflow.core.errors import ClothflowError

VARIANTS: dict[str, list[str]] = {
    "full": [],
    "no_layout": ["use_layout=false", "flow.target_extra_channels=18"],
    "no_flow": ["warp=none"],
    "tps": ["warp=tps"],
    "no_cascade": ["flow.num_levels=1"],
    "no_style": ["train.loss.render.style=0"],
    "dense": ["dense=true", "layout.extra_channels=3", "flow.source_extra_channels=3", "flow.target_extra_channels=3"],
}


def apply_variant(name: str, pipeline_cfg: PipelineConfig, train_cfg):
    """Return (pipeline config, train config) of ``name`` applied to the given ones."""
    if name not in VARIANTS:
        raise ClothflowError(f"unknown variant {name!r}; choose one of: {', '.join(VARIANTS)}")
    sets = VARIANTS[name]
    pipeline_cfg = apply_overrides(pipeline_cfg, [s for s in sets if not s.startswith("train.")])
    train_cfg = apply_overrides(train_cfg, [s[len("train."):] for s in sets if s.startswith("train.")])
    pipeline_cfg.check()
    return pipeline_cfg, train_cfg

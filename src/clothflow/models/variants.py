"""The paper's ablations as named sets of config overrides (no copies of code).

Each variant is a list of ``--set`` style overrides on the pipeline config;
:func:`apply_variant` returns the config changed. What a variant changes in training (e.g. no
style loss) is with the other training settings:
:func:`clothflow.training.settings.variant_training`.

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
    >>> apply_variant("no_cascade", preset("tiny")).flow.num_levels
    1
"""

from __future__ import annotations

from clothflow.models.config import PipelineConfig
from clothflow.core.config import apply_overrides
from clothflow.core.errors import ClothflowError

ABLATIONS: dict[str, list[str]] = {
    "full": [],
    "no_layout": ["use_layout=false"],
    "no_flow": ["warp=none"],
    "tps": ["warp=tps"],
    "no_cascade": ["flow.num_levels=1"],
    "no_style": [],  # the same model, trained without the style loss
    "dense": ["dense=true"],
}


def apply_variant(name: str, pipeline_cfg: PipelineConfig) -> PipelineConfig:
    """The pipeline config of ablation ``name``, applied to ``pipeline_cfg`` (checked)."""
    if name not in ABLATIONS:
        raise ClothflowError(f"unknown variant {name!r}; choose one of: {', '.join(ABLATIONS)}")
    pipeline_cfg = apply_overrides(pipeline_cfg, ABLATIONS[name])
    pipeline_cfg.check()
    return pipeline_cfg

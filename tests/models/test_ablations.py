"""Every ablation of the paper builds, trains a step of each of its stages, and runs."""

import pytest
import torch

from clothflow.models.variants import ABLATIONS, apply_variant
from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.data.datasets.synthetic import SyntheticPairs
from clothflow.core.errors import ClothflowError
from clothflow.evaluation.evaluate import evaluate
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.models.tps import TPSWarpNet, control_grid, tps_flow
from clothflow.training.settings import TrainConfig, variant_training
from clothflow.training.stages import train

NARROW = ["layout.base_channels=8", "flow.base_channels=8", "render.base_channels=8"]
EXPECTED_STAGES = {
    "full": ("layout", "flow", "render"),
    "no_layout": ("flow", "render"),
    "no_flow": ("layout", "render"),
    "tps": ("layout", "flow", "render"),
    "no_cascade": ("layout", "flow", "render"),
    "no_style": ("layout", "flow", "render"),
    "dense": ("layout", "flow", "render"),
}


@pytest.mark.parametrize("variant", list(ABLATIONS))
def test_variant_trains_and_evaluates(tmp_path, variant):
    pipe_cfg = apply_variant(variant, apply_overrides(preset("tiny"), NARROW))
    train_cfg = apply_overrides(TrainConfig(steps=1, batch_size=2, num_pairs=4), variant_training(variant))
    seen = []
    pipe = train(tmp_path / variant, pipe_cfg, train_cfg, progress=False, on_step=lambda s, i, l: seen.append((s, l)))
    assert tuple(s for s, _ in seen) == EXPECTED_STAGES[variant]
    metrics, _ = evaluate(pipe, SyntheticPairs(2, (64, 44), 1), batch_size=2)
    assert 0 <= metrics["final_ssim"] <= 1
    assert (metrics["layout_miou"] is None) == (variant == "no_layout")
    if variant == "no_flow":  # the cloth is not moved at all
        assert metrics["warp_ssim"]["clothflow"] == metrics["warp_ssim"]["no_warp"]
    if variant in ("full", "no_style"):  # the style term is there, and off in no_style
        assert (dict(seen)["render"]["style"] > 0) == (variant == "full")
    reloaded = ClothFlowPipeline.from_pretrained(tmp_path / variant)
    assert reloaded.config == pipe_cfg


def test_variant_modules():
    base = apply_overrides(preset("tiny"), NARROW)
    assert isinstance(ClothFlowPipeline(apply_variant("tps", base)).flow, TPSWarpNet)
    assert ClothFlowPipeline(apply_variant("no_cascade", base)).flow.config.num_levels == 1
    assert ClothFlowPipeline(apply_variant("no_layout", base)).layout is None
    with pytest.raises(ClothflowError, match="unknown variant"):
        apply_variant("nope", base)
    with pytest.raises(ClothflowError, match="unknown variant"):
        variant_training("nope")
    dense = ClothFlowPipeline(apply_overrides(base, ["dense=true"]))  # the IUV channels follow from dense alone
    assert dense.config.layout.extra_channels == 3
    assert (dense.config.flow.source_extra_channels, dense.config.flow.target_extra_channels) == (3, 3)


def test_variant_training_settings_come_from_settings():
    """Training-side values of the ablations live in training.settings; each names an ablation."""
    assert apply_variant("no_style", preset("tiny")) == preset("tiny")  # the same model ...
    cfg = apply_overrides(TrainConfig(), variant_training("no_style"))
    assert cfg.loss.render.style == 0 and TrainConfig().loss.render.style > 0  # ... trained without style
    assert all(variant_training(v) == [] for v in ABLATIONS if v != "no_style")


def test_tps_flow_interpolates_control_points():
    target = control_grid(3, 1)
    offsets = torch.zeros_like(target)
    offsets[0, 4] = torch.tensor([0.2, -0.1])  # move the centre point only
    flow = tps_flow(target, target + offsets, (21, 11))
    # the centre pixel (x=5, y=10) moves by the offset in pixels: 0.2 * 10 / 2, -0.1 * 20 / 2
    assert torch.allclose(flow[0, :, 10, 5], torch.tensor([1.0, -1.0]), atol=1e-3)
    assert flow[0, :, 0, 0].abs().max() < 1e-3  # a corner control point stays put


def test_tps_flow_stays_bounded_when_control_points_meet():
    """Two predicted points on top of each other (or crossed) must not make the solve singular."""
    target = control_grid(5, 1)
    source = target.clone()
    source[0, 6] = source[0, 7]  # two neighbours land on the same source point
    source[0, 12] = source[0, 13] + torch.tensor([0.3, 0.0])  # and two cross
    flow = tps_flow(target, source, (64, 48))
    assert torch.isfinite(flow).all() and flow.abs().max() < 64

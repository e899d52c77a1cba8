import pytest

from clothflow.models.config import PipelineConfig, preset
from clothflow.core.config import apply_overrides, parse_size
from clothflow.core.errors import ClothflowError


def test_presets_sizes_and_widths():
    paper, tiny = preset("paper"), preset("tiny")
    assert paper.size == (256, 176) and paper.layout.base_channels == 64 and paper.render.base_channels == 64
    assert tiny.size == (64, 44) and tiny.flow.base_channels == 16


def test_overrides_change_exactly_one_field():
    cfg = apply_overrides(preset("tiny"), ["flow.num_levels=2", "render.composition=false", "size=128x88"])
    assert cfg.flow.num_levels == 2 and cfg.render.composition is False and cfg.size == (128, 88)
    assert cfg.layout == preset("tiny").layout


@pytest.mark.parametrize(
    "item", ["flow.nonexistent=1", "flow=3", "flow.num_levels=abc", "render.composition=maybe", "noequals"]
)
def test_bad_overrides_are_clear_errors(item):
    with pytest.raises(ClothflowError):
        apply_overrides(preset("tiny"), [item])


def test_json_round_trip():
    cfg = apply_overrides(preset("paper"), ["flow.num_levels=3"])
    assert PipelineConfig.from_dict(__import__("json").loads(cfg.to_json())) == cfg


@pytest.mark.parametrize("text", ["256", "256x", "ax176", "256x176x3", "4x4", "-256x176"])
def test_bad_sizes(text):
    with pytest.raises(ClothflowError):
        parse_size(text)


def test_good_size():
    assert parse_size("256x176") == (256, 176)

"""The tasks as types: one encode per task, derived channel counts, checked inputs."""

import dataclasses

import pytest
import torch

from clothflow.core.config import apply_overrides
from clothflow.models.config import PipelineConfig, preset
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.models.tasks import TASKS, make_task

NARROW = ["layout.base_channels=4", "flow.base_channels=4", "render.base_channels=4"]


@pytest.mark.parametrize(
    "task, sets, want",
    [
        ("transfer", [], (0, 0, 0)),
        ("transfer", ["use_layout=false"], (0, 0, 18)),
        ("transfer", ["dense=true"], (3, 3, 3)),
        ("transfer", ["dense=true", "use_layout=false"], (3, 3, 21)),
        ("tryon", [], (5, 0, 0)),
    ],
)
def test_channel_counts_are_derived_from_the_inputs(task, sets, want):
    cfg = apply_overrides(preset("tiny", task=task), sets)
    got = (cfg.layout.extra_channels, cfg.flow.source_extra_channels, cfg.flow.target_extra_channels)
    assert got == want
    # a stored (or hand-set) count that disagrees is replaced on reading, so old files still load
    stored = cfg.to_dict()
    stored["layout"]["extra_channels"] = 99
    assert PipelineConfig.from_dict(stored).layout.extra_channels == want[0]


@pytest.mark.parametrize("name", ["transfer", "tryon"])
def test_encode_is_what_the_pipeline_runs(name):
    cfg = apply_overrides(preset("tiny", task=name), NARROW)
    pipe = ClothFlowPipeline(cfg).eval()
    task = make_task(name)
    inputs = task.example_inputs(cfg.size, batch=2, seed=1)
    batch = dict(zip(task.input_names(), inputs))
    with torch.inference_mode():
        direct = pipe(*inputs)
        from_batch = pipe.predict(batch)
        x = pipe.encode(*inputs)
        staged = pipe.run(x)
    torch.testing.assert_close(direct.image, from_batch.image)
    torch.testing.assert_close(direct.image, staged.image)
    assert x.image.shape == (2, 3, *cfg.size) and x.pose_maps.shape == (2, 18, *cfg.size)
    assert x.cloth_mask.shape == (2, 1, *cfg.size)
    assert (x.cloth * (1 - x.cloth_mask)).abs().max() == 0  # the flow only sees the cloth
    if name == "tryon":  # the stages see the clothing-agnostic person, not the photo
        assert not torch.equal(x.image, inputs[0])
    else:
        assert torch.equal(x.image, inputs[0])


def test_inputs_are_checked_by_name():
    cfg = preset("tiny", task="tryon")
    task = cfg.make_task()
    person, parse, kps, cloth, mask = task.example_inputs(cfg.size)
    with pytest.raises(ValueError, match="cloth_mask must be N x 1 x H x W"):
        task.check((person, parse, kps, cloth, mask[:, :, :10]), cfg.size)
    with pytest.raises(ValueError, match="takes 5 inputs"):
        task.check((person, parse, kps), cfg.size)
    with pytest.raises(ValueError, match="images must be 64 x 44"):
        task.check((person[..., :40], parse, kps, cloth, mask), cfg.size)
    with pytest.raises(KeyError, match="cloth_mask"):
        task.batch_inputs({"person": person, "person_parse": parse, "person_pose": kps, "cloth": cloth})


def test_truth_and_cloth_region_per_task():
    h, w = 8, 6
    parse = torch.zeros(1, h, w, dtype=torch.long)
    parse[:, 2:5] = 5  # upper clothes
    parse[:, 5:] = 9  # pants
    batch = {"tgt_image": torch.ones(1, 3, h, w), "tgt_parse": parse, "target": -torch.ones(1, 3, h, w),
             "target_parse": parse}
    transfer, tryon = TASKS["transfer"], TASKS["tryon"]
    assert float(transfer.truth(batch).image.mean()) == 1.0 and float(tryon.truth(batch).image.mean()) == -1.0
    classes = transfer.truth(batch).classes
    # pose transfer moves all clothing; try-on only the upper garment
    assert float(transfer.cloth_region(classes).sum()) == 6 * w
    assert float(tryon.cloth_region(classes).sum()) == 3 * w
    assert dataclasses.is_dataclass(transfer.encode(transfer.example_inputs((h * 8, w * 8))))

"""A run folder written before the layout by concern (and before ``kind``) still loads and resumes.

``tests/data_files/legacy_run`` was made with the code of commit 97545c3 by::

    clothflow train --preset tiny --stage flow --steps 1 --batch-size 2 --set train.num_pairs=4 \\
        --set layout.base_channels=4 --set flow.base_channels=4 --set render.base_channels=4 \\
        --set layout.depth=1 --set render.depth=1 --set flow.num_levels=1 --out legacy_run

keeping its config.json, train.json, model.safetensors and checkpoint.safetensors. The
expected outputs below are what that code's pipeline computed on the same inputs.
"""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from clothflow.apps.cli import main
from clothflow.core.config import from_dict
from clothflow.core.pretrained import stored_kind
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.training.checkpoint import load_checkpoint
from clothflow.training.settings import TrainConfig
from clothflow.training.stages import train

LEGACY = Path(__file__).resolve().parents[1] / "data_files" / "legacy_run"


@pytest.fixture
def legacy_run(tmp_path) -> Path:
    run = tmp_path / "legacy_run"
    shutil.copytree(LEGACY, run)
    return run


def _inputs():
    g = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 64, 44, generator=g) * 2 - 1
    parse = torch.randint(0, 20, (2, 64, 44), generator=g)
    keypoints = torch.rand(2, 18, 2, generator=g) * torch.tensor([44.0, 64.0])
    return image, parse, keypoints


def test_the_folder_is_small_and_has_no_kind():
    assert sum(p.stat().st_size for p in LEGACY.iterdir()) < 300_000
    assert "kind" not in json.loads((LEGACY / "config.json").read_text())
    assert stored_kind(LEGACY) == "clothflow"


def test_legacy_folder_loads_and_computes_what_it_did():
    pipe = ClothFlowPipeline.from_pretrained(LEGACY)
    assert pipe.config.size == (64, 44) and pipe.config.flow.num_levels == 1
    with torch.no_grad():
        out = pipe.transfer(*_inputs())
    assert out.image.shape == (2, 3, 64, 44)
    assert out.image.mean().item() == pytest.approx(0.02804654836654663, abs=1e-5)
    assert out.image.abs().mean().item() == pytest.approx(0.3124304711818695, abs=1e-5)
    assert out.image[0, :, 30, 20].tolist() == pytest.approx([0.46238547563552856, -0.3717641830444336,
                                                              0.2256956845521927], abs=1e-5)
    assert out.flow.flow.abs().mean().item() == pytest.approx(0.010608258657157421, abs=1e-6)


def test_legacy_run_resumes_one_step(legacy_run):
    seen = []
    before = ClothFlowPipeline.from_pretrained(legacy_run).state_dict()
    pipe = train(legacy_run, train_cfg=replace(_stored(legacy_run), steps=2), resume=True, progress=False,
                 on_step=lambda stage, step, losses: seen.append((stage, step)))
    assert seen == [("flow", 2)]  # the step count goes on from the stored checkpoint
    state, optimizers = load_checkpoint(legacy_run / "checkpoint.safetensors", ClothFlowPipeline(pipe.config))
    assert (state.step, state.completed, list(optimizers)) == (2, ["flow"], ["flow"])
    after = pipe.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in after if k.startswith("flow."))
    assert all(torch.equal(before[k], after[k]) for k in after if k.startswith(("layout.", "render.")))
    assert json.loads((legacy_run / "config.json").read_text())["kind"] == "clothflow"  # rewritten with its kind


def test_legacy_run_resumes_from_the_command_line(legacy_run, capsys):
    assert main(["train", "--resume", str(legacy_run), "--steps", "2"]) == 0
    assert "run resumed and finished" in capsys.readouterr().out
    assert json.loads((legacy_run / "train.json").read_text())["steps"] == 2


def _stored(run: Path) -> TrainConfig:
    """The run's train.json, read as today's code reads it (its old keys, and defaults for new ones)."""
    return from_dict(TrainConfig, json.loads((run / "train.json").read_text()))

import json
import os
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file, save_file

from clothflow.training.checkpoint import TrainState, load_checkpoint, save_checkpoint
from clothflow.core.config import apply_overrides
from clothflow.core.errors import ClothflowError
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.training.settings import TrainConfig
from clothflow.training.stages import train

BASE = TrainConfig(stage="flow", steps=6, batch_size=2, num_pairs=8, checkpoint_every=2, log_every=1)


def _weights(run):
    return load_file(str(run / "model.safetensors"))


def _initial_weights(cfg, seed: int = BASE.seed) -> dict[str, torch.Tensor]:
    """The weights a new run starts from: ``train`` seeds the RNG with the run's seed, then builds the pipeline."""
    torch.manual_seed(seed)
    return ClothFlowPipeline(cfg).state_dict()


def _changed(before: dict, after: dict, prefix: str) -> list[str]:
    """The tensors under ``prefix`` that differ between two state dicts."""
    return [k for k in after if k.startswith(prefix) and not torch.equal(before[k], after[k])]


def test_resume_after_interrupt_equals_uninterrupted(tmp_path, tiny_cfg):
    full = tmp_path / "full"
    steps_seen = []
    train(full, tiny_cfg, BASE, progress=False, on_step=lambda s, i, l: steps_seen.append(i))
    assert steps_seen == [1, 2, 3, 4, 5, 6]

    cut = tmp_path / "cut"

    def interrupt(stage, step, losses):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cut, tiny_cfg, BASE, progress=False, on_step=interrupt)
    assert load_checkpoint(cut / "checkpoint.safetensors", ClothFlowPipeline(tiny_cfg))[0].step == 3

    resumed_steps = []
    train(cut, resume=True, progress=False, on_step=lambda s, i, l: resumed_steps.append(i))
    assert resumed_steps == [4, 5, 6]  # the step count continues
    a, b = _weights(full), _weights(cut)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    # and training changed the flow stage's weights: the seeded initial ones are what the run
    # started from (the stages it did not train still hold them), and most flow tensors moved
    changed = _changed(_initial_weights(tiny_cfg), a, "")
    assert all(k.startswith("flow.") for k in changed), changed
    flow = [k for k in a if k.startswith("flow.")]
    assert len(changed) > len(flow) / 2, (len(changed), len(flow))


def test_resume_with_more_steps_continues(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    train(run, tiny_cfg, replace(BASE, steps=2), progress=False)
    after_two = _weights(run)
    seen = []
    train(run, train_cfg=replace(BASE, steps=4), resume=True, progress=False, on_step=lambda s, i, l: seen.append(i))
    assert seen == [3, 4]
    # both the first 2 steps and the 2 resumed ones trained the flow stage
    moved = len(_changed(_initial_weights(tiny_cfg), after_two, "flow.")), len(_changed(after_two, _weights(run), "flow."))
    assert min(moved) > 0, moved
    # a finished stage goes on with its own Adam moments: 2 + 2 steps are 4 steps at once
    once = tmp_path / "once"
    train(once, tiny_cfg, replace(BASE, steps=4), progress=False)
    a, b = _weights(once), _weights(run)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k


def test_render_needs_flow_first(tmp_path, tiny_cfg):
    with pytest.raises(ClothflowError, match="train --stage flow first"):
        train(tmp_path / "r", tiny_cfg, replace(BASE, stage="render", steps=1), progress=False)


def test_all_stages_and_tensorboard(tmp_path, tiny_cfg):
    run = tmp_path / "all"
    seen = []
    train(run, tiny_cfg, replace(BASE, stage="all", steps=2, log_every=1), progress=False,
          on_step=lambda s, i, l: seen.append((s, i)))
    assert seen == [("layout", 1), ("layout", 2), ("flow", 1), ("flow", 2), ("render", 1), ("render", 2)]
    state, _ = load_checkpoint(run / "checkpoint.safetensors", ClothFlowPipeline(tiny_cfg))
    assert state.completed == ["layout", "flow", "render"]
    assert any(p.name.startswith("events.out.tfevents") for p in (run / "tb").iterdir())
    ClothFlowPipeline.from_pretrained(run)  # a run folder is a saved model


def test_existing_run_is_not_overwritten(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    train(run, tiny_cfg, replace(BASE, steps=1), progress=False)
    with pytest.raises(ClothflowError, match="already holds a training run"):
        train(run, tiny_cfg, replace(BASE, steps=1), progress=False)


def test_checkpoint_write_is_atomic(tmp_path, tiny_cfg, monkeypatch):
    pipe = ClothFlowPipeline(tiny_cfg)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, pipe, {}, TrainState(stage="flow", step=5))
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with torch.no_grad():
        next(pipe.parameters()).add_(1.0)
    with pytest.raises(OSError):
        save_checkpoint(path, pipe, {}, TrainState(stage="flow", step=6))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no temporary left behind


@pytest.fixture
def adam_optimizers(monkeypatch):
    """The Adam optimizers training makes from here on, in order."""
    made = []

    class SpyAdam(torch.optim.Adam):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(torch.optim, "Adam", SpyAdam)
    return made


def test_stage_learning_rates_replace_the_run_rate(tmp_path, tiny_cfg, adam_optimizers):
    cfg = apply_overrides(replace(BASE, stage="all", steps=1), ["lr=3e-4", "stage_lr.flow=1e-3"])
    train(tmp_path / "run", tiny_cfg, cfg, progress=False)
    assert [o.param_groups[0]["lr"] for o in adam_optimizers] == [3e-4, 1e-3, 3e-4]  # layout, flow, render


def test_resumed_run_takes_a_new_learning_rate(tmp_path, tiny_cfg, adam_optimizers):
    run = tmp_path / "run"

    def interrupt(stage, step, losses):
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # the checkpoint holds the flow stage's Adam state, rate 2e-4
        train(run, tiny_cfg, replace(BASE, steps=3), progress=False, on_step=interrupt)
    train(run, train_cfg=replace(BASE, steps=3, lr=5e-5), resume=True, progress=False)
    resumed = adam_optimizers[-1]
    assert len(resumed.state) > 0  # the stored state was loaded
    assert [g["lr"] for g in resumed.param_groups] == [5e-5]  # but not its rate


def test_checkpoint_of_the_single_optimizer_layout_still_loads(tmp_path, tiny_cfg):
    """Checkpoints that held one optimizer (the current stage's) give it under that stage."""
    pipe = ClothFlowPipeline(tiny_cfg)
    optimizer = torch.optim.Adam(pipe.flow.parameters())
    sum(p.sum() for p in pipe.flow.parameters()).backward()
    optimizer.step()
    opt = optimizer.state_dict()
    tensors = {f"model.{k}": v.contiguous() for k, v in pipe.state_dict().items()}
    tensors["rng.torch"] = torch.get_rng_state()
    tensors.update({f"optim.{pid}.{key}": torch.as_tensor(v) for pid, s in opt["state"].items() for key, v in s.items()})
    meta = {"stage": "flow", "step": 1, "completed": [], "param_groups": opt["param_groups"]}
    path = tmp_path / "old.safetensors"
    save_file(tensors, str(path), metadata={"clothflow": json.dumps(meta)})
    _, stored = load_checkpoint(path, ClothFlowPipeline(tiny_cfg))
    assert list(stored) == ["flow"]
    fresh = torch.optim.Adam(pipe.flow.parameters())
    fresh.load_state_dict(stored["flow"])
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], opt["state"][0]["exp_avg"])

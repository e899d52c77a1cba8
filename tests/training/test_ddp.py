"""Data-parallel training: 2 gloo processes equal 1 process on the same global batch."""

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from safetensors.torch import load_file
from torch import nn

from clothflow.training import distributed
from clothflow.core.errors import ClothflowError
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.training.objectives import OBJECTIVES
from clothflow.training.loop import StepBatchSampler
from clothflow.training.settings import TrainConfig
from clothflow.training.stages import train

CFG = TrainConfig(stage="flow", steps=3, batch_size=4, num_pairs=8, checkpoint_every=2, log_every=1, device="cpu")


def _assert_same_weights(a, b, atol=1e-4):
    # All-reduce sums in another order than one process does; Adam turns that rounding noise
    # into up to ~3e-5 of weight on parameters with near-zero gradients (seen with numpy 1.26).
    # 1e-4 stays below one Adam step (lr 2e-4), so a rank training on its own shard still fails.
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    worst = max((wa[k] - wb[k]).abs().max().item() for k in wa)
    assert worst <= atol, worst


def _fingerprints(batch: dict[str, torch.Tensor]) -> list[str]:
    """One digest per pair of a batch (of all its tensors' bytes), in batch order."""
    size = len(next(iter(batch.values())))
    return [hashlib.sha1(b"".join(batch[k][i].numpy().tobytes() for k in sorted(batch))).hexdigest()[:16]
            for i in range(size)]


def _train_recording(record: Path, *args, **kwargs) -> None:
    """``train`` with a spy on the flow objective; writes what it saw to ``record/rank<R>.json``.

    Module-level so that :func:`distributed.spawn` can start it in each rank.
    """
    flow_objective = OBJECTIVES["flow"]
    seen: list[dict] = []

    def spy(pipe, batch, features, cfg):
        keys = list(pipe.state_dict())
        seen.append({"flow": type(pipe.flow).__name__, "wrapped_keys": sum(".module." in k for k in keys),
                     "pairs": _fingerprints(batch)})
        return flow_objective(pipe, batch, features, cfg)

    OBJECTIVES["flow"] = spy
    try:
        train(*args, **kwargs)
    finally:
        OBJECTIVES["flow"] = flow_objective
    record.mkdir(parents=True, exist_ok=True)
    (record / f"rank{os.environ.get('RANK', '0')}.json").write_text(json.dumps(seen))


def test_shards_partition_the_global_batch():
    whole = list(StepBatchSampler(100, 6, seed=3, start=0, stop=4))
    shards = [list(StepBatchSampler(100, 6, seed=3, start=0, stop=4, rank=r, world_size=3)) for r in range(3)]
    for step, batch in enumerate(whole):
        assert sorted(sum((s[step] for s in shards), [])) == sorted(batch)
        assert all(len(s[step]) == 2 for s in shards)


@pytest.mark.slow
def test_two_processes_equal_one_and_resume_in_one(tmp_path, tiny_cfg):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    torch.manual_seed(CFG.seed)
    fresh = ClothFlowPipeline(tiny_cfg).state_dict()
    _train_recording(tmp_path / "seen1", single, tiny_cfg, CFG, progress=False)
    distributed.spawn(_train_recording, 2, tmp_path / "seen2", ddp, tiny_cfg, CFG, progress=False)
    assert not dist.is_initialized()  # nothing leaked into this process
    # the objective's pipe.flow(...) went through DDP in both ranks (and not in one process),
    # while the pipeline's state_dict kept its plain keys
    one = json.loads((tmp_path / "seen1" / "rank0.json").read_text())
    assert [{k: v for k, v in s.items() if k != "pairs"} for s in one] == [{"flow": "FlowNet", "wrapped_keys": 0}] * CFG.steps
    two = [json.loads((tmp_path / "seen2" / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    for seen in two:
        assert [{k: v for k, v in s.items() if k != "pairs"} for s in seen] == [
            {"flow": "DistributedDataParallel", "wrapped_keys": 0}] * CFG.steps
    # each rank trained on its own half of the global batch (rank r: pairs r, r + 2, ...), not on all of it
    for step, whole in enumerate(s["pairs"] for s in one):
        assert len(whole) == CFG.batch_size
        assert [two[rank][step]["pairs"] for rank in (0, 1)] == [whole[0::2], whole[1::2]], step
    _assert_same_weights(single, ddp)
    trained = load_file(str(ddp / "model.safetensors"))
    assert any(not torch.allclose(fresh[k], trained[k]) for k in trained if k.startswith("flow."))

    # the 2-process checkpoint (rank 0's) resumes in one process like the 1-process one does
    seen = []
    train(ddp, train_cfg=replace(CFG, steps=5), resume=True, progress=False, on_step=lambda s, i, l: seen.append(i))
    train(single, train_cfg=replace(CFG, steps=5), resume=True, progress=False)
    assert seen == [4, 5]
    _assert_same_weights(single, ddp)


def test_batch_must_split_evenly(tmp_path, tiny_cfg, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(distributed, "setup", lambda device: distributed.DistContext(world_size=2))
    with pytest.raises(ClothflowError, match="does not divide"):
        train(tmp_path / "r", tiny_cfg, replace(CFG, batch_size=3), progress=False)


class _Wrapper(nn.Module):
    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x) + 100.0


def test_routed_through_keeps_state_dict_and_restores_on_error():
    parent = nn.Module()
    parent.flow = nn.Linear(2, 2)
    plain, keys = parent.flow, list(parent.state_dict())
    wrapper = _Wrapper(plain)
    x = torch.zeros(1, 2)
    with pytest.raises(KeyError):
        with distributed.routed_through(parent, "flow", wrapper):
            assert parent.flow is wrapper
            assert torch.equal(parent.flow(x), plain(x) + 100.0)
            assert list(parent.state_dict()) == keys  # no "flow.module." keys
            raise KeyError("boom")
    assert parent.flow is plain and "flow" not in parent.__dict__
    with distributed.routed_through(parent, "flow", None):  # one process: nothing changes
        assert parent.flow is plain
    with pytest.raises(ValueError, match="does not wrap"):
        with distributed.routed_through(parent, "flow", _Wrapper(nn.Linear(2, 2))):
            pass

"""Data-parallel training: 2 gloo processes equal 1 process on the same global batch."""

from dataclasses import replace

import pytest
import torch
import torch.distributed as dist
from safetensors.torch import load_file

from clothflow import distributed
from clothflow.errors import ClothflowError
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.train import StepBatchSampler, TrainConfig, train

CFG = TrainConfig(stage="flow", steps=3, batch_size=4, num_pairs=8, checkpoint_every=2, log_every=1, device="cpu")


def _assert_same_weights(a, b, atol=1e-4):
    # All-reduce sums in another order than one process does; Adam turns that rounding noise
    # into up to ~3e-5 of weight on parameters with near-zero gradients (seen with numpy 1.26).
    # 1e-4 stays below one Adam step (lr 2e-4), so a rank training on its own shard still fails.
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    worst = max((wa[k] - wb[k]).abs().max().item() for k in wa)
    assert worst <= atol, worst


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
    train(single, tiny_cfg, CFG, progress=False)
    distributed.spawn(train, 2, ddp, tiny_cfg, CFG, progress=False)
    assert not dist.is_initialized()  # nothing leaked into this process
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

"""train.init: a new run starts from another model's weights (pretraining), where names and shapes agree."""

from __future__ import annotations

import pytest
import torch

from clothflow.core.errors import ClothflowError
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.models.variants import apply_variant
from clothflow.training.stages import initialise_from


def test_copies_every_matching_tensor(tmp_path, tiny_cfg):
    torch.manual_seed(1)
    ClothFlowPipeline(tiny_cfg).save_pretrained(tmp_path / "pre")
    pre = ClothFlowPipeline.from_pretrained(tmp_path / "pre").state_dict()
    torch.manual_seed(2)
    fresh = ClothFlowPipeline(tiny_cfg)
    assert any(not torch.equal(fresh.state_dict()[k], v) for k, v in pre.items())
    copied, total = initialise_from(fresh, tmp_path / "pre")
    assert copied == total == len(pre)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in pre.items())


def test_another_variant_takes_what_fits(tmp_path, tiny_cfg):
    """The cascade-free flow (one level) keeps the layout and renderer of the pretraining."""
    ClothFlowPipeline(tiny_cfg).save_pretrained(tmp_path / "pre")
    single = ClothFlowPipeline(apply_variant("no_cascade", tiny_cfg))
    copied, total = initialise_from(single, tmp_path / "pre")
    pre = ClothFlowPipeline.from_pretrained(tmp_path / "pre").state_dict()
    assert 0 < copied <= total
    assert all(torch.equal(v, pre[k]) for k, v in single.state_dict().items() if k.startswith(("layout.", "render.")))


def test_a_model_of_the_other_task_is_refused(tmp_path, tiny_cfg):
    from dataclasses import replace

    ClothFlowPipeline(replace(tiny_cfg, task="tryon")).save_pretrained(tmp_path / "tryon")
    with pytest.raises(ClothflowError, match="trained for tryon, the run is transfer"):
        initialise_from(ClothFlowPipeline(tiny_cfg), tmp_path / "tryon")

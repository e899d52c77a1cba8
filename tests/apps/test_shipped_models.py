"""Every model shipped in the package loads by its name and runs one forward pass at its own size."""

from __future__ import annotations

import pytest
import torch

from clothflow.core.pretrained import DEFAULT_MODELS, shipped_models, stored_kind

SHIPPED = sorted(shipped_models())


def test_the_default_models_are_shipped():
    """Each use's default names a model in the package (the demo and the commands rely on them)."""
    missing = sorted(set(DEFAULT_MODELS.values()) - set(SHIPPED))
    assert not missing, f"defaults that are not shipped: {missing}"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_by_name_and_runs(name):
    kind = stored_kind(shipped_models()[name])
    torch.manual_seed(0)
    with torch.inference_mode():
        if kind == "clothflow":
            from clothflow.models.pipeline import ClothFlowPipeline

            pipe = ClothFlowPipeline.from_pretrained(name).eval()
            out = pipe(*pipe.task.example_inputs(pipe.config.size, batch=1)).image
            assert out.shape == (1, 3, *pipe.config.size)
        elif kind == "parser":
            from clothflow.models.parser import HumanParser

            parser = HumanParser.from_pretrained(name).eval()
            out = parser(torch.rand(1, 3, *parser.config.size) * 2 - 1)
            assert out.shape == (1, 20, *parser.config.size)  # LIP's 20 classes
        elif kind == "finet":
            from clothflow.finet.infer import inpaint, synthetic_batch
            from clothflow.finet.models import FinetModel

            model = FinetModel.from_pretrained(name).eval()
            out = inpaint(model, synthetic_batch(0, "upper", model.config.size), samples=1)[0].image
            assert out.shape == (1, 3, *model.config.size)
        else:
            pytest.fail(f"{name}: unknown kind {kind!r}")
    assert torch.isfinite(out).all() and out.float().std() > 0

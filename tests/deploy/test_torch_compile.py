"""torch.compile of the pipeline gives the eager results.

Graph capture (dynamo with the ``eager`` backend) runs in every test run. Compiling with
inductor on a 2-core CPU takes ~130 s with a cold cache (C++ kernels are built), ~6 s warm,
so that test is opt-in: CLOTHFLOW_TEST_COMPILE=1 pytest tests/test_fast.py
"""

import os

import pytest
import torch

from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.deploy.onnx_export import example_inputs, load_inference_pipeline
from clothflow.deploy.torch_compile import compile_pipeline, is_compiled
from clothflow.models.pipeline import ClothFlowPipeline

NARROW = ["layout.base_channels=8", "flow.base_channels=8", "render.base_channels=8"]


def _pipe(task="transfer"):
    torch.manual_seed(0)
    return ClothFlowPipeline(apply_overrides(preset("tiny", task=task), NARROW)).eval()


def test_stage_networks_trace_whole_and_match_eager():
    """Every stage is captured by dynamo without graph breaks, and the captured graphs agree."""
    import torch._dynamo

    pipe = _pipe("tryon")
    x = example_inputs(pipe.config, 2)
    with torch.inference_mode():
        want = pipe(*x)
    graphs = []

    def counting_backend(gm, example_inputs):  # a torch.compile backend that runs the graph as captured
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    compile_pipeline(pipe, backend=counting_backend)
    assert is_compiled(pipe)
    with torch.inference_mode():
        got = pipe(*x)
    assert (got.image - want.image).abs().max() < 1e-5
    assert (got.flow.flow - want.flow.flow).abs().max() < 1e-5
    assert len(graphs) == len(pipe.stages())  # one graph per stage: no graph breaks


def test_compile_backend_loads_a_compiled_pipeline(tmp_path):
    _pipe().save_pretrained(tmp_path / "model")
    pipe = load_inference_pipeline(tmp_path / "model", backend="compile")
    assert is_compiled(pipe)
    assert not is_compiled(load_inference_pipeline(tmp_path / "model", backend="torch"))


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CLOTHFLOW_TEST_COMPILE") != "1",
                    reason="torch.compile takes ~2 min cold on this CPU; set CLOTHFLOW_TEST_COMPILE=1 to run")
def test_compiled_matches_eager():
    pipe = _pipe()
    x = example_inputs(pipe.config, 2)
    with torch.inference_mode():
        want = pipe(*x)
        compile_pipeline(pipe)
        assert is_compiled(pipe)
        got = pipe.transfer(*x)
    assert (got.image - want.image).abs().max() < 1e-4
    assert (got.flow.flow - want.flow.flow).abs().max() < 1e-4
    assert list(pipe.state_dict()) == list(_pipe().state_dict())  # saving is unchanged

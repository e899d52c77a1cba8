"""torch.compile of the pipeline gives the eager results.

Graph capture (dynamo with the ``eager`` backend) and inductor's compiled code both run in
every test run. Inductor builds C++ kernels: for the tiny preset at depth 2 that takes ~35 s
on a 2-core CPU with a cold cache and ~5 s warm (the full tiny preset ~60 s cold), so the
compiled-equals-eager test uses the shallow pipeline.
"""

import pytest
import torch

from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.deploy.onnx_export import example_inputs, load_inference_pipeline
from clothflow.deploy.torch_compile import compile_pipeline, is_compiled
from clothflow.models.pipeline import ClothFlowPipeline

NARROW = ["layout.base_channels=8", "flow.base_channels=8", "render.base_channels=8"]
SHALLOW = ["layout.depth=2", "flow.num_levels=2", "render.depth=2"]  # fewer kernels for inductor to build


def _pipe(task="transfer", extra=()):
    torch.manual_seed(0)
    return ClothFlowPipeline(apply_overrides(preset("tiny", task=task), [*NARROW, *extra])).eval()


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
def test_compiled_matches_eager():
    """The default backend (inductor) compiles every stage, and its code gives the eager results."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    pipe = _pipe(extra=SHALLOW)
    x = example_inputs(pipe.config, 2)
    torch._dynamo.reset()
    counters.clear()
    with torch.inference_mode():
        want = pipe(*x)
        compile_pipeline(pipe)
        assert is_compiled(pipe)
        got = pipe.transfer(*x)
    # one graph per stage through inductor, compiled now or taken from its cache
    made = {k: v for k, v in counters["inductor"].items() if k.startswith("fxgraph_cache_")}
    assert sum(made.values()) == len(pipe.stages()), made
    assert (got.image - want.image).abs().max() < 1e-4
    assert (got.flow.flow - want.flow.flow).abs().max() < 1e-4
    assert list(pipe.state_dict()) == list(_pipe(extra=SHALLOW).state_dict())  # saving is unchanged

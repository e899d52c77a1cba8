"""Faster PyTorch inference: ``torch.compile`` of the stage networks.

:func:`compile_pipeline` compiles each stage module of a pipeline in place
(``nn.Module.compile``), so every entry point (``transfer``, ``tryon``, ``predict``, the
stage methods the objectives call) runs compiled code, and ``state_dict`` keys, saving and
loading are unchanged. The first call at each input shape compiles (tens of seconds to
minutes on a CPU; inductor needs a C++ compiler); later calls reuse the code. The light
input encodings (label grouping, pose heatmaps) stay eager.

Measured (``python benchmarks/inference.py --compare``): compiled, the ``paper`` preset runs
about 1.4x faster than eager at batch 8 on 2 threads, the ``tiny`` one about 1.5x; the first
call costs 10-45 s with a warm compiler cache and over 2 minutes cold, so eager stays the
default and ``--backend compile`` is the option. Channels-last weights were measured slower
than contiguous ones in every configuration and are not offered.

Example:
    >>> from clothflow.models.config import preset
    >>> from clothflow.models.pipeline import ClothFlowPipeline
    >>> pipe = compile_pipeline(ClothFlowPipeline(preset("tiny")).eval())  # compiles at the first call
    >>> is_compiled(pipe)
    True
"""

from __future__ import annotations


from clothflow.models.pipeline import ClothFlowPipeline


def compile_pipeline(pipe: ClothFlowPipeline, dynamic: bool | None = None, mode: str | None = None,
                     backend="inductor") -> ClothFlowPipeline:
    """Compile the pipeline's stage networks in place with ``torch.compile``.

    Args:
        pipe: the pipeline (usually in eval mode).
        dynamic: ``torch.compile``'s ``dynamic`` (None: specialise first, generalise on change).
        mode: ``torch.compile`` mode (None = default; "max-autotune" tries more kernels).
        backend: ``torch.compile`` backend, a name or a callable; "inductor" generates the fast
            kernels, "eager" only captures the graphs (quick, for checking that the networks trace).

    Returns:
        ``pipe`` itself.
    """
    for name in pipe.stages():
        module = getattr(pipe, name)
        module.compile(dynamic=dynamic, mode=mode, backend=backend)
    return pipe


def is_compiled(pipe: ClothFlowPipeline) -> bool:
    """Whether :func:`compile_pipeline` was applied (every stage has a compiled call)."""
    return all(getattr(getattr(pipe, n), "_compiled_call_impl", None) is not None for n in pipe.stages())


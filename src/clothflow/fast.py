"""Faster PyTorch inference: ``torch.compile`` of the stage networks.

:func:`compile_pipeline` compiles each stage module of a pipeline in place
(``nn.Module.compile``), so every entry point (``transfer``, ``tryon``, ``predict``, the
stage methods the objectives call) runs compiled code, and ``state_dict`` keys, saving and
loading are unchanged. The first call at each input shape compiles (tens of seconds on a
CPU; inductor needs a C++ compiler); later calls reuse the code. The light input encodings
(label grouping, pose heatmaps) stay eager.

Example:
    >>> from clothflow.config import preset
    >>> from clothflow.models.pipeline import ClothFlowPipeline
    >>> pipe = compile_pipeline(ClothFlowPipeline(preset("tiny")).eval())  # doctest: +SKIP
"""

from __future__ import annotations

import torch

from .models.pipeline import ClothFlowPipeline


def compile_pipeline(pipe: ClothFlowPipeline, dynamic: bool | None = None, mode: str | None = None) -> ClothFlowPipeline:
    """Compile the pipeline's stage networks in place with ``torch.compile``.

    Args:
        pipe: the pipeline (usually in eval mode).
        dynamic: ``torch.compile``'s ``dynamic`` (None: specialise first, generalise on change).
        mode: ``torch.compile`` mode (None = default; "max-autotune" tries more kernels).

    Returns:
        ``pipe`` itself.
    """
    for name in pipe.stages():
        module = getattr(pipe, name)
        module.compile(dynamic=dynamic, mode=mode)
    return pipe


def is_compiled(pipe: ClothFlowPipeline) -> bool:
    """Whether :func:`compile_pipeline` was applied (every stage has a compiled call)."""
    return all(getattr(getattr(pipe, n), "_compiled_call_impl", None) is not None for n in pipe.stages())


def use_channels_last(pipe: ClothFlowPipeline) -> ClothFlowPipeline:
    """Store conv weights channels-last (NHWC) in place; inputs stay as they are."""
    return pipe.to(memory_format=torch.channels_last)

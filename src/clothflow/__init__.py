"""clothflow: clothed-person generation with appearance flow (ClothFlow, ICCV 2019).

The public API, loaded on first use so that ``import clothflow`` (and the command line's
start) stays light:

- :class:`ClothFlowPipeline`, :class:`PipelineConfig`, :func:`preset`: the three-stage model,
  its configuration and the named presets (``tiny``, ``fast``, ``paper``);
- :class:`SyntheticPairs`, :class:`DeepFashionPairs`, :class:`VitonDataset`: the datasets;
- :class:`FinetModel`: FiNet, fashion inpainting;
- :class:`ClothflowError`: the error raised for bad user input.

Packages, from the bottom up (each imports only those below it): ``core`` (errors, files,
config helpers, pure tensor ops), ``data``, ``models``, then ``training``, ``evaluation`` and
``deploy``; ``finet`` and ``animate`` build on those; ``apps`` (command line, demos, web)
sits on top.

Example:
    >>> import clothflow
    >>> cfg = clothflow.preset("tiny")
    >>> type(cfg).__name__, clothflow.PipelineConfig is type(cfg)
    ('PipelineConfig', True)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "ClothFlowPipeline": "clothflow.models.pipeline",
    "PipelineConfig": "clothflow.models.config",
    "preset": "clothflow.models.config",
    "SyntheticPairs": "clothflow.data.datasets.synthetic",
    "DeepFashionPairs": "clothflow.data.datasets.deepfashion",
    "VitonDataset": "clothflow.data.datasets.viton",
    "FinetModel": "clothflow.finet.models",
    "ClothflowError": "clothflow.core.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    """Import a public name from its home module on first access (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'clothflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

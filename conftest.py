"""Settings of the whole test run: tests/ and the docstring examples of src/clothflow.

``pytest`` runs the examples too (``--doctest-modules`` in pyproject.toml). Examples that need
an optional extra are skipped, saying which, where the extra is not installed; everything else
in them runs on small inputs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from _pytest.doctest import DoctestItem

torch.set_num_threads(1)

HERE = Path(__file__).resolve().parent

# Folder or file (relative to this one) -> (module its examples import, how to install it).
NEEDS_EXTRA = {
    "src/clothflow/animate/face": ("mediapipe", "pip install 'clothflow[pose]'"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for where, (module, install) in NEEDS_EXTRA.items():
        if importlib.util.find_spec(module) is not None:
            continue
        skip = pytest.mark.skip(reason=f"the example needs {module} ({install})")
        for item in items:
            if isinstance(item, DoctestItem) and Path(item.path).resolve().is_relative_to(HERE / where):
                item.add_marker(skip)

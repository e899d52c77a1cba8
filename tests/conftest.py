import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


def shared_data_dir() -> Path:
    env = os.environ.get("CLOTHFLOW_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared sample data not found at {path} (set CLOTHFLOW_SHARED_DATA)")
    return path


@pytest.fixture
def tiny_cfg():
    """The tiny preset with narrower widths still, so training tests take seconds."""
    from clothflow.core.config import apply_overrides
    from clothflow.models.config import preset

    return apply_overrides(
        preset("tiny"), ["layout.base_channels=8", "flow.base_channels=8", "render.base_channels=8"]
    )

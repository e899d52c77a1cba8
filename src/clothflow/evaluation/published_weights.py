"""Finding and checking published weight files (FID Inception, LPIPS) without downloading them.

Each metric network looks, in order, in (1) a path given by the caller, (2) a file named by an
environment variable, (3) ``torch.hub.get_dir()/checkpoints/<published file name>`` (where
``torch.hub`` and the reference packages cache them), plus any extra places a caller adds. A path
or variable that names a missing file is an error (a typo should not silently skip a metric);
nothing found anywhere gives None, and the caller reports :func:`missing_message`.

Example:
    >>> locate("no-such-file-xyz.pth", "CLOTHFLOW_NO_SUCH_VAR") is None
    True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import torch
import torch.nn as nn

from clothflow.core.errors import ClothflowError


def hub_checkpoint(filename: str) -> Path:
    """``torch.hub.get_dir()/checkpoints/filename``: where ``load_state_dict_from_url`` caches it."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def candidates(filename: str, env_var: str, path: str | Path | None = None, extra: Iterable[Path] = ()) -> list[Path]:
    """Every place looked at, in order (for messages)."""
    found = [Path(p) for p in (path, os.environ.get(env_var)) if p]
    return found + [hub_checkpoint(filename), *extra]


def locate(filename: str, env_var: str, path: str | Path | None = None, extra: Iterable[Path] = ()) -> Path | None:
    """The weights file to use, or None when there is none.

    Args:
        filename: the published file name, looked for in the torch hub cache.
        env_var: environment variable that may name the file.
        path: explicit file, tried first.
        extra: further fallback places (e.g. a reference package's bundled weights).

    Returns:
        The first existing candidate, or None.

    Raises:
        ClothflowError: ``path`` or ``$env_var`` names a file that does not exist.
    """
    if path:
        if not Path(path).is_file():
            raise ClothflowError(f"weights file not found (expected the published {filename})", path)
        return Path(path)
    named = os.environ.get(env_var)
    if named:
        if not Path(named).is_file():
            raise ClothflowError(f"weights file named by ${env_var} not found (expected {filename})", named)
        return Path(named)
    for place in (hub_checkpoint(filename), *extra):
        if place.is_file():
            return place
    return None


def missing_message(metric: str, filename: str, env_var: str, url: str, places: list[Path]) -> str:
    """One line saying which metric was skipped, where the file was looked for and how to get it."""
    where = ", ".join(str(p) for p in places)
    return f"{metric} not computed: no {filename} found in {where}; download it from {url} and set {env_var}"


def read_state_dict(file: Path, what: str) -> dict[str, torch.Tensor]:
    """``torch.load(file, weights_only=True)``, with unreadable or non-dict files as ClothflowError."""
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise ClothflowError(f"cannot read {what} as a PyTorch state dict ({type(exc).__name__})", file) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ClothflowError(f"not a {what} state dict (got {type(state).__name__})", file)
    return state


def load_exact(module: nn.Module, state: dict, source: Path | str, what: str) -> None:
    """Load ``state`` into ``module``, requiring every key with its exact shape.

    BatchNorm ``num_batches_tracked`` counters may be absent (older files omit them); any other
    missing, unexpected or misshapen entry is an error naming the file.

    Raises:
        ClothflowError: the state dict is not in the module's layout.
    """
    own = module.state_dict()
    state = dict(state)
    for key, value in own.items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [
        f"{k} {tuple(getattr(state[k], 'shape', ()))} != {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and (not isinstance(state[k], torch.Tensor) or state[k].shape != v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} keys missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(str(k) for k in unexpected[:3])})")
    if wrong:
        problems.append(f"{len(wrong)} with wrong shapes (e.g. {'; '.join(wrong[:2])})")
    if problems:
        raise ClothflowError(f"not a {what} state dict: {'; '.join(problems)}", source)
    module.load_state_dict(state, strict=True)

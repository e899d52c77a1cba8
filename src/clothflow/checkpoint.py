"""Training checkpoints in one safetensors file: weights, optimizer state, step, RNG state.

No pickle: tensors go into the safetensors body, the rest (step, stage, optimizer param
groups) into its JSON metadata. The file is written atomically, so an interrupted write
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, safe_open
from safetensors.torch import save as save_tensors

from .errors import ClothflowError
from .ioutils import atomic_write_bytes


@dataclass
class TrainState:
    """Where training stands.

    Attributes:
        stage: the stage being trained ("layout", "flow" or "render").
        step: optimisation steps done in that stage.
        completed: stages already finished, in order.
        stage_steps: steps each finished stage was trained for.
    """

    stage: str
    step: int = 0
    completed: list[str] = field(default_factory=list)
    stage_steps: dict[str, int] = field(default_factory=dict)


def save_checkpoint(
    path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None, state: TrainState
) -> None:
    """Write model weights, optimizer state, the train state and torch's RNG state atomically."""
    tensors: dict[str, torch.Tensor] = {
        f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()
    }
    tensors["rng.torch"] = torch.get_rng_state()
    meta: dict[str, Any] = {
        "stage": state.stage,
        "step": state.step,
        "completed": state.completed,
        "stage_steps": state.stage_steps,
    }
    if optimizer is not None:
        opt = optimizer.state_dict()
        for pid, pstate in opt["state"].items():
            for name, value in pstate.items():
                t = value if torch.is_tensor(value) else torch.tensor(value)
                tensors[f"optim.{pid}.{name}"] = t.detach().contiguous().cpu()
        meta["param_groups"] = opt["param_groups"]
    atomic_write_bytes(path, save_tensors(tensors, metadata={"clothflow": json.dumps(meta)}))


def load_checkpoint(
    path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> TrainState:
    """Restore what :func:`save_checkpoint` wrote; returns the train state."""
    path = Path(path)
    if not path.is_file():
        raise ClothflowError("no checkpoint to resume from", path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["clothflow"])
        tensors = load_file(str(path))
    except Exception as exc:
        raise ClothflowError(f"unreadable checkpoint ({exc})", path) from None
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(model_state)
    torch.set_rng_state(tensors["rng.torch"])
    if optimizer is not None and "param_groups" in meta:
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, pid, name = key.split(".", 2)
                state.setdefault(int(pid), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return TrainState(
        stage=meta["stage"],
        step=int(meta["step"]),
        completed=list(meta["completed"]),
        stage_steps={k: int(v) for k, v in meta.get("stage_steps", {}).items()},
    )

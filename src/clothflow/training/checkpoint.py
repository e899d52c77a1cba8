"""Training checkpoints in one safetensors file: weights, optimizer states, step, RNG state.

No pickle: tensors go into the safetensors body, the rest (step, stage, optimizer param
groups) into its JSON metadata. Each stage keeps its own optimizer state, so a finished stage
continued with more steps goes on where it stopped. The file is written atomically, so an
interrupted write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, safe_open
from safetensors.torch import save as save_tensors

from clothflow.core.errors import ClothflowError
from clothflow.core.files import atomic_write_bytes


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
    path: str | Path, model: torch.nn.Module, optimizers: Mapping[str, dict], state: TrainState
) -> None:
    """Write model weights, optimizer states, the train state and torch's RNG state atomically.

    Args:
        path: the checkpoint file.
        model: the model whose weights are saved.
        optimizers: ``Optimizer.state_dict()`` of each optimizer, by name (a training stage's),
            so that a stage continued later goes on with its own Adam moments.
        state: where training stands.
    """
    tensors: dict[str, torch.Tensor] = {
        f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()
    }
    tensors["rng.torch"] = torch.get_rng_state()
    groups = {}
    for opt_name, opt in optimizers.items():
        if "." in opt_name:
            raise ValueError(f"optimizer names cannot contain '.': {opt_name!r}")
        for pid, pstate in opt["state"].items():
            for key, value in pstate.items():
                t = value if torch.is_tensor(value) else torch.tensor(value)
                tensors[f"optim.{opt_name}.{pid}.{key}"] = t.detach().contiguous().cpu()
        groups[opt_name] = opt["param_groups"]
    meta: dict[str, Any] = {
        "stage": state.stage,
        "step": state.step,
        "completed": state.completed,
        "stage_steps": state.stage_steps,
        "optimizers": groups,
    }
    atomic_write_bytes(path, save_tensors(tensors, metadata={"clothflow": json.dumps(meta)}))


def load_checkpoint(path: str | Path, model: torch.nn.Module) -> tuple[TrainState, dict[str, dict]]:
    """Restore the weights and RNG state :func:`save_checkpoint` wrote.

    Returns:
        The train state, and the optimizer state dicts by name (for ``load_state_dict``).
    """
    meta, tensors = _read(path)
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(model_state)
    torch.set_rng_state(tensors["rng.torch"])
    state = TrainState(
        stage=meta["stage"],
        step=int(meta["step"]),
        completed=list(meta["completed"]),
        stage_steps={k: int(v) for k, v in meta.get("stage_steps", {}).items()},
    )
    return state, _optimizer_states(meta, tensors)


def _optimizer_states(meta: dict, tensors: dict[str, torch.Tensor]) -> dict[str, dict]:
    if "param_groups" in meta:  # older layout: one optimizer, the current stage's
        groups = {meta["stage"]: meta["param_groups"]}
        tensors = {f"optim.{meta['stage']}.{k[len('optim.'):]}": v for k, v in tensors.items() if k.startswith("optim.")}
    else:
        groups = meta.get("optimizers", {})
    states: dict[str, dict] = {name: {"state": {}, "param_groups": g} for name, g in groups.items()}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, opt_name, pid, name = key.split(".", 3)
            states[opt_name]["state"].setdefault(int(pid), {})[name] = value
    return states


def _read(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    path = Path(path)
    if not path.is_file():
        raise ClothflowError("no checkpoint to resume from", path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["clothflow"])
        return meta, load_file(str(path))
    except Exception as exc:
        raise ClothflowError(f"unreadable checkpoint ({exc})", path) from None

"""Saving and loading a model as a folder: ``config.json`` (with its ``kind``) + ``model.safetensors``.

A model class mixes in :class:`PretrainedMixin`, names its :attr:`~PretrainedMixin.kind` and
its :attr:`~PretrainedMixin.config_class` (a dataclass with ``from_dict``), and keeps its
config in ``self.config``. ``save_pretrained`` writes the config, with ``"kind"`` added, and
the weights, each atomically; ``from_pretrained`` rebuilds the model and says so plainly when
the folder holds another kind of model. Folders written before ``kind`` existed are
recognised by their config's keys (:func:`infer_kind`).

Example:
    >>> infer_kind({"kind": "finet", "variant": "finet"}), infer_kind({"size": [64, 44], "flow": {}})
    ('finet', 'clothflow')
    >>> describe_kind("finet")
    'a FiNet inpainting model (use it with `clothflow inpaint --model`, or FinetModel.from_pretrained)'
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import torch
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors

from clothflow.core.errors import ClothflowError
from clothflow.core.files import atomic_write_bytes, atomic_write_text

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "card.md"
# Models shipped inside the package: clothflow/pretrained/<name>/ (config, weights, card).
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
# The shipped model each use defaults to: what a command takes when no --model is given.
DEFAULT_MODELS = {
    "transfer": "transfer-deepfashion-256",  # pose transfer of real people (DeepFashion), 256 x 176
    "transfer-synthetic": "transfer-synthetic-256",  # pose transfer of the synthetic people (the demo), 256 x 176
    "tryon-synthetic": "tryon-synthetic-256",  # try-on of the synthetic examples, 256 x 192
    "tryon": "tryon-viton-256",  # try-on on real photos (VITON), 256 x 192
    "parser": "parser-viton-256",  # human parsing of real photos (VITON's parsings)
    "inpaint": "finet-synthetic-128",  # FiNet inpainting, synthetic outfits
}


class Kind(NamedTuple):
    """What a kind of saved model is, how to use it, and how to train one."""

    what: str
    use: str
    train: str


KINDS: dict[str, Kind] = {
    "clothflow": Kind(
        "a ClothFlow pipeline (pose transfer or try-on)",
        "`clothflow transfer` / `clothflow tryon --model`, or ClothFlowPipeline.from_pretrained",
        "`clothflow train --out` or `clothflow demo`",
    ),
    "finet": Kind(
        "a FiNet inpainting model",
        "`clothflow inpaint --model`, or FinetModel.from_pretrained",
        "`clothflow train --task inpaint --out`",
    ),
    "parser": Kind(
        "a human parser (photo -> LIP parsing)",
        "`clothflow prepare --parser` / `clothflow tryon --parser`, or HumanParser.from_pretrained",
        "`clothflow train --task parse --data VITON_TRAIN --out`",
    ),
}


def shipped_models() -> dict[str, Path]:
    """The models shipped inside the package, by name (their folder's), sorted."""
    if not SHIPPED_DIR.is_dir():
        return {}
    found = (p for p in SHIPPED_DIR.iterdir() if (p / CONFIG_NAME).is_file() and (p / WEIGHTS_NAME).is_file())
    return {p.name: p for p in sorted(found)}


def shipped_default(use: str) -> str | None:
    """The name of the shipped model ``use`` (a key of :data:`DEFAULT_MODELS`) defaults to, if installed."""
    name = DEFAULT_MODELS[use]
    return name if name in shipped_models() else None


def default_model(model: str | Path | None, use: str) -> str | Path:
    """``model``, or else the shipped default of ``use``.

    Raises:
        ClothflowError: no ``model`` and the default is not installed (says to give --model).
    """
    if model is not None:
        return model
    name = shipped_default(use)
    if name is None:
        raise ClothflowError(f"no --model given, and the {use} model {DEFAULT_MODELS[use]} is not shipped in this "
                             "installation (`clothflow models` lists what is): give --model")
    return name


def resolve_model(model: str | Path) -> Path:
    """The folder of ``model``: an existing path as it is, else the shipped model of that name.

    Raises:
        ClothflowError: neither exists; the message lists the shipped names.
    """
    path = Path(model)
    if path.exists():
        return path
    shipped = shipped_models()
    if str(model) in shipped:
        return shipped[str(model)]
    names = ", ".join(shipped) or "none in this installation"
    raise ClothflowError(f"neither a model folder nor a shipped model (shipped: {names})", str(model))


def describe_kind(kind: str) -> str:
    """One phrase naming a kind of model and how to use it."""
    known = KINDS.get(kind)
    if known is None:
        return f"a model of unknown kind {kind!r}"
    return f"{known.what} (use it with {known.use})"


def infer_kind(config: dict[str, Any]) -> str | None:
    """The ``kind`` of a saved config; from its keys for folders written before ``kind`` existed.

    Returns:
        "clothflow", "finet", another stored kind, or None when the keys fit no known model.
    """
    if "kind" in config:
        return str(config["kind"])
    if "z_dim" in config and "variant" in config:
        return "finet"
    if {"layout", "flow", "render"} & config.keys() and "size" in config:
        return "clothflow"
    return None


def stored_kind(folder: str | Path) -> str | None:
    """The kind of model ``folder/config.json`` holds; None when there is none or it is unreadable."""
    try:
        data = json.loads((Path(folder) / CONFIG_NAME).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return infer_kind(data) if isinstance(data, dict) else None


def read_config(folder: str | Path, kind: str) -> dict[str, Any]:
    """``folder/config.json`` as a dict, checked to hold a model of ``kind``.

    Raises:
        ClothflowError: naming the folder, when the file is missing, unreadable, or of another kind.
    """
    folder = Path(folder)
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise ClothflowError(f"no {CONFIG_NAME}: not a saved model folder; train one with {KINDS[kind].train}", folder)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClothflowError(f"unreadable model config: {exc}", path) from None
    if not isinstance(data, dict):
        raise ClothflowError("unreadable model config: not a JSON object", path)
    found = infer_kind(data)
    if found != kind:
        wanted = KINDS[kind].what
        if found is None:
            raise ClothflowError(f"the config fits no known model; expected {wanted}", path)
        raise ClothflowError(f"holds {describe_kind(found)}, not {wanted}", folder)
    return data


def config_json(kind: str, config: Any) -> str:
    """The text of ``config.json`` for a dataclass ``config`` of a model of ``kind``."""
    return json.dumps({"kind": kind, **dataclasses.asdict(config)}, indent=2)


class PretrainedMixin:
    """``save_pretrained`` / ``from_pretrained`` for an ``nn.Module`` built from one config dataclass.

    Subclasses set :attr:`kind` (a key of :data:`KINDS`) and :attr:`config_class` (with a
    ``from_dict`` classmethod), take the config as their only constructor argument and keep
    it in ``self.config``.
    """

    kind: ClassVar[str]
    config_class: ClassVar[type]
    missing_message: ClassVar[str] = "not a saved model"

    def save_pretrained(self, directory: str | Path, dtype: torch.dtype | None = None) -> None:
        """Write ``config.json`` (with ``"kind"``) and ``model.safetensors`` into ``directory``, atomically.

        ``dtype`` (e.g. ``torch.float16``) stores the floating-point tensors in that type;
        loading casts them back to the model's.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(directory / CONFIG_NAME, config_json(self.kind, self.config))
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        if dtype is not None:
            state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
        atomic_write_bytes(directory / WEIGHTS_NAME, save_tensors(state, metadata={"format": "pt"}))

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str | torch.device = "cpu"):
        """Rebuild a model saved by :meth:`save_pretrained` (or a training run's folder), in eval mode.

        ``directory`` may also name a model shipped in the package (:func:`shipped_models`).

        Raises:
            ClothflowError: the folder lacks a file, holds another kind of model, or its
                config and weights are unreadable or do not match.
        """
        directory = resolve_model(directory)
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (directory / name).is_file():
                raise ClothflowError(f"{cls.missing_message} (missing {name}); train one with {KINDS[cls.kind].train}",
                                     directory)
        data = read_config(directory, cls.kind)
        try:
            config = cls.config_class.from_dict({k: v for k, v in data.items() if k != "kind"})
        except (TypeError, ValueError, AttributeError) as exc:
            raise ClothflowError(f"unreadable model config: {exc}", directory / CONFIG_NAME) from None
        model = cls(config)
        weights = directory / WEIGHTS_NAME
        try:
            state = load_file(str(weights), device=str(map_location))
        except Exception as exc:  # safetensors raises its own error types
            raise ClothflowError(f"unreadable weights: {exc}", weights) from None
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ClothflowError(
                f"weights do not match the config (missing {len(missing)}, unexpected {len(unexpected)} tensors,"
                f" e.g. {(missing or unexpected)[0]})",
                weights,
            )
        return model.eval()

"""Typed dataclass configs: dotted ``section.field=value`` overrides and reading back from JSON.

Every option is defined once, as a field of one dataclass; these helpers work on any of them.

Example (the pipeline's config; any dataclass whose field types resolve in its module works):
    >>> import dataclasses
    >>> from clothflow.models.config import preset
    >>> cfg = apply_overrides(preset("tiny"), ["flow.base_channels=8", "size=128x88"])
    >>> cfg.flow.base_channels, cfg.size
    (8, (128, 88))
    >>> from_dict(type(cfg), dataclasses.asdict(cfg)) == cfg
    True
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from clothflow.core.errors import ClothflowError


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``HxW`` (e.g. ``256x176``) into (H, W), with a clear error."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ClothflowError(f"size must be HxW with positive integers, e.g. 256x176; got {text!r}")
    h, w = (int(p) for p in parts)
    if h < 8 or w < 8:
        raise ClothflowError(f"size must be at least 8x8; got {text!r}")
    return h, w


def _coerce(value: str, typ: Any, key: str) -> Any:
    origin = typing.get_origin(typ)
    if typ is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ClothflowError(f"--set {key}: expected true/false, got {value!r}")
    if origin is tuple or typ is tuple:
        return parse_size(value)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value.lower() == "none":
            return None
        return _coerce(value, args[0], key)
    try:
        return typ(value)
    except (TypeError, ValueError):
        raise ClothflowError(f"--set {key}: cannot read {value!r} as {getattr(typ, '__name__', typ)}") from None


def apply_overrides(cfg: Any, overrides: list[str]) -> Any:
    """Return a copy of a dataclass config with ``section.field=value`` overrides applied."""
    for item in overrides:
        if "=" not in item:
            raise ClothflowError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        cfg = _set(cfg, key.strip().split("."), value.strip(), key)
    return cfg


def _set(obj: Any, path: list[str], value: str, key: str) -> Any:
    hints = typing.get_type_hints(type(obj))
    names = [f.name for f in dataclasses.fields(obj)]
    if path[0] not in names:
        raise ClothflowError(f"--set {key}: no option {path[0]!r} here; options are: {', '.join(names)}")
    current = getattr(obj, path[0])
    if len(path) == 1:
        if dataclasses.is_dataclass(current):
            raise ClothflowError(f"--set {key}: {path[0]!r} is a section; name one of its fields")
        return dataclasses.replace(obj, **{path[0]: _coerce(value, hints[path[0]], key)})
    if not dataclasses.is_dataclass(current):
        raise ClothflowError(f"--set {key}: {path[0]!r} has no fields")
    return dataclasses.replace(obj, **{path[0]: _set(current, path[1:], value, key)})


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build dataclass ``cls`` from a dict as ``dataclasses.asdict`` wrote it (unknown keys ignored)."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        typ = hints[f.name]
        if dataclasses.is_dataclass(typ):
            value = from_dict(typ, value)
        elif typing.get_origin(typ) is tuple:
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)

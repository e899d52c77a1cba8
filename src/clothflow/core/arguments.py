"""Argument types shared by the command lines: each turns a bad value into argparse's one-line error.

Example:
    >>> positive_int("3"), size("256x192")
    (3, (256, 192))
    >>> positive_int("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be positive, got -1
"""

from __future__ import annotations

import argparse

from clothflow.core.config import parse_size
from clothflow.core.errors import ClothflowError


def positive_int(text: str) -> int:
    """A whole number > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def positive_float(text: str) -> float:
    """A number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def size(text: str) -> tuple[int, int]:
    """``HxW``, e.g. ``256x176``."""
    try:
        return parse_size(text)
    except ClothflowError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

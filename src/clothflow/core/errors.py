"""The project's own error type: raised for bad user input, printed as one line by the CLI."""

from __future__ import annotations

from pathlib import Path


class ClothflowError(Exception):
    """A problem with user input (a file, an argument, a dataset), worded for the user.

    Args:
        message: what is wrong and, where it helps, how to fix it.
        path: the file or folder concerned, named at the start of the message.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)

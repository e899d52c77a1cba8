"""The README's code blocks, as a test reads them: fenced ``bash`` and ``python`` blocks, their commands.

A block opts out of being run (never of being checked) with a visible comment line in it:
``# readme-test: not run: <reason>``; a marker without a reason is an error.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LANGUAGES = ("bash", "python")
MARKER = re.compile(r"#\s*readme-test:\s*not run\b:?\s*(.*)")
# Folders of the checkout a command may name; a path under them must exist.
SHIPPED_DIRS = ("src/", "tests/", "benchmarks/", "scripts/", "docs/", ".ci/")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, text, first line in the README and the heading above it."""

    language: str
    text: str
    line: int
    heading: str

    @property
    def name(self) -> str:
        return f"README.md:{self.line} ({self.heading})"

    @property
    def not_run(self) -> str | None:
        """The reason given by the block's opt-out marker, or None when it has none."""
        for line in self.text.splitlines():
            found = MARKER.search(line)
            if found:
                return found.group(1).strip()
        return None


def readme_blocks(path: Path = README) -> list[Block]:
    """Every ``bash`` and ``python`` block of the README, in order."""
    blocks, heading, fence, start, body = [], "top", None, 0, []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if fence is None and line.startswith("#") and not line.startswith("#!"):
            heading = line.lstrip("#").strip()
        elif fence is None and line.startswith("```"):
            fence, start, body = line[3:].strip(), n, []
        elif fence is not None and line.startswith("```"):
            if fence in LANGUAGES:
                blocks.append(Block(fence, "\n".join(body), start, heading))
            fence = None
        elif fence is not None:
            body.append(line)
    return blocks


def commands(block: Block) -> list[str]:
    """The shell commands of a bash block: continuations joined, comments dropped, split at ``&&``, ``;``, ``&``."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    found = []
    for line in joined.splitlines():
        line = _strip_comment(line).strip()
        found += [part.strip() for part in re.split(r"\s(?:&&|;|&)(?:\s|$)|\s&$", line) if part.strip()]
    return found


def _strip_comment(line: str) -> str:
    """The line without its trailing ``# ...`` comment (a ``#`` inside quotes is kept)."""
    quote = None
    for i, ch in enumerate(line):
        if ch in "'\"" and quote in (None, ch):
            quote = None if quote == ch else ch
        elif ch == "#" and quote is None and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def words(command: str) -> list[str]:
    """A command's words, its optional ``[--option ...]`` groups (the README's notation) and ``...`` left out."""
    command = re.sub(r"\[\s*-[^\]]*\]", " ", command)
    return [w for w in shlex.split(command) if w != "..." and not w.startswith("...")]


def shipped_paths(argv: list[str]) -> list[str]:
    """The words naming a file or folder of the checkout (``benchmarks/x.py``, ``--out=docs/y.png``)."""
    parts = [w.split("=", 1)[-1] for w in argv]
    return [p for p in parts if p.startswith(SHIPPED_DIRS)]

"""Atomic writes: whole files or none, with the permissions the user's umask gives."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from clothflow.core.files import atomic_path, atomic_write_bytes


@pytest.fixture
def umask():
    """``umask(mask)`` sets the process umask for the test; the old one comes back after it."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, want", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mask, want):
    umask(mask)
    atomic_write_bytes(tmp_path / "a.json", b"{}")
    with atomic_path(tmp_path / "model.onnx") as tmp:
        tmp.write_bytes(b"graph")
    assert _mode(tmp_path / "a.json") == want
    assert _mode(tmp_path / "model.onnx") == want


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "model.onnx"
    out.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the exporter failed")
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]

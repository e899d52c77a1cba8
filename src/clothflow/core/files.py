"""Small file helpers: atomic writes (write to a temporary file, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The file gets the usual permissions 0644 (``mkstemp`` creates its file 0600).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def writable_dir(path: str | Path, *subdirs: str) -> Path:
    """Create ``path`` (and ``subdirs`` inside it) and check files can be written there.

    Raises:
        ClothflowError: naming the folder, when it cannot be created or written.
    """
    from clothflow.core.errors import ClothflowError

    path = Path(path)
    try:
        for sub in (".", *subdirs):
            (path / sub).mkdir(parents=True, exist_ok=True)
        probe = path / ".clothflow-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ClothflowError(f"cannot write to this folder ({exc.strerror or exc})", path) from None
    return path

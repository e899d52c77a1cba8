"""Small file helpers: atomic writes (write to a temporary file, then rename).

Files written here get the permissions every other file the user writes gets: ``0666`` less
the process's umask (``0644`` under the usual umask 022), as ``open`` gives them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _create_beside(path: Path) -> Path:
    """A new empty file in ``path``'s folder, named ``.<name>.<random>.tmp``, mode 0666 less the umask."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name beside {path}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write to; renamed onto ``path`` when the block ends.

    For writers that take a file name (``onnx.save``, an exporter): readers see the old file
    or the new one, never half of it. On an error the temporary file is removed and ``path``
    is left as it was. The file's mode follows the umask, like any file the user writes
    (``tempfile.mkstemp`` would make it 0600).

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "model.onnx"
        >>> with atomic_path(out) as tmp:
        ...     _ = tmp.write_bytes(b"graph")
        >>> out.read_bytes(), [p.name for p in out.parent.iterdir()]
        (b'graph', ['model.onnx'])
    """
    path = Path(path)
    tmp = _create_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


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

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


def shared_data_dir() -> Path:
    env = os.environ.get("CLOTHFLOW_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared sample data not found at {path} (set CLOTHFLOW_SHARED_DATA)")
    return path


@pytest.fixture
def tiny_cfg():
    """The tiny preset with narrower widths still, so training tests take seconds."""
    from clothflow.core.config import apply_overrides
    from clothflow.models.config import preset

    return apply_overrides(
        preset("tiny"), ["layout.base_channels=8", "flow.base_channels=8", "render.base_channels=8"]
    )


def _extracted_viton() -> Path | None:
    """The whole VITON set, extracted once beside the other caches (from shared/data/viton's tar files)."""
    env = os.environ.get("CLOTHFLOW_VITON")
    if env:
        return Path(env) if (Path(env) / "train").is_dir() else None
    cache = Path.home() / ".cache" / "viton"
    root = cache / "viton"
    if (root / "test_pairs.txt").is_file() and (root / "train_pairs.txt").is_file():
        return root
    tars = [shared_data_dir() / "viton" / f"viton_{split}.tar.gz" for split in ("train", "test")]
    if not all(t.is_file() for t in tars):
        return None
    import tarfile

    cache.mkdir(parents=True, exist_ok=True)
    for t in tars:  # a few seconds; the README's extraction, done by the tests when needed
        with tarfile.open(t) as archive:
            archive.extractall(cache, filter="data")
    return root if (root / "test_pairs.txt").is_file() else None


@pytest.fixture(scope="session")
def viton_root() -> Path:
    """The extracted VITON folder (train/, test/ and the pair lists); skips when the data is absent."""
    root = _extracted_viton()
    if root is None:
        pytest.skip("the VITON dataset is not here (shared/data/viton/*.tar.gz or $CLOTHFLOW_VITON)")
    return root


def _save_screenshot(page, out: Path) -> None:
    """A full-page screenshot of a Playwright page as a small palette PNG, 1000 px wide (the README's)."""
    from PIL import Image

    raw = out.with_suffix(".raw.png")
    page.screenshot(path=str(raw), full_page=True)
    with Image.open(raw) as im:
        im = im.convert("RGB")
        if im.width != 1000:
            im = im.resize((1000, round(im.height * 1000 / im.width)), Image.LANCZOS)
        im.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    raw.unlink()


@pytest.fixture
def save_screenshot():
    """``save_screenshot(page, out)``: the browser tests' README screenshots."""
    return _save_screenshot


def _write_zero_png(path: Path, width: int, height: int, rows_per_block: int = 50) -> Path:
    """A complete, valid RGB PNG of ``width`` x ``height`` black pixels, written without holding
    the raw image: one block of zero rows is deflated with a full flush (which makes its output
    independent of what came before) and repeated; the Adler-32 of all-zero data is
    ``(length << 16) | 1``. A 20,000 x 20,000 image (1.2 GB raw) makes a 1.1 MB file in a blink.
    """
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + 3 * width)  # filter byte 0 and the row's zero samples
    rows = min(rows_per_block, height)
    full, rest = divmod(height, rows)
    comp = zlib.compressobj(9)
    head = comp.compress(row * rows) + comp.flush(zlib.Z_FULL_FLUSH)  # zlib header + first block
    again = comp.compress(row * rows) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.compress(row * rest) + comp.flush(zlib.Z_FULL_FLUSH) if rest else b""
    length = len(row) * height
    stream = head + again * (full - 1) + tail + b"\x03\x00" + struct.pack(">I", ((length % 65521) << 16) | 1)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", stream) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def zero_png():
    """``zero_png(path, width, height)``: a valid all-black RGB PNG of any size, a few KB per megapixel."""
    return _write_zero_png


@pytest.fixture(scope="session")
def png_bomb(tmp_path_factory) -> Path:
    """A decompression bomb: a 1.1 MB PNG declaring 20,000 x 20,000 pixels (1.2 GB decoded), all black."""
    return _write_zero_png(tmp_path_factory.mktemp("bomb") / "bomb.png", 20_000, 20_000)

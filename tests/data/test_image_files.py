"""The one image reader: hostile files are refused from their header with one line naming the file,
odd but valid files (16-bit, palette, CMYK, EXIF-rotated) are read as they look, and a
decompression bomb is refused without the memory its header asks for."""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from clothflow.data.formats.images import (
    MAX_SIDE,
    ImageFileError,
    decode_rgb,
    open_image,
    read_gray,
    read_header,
    read_rgb,
    size_problem,
)
from clothflow.data.formats.label_maps import read_label_map, read_mask

READERS = (read_rgb, read_gray, read_label_map, read_mask)


def _encoded(fmt: str, size: tuple[int, int] = (48, 32), **kw) -> bytearray:
    """A small noise image (W x H = ``size``) encoded as ``fmt`` by Pillow."""
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, fmt, **kw)
    return bytearray(out.getvalue())


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A small baseline JPEG whose SOF0 header is patched to declare ``width`` x ``height``."""
    data = _encoded("JPEG", quality=90)
    sof = data.index(b"\xff\xc0")  # marker, length (2), precision (1), height (2), width (2)
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _webp_declaring(side: int) -> bytes:
    """A lossless WebP whose VP8L header declares ``side`` x ``side`` (14 bits each, minus one)."""
    data = _encoded("WEBP", lossless=True)
    assert data[12:16] == b"VP8L"
    bits = int.from_bytes(data[21:25], "little")
    data[21:25] = (((side - 1) | (side - 1) << 14) | (bits & ~((1 << 28) - 1))).to_bytes(4, "little")
    return bytes(data)


def _bmp_declaring(side: int) -> bytes:
    data = _encoded("BMP")
    data[18:26] = struct.pack("<ii", side, side)
    return bytes(data)


def _png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose IHDR (checksum fixed) declares another size."""
    import zlib

    data = _encoded("PNG")
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


# name -> (bytes of the file, or a maker taking the path; a word the refusal must hold)
HOSTILE = {
    "huge_header.png": (_png_declaring(100_000, 100_000), "megapixels by its header"),
    "wide.png": (_png_declaring(MAX_SIDE + 1, 8), f"{MAX_SIDE + 1} x 8 pixels"),
    "zero_width.png": (_png_declaring(0, 8), "not a readable image"),
    "huge_sof.jpg": (_jpeg_declaring(60_000, 60_000), "megapixels by its header"),
    "big_sof.jpg": (_jpeg_declaring(5000, 5000), "5000 x 5000 pixels"),
    "huge.webp": (_webp_declaring(16_383), "megapixels by its header"),
    "big.webp": (_webp_declaring(5000), "5000 x 5000 pixels"),
    "huge.bmp": (_bmp_declaring(30_000), "megapixels by its header"),
    "big.bmp": (_bmp_declaring(5000), "5000 x 5000 pixels"),
    "huge.gif": (_encoded("GIF")[:6] + struct.pack("<HH", 65535, 65535) + _encoded("GIF")[10:], "a GIF file"),
    "photo.tif": (_encoded("TIFF"), "a TIFF file"),
    "text.jpg": (b"this is not a photo\n", "not a readable image"),
    "empty.png": (b"", "empty (0 bytes)"),
    "truncated.png": (_encoded("PNG", (256, 256))[:3000], "truncated"),
    "truncated.jpg": (_encoded("JPEG", (256, 256), quality=90)[:4000], "truncated"),
}


def _hostile(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    if name in HOSTILE:
        path.write_bytes(HOSTILE[name][0])
    elif name == "zero_link.png":
        path.symlink_to("/dev/zero")
    elif name == "folder.png":
        path.mkdir()
    elif name == "fifo.png":
        os.mkfifo(path)  # opening it would wait for a writer for ever
    elif name == "missing.png":
        pass
    return path


SPECIAL = {"zero_link.png": "not a regular file", "folder.png": "a folder", "fifo.png": "not a regular file",
           "missing.png": "not found"}
CASES = {**{n: w for n, (_, w) in HOSTILE.items()}, **SPECIAL}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_files_are_refused_with_one_line_naming_them(tmp_path, name):
    path = _hostile(tmp_path, name)
    for reader in READERS:
        with pytest.raises(ImageFileError) as caught:
            reader(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: ") and CASES[name] in message, (reader.__name__, message)
        assert "\n" not in message and caught.value.problem in message
    if "truncated" not in name:  # read from the header alone
        with pytest.raises(ImageFileError, match=re.escape(CASES[name])):
            read_header(path)
    if path.is_file():  # the same refusal for the same bytes in memory
        with pytest.raises(ImageFileError, match=re.escape(CASES[name])):
            decode_rgb(path.read_bytes())


def test_size_limits_are_inclusive(tmp_path, zero_png):
    edge = read_rgb(zero_png(tmp_path / "edge.png", MAX_SIDE, 2))
    assert edge.shape == (2, MAX_SIDE, 3) and edge.dtype == np.uint8 and edge.flags.writeable
    with pytest.raises(ImageFileError, match=f"{MAX_SIDE + 1} x 2 pixels; at most {MAX_SIDE} pixels a side"):
        read_rgb(zero_png(tmp_path / "over.png", MAX_SIDE + 1, 2))
    assert size_problem(MAX_SIDE, MAX_SIDE) is None and size_problem(0, 5) is not None


def test_file_length_limit_is_checked_before_reading(tmp_path):
    path = tmp_path / "long.png"
    path.write_bytes(_encoded("PNG"))
    n = path.stat().st_size
    with pytest.raises(ImageFileError, match=f"{n:,} bytes; at most {n - 1:,} bytes are read"):
        read_rgb(path, max_bytes=n - 1)
    assert read_rgb(path, max_bytes=n).shape == (32, 48, 3)
    with pytest.raises(ImageFileError, match="11.0 MB; at most 10 MB are read"):
        decode_rgb(bytes(11 * 2**20), max_bytes=10 * 2**20)


def test_zero_png_writer_makes_real_images(tmp_path, zero_png):
    path = zero_png(tmp_path / "z.png", 123, 77)
    with Image.open(path) as im:
        im.load()
        assert im.size == (123, 77) and im.mode == "RGB" and not np.asarray(im).any()


def test_png_bomb_is_refused_from_its_header(png_bomb):
    assert png_bomb.stat().st_size < 2 * 2**20
    assert struct.unpack(">II", png_bomb.read_bytes()[16:24]) == (20_000, 20_000)  # IHDR's width, height
    with pytest.raises(ImageFileError) as caught:
        read_rgb(png_bomb)
    assert str(caught.value) == (f"{png_bomb}: an image of 400 megapixels by its header; "
                                 f"at most {MAX_SIDE} pixels a side (16.8 megapixels) are read")


def test_png_bomb_under_pillows_own_limit_is_refused_too(tmp_path, zero_png):
    # 8000 x 8000 passes Pillow's check (89 megapixels) silently: the package's limit refuses it
    path = zero_png(tmp_path / "quiet_bomb.png", 8000, 8000)
    with pytest.raises(ImageFileError, match="8000 x 8000 pixels"):
        read_rgb(path)


def test_reading_the_bomb_stays_small(png_bomb):
    """Peak resident memory of a fresh process reading the bomb: in all, and over its imports.

    The peak is /proc's VmHWM, which starts anew at exec (getrusage's ru_maxrss would start from
    the forking test process's size).
    """
    if not Path("/proc/self/status").is_file():
        pytest.skip("needs Linux's /proc to measure a process's peak memory")
    code = textwrap.dedent("""
        import re, sys
        def peak_kb():
            return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
        from clothflow.data.formats.images import ImageFileError, read_rgb
        before = peak_kb()
        try:
            read_rgb(sys.argv[1])
            outcome = "read"
        except ImageFileError:
            outcome = "refused"
        print(outcome, before, peak_kb())
    """)
    run = subprocess.run([sys.executable, "-c", code, str(png_bomb)], capture_output=True, text=True, timeout=120)
    outcome, before, after = run.stdout.split()
    grown_mb, peak_mb = (int(after) - int(before)) / 1024, int(after) / 1024
    print(f"reading the 20,000 x 20,000 PNG bomb: peak {peak_mb:.0f} MB resident, {grown_mb:.1f} MB over the imports")
    assert outcome == "refused" and peak_mb < 100 and grown_mb < 20


def test_sixteen_bit_pngs_are_scaled_not_clipped(tmp_path):
    grey = np.linspace(0, 65535, 64).astype(np.uint16).reshape(8, 8)
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    with Image.open(tmp_path / "grey16.png") as im:
        assert im.mode.startswith("I;16")
    rgb = read_rgb(tmp_path / "grey16.png")
    assert (rgb == (grey >> 8)[..., None]).all() and rgb[4, 0, 0] == 130  # 33288 -> 130, not clipped to 255
    colour = np.random.default_rng(1).integers(0, 65536, (8, 8, 3)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "rgb16.png"), colour[..., ::-1])  # OpenCV writes BGR
    assert (read_rgb(tmp_path / "rgb16.png") == (colour >> 8)).all()
    assert (np.asarray(open_image(tmp_path / "grey16.png", "L")) == grey >> 8).all()


def test_palette_png_gives_colours_and_indices(tmp_path):
    im = Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8), "P")
    im.putpalette([10, 20, 30, 200, 0, 0, 0, 255, 0] + [0] * 759)
    im.save(tmp_path / "palette.png")
    assert read_rgb(tmp_path / "palette.png").tolist() == [[[10, 20, 30], [200, 0, 0]], [[0, 255, 0], [200, 0, 0]]]
    assert read_gray(tmp_path / "palette.png").tolist() == [[0, 1], [2, 1]]


def test_cmyk_jpeg_reads_as_rgb(tmp_path):
    Image.new("RGB", (16, 16), (220, 30, 40)).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    with Image.open(tmp_path / "cmyk.jpg") as im:
        assert im.mode == "CMYK"
    rgb = read_rgb(tmp_path / "cmyk.jpg")
    assert rgb.shape == (16, 16, 3) and np.abs(rgb.astype(int) - (220, 30, 40)).max() <= 8


def test_alpha_and_grey_images_read_as_rgb(tmp_path):
    Image.new("RGBA", (5, 4), (1, 2, 3, 0)).save(tmp_path / "rgba.png")
    Image.new("LA", (5, 4), (77, 9)).save(tmp_path / "la.png")
    assert (read_rgb(tmp_path / "rgba.png") == (1, 2, 3)).all() and (read_rgb(tmp_path / "la.png") == 77).all()


def _rotated_photo(path: Path) -> np.ndarray:
    """A JPEG stored 40 wide x 20 high, red top-left corner, EXIF orientation 6 (turn 90 clockwise to show)."""
    stored = np.full((20, 40, 3), 255, np.uint8)
    stored[:10, :10] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    return stored


def test_exif_rotation_is_applied_the_same_way_by_every_reader(tmp_path):
    from clothflow.apps.live.session import decode_jpeg
    from clothflow.apps.web.backend import read_upload

    path = tmp_path / "phone.jpg"
    _rotated_photo(path)
    upright = read_rgb(path)
    assert upright.shape == (40, 20, 3)
    corner = upright[1:7, -7:-1]  # stored top-left is shown top-right (inside the JPEG's blur of the edges)
    assert corner[..., 0].min() > 200 and corner[..., 1].max() < 60 and upright[-8:, :8, 1].min() > 200
    with Image.open(path) as im:  # as Pillow's own transpose shows it
        assert np.abs(np.asarray(im.transpose(Image.Transpose.ROTATE_270)).astype(int) - upright).max() == 0
    for other in (read_upload(path, "person photo"), decode_rgb(path.read_bytes()), decode_jpeg(path.read_bytes())):
        assert np.array_equal(other, upright)
    assert read_mask(path).shape == (40, 20)  # masks and label maps turn with their photo
    assert read_header(path).width == 40  # the header tells the stored size


def test_valid_formats_still_read(tmp_path):
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp"), ("BMP", "bmp")):
        path = tmp_path / f"ok.{ext}"
        path.write_bytes(_encoded(fmt, quality=95) if fmt == "JPEG" else _encoded(fmt, lossless=True) if fmt == "WEBP"
                         else _encoded(fmt))
        assert read_rgb(path).shape == (32, 48, 3) and read_header(path).format == fmt, fmt


def test_datasets_refuse_a_bomb_naming_it(tmp_path, png_bomb):
    from clothflow.data.datasets.deepfashion import DeepFashionPairs
    from clothflow.data.formats.keypoints import annotation_row

    kps = np.full((18, 2), 10, np.float32)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(_encoded("PNG", (44, 64)))
    (tmp_path / "images" / "b.png").write_bytes(png_bomb.read_bytes())
    (tmp_path / "x-annotation.csv").write_text("name:keypoints_y:keypoints_x\n" + annotation_row("a.png", kps) + "\n"
                                               + annotation_row("b.png", kps) + "\n")
    (tmp_path / "x-pairs.csv").write_text("from,to\na.png,b.png\n")
    with pytest.raises(ImageFileError, match=re.escape("b.png: an image of 400 megapixels by its header")):
        DeepFashionPairs(tmp_path, size=(64, 44))[0]


def test_inspect_lists_a_bomb_as_a_problem(tmp_path, png_bomb):
    from clothflow.data.tools.inspect_folder import _image_sizes

    ok = tmp_path / "ok.png"
    ok.write_bytes(_encoded("PNG"))
    sizes, bad = _image_sizes([ok, png_bomb])
    assert dict(sizes) == {(32, 48): 1} and len(bad) == 1 and bad[0].startswith(f"{png_bomb}: an image of 400 megapixels")

"""Image files, read in one place and with limits: photos, garments, masks, label maps, dataset
images, web uploads and the live page's camera frames all go through :func:`open_image` (or
:func:`decode_image` for bytes). Also resizing by the field's convention (scale to the height,
centre-crop or pad the width).

Reading a file, in order (each step refuses with an :class:`ImageFileError` naming the file):

1. it is a regular file (not a folder, device or pipe), not empty, of at most
   :data:`MAX_FILE_BYTES` (web uploads: :data:`MAX_UPLOAD_BYTES`);
2. its header names one of :data:`FORMATS` and a size of at most :data:`MAX_SIDE` pixels a side
   and :data:`MAX_PIXELS` pixels; only then are the pixels decoded (a 1 MB PNG declaring
   20,000 x 20,000 pixels is refused from its header, without allocating the image);
3. it is decoded whole (truncated or damaged files fail here), and its EXIF orientation is
   applied, so a phone photo is read upright, as viewers show it;
4. :func:`to_rgb` makes H x W x 3 uint8 of any mode: 16-bit samples are scaled (not clipped) to
   8 bits, palette, grey, CMYK and alpha images are converted (alpha is dropped).

Example:
    >>> import io
    >>> from PIL import Image
    >>> png = io.BytesIO()
    >>> Image.new("I;16", (3, 2), 65535).save(png, "PNG")
    >>> rgb = decode_rgb(png.getvalue())
    >>> rgb.shape, rgb.dtype.name, int(rgb.max())
    ((2, 3, 3), 'uint8', 255)
    >>> fit_to_size(np.zeros((256, 256, 3), np.uint8), (128, 88)).shape
    (128, 88, 3)
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from clothflow.core.errors import ClothflowError

MAX_SIDE = 4096  # pixels, either side, as stored (before the EXIF rotation)
MAX_PIXELS = MAX_SIDE * MAX_SIDE  # 16.8 megapixels: at most 67 MB decoded (Pillow keeps RGB as 4 bytes a pixel)
MAX_FILE_BYTES = 64 * 2**20  # a file given on the command line or in a dataset folder
MAX_UPLOAD_BYTES = 10 * 2**20  # a file uploaded to the web page or the live page
FORMATS = ("PNG", "JPEG", "WEBP", "BMP")  # Pillow's names; phones' multi-picture JPEGs open as "MPO"
FORMATS_TEXT = "PNG, JPEG, WebP or BMP"

# The package's limits are far below Pillow's own warning threshold (89 megapixels); a file
# above it is refused here anyway, so the warning would only add a second line to the error.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_OTHER_FORMATS = (  # (leading bytes, name): formats named in the refusal, never parsed
    (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"II*\0", "TIFF"), (b"MM\0*", "TIFF"), (b"%PDF", "PDF"),
    (b"8BPS", "PSD"), (b"\0\0\0\x0cjP  ", "JPEG 2000"), (b"\xff\x4f\xff\x51", "JPEG 2000"), (b"<svg", "SVG"),
)
_HEIF_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF", b"avis": "AVIF"}


class ImageFileError(ClothflowError):
    """An image file or image bytes that are refused; the message is ``"<path>: <problem>"``.

    Args:
        problem: what is wrong, worded to follow "the file is" ("not a readable image (...)",
            "20000 x 20000 pixels; at most ..."), so a front door can name the input its own way.
        path: the file, or None for bytes.
    """

    def __init__(self, problem: str, path: str | Path | None = None) -> None:
        self.problem = problem
        super().__init__(problem, path)


@dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says, read without decoding its pixels.

    Attributes:
        format: Pillow's format name, one of :data:`FORMATS` or "MPO" (a multi-picture JPEG).
        width, height: pixels as stored (an EXIF rotation may swap them when read).
        mode: Pillow's mode ("RGB", "L", "P", "I;16", "CMYK", ...).
    """

    format: str
    width: int
    height: int
    mode: str


def _amount(nbytes: int, whole: bool = False) -> str:
    """A file length for people: "11.0 MB" (``whole``: "10 MB" for an exact number), or bytes below 1 MB."""
    if nbytes < 2**20:
        return f"{nbytes:,} bytes"
    text = f"{nbytes / 2**20:.1f}"
    return f"{text.removesuffix('.0') if whole else text} MB"


def bytes_problem(nbytes: int, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """Why a file of ``nbytes`` is refused, or None when its length is accepted.

    Example:
        >>> bytes_problem(0), bytes_problem(1000), bytes_problem(70 * 2**20)
        ('empty (0 bytes)', None, '70.0 MB; at most 64 MB are read')
    """
    if nbytes == 0:
        return "empty (0 bytes)"
    if nbytes > max_bytes:
        return f"{_amount(nbytes)}; at most {_amount(max_bytes, whole=True)} are read"
    return None


def _size_limits() -> str:
    return f"at most {MAX_SIDE} pixels a side ({MAX_PIXELS / 1e6:.1f} megapixels) are read"


def size_problem(width: int, height: int) -> str | None:
    """Why an image of ``width`` x ``height`` pixels is refused (limits :data:`MAX_SIDE`,
    :data:`MAX_PIXELS`), or None when its size is accepted.

    Example:
        >>> size_problem(640, 480) is None
        True
        >>> size_problem(20000, 20000)
        '20000 x 20000 pixels; at most 4096 pixels a side (16.8 megapixels) are read'
    """
    if width < 1 or height < 1:
        return f"{width} x {height} pixels: no pixels at all"
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        return f"{width} x {height} pixels; {_size_limits()}"
    return None


def _unknown_problem(head: bytes) -> str:
    """The refusal of a file no reader of :data:`FORMATS` recognises, naming a few common formats."""
    name = next((n for magic, n in _OTHER_FORMATS if head.startswith(magic)), None)
    if name is None and head[4:8] == b"ftyp":
        name = _HEIF_BRANDS.get(head[8:12])
    if name is not None:
        return f"a {name} file; {FORMATS_TEXT} images are read"
    return f"not a readable image ({FORMATS_TEXT} expected)"


def _bomb_problem(message: str) -> str:
    """The refusal of a file Pillow found too large from its header (its message names the pixels)."""
    found = re.search(r"\((\d+) pixels\)", message)
    declared = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "an enormous size"
    return f"an image of {declared} by its header; {_size_limits()}"


def _check_stat(mode: int, nbytes: int, path: Path, max_bytes: int) -> None:
    if stat.S_ISDIR(mode):
        raise ImageFileError("a folder, not an image file", path)
    if not stat.S_ISREG(mode):
        raise ImageFileError("not a regular file (a device, pipe or socket?)", path)
    problem = bytes_problem(nbytes, max_bytes)
    if problem is not None:
        raise ImageFileError(problem, path)


def _open_file(path: Path, max_bytes: int) -> BinaryIO:
    """The file opened for reading, once it is known to be a regular file of an accepted length."""
    try:
        st = path.stat()  # follows symlinks: a link to /dev/zero is a device
    except FileNotFoundError:
        raise ImageFileError("not found", path) from None
    except OSError as exc:
        raise ImageFileError(f"not readable ({exc.strerror or exc})", path) from None
    _check_stat(st.st_mode, st.st_size, path, max_bytes)
    try:
        fp = path.open("rb")
    except OSError as exc:
        raise ImageFileError(f"not readable ({exc.strerror or exc})", path) from None
    try:  # the same checks on what was opened, in case the path changed in between
        st = os.fstat(fp.fileno())
        _check_stat(st.st_mode, st.st_size, path, max_bytes)
    except BaseException:
        fp.close()
        raise
    return fp


def _open_header(fp: BinaryIO, path: Path | None) -> Image.Image:
    """Pillow's lazy image on ``fp``: header read and checked, pixels not decoded yet."""
    try:
        im = Image.open(fp, formats=FORMATS)
    except UnidentifiedImageError:
        fp.seek(0)
        raise ImageFileError(_unknown_problem(fp.read(16)), path) from None
    except Image.DecompressionBombError as exc:
        raise ImageFileError(_bomb_problem(str(exc)), path) from None
    except Exception as exc:  # Pillow's plugins raise many types on malformed headers
        raise ImageFileError(f"not a readable image ({_reason(exc)})", path) from None
    problem = size_problem(*im.size)
    if problem is not None:
        raise ImageFileError(problem, path)
    return im


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1 upright .. 8), 1 when there is none or it cannot be read."""
    try:
        value = int(im.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # a damaged EXIF block does not make the pixels unreadable
        return 1
    return value if 1 <= value <= 8 else 1


def _decode(im: Image.Image, path: Path | None) -> Image.Image:
    """Decode a checked lazy image whole and turn it upright by its EXIF orientation."""
    try:
        im.load()
    except Exception as exc:  # truncated data, bad compression, ... (Pillow's types vary by format)
        raise ImageFileError(f"not a readable image, damaged or truncated ({_reason(exc)})", path) from None
    if _orientation(im) != 1:
        try:
            im = ImageOps.exif_transpose(im)
        except Exception:  # pragma: no cover - an orientation Pillow cannot apply keeps the stored pixels
            pass
    return im


def read_header(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> ImageHeader:
    """Read and check an image file's header, without decoding the pixels.

    Args:
        path: the file.
        max_bytes: largest accepted file length.

    Returns:
        The :class:`ImageHeader`.

    Raises:
        ImageFileError: not a regular file, empty or too long, not one of :data:`FORMATS`,
            or larger than :data:`MAX_SIDE` / :data:`MAX_PIXELS`.
    """
    path = Path(path)
    with _open_file(path, max_bytes) as fp:
        im = _open_header(fp, path)
        return ImageHeader(str(im.format), im.width, im.height, im.mode)


def open_image(path: str | Path, mode: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> Image.Image:
    """Read an image file with the checks of the module doc: header first, then decoded, upright.

    Args:
        path: the file.
        mode: Pillow mode to convert to ("RGB", "L"; 16-bit samples are scaled to 8 bits first);
            None keeps the file's mode (label maps: palette indices, 16-bit ids).
        max_bytes: largest accepted file length (:data:`MAX_UPLOAD_BYTES` for uploads).

    Returns:
        The decoded Pillow image.

    Raises:
        ImageFileError: naming the file and the problem (missing, a folder or device, empty,
            too long, not an accepted format, too many pixels, damaged or truncated).
    """
    path = Path(path)
    with _open_file(path, max_bytes) as fp:
        im = _decode(_open_header(fp, path), path)
    return im if mode is None else convert(im, mode)


def decode_image(data: bytes, mode: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> Image.Image:
    """:func:`open_image` for bytes in memory (a camera frame, a request body)."""
    problem = bytes_problem(len(data), max_bytes)
    if problem is not None:
        raise ImageFileError(problem)
    im = _decode(_open_header(io.BytesIO(data), None), None)
    return im if mode is None else convert(im, mode)


def convert(im: Image.Image, mode: str) -> Image.Image:
    """``im`` in Pillow ``mode``, 16-bit samples scaled to 8 bits (Pillow alone would clip them).

    Example:
        >>> np.asarray(convert(Image.new("I;16", (1, 1), 32896), "L")).item()
        128
    """
    if im.mode in _SIXTEEN_BIT_MODES:
        samples = np.clip(np.asarray(im, dtype=np.int64), 0, 65535) >> 8
        im = Image.fromarray(samples.astype(np.uint8), "L")
    return im if im.mode == mode else im.convert(mode)


def to_rgb(im: Image.Image) -> np.ndarray:
    """A decoded Pillow image of any mode -> H x W x 3 uint8 RGB (a writable copy)."""
    return np.array(convert(im, "RGB"), dtype=np.uint8)


def read_rgb(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> np.ndarray:
    """An image file -> H x W x 3 uint8 RGB, upright, or an :class:`ImageFileError` naming the file.

    Args:
        path: the file (see :func:`open_image` for what is accepted).
        max_bytes: largest accepted file length.
    """
    return to_rgb(open_image(path, max_bytes=max_bytes))


def decode_rgb(data: bytes, max_bytes: int = MAX_FILE_BYTES) -> np.ndarray:
    """Image bytes -> H x W x 3 uint8 RGB, upright, or an :class:`ImageFileError`."""
    return to_rgb(decode_image(data, max_bytes=max_bytes))


def read_gray(path: str | Path) -> np.ndarray:
    """A label map or mask file -> H x W uint8 (palette PNGs give their indices).

    Raises:
        ClothflowError: unreadable file, or a colour image whose channels differ.
    """
    path = Path(path)
    im = open_image(path)
    arr = np.array(im if im.mode in ("L", "P") else im.convert("RGB"))
    if arr.ndim == 3:
        if not ((arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()):
            raise ClothflowError("expected an 8-bit label map (ids), got a colour image", path)
        arr = arr[..., 0]
    return arr.astype(np.uint8)


def fit_to_size(image: np.ndarray, size: tuple[int, int], nearest: bool = False, pad: float | None = None) -> np.ndarray:
    """Scale an image to ``size[0]`` rows, then centre-crop or pad its width to ``size[1]``.

    Args:
        image: H x W (x C) array.
        size: (H, W) wanted.
        nearest: nearest-neighbour resampling (label maps).
        pad: padding value; None = replicate the border.

    Returns:
        size[0] x size[1] (x C) array of the input's dtype.
    """
    h, w = image.shape[:2]
    new_w = max(int(round(w * size[0] / h)), 1)
    if (h, w) != (size[0], new_w):
        interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if h > size[0] else cv2.INTER_LINEAR)
        image = cv2.resize(image, (new_w, size[0]), interpolation=interp)
    if new_w >= size[1]:
        left = (new_w - size[1]) // 2
        return image[:, left:left + size[1]]
    left = (size[1] - new_w) // 2
    border = cv2.BORDER_REPLICATE if pad is None else cv2.BORDER_CONSTANT
    return cv2.copyMakeBorder(image, 0, 0, left, size[1] - new_w - left, border, value=pad or 0)


def fit_flow(flow: np.ndarray, vis: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Resize a flow field (H x W x 2 pixels) and its visibility like :func:`fit_to_size`.

    Returns:
        (size x 2 float32 flow in output pixels, size bool visibility; padding is invisible).
    """
    s = size[0] / flow.shape[0]
    f = fit_to_size(flow.astype(np.float32), size, nearest=True, pad=0.0) * s
    v = fit_to_size(vis.astype(np.uint8), size, nearest=True, pad=0.0) > 0
    return f, v


def place_in_frame(result: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """A network's result put back into a photo's frame, undoing the framing of datasets.

    Networks see a photo scaled to their height and centre-cropped (or padded) to their width
    (:func:`fit_to_size`). This scales ``result`` to the
    backdrop's height and puts it in the middle of the backdrop: the columns the network did
    not see (a 256 x 256 DeepFashion photo's 40 on each side at 256 x 176) keep the backdrop's
    pixels, e.g. the source photo's background.

    Args:
        result: h x w x 3 uint8 (the network's output).
        backdrop: H x W x 3 uint8 in the frame wanted (e.g. the source photo at the target's size).

    Returns:
        H x W x 3 uint8.

    Example:
        >>> out = place_in_frame(np.full((4, 2, 3), 9, np.uint8), np.zeros((8, 8, 3), np.uint8))
        >>> out.shape, out[:, 2:6].min(), out[:, :2].max()
        ((8, 8, 3), 9, 0)
    """
    h, w = backdrop.shape[:2]
    scaled_w = max(int(round(result.shape[1] * h / result.shape[0])), 1)
    scaled = cv2.resize(result, (scaled_w, h), interpolation=cv2.INTER_LINEAR if h > result.shape[0] else cv2.INTER_AREA)
    if scaled_w >= w:  # the network saw more than the frame (a padded photo): crop its middle
        left = (scaled_w - w) // 2
        return np.ascontiguousarray(scaled[:, left:left + w])
    out = backdrop.copy()
    left = (w - scaled_w) // 2
    out[:, left:left + scaled_w] = scaled
    return out

"""Image files of datasets: RGB photos and 8-bit label maps read with clear errors, and resizing
by the field's convention (scale to the height, centre-crop or pad the width).

Example:
    >>> import numpy as np
    >>> fit_to_size(np.zeros((256, 256, 3), np.uint8), (128, 88)).shape
    (128, 88, 3)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from clothflow.core.errors import ClothflowError

def read_rgb(path: str | Path) -> np.ndarray:
    """An image file -> H x W x 3 uint8 RGB, or a ClothflowError naming the file."""
    path = Path(path)
    try:
        data = np.fromfile(path, np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except (OSError, cv2.error) as exc:
        raise ClothflowError(f"cannot read image ({exc})", path) from None
    if image is None:
        raise ClothflowError("not a readable image (corrupt or unsupported format)", path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_gray(path: str | Path) -> np.ndarray:
    """A label map or mask file -> H x W uint8 (palette PNGs give their indices).

    Raises:
        ClothflowError: unreadable file, or a colour image whose channels differ.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            arr = np.array(im if im.mode in ("L", "P") else im.convert("RGB"))
    except Exception as exc:  # PIL raises many types on corrupt data; all mean "unreadable"
        raise ClothflowError(f"not a readable label map ({type(exc).__name__})", path) from None
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

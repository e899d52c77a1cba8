"""Human-parsing maps and binary masks in the encodings real datasets store them in.

Parsing maps are returned as H x W uint8 LIP ids (see :mod:`clothflow.core.ops.labels`), whatever
the file holds:

- 8-bit grey PNG of ids (VITON ``image-parse-new``, the project's own synthetic output);
- palette ("P") PNG: the palette *indices* are the ids (VITON-HD, CIHP tools);
- colour RGB PNG drawn with the LIP/CIHP visualisation palette (VITON ``image-parse``):
  each pixel takes the id of the nearest palette colour. VITON-HD's palette is the same
  one with 255 written as 254 and 170 as 169, which nearest-colour matching absorbs.

Schemes: ``"lip"`` keeps ids as they are; ``"cihp"`` maps CIHP's 10 (torso skin) to a skin id
through :data:`clothflow.core.ops.labels.CIHP_TO_LIP`. VITON's and VITON-HD's parsings use CIHP
ids (in the shared samples id 10 sits on the neck).

Example:
    >>> rgb = LIP_PALETTE[np.array([[0, 5], [13, 14]])]
    >>> decode_colour_parsing(rgb).tolist()
    [[0, 5], [13, 14]]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clothflow.core.ops.labels import CIHP_TO_LIP, LIP_LABELS
from clothflow.data.formats.images import open_image
from clothflow.core.errors import ClothflowError

SCHEMES = ("lip", "cihp")
NUM_LIP_IDS = len(LIP_LABELS)

# The LIP/CIHP visualisation palette: row i is the colour of id i.
LIP_PALETTE = np.array(
    [
        (0, 0, 0), (128, 0, 0), (255, 0, 0), (0, 85, 0), (170, 0, 51),
        (255, 85, 0), (0, 0, 85), (0, 119, 221), (85, 85, 0), (0, 85, 85),
        (85, 51, 0), (52, 86, 128), (0, 128, 0), (0, 0, 255), (51, 170, 221),
        (0, 255, 255), (85, 255, 170), (170, 255, 85), (255, 255, 0), (255, 170, 0),
    ],
    dtype=np.uint8,
)

# A pixel further than this (Euclidean, in RGB units) from every palette colour is "far".
# Parsings saved as JPEG have far pixels only along region edges (a few %); photos have most
# pixels far (58-99% on the shared VITON / VITON-HD persons and garments). More than
# MAX_FAR_FRACTION far pixels means the file is not a parsing.
FAR_DISTANCE = 40.0
MAX_FAR_FRACTION = 0.2
MASK_THRESHOLD = 127


def decode_colour_parsing(
    rgb: np.ndarray, path: str | Path | None = None, max_far_fraction: float = MAX_FAR_FRACTION
) -> np.ndarray:
    """Map a colour-coded parsing to LIP ids by the nearest LIP palette colour.

    Args:
        rgb: H x W x 3 uint8 colour parsing.
        path: the file it came from, named in errors.
        max_far_fraction: largest allowed fraction of pixels far from every palette colour.

    Returns:
        H x W uint8 ids in [0, 20).

    Raises:
        ClothflowError: too many pixels match no palette colour (the image is not a parsing).
    """
    flat = rgb.reshape(-1, 3).astype(np.int32)
    packed = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    colours, inverse = np.unique(packed, return_inverse=True)
    rgb_u = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], -1).astype(np.float32)
    dist = np.linalg.norm(rgb_u[:, None, :] - LIP_PALETTE[None].astype(np.float32), axis=-1)
    nearest, nearest_dist = dist.argmin(1), dist.min(1)
    far = (nearest_dist > FAR_DISTANCE)[inverse.reshape(-1)].mean() if flat.size else 0.0
    if far > max_far_fraction:
        raise ClothflowError(
            f"not a colour-coded parsing: {far:.0%} of pixels match no LIP palette colour "
            "(is this a photo? expected label ids or the LIP/CIHP colour palette)",
            path,
        )
    return nearest.astype(np.uint8)[inverse.reshape(-1)].reshape(rgb.shape[:2])


def _check_ids(ids: np.ndarray, path: Path) -> np.ndarray:
    top = int(ids.max()) if ids.size else 0
    if top >= NUM_LIP_IDS:
        raise ClothflowError(
            f"label id {top} is not a LIP/CIHP id (expected 0..{NUM_LIP_IDS - 1}); is this a mask or a photo?", path
        )
    return ids


def read_label_map(path: str | Path, scheme: str = "lip") -> np.ndarray:
    """Read a human-parsing map in any of the encodings listed in the module doc.

    Args:
        path: PNG (grey ids, palette indices, or LIP colour palette).
        scheme: "lip" (ids as stored) or "cihp" (CIHP 10 torso skin -> LIP skin id).

    Returns:
        H x W uint8 LIP ids.

    Raises:
        ClothflowError: missing/corrupt file, ids out of range, or a colour image that is no parsing.
    """
    if scheme not in SCHEMES:
        raise ClothflowError(f"unknown label scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    path = Path(path)
    im = open_image(path)
    if im.mode == "P":
        ids = _check_ids(np.asarray(im), path)
    elif im.mode in ("L", "I", "I;16"):
        ids = _check_ids(np.asarray(im), path).astype(np.uint8)
    else:
        rgb = np.asarray(im.convert("RGB"))
        grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
        if grey.all() and rgb.max() < NUM_LIP_IDS:
            ids = rgb[..., 0].copy()
        else:
            ids = decode_colour_parsing(rgb, path)
    ids = np.ascontiguousarray(ids, dtype=np.uint8)
    return CIHP_TO_LIP[ids] if scheme == "cihp" else ids


def read_mask(path: str | Path, threshold: int = MASK_THRESHOLD) -> np.ndarray:
    """Read a binary mask stored as a grey (often JPEG) image.

    Args:
        path: image file; colour files are converted to grey.
        threshold: pixels above it are inside the mask.

    Returns:
        H x W bool.

    Raises:
        ClothflowError: missing or corrupt file.
    """
    return np.asarray(open_image(path, "L")) > threshold


def check_same_size(shape: tuple[int, ...], ref_shape: tuple[int, ...], path: str | Path, ref_path: str | Path) -> None:
    """Raise unless two arrays have the same H x W.

    Args:
        shape: shape of the array read from ``path`` (H x W or H x W x C).
        ref_shape: shape of the array read from ``ref_path``, the one it must match.

    Raises:
        ClothflowError: naming ``path``, both sizes and ``ref_path``.
    """
    if tuple(shape[:2]) != tuple(ref_shape[:2]):
        (h, w), (rh, rw) = shape[:2], ref_shape[:2]
        raise ClothflowError(f"size {w} x {h} (W x H) does not match {rw} x {rh} of {ref_path}", path)

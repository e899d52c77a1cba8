"""Human-parsing maps and binary masks in the encodings real datasets store them in.

Parsing maps are returned as H x W uint8 LIP ids (see :mod:`clothflow.core.ops.labels`), whatever
the file holds:

- 8-bit grey PNG of ids (VITON ``image-parse-new``, the project's own synthetic output);
- palette ("P") PNG: the palette *indices* are the ids (VITON-HD, CIHP tools);
- colour RGB PNG drawn with the LIP/CIHP visualisation palette (VITON ``image-parse``):
  each pixel takes the id of the nearest palette colour. VITON-HD's palette is the same
  one with 255 written as 254 and 170 as 169, which nearest-colour matching absorbs.

Whatever the scheme of the file, the map returned is the one reading of
:mod:`clothflow.core.ops.labels`: LIP ids with the neck as background. Schemes: ``"lip"`` keeps
ids as they are (VITON's ``image-parse`` as CP-VTON ships it, the project's parser);
``"cihp"`` reads CIHP's 10 (torso skin: the neck) as background (VITON-HD's parsings, and the
shared VITON samples'); ``"lip-neck"`` reads CP-VTON+'s 20 (neck, in VITON's
``image-parse-new``) as background; ``"auto"`` (the default) tells them apart by
:func:`detect_scheme`.

Example:
    >>> rgb = LIP_PALETTE[np.array([[0, 5], [13, 14]])]
    >>> decode_colour_parsing(rgb).tolist()
    [[0, 5], [13, 14]]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clothflow.core.ops.labels import CIHP_TORSO_SKIN, LIP, LIP_LABELS, LIP_NECK, SCHEME_MAX_ID, to_lip
from clothflow.data.formats.images import open_image
from clothflow.core.errors import ClothflowError

SCHEMES = ("auto", "lip", "cihp", "lip-neck")
# A CIHP torso-skin region (the neck) meets the face; LIP's jumpsuits (10) do not. Pixels this close count as meeting.
NECK_REACH = 2

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


def _check_ids(ids: np.ndarray, path: Path, top_allowed: int) -> np.ndarray:
    top = int(ids.max()) if ids.size else 0
    if top > top_allowed:
        raise ClothflowError(
            f"label id {top} is not a LIP/CIHP id (expected 0..{top_allowed}); is this a mask or a photo?", path
        )
    return ids


def detect_scheme(ids: np.ndarray) -> str:
    """Name the scheme of a parsing from its ids: id 20 is CP-VTON+'s neck, and id 10 is CIHP's neck when it meets the face.

    In CIHP's scheme 10 is torso skin, which in a photo of a person facing the camera meets the
    face at the chin; in LIP's, 10 is a jumpsuit, below the face. On the shared samples and the
    whole VITON set this tells them apart without a miss: id 10 meets the face on all 18 CIHP-scheme
    sample parsings (VITON's and VITON-HD's) and on none of the 116 VITON ``image-parse`` files
    (LIP) that hold id 10.

    Args:
        ids: H x W uint8 ids as stored in the file.

    Returns:
        "lip-neck", "cihp" or "lip".

    Example:
        >>> neck = np.zeros((9, 4), np.uint8); neck[:2] = LIP["face"]; neck[2] = 10  # 10 under the chin
        >>> jumpsuit = neck.copy(); jumpsuit[2], jumpsuit[6:] = 0, 10                   # 10 further down
        >>> detect_scheme(neck), detect_scheme(jumpsuit), detect_scheme(np.where(neck == 10, 20, neck))
        ('cihp', 'lip', 'lip-neck')
    """
    if (ids == LIP_NECK).any():
        return "lip-neck"
    skin = ids == CIHP_TORSO_SKIN
    if not skin.any():
        return "lip"
    import cv2

    kernel = np.ones((2 * NECK_REACH + 1,) * 2, np.uint8)
    near = cv2.dilate(skin.astype(np.uint8), kernel).astype(bool)
    return "cihp" if (near & (ids == LIP["face"])).any() else "lip"


def _stored_ids(path: Path) -> np.ndarray:
    """The ids a parsing file stores (any of the module's encodings), before any scheme is applied."""
    im = open_image(path)
    if im.mode == "P":
        return np.asarray(im)
    if im.mode in ("L", "I", "I;16"):
        return _check_ids(np.asarray(im), path, LIP_NECK)
    rgb = np.asarray(im.convert("RGB"))
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    if grey.all() and rgb.max() <= LIP_NECK:
        return rgb[..., 0].copy()
    return decode_colour_parsing(rgb, path)


def read_label_map(path: str | Path, scheme: str = "auto") -> np.ndarray:
    """Read a human-parsing map in any of the encodings and schemes listed in the module doc.

    Args:
        path: PNG (grey ids, palette indices, or LIP colour palette).
        scheme: "auto" (by :func:`detect_scheme`), "lip", "cihp" or "lip-neck".

    Returns:
        H x W uint8 LIP ids, the neck as background.

    Raises:
        ClothflowError: missing/corrupt file, ids out of range, or a colour image that is no parsing.
    """
    if scheme not in SCHEMES:
        raise ClothflowError(f"unknown label scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    path = Path(path)
    ids = np.ascontiguousarray(_stored_ids(path), dtype=np.uint8)
    if scheme == "auto":
        scheme = detect_scheme(ids)
    _check_ids(ids, path, SCHEME_MAX_ID[scheme])
    return to_lip(ids, scheme)


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

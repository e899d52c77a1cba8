"""Human-parsing labels: the LIP ids datasets use, and the few classes the models predict.

The grouping from LIP ids to model classes is defined here and nowhere else.

Example:
    >>> import torch
    >>> parse = torch.tensor([[0, 5, 13], [9, 14, 19]])
    >>> to_groups(parse).tolist()
    [[0, 3, 2], [5, 6, 8]]
"""

from __future__ import annotations

import numpy as np
import torch

# LIP (Look Into Person) label ids, as written by LIP/CIHP human parsers.
LIP_LABELS: dict[int, str] = {
    0: "background",
    1: "hat",
    2: "hair",
    3: "glove",
    4: "sunglasses",
    5: "upper-clothes",
    6: "dress",
    7: "coat",
    8: "socks",
    9: "pants",
    10: "jumpsuits",
    11: "scarf",
    12: "skirt",
    13: "face",
    14: "left-arm",
    15: "right-arm",
    16: "left-leg",
    17: "right-leg",
    18: "left-shoe",
    19: "right-shoe",
}
LIP = {name: idx for idx, name in LIP_LABELS.items()}
# LIP ids that name a side, and their mirror: left/right arm, leg and shoe.
LIP_MIRROR = {14: 15, 15: 14, 16: 17, 17: 16, 18: 19, 19: 18}

# The one reading of every parsing: LIP ids, with the neck (and other bare torso skin) as
# background, as VITON's own ``image-parse`` and the parser trained on it mark it. The schemes
# files come in, and how each maps to it:
# - "lip": LIP ids as they are (10 is "jumpsuits", a garment).
# - "cihp": CIHP, and the VITON / VITON-HD parsings made with CIHP-trained parsers, use the LIP
#   ids except 10, which is "torso-skin" (the neck, a bare chest): read as background. Read as an
#   arm it was hidden by the clothing-agnostic person and covered by the new garment (every
#   person got a turtleneck); read as LIP's "jumpsuits" it was part of the dress class.
# - "lip-neck": CP-VTON+'s corrected VITON parsing (``image-parse-new``): the LIP ids plus 20,
#   the neck: read as background (where VITON's ``image-parse`` has it).
NECK = 0
CIHP_TORSO_SKIN = 10
LIP_NECK = 20
CIHP_TO_LIP = np.arange(256, dtype=np.uint8)
CIHP_TO_LIP[CIHP_TORSO_SKIN] = NECK
LIP_NECK_TO_LIP = np.arange(256, dtype=np.uint8)
LIP_NECK_TO_LIP[LIP_NECK] = NECK
SCHEME_TO_LIP: dict[str, np.ndarray] = {
    "lip": np.arange(256, dtype=np.uint8),
    "cihp": CIHP_TO_LIP,
    "lip-neck": LIP_NECK_TO_LIP,
}
# The largest id each scheme's files hold.
SCHEME_MAX_ID: dict[str, int] = {"lip": len(LIP_LABELS) - 1, "cihp": len(LIP_LABELS) - 1, "lip-neck": LIP_NECK}


def to_lip(ids: np.ndarray, scheme: str) -> np.ndarray:
    """Map a parsing in one of :data:`SCHEME_TO_LIP`'s schemes to the one reading (LIP ids, neck = background).

    Args:
        ids: H x W uint8 ids as the file stores them.
        scheme: "lip", "cihp" or "lip-neck".

    Returns:
        H x W uint8 LIP ids in [0, 20).

    Example:
        >>> to_lip(np.array([[10, 13]], np.uint8), "cihp").tolist(), to_lip(np.array([[10, 20]], np.uint8), "lip-neck").tolist()
        ([[0, 13]], [[10, 0]])
    """
    if scheme not in SCHEME_TO_LIP:
        raise ValueError(f"unknown label scheme {scheme!r}; choose one of {', '.join(SCHEME_TO_LIP)}")
    return SCHEME_TO_LIP[scheme][ids]


# Model classes, each a group of LIP ids.
GROUPS: dict[str, tuple[int, ...]] = {
    "background": (0,),
    "hair": (1, 2),
    "face": (4, 13),
    "upper": (5, 7, 11),
    "dress": (6, 10),
    "bottom": (9, 12),
    "arms": (3, 14, 15),
    "legs": (8, 16, 17),
    "shoes": (18, 19),
}
GROUP_NAMES: tuple[str, ...] = tuple(GROUPS)
NUM_CLASSES = len(GROUPS)

# Classes that are clothing: the region the flow stage moves.
CLOTH_GROUPS: tuple[str, ...] = ("upper", "dress", "bottom")
CLOTH_CLASS_IDS: tuple[int, ...] = tuple(GROUP_NAMES.index(g) for g in CLOTH_GROUPS)

_LUT = np.zeros(256, dtype=np.int64)
for _cls, (_name, _ids) in enumerate(GROUPS.items()):
    for _i in _ids:
        _LUT[_i] = _cls
_LUT_TORCH = torch.from_numpy(_LUT)


def to_groups(parse: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Map LIP ids to model class indices.

    Args:
        parse: integer label map of any shape, LIP ids in [0, 255] (unknown ids map to background).

    Returns:
        The same shape, class indices in [0, NUM_CLASSES).
    """
    if isinstance(parse, np.ndarray):
        return _LUT[parse.astype(np.int64)]
    return _LUT_TORCH.to(parse.device)[parse.long()]


def one_hot(classes: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """One-hot encode class maps.

    Args:
        classes: N x H x W integer class indices.

    Returns:
        N x num_classes x H x W float tensor.
    """
    if classes.dim() != 3:
        raise ValueError(f"expected N x H x W class maps, got shape {tuple(classes.shape)}")
    return torch.nn.functional.one_hot(classes.long(), num_classes).permute(0, 3, 1, 2).float()


def cloth_mask(classes: torch.Tensor) -> torch.Tensor:
    """Clothing region of class maps.

    Args:
        classes: N x H x W class indices (from :func:`to_groups`).

    Returns:
        N x 1 x H x W float mask, 1 on clothing classes.
    """
    mask = torch.zeros_like(classes, dtype=torch.bool)
    for cls in CLOTH_CLASS_IDS:
        mask |= classes == cls
    return mask.unsqueeze(1).float()


# A colour per model class, for previews and grids.
GROUP_COLOURS = np.array(
    [
        [0, 0, 0],
        [128, 64, 0],
        [255, 200, 160],
        [220, 40, 40],
        [200, 60, 200],
        [40, 80, 220],
        [250, 150, 60],
        [120, 200, 80],
        [90, 90, 90],
    ],
    dtype=np.uint8,
)
assert len(GROUP_COLOURS) == NUM_CLASSES


def colourise(classes: np.ndarray) -> np.ndarray:
    """H x W class indices -> H x W x 3 uint8 colour image."""
    return GROUP_COLOURS[np.clip(classes, 0, NUM_CLASSES - 1)]

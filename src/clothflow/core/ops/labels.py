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

# CIHP (and the VITON / VITON-HD parsings made with CIHP-trained parsers) use the LIP ids
# except 10, which is "torso-skin" (neck and exposed chest) instead of LIP's "jumpsuits".
# Torso skin is skin that clothing may cover or reveal, like bare arms, so it is mapped to a
# skin id of the "arms" group (LIP 14) rather than to "dress", where LIP 10 would put it.
CIHP_TORSO_SKIN = 10
CIHP_TO_LIP = np.arange(256, dtype=np.uint8)
CIHP_TO_LIP[CIHP_TORSO_SKIN] = 14

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

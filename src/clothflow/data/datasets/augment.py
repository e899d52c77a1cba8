"""Data augmentation of try-on and pose-transfer items: a mirror image with left and right swapped.

A horizontal flip of a person photo is another valid photo only if what is "left" becomes
"right": the LIP parsing swaps its left/right ids (arms, legs, shoes) and the COCO-18
keypoints swap their left/right joints, besides mirroring their x coordinate.

Example:
    >>> import torch
    >>> item = {"person": torch.arange(6.).view(1, 1, 2, 3).expand(1, 3, 2, 3)[0],
    ...         "person_parse": torch.tensor([[14, 0, 15], [16, 0, 18]]),
    ...         "person_pose": torch.tensor([[0.0, 1.0]] * 18)}
    >>> out = hflip_item(item)
    >>> out["person"][0].tolist(), out["person_parse"].tolist()
    ([[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]], [[14, 0, 15], [19, 0, 17]])
    >>> out["person_pose"][0].tolist()
    [2.0, 1.0]
"""

from __future__ import annotations

import torch

from clothflow.core.ops.labels import LIP_MIRROR

# COCO-18 keypoints that name a side: shoulders, elbows, wrists, hips, knees, ankles, eyes, ears.
COCO18_MIRROR = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)

_IMAGES = ("person", "cloth", "cloth_mask", "target", "src_image", "tgt_image", "visible")
_PARSES = ("person_parse", "target_parse", "src_parse", "tgt_parse")
_POSES = ("person_pose", "src_pose", "tgt_pose")


def mirror_labels(parse: torch.Tensor) -> torch.Tensor:
    """LIP ids with left and right swapped (any shape, integer)."""
    table = torch.arange(256, dtype=parse.dtype)
    for a, b in LIP_MIRROR.items():
        table[a] = b
    return table[parse.long()].to(parse.dtype)


def mirror_keypoints(kps: torch.Tensor, width: int) -> torch.Tensor:
    """18 x 2 keypoints (pixels, -1 missing) of the mirrored image: x -> W - 1 - x, sides swapped."""
    present = (kps >= 0).all(-1, keepdim=True)
    flipped = torch.stack([width - 1 - kps[..., 0], kps[..., 1]], -1)
    return torch.where(present, flipped, kps)[..., list(COCO18_MIRROR), :]


def hflip_item(item: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The mirror image of a dataset item (images C x H x W, parsings H x W, poses 18 x 2).

    Flow fields are not mirrored (their x component would change sign): items with ``flow``
    are refused.
    """
    if "flow" in item:
        raise ValueError("items with a ground-truth flow cannot be mirrored here")
    width = next(v.shape[-1] for k, v in item.items() if k in _IMAGES + _PARSES)
    out = {}
    for key, value in item.items():
        if key in _IMAGES:
            out[key] = value.flip(-1)
        elif key in _PARSES:
            out[key] = mirror_labels(value.flip(-1))
        elif key in _POSES:
            out[key] = mirror_keypoints(value, width)
        else:
            out[key] = value
    return out

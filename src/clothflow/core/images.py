"""Conversions between image arrays and the tensors of the data contract, and writing a PNG.

Tensors: images 3 x H x W (or N x 3 x H x W) float32 in [-1, 1]; IUV maps 3 x H x W in
[0, 1]; flows 2 x H x W in pixels with a 1 x H x W visibility mask. Arrays: H x W x 3 uint8
RGB, H x W x 2 float32 flows, H x W bool masks. The ``resized_*`` / ``label_tensor`` /
``mask_tensor`` forms also resize to the model's size and add the batch dimension (inference
on photos of any size).

Example:
    >>> import numpy as np
    >>> t = image_tensor(np.array([[[0, 128, 255]]], np.uint8))
    >>> t.shape, [round(v, 3) for v in t.flatten().tolist()]
    (torch.Size([3, 1, 1]), [-1.0, 0.004, 1.0])
    >>> to_uint8(t).tolist()
    [[[0, 128, 255]]]
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from clothflow.core.errors import ClothflowError


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 RGB -> 3 x H x W float32 in [-1, 1] (no resizing)."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(127.5).sub_(1.0)


def resized_image_tensor(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """H x W x 3 uint8 RGB -> 1 x 3 x h x w float32 in [-1, 1], resized (area) to ``size`` = (h, w)."""
    return image_tensor(cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)).unsqueeze(0)


def label_tensor(labels_map: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """H x W label ids -> 1 x h x w int64, resized (nearest) to ``size`` = (h, w)."""
    small = cv2.resize(labels_map, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    return torch.from_numpy(small.astype(np.int64)).unsqueeze(0)


def mask_tensor(mask: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """H x W mask -> 1 x 1 x h x w float32, resized (nearest) to ``size`` = (h, w)."""
    small = cv2.resize(mask.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    return torch.from_numpy(small)[None, None]


def iuv_tensor(iuv: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 IUV -> 3 x H x W float32 in [0, 1]: (I / 24, U, V)."""
    t = torch.from_numpy(np.ascontiguousarray(iuv.transpose(2, 0, 1))).float()
    return t / torch.tensor([24.0, 255.0, 255.0]).view(3, 1, 1)


def flow_tensors(flow: np.ndarray, visible: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(H x W x 2 flow, H x W bool) -> (2 x H x W float32, 1 x H x W float32 0/1)."""
    flow_t = torch.from_numpy(np.ascontiguousarray(flow.transpose(2, 0, 1), dtype=np.float32))
    return flow_t, torch.from_numpy(np.asarray(visible))[None].float()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Quantise [-1, 1] images as saving them to PNG does (clip, round to nearest).

    pix2pix-lineage code (PATN, GFLA) truncates instead of rounding when saving, which makes
    its images up to one grey level darker; this is not reproduced.

    Args:
        images: 3 x H x W (one image) or N x 3 x H x W (a batch) float tensor in [-1, 1].

    Returns:
        H x W x 3 or N x H x W x 3 uint8 array (channels last, the rank of the input kept).

    Raises:
        ValueError: any other shape.

    Example:
        >>> to_uint8(torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1)).tolist()
        [[[[0, 128, 255]]]]
        >>> to_uint8(torch.zeros(3, 2, 1)).shape
        (2, 1, 3)
    """
    if images.dim() not in (3, 4) or images.shape[-3] != 3:
        raise ValueError(f"expected 3 x H x W or N x 3 x H x W images, got {tuple(images.shape)}")
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round()
    return x.to(torch.uint8).movedim(-3, -1).numpy()


def save_png(path: str | Path, image: np.ndarray) -> None:
    """Write an H x W x 3 RGB uint8 image as PNG.

    Raises:
        ClothflowError: the file cannot be written (naming it).
    """
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise ClothflowError("cannot write image", path)

"""The differentiable SSIM of the project: one map, used by the losses and the training metrics.

It is :func:`kornia.metrics.ssim` with an 11 x 11 Gaussian window of sigma 1.5, Wang et al.'s
constants ``c1 = (0.01 L)^2``, ``c2 = (0.03 L)^2`` for a data range ``L``, and reflect padding
so the map covers every pixel. The SSIM reported next to published numbers is another one,
scikit-image's on uint8 images (:func:`clothflow.evaluation.metrics.paper_ssim`).

Example:
    >>> import torch
    >>> x = torch.rand(2, 3, 16, 16)
    >>> s = ssim_map(x, x)
    >>> s.shape, round(float(s.min()), 5)
    (torch.Size([2, 3, 16, 16]), 1.0)
"""

from __future__ import annotations

import kornia
import torch

SSIM_WINDOW = 11  # taps of the Gaussian window; kornia's sigma is 1.5 for every window size
SSIM_SIGMA = 1.5


def ssim_map(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-pixel, per-channel SSIM of two image batches (differentiable).

    Values are not rescaled: images in [0, 1] take ``data_range=1``; images in [-1, 1] are to be
    mapped to [0, 1] first (SSIM is not invariant to a shift of both images).

    Args:
        x: N x C x H x W.
        y: N x C x H x W, same shape; H and W larger than 5 (the window's radius).
        data_range: the range ``L`` of the values.

    Returns:
        N x C x H x W map; 1 where the images agree.
    """
    if x.dim() != 4 or x.shape != y.shape:
        raise ValueError(f"expected two N x C x H x W tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    return kornia.metrics.ssim(x, y, SSIM_WINDOW, max_val=float(data_range), eps=0.0)

"""Image, flow and layout metrics as pure functions on batches.

Images are N x 3 x H x W in [-1, 1]; masks N x 1 x H x W in {0, 1}; flows N x 2 x H x W.

Example:
    >>> import torch
    >>> x = torch.rand(2, 3, 32, 32) * 2 - 1
    >>> round(float(ssim(x, x).mean()), 4)
    1.0
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _gaussian_window(size: int, sigma: float, device, dtype) -> torch.Tensor:
    coords = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim_map(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-pixel SSIM (Gaussian window, Wang et al. constants) of images in [-1, 1].

    Returns:
        N x 1 x H x W map (channel mean), reflect-padded so it covers every pixel.
    """
    x = (x + 1) / 2
    y = (y + 1) / 2
    c = x.shape[1]
    k = _gaussian_window(window, sigma, x.device, x.dtype).expand(c, 1, window, window)
    pad = window // 2

    def blur(t):
        return F.conv2d(F.pad(t, (pad, pad, pad, pad), mode="reflect"), k, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x**2
    syy = blur(y * y) - mu_y**2
    sxy = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return s.mean(1, keepdim=True)


def ssim(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean SSIM per image (N,), over the whole image or over ``mask`` pixels."""
    return masked_mean(ssim_map(x, y), mask)


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Per-image mean of N x C x H x W values over mask pixels (all pixels when mask is None)."""
    if mask is None:
        return values.flatten(1).mean(1)
    mask = mask.expand_as(values)
    return (values * mask).flatten(1).sum(1) / mask.flatten(1).sum(1).clamp(min=1)


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image (N,), in the [-1, 1] scale."""
    return (x - y).abs().flatten(1).mean(1)


def endpoint_error(flow: torch.Tensor, true_flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean end-point error in pixels per image (N,) over ``mask`` pixels."""
    epe = (flow - true_flow).norm(dim=1, keepdim=True)
    return masked_mean(epe, mask)


def confusion(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """num_classes x num_classes counts (rows = truth, columns = prediction)."""
    idx = target.flatten().long() * num_classes + pred.flatten().long()
    return torch.bincount(idx, minlength=num_classes**2).view(num_classes, num_classes)


def iou_from_confusion(conf: torch.Tensor) -> torch.Tensor:
    """Per-class IoU; NaN for classes absent from both truth and prediction."""
    conf = conf.double()
    inter = conf.diag()
    union = conf.sum(0) + conf.sum(1) - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.full_like(union, float("nan")))


def mean_iou(conf: torch.Tensor) -> float:
    """Mean IoU over the classes that occur."""
    iou = iou_from_confusion(conf)
    return float(iou[~iou.isnan()].mean())

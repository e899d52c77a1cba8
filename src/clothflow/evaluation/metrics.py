"""Image, flow and layout metrics as pure functions on batches.

Two families live here; evaluation that is compared with published numbers uses the second.

=====================  =====================================================  ==========================
function               what it computes                                       use it for
=====================  =====================================================  ==========================
``ssim_map``/``ssim``  the project's differentiable SSIM (kornia, Gaussian     training curves, the demo,
                       11 x 11, sigma 1.5, reflect padding; the one the       internal warp comparisons
                       losses use) on [-1, 1] floats, every pixel averaged
``paper_ssim``         scikit-image ``structural_similarity`` on uint8        tables next to PATN, GFLA,
                       (``gaussian_weights=True, sigma=1.5,                   ClothFlow, ADGAN ...
                       use_sample_covariance=False``, data range 255), border
                       of 5 px ignored, optional PATN ``addBounding`` padding
``paper_masked_ssim``  mean of that SSIM map over mask pixels                 SSIM of a region (cloth)
``psnr``               10 log10(255^2 / MSE) on uint8                         tables
``paper_l1``           mean |x - y| of uint8 images mapped to [-1, 1]         tables (pose-gan/PATN
                       (or [0, 1]: GFLA's ``l1``)                             ``l1_score``)
``l1``                 mean |x - y| on [-1, 1] floats (no quantisation)       training curves
``endpoint_error``     mean flow end-point error over a mask                  flow stage
``flow_accuracy``      EPE plus % of masked pixels with EPE < 1 px and < 3 px flow stage (tables)
``confusion``, ``iou_from_confusion``, ``mean_iou``: per-class and mean IoU    layout stage
=====================  =====================================================  ==========================

Conventions: torch images are N x 3 x H x W in [-1, 1]; masks N x 1 x H x W in {0, 1}; flows
N x 2 x H x W in pixels. The ``paper_*`` functions and ``psnr`` take either such a tensor (it is
quantised with :func:`to_uint8`, as saving to PNG would) or uint8 arrays N x H x W x 3, and
return float64 numpy arrays of shape (N,). PATN's ``getMetrics_fashion.py`` and GFLA's
``ssim_256`` literally pass ``data_range=generated.max() - generated.min()``; that is
``data_range="generated"`` here (close to 255 on DeepFashion's white-background images).
FID, IS and LPIPS are in :mod:`clothflow.evaluation.fid`, :mod:`clothflow.evaluation.lpips` and, over a whole set,
:func:`clothflow.evaluation.deep_metrics.deep_metrics`.

Example:
    >>> import torch
    >>> x = torch.rand(2, 3, 32, 32) * 2 - 1
    >>> round(float(ssim(x, x).mean()), 4)
    1.0
    >>> paper_ssim(x, x).round(4).tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from clothflow.core.images import to_uint8
from clothflow.core.ops import ssim as ops_ssim


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-pixel SSIM of images in [-1, 1]: the project's differentiable SSIM (:mod:`clothflow.core.ops.ssim`).

    Args:
        x, y: N x 3 x H x W in [-1, 1] (mapped to [0, 1], data range 1).

    Returns:
        N x 1 x H x W map (channel mean), reflect-padded so it covers every pixel.
    """
    return ops_ssim.ssim_map((x + 1) / 2, (y + 1) / 2, data_range=1.0).mean(1, keepdim=True)


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


def flow_accuracy(
    flow: torch.Tensor, true_flow: torch.Tensor, mask: torch.Tensor, thresholds: tuple[float, ...] = (1.0, 3.0)
) -> dict[str, torch.Tensor]:
    """End-point error and the share of pixels whose error is under each threshold.

    Args:
        flow: N x 2 x H x W estimated flow in pixels.
        true_flow: N x 2 x H x W ground-truth flow in pixels.
        mask: N x 1 x H x W, 1 on the pixels scored (e.g. target cloth visible in the source).
        thresholds: pixel thresholds; a pixel counts when its EPE is strictly below one.

    Returns:
        ``{"epe": (N,), "under_1px": (N,), "under_3px": (N,)}`` per image, the percentages in
        [0, 100] of the masked pixels (0 for an image with an empty mask). Keys are
        ``f"under_{t:g}px"``.

    Example:
        >>> flow, truth = torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4)
        >>> truth[:, 0] = 2.0
        >>> {k: float(v) for k, v in flow_accuracy(flow, truth, torch.ones(1, 1, 4, 4)).items()}
        {'epe': 2.0, 'under_1px': 0.0, 'under_3px': 100.0}
    """
    if flow.shape != true_flow.shape or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"flows must both be N x 2 x H x W, got {tuple(flow.shape)} and {tuple(true_flow.shape)}")
    epe = (flow - true_flow).norm(dim=1, keepdim=True)
    out = {"epe": masked_mean(epe, mask)}
    for t in thresholds:
        out[f"under_{t:g}px"] = 100.0 * masked_mean((epe < t).to(epe.dtype), mask)
    return out


# ---------------------------------------------------------------------------------------------
# Metrics as the pose-transfer papers compute them (uint8 images, scikit-image SSIM).
# ---------------------------------------------------------------------------------------------

SSIM_WIN = 11  # what gaussian_weights=True, sigma=1.5 (truncate 3.5) gives in scikit-image
PAPER_WIDTH = 256  # PATN/GFLA pad 256 x 176 DeepFashion images to 256 x 256 before SSIM


def _as_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(images, torch.Tensor):
        if images.dim() != 4:
            raise ValueError(f"expected N x 3 x H x W images, got {tuple(images.shape)}")
        return to_uint8(images)
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"expected uint8 N x H x W x 3 images, got {arr.dtype} {arr.shape}")
    return arr


def add_bounding(images: np.ndarray, width: int | None = None, value: int = 255) -> np.ndarray:
    """PATN's ``addBounding``: pad the left and right with white to ``width`` columns.

    The pad is ``(width - W) // 2`` on the left and the rest on the right. By default images
    are padded to a square (``width = H``), so a 256 x 176 image gets 40 px each side (PATN's
    fixed ``bound=40``) and smaller sizes scale alike (64 x 44 gets 10 px). Images already
    ``width`` wide are returned unchanged.

    Args:
        images: N x H x W x C uint8 (or N x H x W mask) array.
        width: width after padding (default: the height, a square).
        value: fill value (255 = white for images; use 0 for masks).

    Returns:
        N x H x width (x C) array of the same dtype.

    Example:
        >>> add_bounding(np.zeros((1, 256, 176, 3), np.uint8)).shape
        (1, 256, 256, 3)
    """
    w = images.shape[2]
    width = images.shape[1] if width is None else width
    if w > width:
        raise ValueError(f"images are {w} px wide, more than the padded width {width}")
    left = (width - w) // 2
    pad = [(0, 0)] * images.ndim
    pad[2] = (left, width - w - left)
    return np.pad(images, pad, mode="constant", constant_values=value)


def paper_ssim_map(
    real: torch.Tensor | np.ndarray,
    fake: torch.Tensor | np.ndarray,
    bounding: bool = False,
    data_range: float | Literal["generated"] = 255.0,
) -> np.ndarray:
    """Per-pixel SSIM map of scikit-image ``structural_similarity(..., full=True)``.

    Settings: ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    channel_axis=-1`` (the old ``multichannel=True``), as in PATN's and GFLA's metric scripts.

    Args:
        real: the ground truth, N x 3 x H x W in [-1, 1] or uint8 N x H x W x 3.
        fake: the generated images, same form.
        bounding: pad both to 256 wide with white first (PATN ``addBounding``).
        data_range: 255 (uint8), or ``"generated"`` for what the published scripts literally
            pass, ``fake.max() - fake.min()`` per image (1 when the image is flat).

    Returns:
        N x H x W' float64 map, averaged over the colour channels (W' = 256 with bounding).
        Its 5 px border is what scikit-image excludes from the mean.
    """
    from skimage.metrics import structural_similarity

    a, b = _as_uint8(real), _as_uint8(fake)
    if a.shape != b.shape:
        raise ValueError(f"real and fake differ in shape: {a.shape} vs {b.shape}")
    if bounding:
        a, b = add_bounding(a), add_bounding(b)
    maps = []
    for x, y in zip(a, b):
        r = max(float(y.max()) - float(y.min()), 1.0) if data_range == "generated" else float(data_range)
        _, s = structural_similarity(
            x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
            data_range=r, channel_axis=-1, full=True,
        )
        maps.append(s.mean(-1))
    return np.stack(maps)


def _interior(h: int, w: int) -> np.ndarray:
    pad = (SSIM_WIN - 1) // 2
    inside = np.zeros((h, w), bool)
    inside[pad : h - pad, pad : w - pad] = True
    return inside


def paper_ssim(
    real: torch.Tensor | np.ndarray,
    fake: torch.Tensor | np.ndarray,
    bounding: bool = False,
    data_range: float | Literal["generated"] = 255.0,
) -> np.ndarray:
    """SSIM per image as the pose-transfer papers report it (see :func:`paper_ssim_map`).

    Equals ``structural_similarity(real, fake, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255, channel_axis=-1)`` image by image.

    Returns:
        (N,) float64.

    Example:
        >>> x = np.full((1, 32, 32, 3), 128, np.uint8)
        >>> paper_ssim(x, x, bounding=True).tolist()
        [1.0]
    """
    return paper_masked_ssim(real, fake, None, bounding=bounding, data_range=data_range)


def paper_masked_ssim(
    real: torch.Tensor | np.ndarray,
    fake: torch.Tensor | np.ndarray,
    mask: torch.Tensor | np.ndarray | None,
    bounding: bool = False,
    data_range: float | Literal["generated"] = 255.0,
) -> np.ndarray:
    """Mean of the scikit-image SSIM map over mask pixels (away from the 5 px image border).

    With a mask of ones this is exactly :func:`paper_ssim`. It is not the "mask-SSIM" of
    Ma et al./Siarohin et al. (SSIM of the images multiplied by a body mask); for that use
    ``paper_ssim(real * m, fake * m)`` on uint8 arrays.

    Args:
        real, fake: as in :func:`paper_ssim_map`.
        mask: N x 1 x H x W tensor or N x H x W array, nonzero = scored; None = all pixels.
            With ``bounding`` it is padded with zeros (the white margin is never scored).
        bounding, data_range: as in :func:`paper_ssim_map`.

    Returns:
        (N,) float64; NaN for an image whose mask has no interior pixel.

    Example:
        >>> x = np.zeros((1, 32, 32, 3), np.uint8)
        >>> m = np.zeros((1, 32, 32)); m[:, :, :12] = 1
        >>> y = x.copy(); y[:, :, 24:] = 255
        >>> paper_masked_ssim(x, y, m).tolist()
        [1.0]
    """
    maps = paper_ssim_map(real, fake, bounding=bounding, data_range=data_range)
    n, h, w = maps.shape
    keep = np.broadcast_to(_interior(h, w), (n, h, w))
    if mask is not None:
        m = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
        m = m.reshape(m.shape[0], *m.shape[-2:]) != 0
        if bounding:
            m = add_bounding(m, value=0)
        if m.shape != maps.shape:
            raise ValueError(f"mask shape {m.shape} does not match the images {maps.shape}")
        keep = keep & m
    count = keep.sum((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(keep, maps, 0.0).sum((1, 2)) / count


def psnr(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray) -> np.ndarray:
    """PSNR in dB of uint8 images, ``10 log10(255^2 / MSE)`` with MSE over pixels and channels.

    The same value as ``skimage.metrics.peak_signal_noise_ratio(real, fake, data_range=255)`` and
    as GFLA's ``compare_psnr`` on images divided by 255.

    Returns:
        (N,) float64; ``inf`` for identical images.

    Example:
        >>> x = np.zeros((1, 8, 8, 3), np.uint8)
        >>> psnr(x, x + 10).round(4).tolist()  # 20 log10(255 / 10)
        [28.1308]
    """
    a, b = _as_uint8(real).astype(np.float64), _as_uint8(fake).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"real and fake differ in shape: {a.shape} vs {b.shape}")
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(255.0**2 / mse)


def paper_l1(
    real: torch.Tensor | np.ndarray,
    fake: torch.Tensor | np.ndarray,
    value_range: tuple[float, float] = (-1.0, 1.0),
) -> np.ndarray:
    """Mean absolute difference of uint8 images after mapping [0, 255] onto ``value_range``.

    The default (-1, 1) is pose-gan/PATN's ``l1_score`` (``|2(x/255 - .5) - 2(y/255 - .5)|``);
    ``(0.0, 1.0)`` gives half of it, GFLA's ``l1``/MAE on images divided by 255.

    Returns:
        (N,) float64.

    Example:
        >>> x = np.zeros((1, 4, 4, 3), np.uint8)
        >>> paper_l1(x, x + 51).tolist(), paper_l1(x, x + 51, (0.0, 1.0)).tolist()
        ([0.4], [0.2])
    """
    a, b = _as_uint8(real).astype(np.float64), _as_uint8(fake).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"real and fake differ in shape: {a.shape} vs {b.shape}")
    scale = (value_range[1] - value_range[0]) / 255.0
    return np.abs(a - b).reshape(len(a), -1).mean(1) * scale

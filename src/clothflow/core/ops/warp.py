"""Warping and flow resampling: small pure functions shared by the flow stage and the data.

Convention: a flow is N x 2 x H x W in pixels, (dx, dy), target -> source (backward warping):
the output pixel (x, y) takes its value from the input at (x + dx, y + dy).

Sampling uses ``grid_sample(mode="bilinear", align_corners=True)``: pixel centres 0 and W - 1
map to -1 and +1, so a flow of k pixels moves content by exactly k pixels at any resolution.
Samples that fall outside the input read zeros (``padding_mode="zeros"``) unless another
padding is asked for; :func:`warp` can also return which output pixels sampled inside.

Example:
    >>> import torch
    >>> x = torch.zeros(1, 1, 4, 4); x[0, 0, 1, 2] = 1.0
    >>> flow = torch.zeros(1, 2, 4, 4); flow[:, 0] = 1.0  # every pixel reads one to its right
    >>> warp(x, flow)[0, 0, 1].tolist()
    [0.0, 1.0, 0.0, 0.0]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def coords_grid(n: int, height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Pixel coordinates (x, y) of every pixel: N x 2 x H x W."""
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=dtype),
        torch.arange(width, device=device, dtype=dtype),
        indexing="ij",
    )
    return torch.stack((xs, ys)).unsqueeze(0).expand(n, 2, height, width)


def flow_to_grid(flow: torch.Tensor) -> torch.Tensor:
    """Pixel flow N x 2 x H x W -> normalised sampling grid N x H x W x 2 (align_corners=True)."""
    n, _, h, w = flow.shape
    pos = coords_grid(n, h, w, flow.device, flow.dtype) + flow
    gx = 2.0 * pos[:, 0] / max(w - 1, 1) - 1.0
    gy = 2.0 * pos[:, 1] / max(h - 1, 1) - 1.0
    return torch.stack((gx, gy), dim=-1)


def warp(x: torch.Tensor, flow: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Backward-warp ``x`` by a pixel flow, bilinearly and differentiably.

    Args:
        x: N x C x Hs x Ws input (the source). If its size differs from the flow's, the flow
            is taken to be in the flow's pixel units and rescaled to the input's.
        flow: N x 2 x H x W, (dx, dy) in pixels, target -> source.
        padding_mode: ``grid_sample`` padding for samples outside the input.

    Returns:
        N x C x H x W warped tensor.
    """
    if x.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2 or x.shape[0] != flow.shape[0]:
        raise ValueError(f"expected N x C x H x W input and N x 2 x H x W flow, got {tuple(x.shape)} and {tuple(flow.shape)}")
    h, w = flow.shape[-2:]
    hs, ws = x.shape[-2:]
    if (hs, ws) != (h, w):
        # positions in the flow's frame -> the input's frame (align_corners convention)
        pos = coords_grid(flow.shape[0], h, w, flow.device, flow.dtype) + flow
        gx = 2.0 * pos[:, 0] / max(w - 1, 1) - 1.0
        gy = 2.0 * pos[:, 1] / max(h - 1, 1) - 1.0
        grid = torch.stack((gx, gy), dim=-1)
    else:
        grid = flow_to_grid(flow)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)


def upflow(flow: torch.Tensor, factor: int = 2, mode: str = "nearest") -> torch.Tensor:
    """Upsample a pixel flow by an integer factor; values scale with the resolution.

    Args:
        flow: N x 2 x h x w in pixels.
        factor: the upsampling factor.
        mode: "nearest" (the paper's ``U``: every coarse vector repeated over a factor x factor
            block, a staircase) or "bilinear" (smooth; pixel centres aligned as image resizers
            align them, the same geometry as "nearest").

    Returns:
        N x 2 x (factor h) x (factor w), in pixels of the new size.
    """
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"unknown flow upsampling {mode!r}; choose nearest or bilinear")
    extra = {"align_corners": False} if mode == "bilinear" else {}
    return factor * F.interpolate(flow, scale_factor=factor, mode=mode, **extra)


def upsample_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a pixel flow to ``size`` (H, W), for a frame resized as images are.

    Pixel centres are aligned as image resizers (OpenCV, PIL) align them, so the flow of an
    image resized from the photo, upsampled here, is the flow of the photo itself: dx is scaled
    by W / w and dy by H / h.

    Example:
        >>> flow = torch.ones(1, 2, 4, 3)
        >>> upsample_flow(flow, (8, 9))[0, :, 0, 0].tolist()
        [3.0, 2.0]
    """
    h, w = flow.shape[-2:]
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=False)
    scale = torch.tensor([size[1] / w, size[0] / h], device=flow.device, dtype=flow.dtype)
    return out * scale.view(1, 2, 1, 1)


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a pixel flow to ``size`` (H, W), rescaling dx and dy per axis."""
    h, w = flow.shape[-2:]
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=True)
    sx = (size[1] - 1) / max(w - 1, 1)
    sy = (size[0] - 1) / max(h - 1, 1)
    return out * torch.tensor([sx, sy], device=flow.device, dtype=flow.dtype).view(1, 2, 1, 1)

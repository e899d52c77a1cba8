"""Shared building blocks: conv + norm + activation, size padding, and a configurable U-Net.

Everything here is plain PyTorch (conv, norm, nearest upsampling, replicate padding), so the
stages built from it export to ONNX without custom ops.

Example:
    >>> import torch
    >>> net = UNet(in_channels=5, out_channels=2, base_channels=8, depth=3)
    >>> net(torch.randn(1, 5, 30, 22)).shape  # any size: padded inside, cropped back
    torch.Size([1, 2, 30, 22])
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

NORMS: tuple[str, ...] = ("instance", "batch", "none")


def check_shape(x: torch.Tensor, channels: int | None, name: str) -> None:
    """Raise ValueError unless ``x`` is N x C x H x W (with C == ``channels`` when given)."""
    if x.dim() != 4 or (channels is not None and x.shape[1] != channels):
        want = f"N x {channels} x H x W" if channels is not None else "N x C x H x W"
        raise ValueError(f"{name}: expected {want}, got shape {tuple(x.shape)}")


def check_same_size(tensors: dict[str, torch.Tensor | None]) -> None:
    """Raise ValueError unless every given tensor has the same batch size and H x W."""
    given = {k: v for k, v in tensors.items() if v is not None}
    ref_name, ref = next(iter(given.items()))
    for name, t in given.items():
        if t.shape[0] != ref.shape[0] or t.shape[-2:] != ref.shape[-2:]:
            raise ValueError(
                f"{name} has shape {tuple(t.shape)} but {ref_name} has {tuple(ref.shape)}: "
                "batch size and H x W must match"
            )


def optional_input(x: torch.Tensor | None, channels: int, name: str) -> list[torch.Tensor]:
    """``[x]`` if the model was configured with ``channels > 0`` extra channels, else ``[]``.

    Raises ValueError when ``x`` is missing but configured, given but not configured, or
    has the wrong number of channels.
    """
    if channels == 0:
        if x is not None:
            raise ValueError(f"{name} was given but the model was configured with 0 channels for it")
        return []
    if x is None:
        raise ValueError(f"the model was configured with {channels} {name} channels but no {name} was given")
    check_shape(x, channels, name)
    return [x]


def make_norm(norm: str, channels: int) -> nn.Module:
    """A normalisation layer by name: "instance" (affine), "batch" or "none" (identity)."""
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {norm!r}; expected one of {NORMS}")


class ConvNormAct(nn.Sequential):
    """3 x 3 conv (stride 1 or 2, 'same'-style padding) -> norm -> LeakyReLU(0.2).

    Args:
        in_channels, out_channels: channel counts.
        stride: 1 keeps H x W, 2 halves it (inputs with even H, W).
        norm: "instance", "batch" or "none".
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, norm: str = "instance") -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=norm != "batch"),
            make_norm(norm, out_channels),
            nn.LeakyReLU(0.2),
        )


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "replicate") -> torch.Tensor:
    """Pad H and W up to multiples of ``multiple``, on the right and bottom only.

    Padding only after the last row/column keeps pixel coordinates (and pixel flows) of the
    original image unchanged, so results are cropped back with ``[..., :H, :W]``.

    Args:
        x: N x C x H x W.
        multiple: the size divisor wanted (e.g. 2 ** depth).
        mode: ``F.pad`` mode ("replicate", "constant", "reflect").

    Returns:
        N x C x H' x W' with H' = ceil(H / multiple) * multiple (same for W); ``x`` itself
        when nothing needs padding.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), mode=mode)


class UNet(nn.Module):
    """U-Net: stride-2 conv encoder, nearest-upsample + conv decoder, skip connections.

    Channel width at scale 1/2^k is ``min(base_channels * 2**k, max_channels)``. Inputs of any
    size are padded (replicate, right/bottom) to a multiple of ``2**depth`` and the output is
    cropped back. The head is a plain 3 x 3 conv: no output activation (callers apply softmax,
    tanh, sigmoid as they need).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        base_channels: width at full resolution.
        depth: number of stride-2 down-samplings (and of up-samplings).
        norm: "instance", "batch" or "none".
        max_channels: width cap; default ``8 * base_channels``.
        scale: working resolution divisor: 2 runs the whole U-Net on the input average-pooled
            x2 and upsamples the output bilinearly to the input size (a quarter of the
            FLOPs, for outputs that need no pixel-level detail, such as layouts).

    Shape:
        - Input: N x in_channels x H x W.
        - Output: N x out_channels x H x W.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_channels: int = 64,
        depth: int = 4,
        norm: str = "instance",
        max_channels: int | None = None,
        scale: int = 1,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if scale < 1:
            raise ValueError(f"scale must be >= 1, got {scale}")
        self.scale = scale
        cap = max_channels if max_channels is not None else 8 * base_channels
        widths = [min(base_channels * 2**k, cap) for k in range(depth + 1)]
        self.in_channels = in_channels
        self.depth = depth
        self.stem = nn.Sequential(ConvNormAct(in_channels, widths[0], 1, norm), ConvNormAct(widths[0], widths[0], 1, norm))
        self.down = nn.ModuleList(
            nn.Sequential(ConvNormAct(widths[k], widths[k + 1], 2, norm), ConvNormAct(widths[k + 1], widths[k + 1], 1, norm))
            for k in range(depth)
        )
        # up[k] goes from scale k + 1 to scale k
        self.up = nn.ModuleList(ConvNormAct(widths[k + 1], widths[k], 1, norm) for k in range(depth))
        self.fuse = nn.ModuleList(ConvNormAct(2 * widths[k], widths[k], 1, norm) for k in range(depth))
        self.head = nn.Conv2d(widths[0], out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, self.in_channels, "UNet input")
        h, w = x.shape[-2:]
        multiple = 2**self.depth * self.scale
        x = pad_to_multiple(x, multiple)
        if self.scale > 1:
            x = F.avg_pool2d(x, self.scale)
        y = self.stem(x)
        skips = [y]
        for down in self.down:
            y = down(y)
            skips.append(y)
        for k in reversed(range(self.depth)):
            y = self.up[k](F.interpolate(y, scale_factor=2, mode="nearest"))
            y = self.fuse[k](torch.cat([y, skips[k]], dim=1))
        y = self.head(y)
        if self.scale > 1:
            y = F.interpolate(y, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return y[..., :h, :w]

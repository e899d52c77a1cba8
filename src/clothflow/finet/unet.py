"""A U-Net conditioned on a latent code at every decoder scale, inside the erased region.

The project's :class:`~clothflow.models.blocks.UNet` sees the code only as input planes; a
code that has to set a garment's colour and pattern travels through the whole encoder that
way. :class:`CodeUNet` also adds a learned projection of z to the bottleneck and to every
decoder level, masked to the (down-sampled) erased region so that instance normalisation
keeps it (a constant added everywhere would be subtracted again).

Example:
    >>> import torch
    >>> net = CodeUNet(in_channels=5, out_channels=3, z_dim=4, base_channels=8, depth=3)
    >>> mask = torch.zeros(2, 1, 64, 44); mask[..., 8:40, 8:30] = 1
    >>> net(torch.randn(2, 5, 64, 44), torch.randn(2, 4), mask).shape
    torch.Size([2, 3, 64, 44])
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from clothflow.models.blocks import UNet, check_shape, pad_to_multiple


class CodeUNet(UNet):
    """:class:`UNet` plus a code z added at the bottleneck and every decoder scale, inside ``mask``.

    Args:
        in_channels, out_channels, base_channels, depth, norm: as for :class:`UNet`.
        z_dim: size of the code.

    Shape:
        - x: N x in_channels x H x W; z: N x z_dim; mask: N x 1 x H x W in [0, 1].
        - Output: N x out_channels x H x W.
    """

    def __init__(self, in_channels: int, out_channels: int, z_dim: int, base_channels: int = 16, depth: int = 3,
                 norm: str = "instance") -> None:
        super().__init__(in_channels, out_channels, base_channels, depth, norm)
        widths = [self.fuse[k][0].out_channels for k in range(depth)] + [self.down[-1][0][0].out_channels]
        self.inject = nn.ModuleList(nn.Linear(z_dim, widths[k]) for k in range(depth + 1))

    def forward(self, x: torch.Tensor, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        check_shape(x, self.in_channels, "CodeUNet input")
        h, w = x.shape[-2:]
        m = pad_to_multiple(mask, 2**self.depth, mode="constant")
        y = self.stem(pad_to_multiple(x, 2**self.depth))
        skips = [y]
        for down in self.down:
            y = down(y)
            skips.append(y)
        y = y + self._code(self.depth, z, m)
        for k in reversed(range(self.depth)):
            y = self.up[k](F.interpolate(y, scale_factor=2, mode="nearest"))
            y = self.fuse[k](torch.cat([y, skips[k]], dim=1)) + self._code(k, z, m)
        return self.head(y)[..., :h, :w]

    def _code(self, level: int, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = F.adaptive_max_pool2d(mask, (mask.shape[-2] >> level, mask.shape[-1] >> level)) if level else mask
        return self.inject[level](z)[:, :, None, None] * m

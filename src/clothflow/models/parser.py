"""A human parser: a person photo -> its LIP parsing (20 ids), for photos that come without one.

A U-Net over the RGB photo and two coordinate planes (which side of the image a pixel is on
tells a left arm from a right one in a frontal photo) predicts the LIP id of every pixel.
It works at ``1 / scale`` of the model size and upsamples its logits; :meth:`HumanParser.parse`
takes a photo of any size and returns the parsing at that size. With ``mirror_average`` it
parses the photo and its mirror image (left and right ids swapped back) and averages the two
log-probabilities, which evens out the one-sided guesses of a small network.

Example:
    >>> import torch
    >>> parser = HumanParser(ParserConfig(size=(64, 48), base_channels=4, depth=3)).eval()
    >>> parser(torch.zeros(1, 3, 64, 48)).shape
    torch.Size([1, 20, 64, 48])
    >>> parser.parse(torch.zeros(2, 3, 100, 75)).shape, parser.parse(torch.zeros(2, 3, 100, 75)).dtype
    (torch.Size([2, 100, 75]), torch.int64)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from clothflow.core.config import from_dict
from clothflow.core.ops.labels import LIP_LABELS, LIP_MIRROR
from clothflow.core.pretrained import PretrainedMixin
from clothflow.models.blocks import UNet, check_shape


@dataclass
class ParserConfig:
    """The human parser's architecture.

    Args:
        size: (H, W) the photo is resized to.
        base_channels: U-Net width at its working resolution.
        depth: U-Net down-samplings.
        scale: working resolution divisor (2: the U-Net sees the photo at half size).
        num_labels: LIP ids predicted (0 .. num_labels - 1).
        norm: "instance", "batch" or "none".
        mirror_average: :meth:`HumanParser.parse` averages the photo's and its mirror
            image's predictions (twice the work; training is unchanged).
    """

    size: tuple[int, int] = (256, 192)
    base_channels: int = 16
    depth: int = 5
    scale: int = 2
    num_labels: int = len(LIP_LABELS)
    norm: str = "instance"
    mirror_average: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ParserConfig":
        return from_dict(cls, data)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _coordinates(n: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """N x 2 x H x W planes of x and y in [-1, 1]."""
    ys = torch.linspace(-1, 1, h, device=like.device, dtype=like.dtype)
    xs = torch.linspace(-1, 1, w, device=like.device, dtype=like.dtype)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), 0)
    return grid.unsqueeze(0).expand(n, -1, -1, -1)


class HumanParser(PretrainedMixin, nn.Module):
    """Photo -> LIP parsing logits (saved as a folder of kind "parser").

    Args:
        config: the architecture.
    """

    kind = "parser"
    config_class = ParserConfig

    def __init__(self, config: ParserConfig) -> None:
        super().__init__()
        self.config = config
        self.unet = UNet(3 + 2, config.num_labels, config.base_channels, config.depth, config.norm, scale=config.scale)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W photo in [-1, 1] (at ``config.size``) -> N x num_labels x H x W logits."""
        check_shape(image, 3, "image")
        n, _, h, w = image.shape
        return self.unet(torch.cat([image, _coordinates(n, h, w, image)], 1))

    @torch.no_grad()
    def parse(self, image: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W photo in [-1, 1], any size -> N x H x W int64 LIP ids at that size."""
        check_shape(image, 3, "image")
        size = tuple(image.shape[-2:])
        x = image if size == tuple(self.config.size) else F.interpolate(
            image, size=self.config.size, mode="bilinear", align_corners=False, antialias=True)
        if self.config.mirror_average:
            n = x.shape[0]
            both = self(torch.cat([x, x.flip(-1)])).log_softmax(1)
            mirror = [LIP_MIRROR.get(c, c) for c in range(self.config.num_labels)]
            logits = (both[:n] + both[n:].flip(-1)[:, mirror]) / 2
        else:
            logits = self(x)
        if size != tuple(self.config.size):
            logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        return logits.argmax(1)

"""Stage 1, conditional layout: predict the target person's segmentation.

``s_t^ = G_layout(I_s, s_s, p_t)``: a U-Net over the source image, the source layout (one-hot)
and the target pose heatmaps (plus optional extra maps, e.g. 3-channel IUV in the dense
variant) returns per-class logits of the target layout. Trained with :func:`clothflow.training.losses.layout_loss`.

Example:
    >>> import torch
    >>> net = LayoutNet(LayoutConfig(base_channels=8, depth=2))
    >>> logits = net(torch.zeros(1, 3, 32, 24), torch.zeros(1, 9, 32, 24), torch.zeros(1, 18, 32, 24))
    >>> logits.shape
    torch.Size([1, 9, 32, 24])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from clothflow.models.blocks import UNet, check_same_size, check_shape, optional_input


@dataclass
class LayoutConfig:
    """Layout network configuration (JSON-serialisable with ``dataclasses.asdict``).

    Attributes:
        base_channels: U-Net width at full resolution.
        depth: number of down-samplings.
        num_classes: layout classes (input one-hot channels and output logits).
        pose_channels: target pose heatmap channels.
        extra_channels: extra input channels (0, or e.g. 3 for IUV maps in the dense variant).
        norm: "instance", "batch" or "none".
        scale: working resolution divisor of the U-Net (2: it runs at half resolution and its
            output is upsampled bilinearly; see :class:`~clothflow.models.blocks.UNet`).
    """

    base_channels: int = 64
    depth: int = 4
    num_classes: int = 9
    pose_channels: int = 18
    extra_channels: int = 0
    norm: str = "instance"
    scale: int = 1


class LayoutNet(nn.Module):
    """Conditional layout generator (stage 1).

    Args:
        cfg: the configuration.
    """

    def __init__(self, cfg: LayoutConfig) -> None:
        super().__init__()
        self.config = cfg
        in_ch = 3 + cfg.num_classes + cfg.pose_channels + cfg.extra_channels
        self.unet = UNet(in_ch, cfg.num_classes, cfg.base_channels, cfg.depth, cfg.norm, scale=cfg.scale)

    def forward(
        self,
        src_image: torch.Tensor,
        src_layout: torch.Tensor,
        tgt_pose: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict target layout logits.

        Args:
            src_image: N x 3 x H x W source person in [-1, 1].
            src_layout: N x C x H x W one-hot source layout.
            tgt_pose: N x P x H x W target pose heatmaps.
            extra: N x E x H x W extra maps; required iff ``extra_channels > 0``.

        Returns:
            N x C x H x W target layout logits (unnormalised).
        """
        cfg = self.config
        check_shape(src_image, 3, "src_image")
        check_shape(src_layout, cfg.num_classes, "src_layout")
        check_shape(tgt_pose, cfg.pose_channels, "tgt_pose")
        inputs = [src_image, src_layout, tgt_pose, *optional_input(extra, cfg.extra_channels, "extra")]
        check_same_size({"src_image": src_image, "src_layout": src_layout, "tgt_pose": tgt_pose, "extra": extra})
        return self.unet(torch.cat(inputs, dim=1))

"""Stage 3, clothing-preserving rendering: the final person image.

A U-Net over the warped cloth, its warped mask, the target layout (one-hot), the target pose
heatmaps and the source person renders an image ``raw = tanh(.)``. With composition (default)
it also predicts a blending logit and keeps real cloth pixels where it chooses to::

    m = sigmoid(logit) * warped_mask          # blend only where the warped cloth exists
    image = m * warped_cloth + (1 - m) * raw

Both terms are in [-1, 1], so the image is too. Trained with the ground-truth target layout,
run with stage 1's; losses in :func:`clothflow.training.losses.render_losses`.

Example:
    >>> import torch
    >>> net = RenderNet(RenderConfig(base_channels=8, depth=2))
    >>> z = lambda c: torch.zeros(1, c, 32, 24)
    >>> out = net(z(3), z(1), z(9), z(18), z(3))
    >>> out.image.shape, out.composition_mask.shape
    (torch.Size([1, 3, 32, 24]), torch.Size([1, 1, 32, 24]))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from clothflow.models.blocks import UNet, check_same_size, check_shape, optional_input


@dataclass
class RenderConfig:
    """Render network configuration (JSON-serialisable with ``dataclasses.asdict``).

    Attributes:
        base_channels: U-Net width at full resolution.
        depth: number of down-samplings.
        num_classes: layout classes (one-hot channels of the target layout).
        pose_channels: target pose heatmap channels.
        composition: predict a mask and blend the warped cloth in; False renders directly.
        norm: "instance", "batch" or "none".
        scale: working resolution divisor of the U-Net (2: it runs at half resolution and its
            output is upsampled bilinearly; see :class:`~clothflow.models.blocks.UNet`).
        extra_channels: extra input channels (0, or e.g. 3 for target IUV in the dense variant).
    """

    base_channels: int = 64
    depth: int = 4
    num_classes: int = 9
    pose_channels: int = 18
    composition: bool = True
    norm: str = "instance"
    scale: int = 1
    extra_channels: int = 0


@dataclass
class RenderOutput:
    """What the render stage returns.

    Attributes:
        image: N x 3 x H x W final image in [-1, 1].
        raw: N x 3 x H x W the U-Net's own image (tanh) before composition.
        composition_mask: N x 1 x H x W blending mask ``m`` in [0, 1], or None without composition.
    """

    image: torch.Tensor
    raw: torch.Tensor
    composition_mask: torch.Tensor | None



# a pytree node, so torch.export / ONNX export can return it
torch.export.register_dataclass(RenderOutput, serialized_type_name="clothflow.RenderOutput")


def compose(raw: torch.Tensor, warped_cloth: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Blend: ``mask * warped_cloth + (1 - mask) * raw`` (N x 3 x H x W; mask N x 1 x H x W)."""
    return mask * warped_cloth + (1.0 - mask) * raw


class RenderNet(nn.Module):
    """Clothing-preserving renderer (stage 3).

    Args:
        cfg: the configuration.
    """

    def __init__(self, cfg: RenderConfig) -> None:
        super().__init__()
        self.config = cfg
        in_ch = 3 + 1 + cfg.num_classes + cfg.pose_channels + 3 + cfg.extra_channels
        self.unet = UNet(in_ch, 3 + int(cfg.composition), cfg.base_channels, cfg.depth, cfg.norm, scale=cfg.scale)

    def forward(
        self,
        warped_cloth: torch.Tensor,
        warped_mask: torch.Tensor,
        tgt_layout: torch.Tensor,
        tgt_pose: torch.Tensor,
        src_image: torch.Tensor,
        extra: torch.Tensor | None = None,
    ) -> RenderOutput:
        """Render the target person.

        Args:
            warped_cloth: N x 3 x H x W source cloth warped to the target, in [-1, 1].
            warped_mask: N x 1 x H x W warped cloth mask in [0, 1].
            tgt_layout: N x C x H x W one-hot (or soft) target layout.
            tgt_pose: N x P x H x W target pose heatmaps.
            src_image: N x 3 x H x W source person in [-1, 1].
            extra: N x E x H x W; required iff ``extra_channels > 0``.

        Returns:
            A :class:`RenderOutput`.
        """
        cfg = self.config
        check_shape(warped_cloth, 3, "warped_cloth")
        check_shape(warped_mask, 1, "warped_mask")
        check_shape(tgt_layout, cfg.num_classes, "tgt_layout")
        check_shape(tgt_pose, cfg.pose_channels, "tgt_pose")
        check_shape(src_image, 3, "src_image")
        extras = optional_input(extra, cfg.extra_channels, "extra")
        check_same_size(
            {
                "warped_cloth": warped_cloth,
                "warped_mask": warped_mask,
                "tgt_layout": tgt_layout,
                "tgt_pose": tgt_pose,
                "src_image": src_image,
                "extra": extra,
            }
        )
        y = self.unet(torch.cat([warped_cloth, warped_mask, tgt_layout, tgt_pose, src_image, *extras], dim=1))
        raw = torch.tanh(y[:, :3])
        if not cfg.composition:
            return RenderOutput(image=raw, raw=raw, composition_mask=None)
        mask = torch.sigmoid(y[:, 3:4]) * warped_mask
        return RenderOutput(image=compose(raw, warped_cloth, mask), raw=raw, composition_mask=mask)

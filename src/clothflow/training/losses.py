"""Losses of the three stages, and the feature losses (perceptual, style) they share.

- Stage 1: :func:`layout_loss` (optionally class-weighted cross entropy).
- Stage 2: :func:`flow_losses` = perceptual on the warped cloth + L1 on the warped mask +
  total variation of every level's flow (:func:`tv_loss`); :func:`flow_epe` for evaluation.
- Stage 3: :func:`render_losses` = L1 + perceptual + style (Gram matrices).

Their weights (:class:`FlowLossWeights`, :class:`RenderLossWeights`) live with the other
training settings in :mod:`clothflow.training.settings`.

Perceptual and style terms come from a :class:`FeatureLoss`. With ImageNet VGG19 weights
(see :func:`clothflow.models.vgg.load_vgg19`) it is the usual VGG loss: perceptual = sum of
L1 between relu1_1 .. relu5_1 features weighted 1/32, 1/16, 1/8, 1/4, 1 (pix2pixHD);
style = sum of L1 between Gram matrices of relu2_2, relu3_4, relu4_4, relu5_2 (as in GFLA).
Without weights (none can be downloaded in many set-ups) it falls back to a weight-free
substitute, logged once as a warning: at 3 scales (2 x 2 average pooling), L1 + (1 - SSIM) on
the images and on their Sobel gradients for "perceptual", and L1 between Gram matrices of
[image, Sobel gradients] for "style". The two kinds have different scales; loss weights tuned
with one do not transfer exactly to the other.

Example:
    >>> import torch
    >>> feats = FeatureLoss()  # the weight-free substitute
    >>> x = torch.rand(1, 3, 32, 24) * 2 - 1
    >>> float(feats.perceptual(x, x)) < 1e-5, float(feats.style(x, x))
    (True, 0.0)
"""

from __future__ import annotations

import logging
from pathlib import Path

import kornia
import torch
import torch.nn as nn
import torch.nn.functional as F

from clothflow.core.ops.ssim import SSIM_WINDOW, ssim_map
from clothflow.models.flow import FlowOutput
from clothflow.models.render import RenderOutput
from clothflow.models.vgg import VGG19, load_vgg19, vgg19_candidates
from clothflow.training.settings import FlowLossWeights, RenderLossWeights

log = logging.getLogger("clothflow")

# VGG19 layers and weights (pix2pixHD perceptual weights; GFLA style layers).
PERCEPTUAL_LAYERS: dict[str, float] = {"relu1_1": 1 / 32, "relu2_1": 1 / 16, "relu3_1": 1 / 8, "relu4_1": 1 / 4, "relu5_1": 1.0}
STYLE_LAYERS: tuple[str, ...] = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")
SUBSTITUTE_SCALES = 3
_warned_substitute = False


# ---------------------------------------------------------------------------------------------
# pure functions


def tv_loss(flow: torch.Tensor) -> torch.Tensor:
    """Total variation of a flow: mean |horizontal diff| + mean |vertical diff| (size-normalised).

    Args:
        flow: N x 2 x H x W (any N x C x H x W works).

    Returns:
        Scalar tensor.
    """
    dx = (flow[..., :, 1:] - flow[..., :, :-1]).abs().mean() if flow.shape[-1] > 1 else flow.new_zeros(())
    dy = (flow[..., 1:, :] - flow[..., :-1, :]).abs().mean() if flow.shape[-2] > 1 else flow.new_zeros(())
    return dx + dy


def layout_loss(logits: torch.Tensor, target_classes: torch.Tensor, class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per-pixel cross entropy of layout logits, optionally class-weighted.

    Args:
        logits: N x C x H x W.
        target_classes: N x H x W class indices.
        class_weights: C weights (e.g. inverse class frequency), or None.

    Returns:
        Scalar tensor (weighted mean over pixels, as ``F.cross_entropy``).
    """
    if logits.dim() != 4 or target_classes.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(
            f"expected N x C x H x W logits and N x H x W targets, got {tuple(logits.shape)} and {tuple(target_classes.shape)}"
        )
    weight = None if class_weights is None else class_weights.to(logits)
    return F.cross_entropy(logits, target_classes.long(), weight=weight)


def flow_epe(flow: torch.Tensor, true_flow: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean end-point error (Euclidean, pixels) over the pixels where ``mask > 0.5``.

    Args:
        flow, true_flow: N x 2 x H x W in pixels.
        mask: N x 1 x H x W (or N x H x W); None = all pixels.

    Returns:
        Scalar tensor; 0 when the mask is empty.
    """
    if flow.shape != true_flow.shape or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"expected two N x 2 x H x W flows, got {tuple(flow.shape)} and {tuple(true_flow.shape)}")
    err = torch.linalg.vector_norm(flow - true_flow, dim=1)  # N x H x W
    if mask is None:
        return err.mean()
    keep = (mask.reshape(err.shape) > 0.5).to(err)
    return (err * keep).sum() / keep.sum().clamp_min(1.0)


def gram_matrix(x: torch.Tensor) -> torch.Tensor:
    """Gram matrices normalised by C * H * W: N x C x H x W -> N x C x C."""
    n, c, h, w = x.shape
    f = x.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def sobel_gradients(x: torch.Tensor) -> torch.Tensor:
    """Normalised Sobel gradients (d/dx, d/dy per channel): N x C x H x W -> N x 2C x H x W."""
    return kornia.filters.spatial_gradient(x, mode="sobel", normalized=True).flatten(1, 2)


def _scales(x: torch.Tensor, n: int) -> list[torch.Tensor]:
    """``x`` and up to ``n - 1`` 2 x 2 average-pooled copies, stopping below the SSIM window."""
    out = [x]
    while len(out) < n and min(out[-1].shape[-2:]) >= 2 * SSIM_WINDOW:
        out.append(F.avg_pool2d(out[-1], 2))
    return out


def _l1_ssim(x: torch.Tensor, y: torch.Tensor, value_range: float) -> torch.Tensor:
    """L1 + (1 - mean SSIM) of N x C x H x W tensors with values spanning ``value_range``; scalar."""
    return F.l1_loss(x, y) + (1.0 - ssim_map(x, y, value_range)).mean()


def substitute_perceptual(x: torch.Tensor, y: torch.Tensor, scales: int = SUBSTITUTE_SCALES) -> torch.Tensor:
    """Weight-free perceptual loss: mean over scales of L1 + (1 - SSIM) on images and Sobel gradients.

    Args:
        x, y: N x 3 x H x W images in [-1, 1].
        scales: number of scales (2 x 2 average pooling between them).

    Returns:
        Scalar tensor, 0 for identical inputs.
    """
    terms = []
    for xs, ys in zip(_scales(x, scales), _scales(y, scales)):
        image = _l1_ssim((xs + 1) * 0.5, (ys + 1) * 0.5, 1.0)
        grads = _l1_ssim(sobel_gradients(xs), sobel_gradients(ys), 2.0)
        terms.append(image + grads)
    return torch.stack(terms).mean()


def substitute_style(x: torch.Tensor, y: torch.Tensor, scales: int = SUBSTITUTE_SCALES) -> torch.Tensor:
    """Weight-free style loss: mean over scales of L1 between Gram matrices of [image, Sobel gradients].

    Args:
        x, y: N x 3 x H x W images in [-1, 1].
        scales: number of scales.

    Returns:
        Scalar tensor, 0 for identical inputs.
    """
    terms = []
    for xs, ys in zip(_scales(x, scales), _scales(y, scales)):
        gx = gram_matrix(torch.cat([xs, sobel_gradients(xs)], dim=1))
        gy = gram_matrix(torch.cat([ys, sobel_gradients(ys)], dim=1))
        terms.append(F.l1_loss(gx, gy))
    return torch.stack(terms).mean()


# ---------------------------------------------------------------------------------------------
# feature losses


class FeatureLoss(nn.Module):
    """Perceptual and style losses from VGG19 features, or the weight-free substitute.

    The second argument of both methods is the target: no gradient flows into it.

    Args:
        vgg: a loaded :class:`VGG19`, or None for the substitute.

    Attributes:
        kind: "vgg19" or "substitute".
    """

    def __init__(self, vgg: VGG19 | None = None) -> None:
        super().__init__()
        self.vgg = vgg

    @property
    def kind(self) -> str:
        return "substitute" if self.vgg is None else "vgg19"

    @classmethod
    def create(cls, vgg_path: str | Path | None = None, download: bool = False) -> FeatureLoss:
        """VGG19 feature loss if weights are found (see :func:`load_vgg19`), else the substitute.

        Warns once per process (logger "clothflow") when falling back to the substitute.
        """
        global _warned_substitute
        vgg = load_vgg19(vgg_path, download=download)
        if vgg is None and not _warned_substitute:
            _warned_substitute = True
            where = ", ".join(str(p) for p in vgg19_candidates(vgg_path))
            log.warning(
                "no VGG19 weights found (looked in: %s; set $CLOTHFLOW_VGG19 to a torchvision "
                "vgg19-dcbb9e9d.pth); using the weight-free substitute perceptual/style loss "
                "(multi-scale L1 + SSIM on images and Sobel gradients)",
                where,
            )
        return cls(vgg)

    def _features(self, x: torch.Tensor, y: torch.Tensor, layers: tuple[str, ...]) -> tuple[dict, dict]:
        assert self.vgg is not None
        fx = self.vgg(x, layers)
        with torch.no_grad():
            fy = self.vgg(y, layers)
        return fx, fy

    def perceptual(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Perceptual distance of image ``x`` to target ``y`` (both N x 3 x H x W in [-1, 1]); scalar."""
        y = y.detach()
        if self.vgg is None:
            return substitute_perceptual(x, y)
        fx, fy = self._features(x, y, tuple(PERCEPTUAL_LAYERS))
        return sum(w * F.l1_loss(fx[n], fy[n]) for n, w in PERCEPTUAL_LAYERS.items())

    def style(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Gram-matrix (style) distance of image ``x`` to target ``y`` (N x 3 x H x W in [-1, 1]); scalar."""
        y = y.detach()
        if self.vgg is None:
            return substitute_style(x, y)
        fx, fy = self._features(x, y, STYLE_LAYERS)
        return sum(F.l1_loss(gram_matrix(fx[n]), gram_matrix(fy[n])) for n in STYLE_LAYERS)


# ---------------------------------------------------------------------------------------------
# stage losses


def flow_losses(
    out: FlowOutput,
    tgt_cloth: torch.Tensor,
    tgt_mask: torch.Tensor,
    features: FeatureLoss,
    weights: FlowLossWeights | None = None,
) -> dict[str, torch.Tensor]:
    """Losses of the flow stage.

    Args:
        out: the flow network's output.
        tgt_cloth: N x 3 x H x W target cloth in [-1, 1].
        tgt_mask: N x 1 x H x W target cloth mask.
        features: the perceptual loss.
        weights: term weights (default :class:`FlowLossWeights`; a mask weight left None counts 1).

    Returns:
        Dict of scalars: "perceptual" (warped cloth * warped mask vs target cloth * target mask),
        "mask" (L1 of the masks), "smooth" (sum over levels of each level's TV), "total".
    """
    w = weights or FlowLossWeights()
    losses = {
        "perceptual": features.perceptual(out.warped_cloth * out.warped_mask, tgt_cloth * tgt_mask),
        "mask": F.l1_loss(out.warped_mask, tgt_mask),
        "smooth": torch.stack([tv_loss(f) for f in out.flows]).sum(),
    }
    mask_weight = 1.0 if w.mask is None else w.mask
    losses["total"] = w.perceptual * losses["perceptual"] + mask_weight * losses["mask"] + w.smooth * losses["smooth"]
    return losses


def render_losses(
    out: RenderOutput,
    target_image: torch.Tensor,
    features: FeatureLoss,
    weights: RenderLossWeights | None = None,
) -> dict[str, torch.Tensor]:
    """Losses of the render stage.

    Args:
        out: the render network's output.
        target_image: N x 3 x H x W in [-1, 1].
        features: the perceptual/style loss.
        weights: term weights (default :class:`RenderLossWeights`).

    Returns:
        Dict of scalars "l1", "perceptual", "style" (0, not computed, when its weight is 0), "total".
    """
    w = weights or RenderLossWeights()
    image = out.image
    losses = {
        "l1": F.l1_loss(image, target_image),
        "perceptual": features.perceptual(image, target_image),
        "style": features.style(image, target_image) if w.style else image.new_zeros(()),
    }
    losses["total"] = w.l1 * losses["l1"] + w.perceptual * losses["perceptual"] + w.style * losses["style"]
    return losses

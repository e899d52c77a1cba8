"""Typed configuration of fashion inpainting (FiNet): the model, its variants, and training.

Training settings extend the shared :class:`clothflow.training.settings.LoopConfig`.

The paper's comparison is chosen with one field, :attr:`FinetConfig.variant`:

- ``finet``: a shape network then an appearance network, each a conditional VAE whose prior
  comes from a compatibility encoder over the other garments of the outfit.
- ``no_two_stage``: one network generates layout and appearance together (one posterior
  encoder, one compatibility encoder).
- ``no_compat``: as ``finet`` but the prior is the standard normal (no compatibility encoder).
- ``pix2pix_noise``: the two U-Nets with a random noise input and no encoder or KL term.

Example:
    >>> cfg = FinetConfig(variant="no_compat")
    >>> cfg.two_stage, cfg.learned_prior, cfg.has_encoder
    (True, False, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clothflow.core.config import from_dict
from clothflow.core.errors import ClothflowError
from clothflow.finet.names import FINET_VARIANTS
from clothflow.training.settings import LoopConfig


@dataclass(frozen=True)
class FinetConfig:
    """The inpainting model.

    Args:
        variant: one of :data:`FINET_VARIANTS`.
        size: (H, W) of the images.
        base_channels: width of the U-Nets at full resolution.
        depth: down-samplings of the U-Nets.
        z_dim: size of each latent code (shape and appearance).
        encoder_channels: width of the first layer of the posterior / compatibility encoders.
    """

    variant: str = "finet"
    size: tuple[int, int] = (64, 44)
    base_channels: int = 16
    depth: int = 3
    z_dim: int = 8
    encoder_channels: int = 16

    def __post_init__(self) -> None:
        if self.variant not in FINET_VARIANTS:
            raise ClothflowError(f"unknown inpainting variant {self.variant!r}; choose one of: {', '.join(FINET_VARIANTS)}")
        if self.z_dim < 1 or self.base_channels < 1 or self.depth < 1:
            raise ClothflowError("z_dim, base_channels and depth must be positive")

    @property
    def two_stage(self) -> bool:
        """Shape first, then appearance (two networks)."""
        return self.variant != "no_two_stage"

    @property
    def learned_prior(self) -> bool:
        """The prior of z comes from a compatibility encoder (else the standard normal)."""
        return self.variant in ("finet", "no_two_stage")

    @property
    def has_encoder(self) -> bool:
        """A posterior encoder maps the true garment to z (all but ``pix2pix_noise``)."""
        return self.variant != "pix2pix_noise"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FinetConfig":
        return from_dict(cls, {k: v for k, v in data.items() if k != "kind"})


@dataclass
class FinetTrainConfig(LoopConfig):
    """How an inpainting model is trained: the fields every run has, at FiNet's defaults, and these.

    The fields of :class:`~clothflow.training.settings.LoopConfig` (``steps``, ``batch_size``,
    ``lr``, ``seed``, ``minutes``, ``checkpoint_every``, ``log_every``, ``workers``,
    ``device``, ``bf16``) mean what they mean for ClothFlow's runs. The shape and appearance
    networks are trained side by side, the appearance network on the true layout, as in the
    paper.

    Args:
        num_items: synthetic training outfits (drawn from ``seed``).
        kl_weight: weight of each KL term (summed over z, averaged over the batch).
        ssim_weight: weight of (1 - SSIM) on the erased region, beside L1.
    """

    steps: int = 400
    batch_size: int = 16
    lr: float = 1e-3
    checkpoint_every: int = 100
    log_every: int = 25
    num_items: int = 2000
    kl_weight: float = 0.01
    ssim_weight: float = 0.5

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FinetTrainConfig":
        return from_dict(cls, data)

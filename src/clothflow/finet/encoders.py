"""Gaussian latent codes: the posterior / compatibility encoders, the KL term, sampling.

An encoder maps an image-like input to a diagonal Gaussian over z. Its convolutions have no
normalisation (instance norm would remove the very colour statistics the appearance codes
carry) and end in global average + max pooling, so the code does not depend on where in the
frame the garment is.

Example:
    >>> import torch
    >>> enc = GaussianEncoder(4, z_dim=8, width=8)
    >>> q = enc(torch.randn(2, 4, 64, 44))
    >>> q.mu.shape, kl_divergence(q, q).abs().max().item() < 1e-6
    (torch.Size([2, 8]), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from clothflow.models.blocks import ConvNormAct, check_shape

LOGVAR_RANGE = (-8.0, 4.0)


@dataclass
class Gaussian:
    """A batch of diagonal Gaussians: ``mu`` and ``logvar`` are N x Z."""

    mu: torch.Tensor
    logvar: torch.Tensor

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """A reparameterised draw, N x Z (differentiable in ``mu`` and ``logvar``)."""
        eps = torch.randn(self.mu.shape, generator=generator, dtype=self.mu.dtype, device=self.mu.device)
        return self.mu + eps * torch.exp(0.5 * self.logvar)

    @staticmethod
    def standard(n: int, z_dim: int, like: torch.Tensor) -> "Gaussian":
        """N(0, I) for a batch of ``n``."""
        zeros = torch.zeros(n, z_dim, dtype=like.dtype, device=like.device)
        return Gaussian(zeros, zeros.clone())


def kl_divergence(q: Gaussian, p: Gaussian) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians, summed over z: N-vector, 0 exactly when q == p.

    ``0.5 * sum(logvar_p - logvar_q + (var_q + (mu_q - mu_p)^2) / var_p - 1)``.
    """
    return 0.5 * (p.logvar - q.logvar + (q.logvar.exp() + (q.mu - p.mu) ** 2) / p.logvar.exp() - 1.0).sum(-1)


class GaussianEncoder(nn.Module):
    """Conv encoder -> global pooling -> (mu, logvar).

    Args:
        in_channels: input channels.
        z_dim: size of z.
        width: channels of the first conv; doubled at each of the 3 stride-2 stages.

    Shape:
        - Input: N x in_channels x H x W.
        - Output: :class:`Gaussian` with N x z_dim ``mu`` and ``logvar``.
    """

    def __init__(self, in_channels: int, z_dim: int, width: int = 16) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.features = nn.Sequential(
            ConvNormAct(in_channels, width, 1, "none"),
            ConvNormAct(width, 2 * width, 2, "none"),
            ConvNormAct(2 * width, 4 * width, 2, "none"),
            ConvNormAct(4 * width, 4 * width, 2, "none"),
        )
        self.head = nn.Linear(8 * width, 2 * z_dim)

    def forward(self, x: torch.Tensor) -> Gaussian:
        check_shape(x, self.in_channels, "encoder input")
        f = self.features(x)
        pooled = torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)
        mu, logvar = self.head(pooled).chunk(2, dim=1)
        return Gaussian(mu, logvar.clamp(*LOGVAR_RANGE))

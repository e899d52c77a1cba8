"""The inpainting model: shape and appearance generation with compatibility priors (FiNet).

Two-stage variants (``finet``, ``no_compat``, ``pix2pix_noise``):

- shape: ``logits = ShapeUNet([person, shape_context, z_s])`` over the layout classes; the
  erased region takes the argmax, the rest keeps the known layout;
- appearance: ``rgb = tanh(AppUNet([erased, mask, one_hot(layout), z_a]))``, composited
  into the erased region only.

Both are :class:`~clothflow.finet.unet.CodeUNet`: the code enters as input planes inside the
erased region and is added again at the bottleneck and at every decoder scale.

``no_two_stage`` generates both from one U-Net and one code ``z`` (twice as long).

Codes: during training ``z ~ q(z | true garment)`` (the shape / appearance encoders) and the
KL to the prior is minimised; the prior is ``p(z | other garments)`` (compatibility encoders)
for ``finet`` / ``no_two_stage``, N(0, I) for ``no_compat``. ``pix2pix_noise`` draws z from
N(0, I) and has neither encoder nor KL term.

Example:
    >>> import torch
    >>> from clothflow.finet.config import FinetConfig
    >>> from clothflow.finet.inputs import make_inputs
    >>> model = FinetModel(FinetConfig(base_channels=8, encoder_channels=8)).eval()
    >>> n, (h, w) = 2, model.config.size
    >>> classes = torch.zeros(n, h, w, dtype=torch.long)
    >>> mask = torch.zeros(n, 1, h, w); mask[..., 10:30, 10:30] = 1
    >>> x = make_inputs(torch.zeros(n, 3, h, w), classes, torch.full((n, 18, 2), -1.0), mask, torch.zeros(n, dtype=torch.long))
    >>> out = model.sample(x, samples=3)
    >>> len(out), out[0].image.shape
    (3, torch.Size([2, 3, 64, 44]))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from clothflow.core.ops.labels import NUM_CLASSES, one_hot
from clothflow.core.errors import ClothflowError
from clothflow.core.pretrained import PretrainedMixin
from clothflow.finet.config import FinetConfig
from clothflow.finet.encoders import Gaussian, GaussianEncoder
from clothflow.finet.inputs import (
    APPEARANCE_CHANNELS,
    CONTEXT_LAYOUT_CHANNELS,
    GARMENT_LAYOUT_CHANNELS,
    GARMENT_REGIONS,
    PERSON_CHANNELS,
    SHAPE_CONTEXT_CHANNELS,
    FinetInputs,
    garment_appearance,
    garment_layout,
    region_planes,
)
from clothflow.finet.unet import CodeUNet

APP_IN = 3 + 1 + NUM_CLASSES  # erased image, mask, layout one-hot
COMPAT_SHAPE_IN = CONTEXT_LAYOUT_CHANNELS + len(GARMENT_REGIONS)
COMPAT_APP_IN = APPEARANCE_CHANNELS + len(GARMENT_REGIONS)


@dataclass
class InpaintOutput:
    """One generated batch.

    Attributes:
        layout_logits: N x NUM_CLASSES x H x W.
        layout: N x H x W classes: generated inside the erased region, known outside.
        raw: N x 3 x H x W generated image before compositing, in [-1, 1].
        image: N x 3 x H x W, the input outside the erased region, ``raw`` inside.
    """

    layout_logits: torch.Tensor
    layout: torch.Tensor
    raw: torch.Tensor
    image: torch.Tensor


@dataclass
class Codes:
    """Shape and appearance codes (N x Z each); one joint code in ``shape`` for ``no_two_stage``."""

    shape: torch.Tensor
    appearance: torch.Tensor | None


def _code_planes(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """N x Z codes -> N x Z x H x W planes holding z inside the erased region, 0 outside.

    A code broadcast over the whole image would add a constant to every channel of the
    U-Net's first convolution, which its instance normalisation then subtracts: the network
    could not see z. Confined to the erased region it is a spatial pattern and survives.
    """
    return z[:, :, None, None] * mask


class FinetModel(PretrainedMixin, nn.Module):
    """Shape and appearance generators with their posterior and compatibility encoders.

    Saved and loaded as a folder (``save_pretrained`` / ``from_pretrained``, see
    :class:`clothflow.core.pretrained.PretrainedMixin`): ``config.json`` of kind "finet" and
    ``model.safetensors``; an inpainting run folder is one.

    Args:
        config: a :class:`FinetConfig` (its ``variant`` picks the structure).
    """

    kind = "finet"
    config_class = FinetConfig
    missing_message = "not a saved inpainting model"

    def __init__(self, config: FinetConfig) -> None:
        super().__init__()
        self.config = config
        c, z = config, config.z_dim
        unet = dict(base_channels=c.base_channels, depth=c.depth)
        if c.two_stage:
            self.shape_net = CodeUNet(PERSON_CHANNELS + SHAPE_CONTEXT_CHANNELS + z, NUM_CLASSES, z, **unet)
            self.appearance_net = CodeUNet(APP_IN + z, 3, z, **unet)
            if c.has_encoder:
                self.shape_encoder = GaussianEncoder(GARMENT_LAYOUT_CHANNELS, z, c.encoder_channels)
                self.appearance_encoder = GaussianEncoder(APPEARANCE_CHANNELS, z, c.encoder_channels)
            if c.learned_prior:
                self.shape_compat = GaussianEncoder(COMPAT_SHAPE_IN, z, c.encoder_channels)
                self.appearance_compat = GaussianEncoder(COMPAT_APP_IN, z, c.encoder_channels)
        else:
            self.joint_net = CodeUNet(PERSON_CHANNELS + SHAPE_CONTEXT_CHANNELS + 3 + 2 * z, NUM_CLASSES + 3, 2 * z, **unet)
            self.joint_encoder = GaussianEncoder(GARMENT_LAYOUT_CHANNELS + APPEARANCE_CHANNELS, 2 * z, c.encoder_channels)
            self.joint_compat = GaussianEncoder(COMPAT_SHAPE_IN + APPEARANCE_CHANNELS, 2 * z, c.encoder_channels)

    # ---- distributions over z -------------------------------------------------------------
    def priors(self, x: FinetInputs) -> tuple[Gaussian, Gaussian | None]:
        """p(z | other garments) (learned prior) or N(0, I): (shape, appearance) Gaussians."""
        n, _, h, w = x.mask.shape
        planes = region_planes(x.region, h, w)
        z = self.config.z_dim
        if not self.config.two_stage:
            return self.joint_compat(torch.cat([x.context_layout, planes, x.context_appearance], 1)), None
        if not self.config.learned_prior:
            return Gaussian.standard(n, z, x.mask), Gaussian.standard(n, z, x.mask)
        return (
            self.shape_compat(torch.cat([x.context_layout, planes], 1)),
            self.appearance_compat(torch.cat([x.context_appearance, planes], 1)),
        )

    def posteriors(self, garment_image: torch.Tensor, garment: torch.Tensor, region: torch.Tensor) -> tuple[Gaussian, Gaussian | None]:
        """q(z | true garment): (shape, appearance) Gaussians.

        Args:
            garment_image: N x 3 x H x W, an image holding the garment (in [-1, 1]).
            garment: N x 1 x H x W its mask.
            region: N region indices.

        Raises:
            ClothflowError: for ``pix2pix_noise``, which has no encoder.
        """
        if not self.config.has_encoder:
            raise ClothflowError("the pix2pix_noise variant has no garment encoder")
        layout_in = garment_layout(garment, region)
        app_in = garment_appearance(garment_image, garment)
        if not self.config.two_stage:
            return self.joint_encoder(torch.cat([layout_in, app_in], 1)), None
        return self.shape_encoder(layout_in), self.appearance_encoder(app_in)

    # ---- generation ------------------------------------------------------------------------
    def generate(self, x: FinetInputs, codes: Codes, layout: torch.Tensor | None = None) -> InpaintOutput:
        """Generate the erased region from codes.

        Args:
            x: the inputs (see :func:`clothflow.finet.inputs.make_inputs`).
            codes: N x Z codes (N x 2Z in ``codes.shape`` for ``no_two_stage``).
            layout: N x H x W classes to render the appearance from (training uses the true
                layout); None: the generated one.

        Returns:
            An :class:`InpaintOutput`.
        """
        known = x.shape_context[:, :NUM_CLASSES].argmax(1)
        inside = x.mask[:, 0] > 0.5
        if not self.config.two_stage:
            out = self.joint_net(torch.cat([x.person, x.shape_context, x.erased, _code_planes(codes.shape, x.mask)], 1), codes.shape, x.mask)
            logits, raw = out[:, :NUM_CLASSES], torch.tanh(out[:, NUM_CLASSES:])
            return InpaintOutput(logits, torch.where(inside, logits.argmax(1), known), raw, x.erased + x.mask * raw)
        logits = self.shape_net(torch.cat([x.person, x.shape_context, _code_planes(codes.shape, x.mask)], 1), codes.shape, x.mask)
        generated = torch.where(inside, logits.argmax(1), known)
        drive = generated if layout is None else layout
        raw = torch.tanh(self.appearance_net(
            torch.cat([x.erased, x.mask, one_hot(drive), _code_planes(codes.appearance, x.mask)], 1), codes.appearance, x.mask
        ))
        return InpaintOutput(logits, generated, raw, x.erased + x.mask * raw)

    def prior_codes(self, x: FinetInputs, generator: torch.Generator | None = None) -> Codes:
        """Codes drawn from the prior (the compatibility encoders', or N(0, I))."""
        p_shape, p_app = self.priors(x)
        return Codes(p_shape.sample(generator), None if p_app is None else p_app.sample(generator))

    def sample(self, x: FinetInputs, samples: int = 1, generator: torch.Generator | None = None) -> list[InpaintOutput]:
        """``samples`` inpaintings of each input, each with its own codes from the prior."""
        return [self.generate(x, self.prior_codes(x, generator)) for _ in range(samples)]

    def reconstruct(self, x: FinetInputs, garment_image: torch.Tensor, garment: torch.Tensor) -> InpaintOutput:
        """Fill the region with a given garment: codes are the encoders' means (try-on too).

        Args:
            garment_image: N x 3 x H x W image holding the garment: the true one, or a target
                garment photo (try-on; the compatibility encoders are not used).
            garment: N x 1 x H x W its mask.
        """
        q_shape, q_app = self.posteriors(garment_image, garment, x.region)
        return self.generate(x, Codes(q_shape.mu, None if q_app is None else q_app.mu))

"""The training objective of the inpainting model, for every variant.

- shape: cross entropy of the layout inside the erased region;
- appearance: L1 + ``ssim_weight`` * (1 - SSIM) inside the erased region, the appearance
  network driven by the true layout (as in the paper; at test time it gets the generated one);
- ``kl_weight`` * KL(q(z | true garment) || prior) per code, summed over z, averaged over the batch.

``pix2pix_noise`` has only the reconstruction terms, its codes drawn from N(0, I).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from clothflow.evaluation.metrics import masked_mean, ssim_map
from clothflow.finet.config import FinetTrainConfig
from clothflow.finet.encoders import Gaussian, kl_divergence
from clothflow.finet.inputs import FinetInputs, make_inputs
from clothflow.finet.models import Codes, FinetModel


def batch_inputs(batch: dict[str, torch.Tensor]) -> FinetInputs:
    """The networks' inputs for a batch of :class:`clothflow.finet.data.InpaintDataset` items."""
    return make_inputs(batch["image"], batch["classes"], batch["keypoints"], batch["mask"], batch["region"])


def training_losses(model: FinetModel, batch: dict[str, torch.Tensor], cfg: FinetTrainConfig) -> dict[str, torch.Tensor]:
    """Loss terms of one batch; ``total`` is the one to minimise.

    Returns:
        Scalars ``total``, ``shape`` (CE), ``l1``, ``ssim`` (1 - SSIM), ``kl_shape``, ``kl_appearance``.
    """
    x = batch_inputs(batch)
    n, z = x.mask.shape[0], model.config.z_dim
    zero = x.mask.new_zeros(())
    if model.config.has_encoder:
        q_shape, q_app = model.posteriors(batch["image"], batch["garment"], x.region)
        p_shape, p_app = model.priors(x)
        kl_shape = kl_divergence(q_shape, p_shape).mean()
        kl_app = kl_divergence(q_app, p_app).mean() if q_app is not None else zero
        codes = Codes(q_shape.sample(), None if q_app is None else q_app.sample())
    else:
        kl_shape = kl_app = zero
        codes = Codes(Gaussian.standard(n, z, x.mask).sample(), Gaussian.standard(n, z, x.mask).sample())
    out = model.generate(x, codes, layout=batch["classes"])
    ce = F.cross_entropy(out.layout_logits, batch["classes"], reduction="none").unsqueeze(1)
    shape = masked_mean(ce, x.mask).mean()
    l1 = masked_mean((out.raw - batch["image"]).abs(), x.mask).mean()
    dssim = masked_mean(1 - ssim_map(out.image, batch["image"]), x.mask).mean()
    total = shape + l1 + cfg.ssim_weight * dssim + cfg.kl_weight * (kl_shape + kl_app)
    return {"total": total, "shape": shape, "l1": l1, "ssim": dssim, "kl_shape": kl_shape, "kl_appearance": kl_app}

"""The inpainting networks: inputs, KL, priors, sampling, compositing, variants."""

import pytest
import torch

from clothflow.core.errors import ClothflowError
from clothflow.finet.config import FINET_VARIANTS, FinetConfig
from clothflow.finet.data import InpaintDataset, collate
from clothflow.finet.encoders import Gaussian, kl_divergence
from clothflow.finet.models import FinetModel
from clothflow.finet.objective import batch_inputs

torch.set_num_threads(1)


def _tiny(variant):
    torch.manual_seed(0)
    return FinetModel(FinetConfig(variant=variant, base_channels=4, depth=2, z_dim=4, encoder_channels=4)).eval()


@pytest.fixture(scope="module")
def batch():
    ds = InpaintDataset(3, size=(64, 44), seed=11)
    return collate([ds[i] for i in range(3)])


def test_kl_is_zero_when_posterior_equals_prior_and_matches_torch():
    q = Gaussian(torch.randn(5, 4), torch.randn(5, 4))
    assert kl_divergence(q, q).abs().max() < 1e-6
    p = Gaussian(torch.randn(5, 4), torch.randn(5, 4))
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(q.mu, (0.5 * q.logvar).exp()), torch.distributions.Normal(p.mu, (0.5 * p.logvar).exp())
    ).sum(-1)
    assert torch.allclose(kl_divergence(q, p), ref, atol=1e-5)
    assert (kl_divergence(q, p) > 0).all()


def test_inputs_hide_everything_inside_the_erased_region(batch):
    x = batch_inputs(batch)
    changed = dict(batch)
    changed["image"] = batch["image"] + 0.5 * batch["mask"]  # repaint inside the box only
    y = batch_inputs(changed)
    assert torch.equal(x.erased, y.erased)
    assert torch.equal(x.shape_context, y.shape_context)
    assert torch.equal(x.context_appearance, y.context_appearance)
    assert (x.context_layout * x.mask).sum() == 0


@pytest.mark.parametrize("variant", FINET_VARIANTS)
def test_every_variant_generates_and_changes_only_the_erased_region(variant, batch):
    model = _tiny(variant)
    x = batch_inputs(batch)
    with torch.no_grad():
        a, b = model.sample(x, samples=2, generator=torch.Generator().manual_seed(0))
    n, _, h, w = batch["image"].shape
    assert a.image.shape == (n, 3, h, w) and a.layout.shape == (n, h, w) and a.layout_logits.shape[:2] == (n, 9)
    outside = (1 - batch["mask"]).bool()
    assert torch.equal(a.image * outside, batch["image"] * outside)
    assert torch.equal(a.layout[outside[:, 0]], batch["classes"][outside[:, 0]])
    if variant != "pix2pix_noise":  # codes of the others reach the output through the encoders' priors
        assert (a.image - b.image).abs().sum() > 0  # different z, different samples
        assert ((a.image - b.image).abs() * outside).sum() == 0


def test_prior_samples_differ_and_learned_prior_depends_on_context(batch):
    model = _tiny("finet")
    x = batch_inputs(batch)
    with torch.no_grad():
        p_shape, p_app = model.priors(x)
        c1 = model.prior_codes(x, torch.Generator().manual_seed(1))
        c2 = model.prior_codes(x, torch.Generator().manual_seed(2))
        assert not torch.equal(c1.shape, c2.shape) and not torch.equal(c1.appearance, c2.appearance)
        other = dict(batch)
        other["image"] = -batch["image"]  # other garments, other colours
        assert not torch.allclose(model.priors(batch_inputs(other))[1].mu, p_app.mu)
    std = _tiny("no_compat").priors(x)[0]
    assert torch.equal(std.mu, torch.zeros_like(std.mu)) and torch.equal(std.logvar, torch.zeros_like(std.logvar))


def test_tryon_encodes_a_target_garment_and_pix2pix_has_no_encoder(batch):
    model = _tiny("finet")
    x = batch_inputs(batch)
    with torch.no_grad():
        own = model.reconstruct(x, batch["image"], batch["garment"])
        swapped = model.reconstruct(x, batch["image"].roll(1, 0), batch["garment"].roll(1, 0))
    assert not torch.allclose(own.raw, swapped.raw)
    assert torch.equal(swapped.image * (1 - batch["mask"]), batch["image"] * (1 - batch["mask"]))
    with pytest.raises(ClothflowError, match="no garment encoder"):
        _tiny("pix2pix_noise").reconstruct(x, batch["image"], batch["garment"])
    with pytest.raises(ClothflowError, match="unknown inpainting variant"):
        FinetConfig(variant="pix2pixhd")


def test_codes_reach_the_unets_only_inside_the_erased_region():
    from clothflow.finet.models import _code_planes

    z = torch.randn(2, 3)
    mask = torch.zeros(2, 1, 8, 6)
    mask[:, :, 2:5, 1:4] = 1
    planes = _code_planes(z, mask)
    assert planes.shape == (2, 3, 8, 6)
    assert (planes * (1 - mask)).abs().sum() == 0
    assert torch.allclose(planes[:, :, 3, 2], z)
    # a code plane that is not constant survives instance normalisation
    norm = torch.nn.InstanceNorm2d(3)
    assert norm(planes).abs().sum() > 1.0 and norm(z[:, :, None, None].expand(-1, -1, 8, 6)).abs().max() < 1e-3

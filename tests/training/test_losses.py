"""Losses: feature losses (substitute and VGG19 loading), stage losses, flow metrics."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F

import clothflow.training.losses as losses_mod
from clothflow.core.errors import ClothflowError
from clothflow.training.losses import (
    FeatureLoss,
    FlowLossWeights,
    RenderLossWeights,
    flow_epe,
    flow_losses,
    gram_matrix,
    layout_loss,
    render_losses,
    tv_loss,
)
from clothflow.models.flow import FlowOutput
from clothflow.models.render import RenderOutput
from clothflow.models.vgg import ENV_VAR, LAYERS, VGG19, load_vgg19

H, W = 64, 44


def _images(seed: int = 0, n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, H, W, generator=g) * 2 - 1, torch.rand(n, 3, H, W, generator=g) * 2 - 1


@pytest.fixture
def no_vgg(monkeypatch, tmp_path):
    """No VGG19 weights anywhere: empty torch hub dir, no env var, warning flag reset."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(losses_mod, "_warned_substitute", False)


# ---------------------------------------------------------------------------------------------
# substitute feature loss


def test_substitute_zero_on_identical_positive_on_different():
    x, y = _images()
    feats = FeatureLoss()
    assert feats.kind == "substitute"
    assert feats.perceptual(x, x).item() < 1e-5
    assert feats.style(x, x).item() == 0.0
    assert feats.perceptual(x, y).item() > 0.5
    assert feats.style(x, y).item() > 0.0
    # a closer image is closer
    assert feats.perceptual(x + 0.05, x) < feats.perceptual(y, x)


def test_substitute_gradients_and_target_detached():
    x, y = _images()
    x.requires_grad_(True)
    y.requires_grad_(True)
    feats = FeatureLoss()
    (feats.perceptual(x, y) + feats.style(x, y)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert y.grad is None


def test_substitute_small_images():
    x, y = (torch.rand(1, 3, 9, 7) * 2 - 1 for _ in range(2))
    feats = FeatureLoss()
    assert torch.isfinite(feats.perceptual(x, y)) and torch.isfinite(feats.style(x, y))


def test_create_without_weights_warns_once(no_vgg, caplog):
    with caplog.at_level(logging.WARNING, logger="clothflow"):
        feats = FeatureLoss.create()
        FeatureLoss.create()
    assert feats.kind == "substitute"
    warnings = [r for r in caplog.records if "no VGG19 weights" in r.getMessage()]
    assert len(warnings) == 1
    assert "vgg19-dcbb9e9d.pth" in warnings[0].getMessage() and "substitute" in warnings[0].getMessage()


def test_gram_matrix():
    x = torch.ones(1, 2, 3, 4)
    assert torch.allclose(gram_matrix(x), torch.full((1, 2, 2), 1 / 2))


# ---------------------------------------------------------------------------------------------
# VGG19 loading


def _torchvision_layout_state(vgg: VGG19) -> dict[str, torch.Tensor]:
    state = {f"features.{k}": v for k, v in vgg.features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(4, 4)  # torchvision files carry the classifier too
    return state


def test_vgg19_indices_match_torchvision():
    vgg = VGG19()
    keys = [k for k in vgg.state_dict() if k.endswith(".weight")]
    assert keys[0] == "features.0.weight" and keys[-1] == "features.34.weight" and len(keys) == 16
    assert len(vgg.features) == 37
    assert (LAYERS["relu1_1"], LAYERS["relu2_1"], LAYERS["relu3_1"], LAYERS["relu4_1"], LAYERS["relu5_1"]) == (1, 6, 11, 20, 29)
    assert not any(p.requires_grad for p in vgg.parameters())
    assert not vgg.train().training


def test_load_vgg19_from_path_and_env(no_vgg, tmp_path, monkeypatch):
    torch.manual_seed(0)
    ref = VGG19()
    for p in ref.parameters():
        p.data.normal_(std=0.05)
    path = tmp_path / "vgg19.pth"
    torch.save(_torchvision_layout_state(ref), path)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    want = ref(x, ("relu1_1", "relu3_1", "relu5_1"))

    assert load_vgg19() is None  # nothing anywhere
    for loaded in (load_vgg19(path), None):
        if loaded is None:
            monkeypatch.setenv(ENV_VAR, str(path))
            loaded = load_vgg19()
        assert isinstance(loaded, VGG19)
        got = loaded(x, ("relu1_1", "relu3_1", "relu5_1"))
        for name in want:
            assert torch.equal(got[name], want[name]), name

    feats = FeatureLoss.create(path)
    assert feats.kind == "vgg19"
    a, b = _images()
    assert feats.perceptual(a, a).item() == 0.0 and feats.style(a, a).item() == 0.0
    assert feats.perceptual(a, b).item() > 0.0 and feats.style(a, b).item() > 0.0


def test_load_vgg19_from_hub_cache(no_vgg, tmp_path):
    torch.manual_seed(1)
    ref = VGG19()
    for p in ref.parameters():
        p.data.normal_(std=0.05)
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save(_torchvision_layout_state(ref), ckpt / "vgg19-dcbb9e9d.pth")
    loaded = load_vgg19()
    assert isinstance(loaded, VGG19)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    want, got = ref(x, ("relu1_1", "relu5_1")), loaded(x, ("relu1_1", "relu5_1"))
    for name in want:  # the cached file's weights, not a fresh network's
        assert torch.equal(got[name], want[name]), name


def test_load_vgg19_errors(no_vgg, tmp_path, monkeypatch):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ClothflowError, match="bad.pth"):
        load_vgg19(bad)
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(3, 3)}, wrong)
    with pytest.raises(ClothflowError, match="wrong.pth"):
        load_vgg19(wrong)
    with pytest.raises(ClothflowError, match="missing.pth"):
        load_vgg19(tmp_path / "missing.pth")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env-missing.pth"))
    with pytest.raises(ClothflowError, match="env-missing.pth"):
        load_vgg19()


# ---------------------------------------------------------------------------------------------
# stage losses and metrics


def test_layout_loss_class_weighted():
    torch.manual_seed(0)
    logits = torch.randn(2, 9, 8, 6, requires_grad=True)
    target = torch.randint(0, 9, (2, 8, 6))
    plain = layout_loss(logits, target)
    assert torch.allclose(plain, F.cross_entropy(logits, target))
    assert torch.allclose(layout_loss(logits, target, torch.ones(9)), plain)
    weights = torch.zeros(9)
    weights[3] = 1.0  # only class 3 counts
    weighted = layout_loss(logits, target, weights)
    keep = target == 3
    manual = F.cross_entropy(logits.permute(0, 2, 3, 1)[keep], target[keep])
    assert torch.allclose(weighted, manual)
    weighted.backward()
    assert logits.grad.abs().sum() > 0
    with pytest.raises(ValueError):
        layout_loss(logits, target[0])


def test_tv_loss():
    flow = torch.zeros(1, 2, 5, 4)
    assert tv_loss(flow) == 0
    assert tv_loss(flow + 3.0) == 0  # constant flow is smooth
    flow[:, 0, :, 2:] = 1.0  # one vertical step of 1 px
    assert torch.isclose(tv_loss(flow), torch.tensor(5 / (2 * 5 * 3)))


def test_flow_epe():
    flow = torch.zeros(1, 2, 4, 4)
    true = torch.zeros(1, 2, 4, 4)
    true[:, 0], true[:, 1] = 3.0, 4.0
    assert flow_epe(flow, true).item() == pytest.approx(5.0)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    true[..., 2:, :] = 100.0  # outside the mask: ignored
    assert flow_epe(flow, true, mask).item() == pytest.approx(5.0)
    assert flow_epe(flow, true, torch.zeros_like(mask)).item() == 0.0


def test_flow_losses_terms():
    x, y = _images()
    mask = (torch.rand(2, 1, H, W) > 0.5).float()
    flows = [torch.zeros(2, 2, 4, 3), torch.randn(2, 2, 8, 6)]
    out = FlowOutput(flows=flows, flow=torch.zeros(2, 2, H, W), warped_cloth=x, warped_mask=mask)
    w = FlowLossWeights(perceptual=1.0, mask=2.0, smooth=0.5)
    same = flow_losses(out, x, mask, FeatureLoss(), w)
    assert same["perceptual"].item() < 1e-5 and same["mask"].item() == 0.0
    assert torch.isclose(same["smooth"], tv_loss(flows[1]))
    diff = flow_losses(out, y, 1 - mask, FeatureLoss(), w)
    assert diff["mask"].item() == 1.0
    expected = diff["perceptual"] + 2.0 * diff["mask"] + 0.5 * diff["smooth"]
    assert torch.isclose(diff["total"], expected)


def test_render_losses_and_no_style():
    x, y = _images()
    out = RenderOutput(image=x.clone().requires_grad_(True), raw=x, composition_mask=None)
    feats = FeatureLoss()
    same = render_losses(out, x, feats)
    assert all(v.item() < 1e-5 for v in same.values())
    full = render_losses(out, y, feats, RenderLossWeights(l1=1.0, perceptual=0.5, style=10.0))
    assert full["style"].item() > 0
    assert torch.isclose(full["total"], full["l1"] + 0.5 * full["perceptual"] + 10.0 * full["style"])
    no_style = render_losses(out, y, feats, RenderLossWeights(style=0.0))
    assert no_style["style"].item() == 0.0
    assert torch.isclose(no_style["total"], no_style["l1"] + no_style["perceptual"])
    no_style["total"].backward()
    assert out.image.grad.abs().sum() > 0


def test_flow_mask_weight_depends_on_task_and_data():
    """Try-on on real photos needs the outline (10); the synthetic people train both tasks at 1."""
    from clothflow.training.settings import FlowLossWeights

    default = FlowLossWeights()
    assert default.for_task("tryon").mask == 10.0 and default.for_task("transfer").mask == 1.0
    assert default.for_task("tryon", synthetic=True).mask == 1.0
    assert FlowLossWeights(mask=3.0).for_task("tryon", synthetic=True).mask == 3.0

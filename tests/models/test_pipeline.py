import pytest
import torch

from clothflow.core.errors import ClothflowError
from clothflow.models.pipeline import ClothFlowPipeline


def _inputs(cfg, n=2, seed=0):
    h, w = cfg.size
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(n, 3, h, w, generator=g) * 2 - 1
    parse = torch.randint(0, 20, (n, h, w), generator=g)
    kps = torch.rand(n, 18, 2, generator=g) * torch.tensor([w - 1.0, h - 1.0])
    kps[:, 3] = -1  # a missing point
    return image, parse, kps


def test_transfer_shapes(tiny_cfg):
    pipe = ClothFlowPipeline(tiny_cfg).eval()
    with torch.no_grad():
        out = pipe.transfer(*_inputs(tiny_cfg))
    assert out.image.shape == (2, 3, 64, 44)
    assert out.image.min() >= -1 and out.image.max() <= 1
    assert out.layout_logits.shape == (2, 9, 64, 44) and out.layout.shape == (2, 64, 44)
    assert out.flow.flow.shape == (2, 2, 64, 44) and out.flow.warped_cloth.shape == (2, 3, 64, 44)


def test_save_load_round_trip_identical(tiny_cfg, tmp_path):
    torch.manual_seed(3)
    pipe = ClothFlowPipeline(tiny_cfg).eval()
    with torch.no_grad():  # perturb every weight so the check is not satisfied by default init
        for p in pipe.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    pipe.save_pretrained(tmp_path / "m")
    assert sorted(x.name for x in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    loaded = ClothFlowPipeline.from_pretrained(tmp_path / "m")
    assert loaded.config == tiny_cfg
    inputs = _inputs(tiny_cfg)
    with torch.no_grad():
        a, b = pipe.transfer(*inputs), loaded.transfer(*inputs)
    assert torch.equal(a.image, b.image) and torch.equal(a.flow.flow, b.flow.flow)


def test_from_pretrained_errors(tmp_path, tiny_cfg):
    with pytest.raises(ClothflowError, match="missing config.json"):
        ClothFlowPipeline.from_pretrained(tmp_path)
    ClothFlowPipeline(tiny_cfg).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ClothflowError, match="unreadable weights"):
        ClothFlowPipeline.from_pretrained(tmp_path)


def test_wrong_input_size_is_clear(tiny_cfg):
    pipe = ClothFlowPipeline(tiny_cfg)
    image, parse, kps = _inputs(tiny_cfg)
    with pytest.raises(ValueError, match="must be 64 x 44"):
        pipe.transfer(image[..., :32, :], parse[..., :32, :], kps)

"""A try-on result composed into the photo at its own size; flows upsampled without steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clothflow.core.ops import labels
from clothflow.core.ops.compose import FEATHER, GROW, changed_region, compose_full_size
from clothflow.core.ops.warp import upflow, upsample_flow, warp
from clothflow.models.flow import FlowConfig, FlowNet

UPPER, ARMS, FACE = (labels.GROUP_NAMES.index(g) for g in ("upper", "arms", "face"))


def _smooth_flow(h: int = 16, w: int = 12) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    return torch.stack((0.3 * xs + 0.1 * ys, 0.2 * ys - 0.05 * xs))[None]


def _has_2x2_steps(flow: torch.Tensor) -> bool:
    """Whether every 2 x 2 block is constant while the field varies (nearest upsampling's staircase)."""
    blocks = flow.unfold(2, 2, 2).unfold(3, 2, 2)  # N x 2 x h/2 x w/2 x 2 x 2
    flat = blocks.reshape(*blocks.shape[:4], 4)
    return bool((flat.max(-1).values == flat.min(-1).values).all()) and float(flow.std()) > 0


def test_smooth_flow_upsampled_bilinearly_has_no_steps():
    flow = _smooth_flow()
    assert _has_2x2_steps(upflow(flow, 2, mode="nearest"))  # the staircase the test looks for
    up = upflow(flow, 2, mode="bilinear")
    assert not _has_2x2_steps(up)
    inner = up[..., 2:-2, 2:-2]  # an affine field stays affine: equal steps between neighbours
    dx = inner[..., :, 1:] - inner[..., :, :-1]
    assert torch.allclose(dx, dx[..., :1, :1].expand_as(dx), atol=1e-5)
    assert torch.allclose(upsample_flow(flow, (32, 24)), up, atol=1e-5)


def test_flow_net_final_upsampling_bilinear_in_presets_nearest_for_older_models():
    from clothflow.core.config import from_dict
    from clothflow.models.config import preset

    assert preset("tiny").flow.final_upsampling == "bilinear"
    assert from_dict(FlowConfig, {"base_channels": 8}).final_upsampling == "nearest"  # saved before the field
    torch.manual_seed(0)
    net = FlowNet(FlowConfig(base_channels=8, num_levels=2, final_upsampling="bilinear")).eval()
    x = [torch.rand(1, c, 32, 24) for c in (3, 1, 9, 9)]
    with torch.no_grad():
        smooth = net(*x).flow
        net.config.final_upsampling = "nearest"
        steps = net(*x).flow
    assert _has_2x2_steps(steps) and not _has_2x2_steps(smooth)
    with pytest.raises(ValueError, match="final_upsampling"):
        FlowConfig(final_upsampling="cubic")


def _scene(h: int = 64, w: int = 48):
    classes = torch.zeros(1, h, w, dtype=torch.long)
    classes[:, 10:20, 18:30] = FACE
    classes[:, 24:44, 12:36] = UPPER
    classes[:, 26:44, 6:12] = ARMS
    layout = classes.clone()
    layout[:, 24:50, 10:38] = UPPER  # the new garment is longer and wider
    return classes, layout


def test_changed_region_covers_old_and_new_garment_and_stops_short_of_the_face():
    classes, layout = _scene()
    region = changed_region(classes, layout)[0, 0]
    replaced = np.isin(classes[0], (UPPER, ARMS)) | (layout[0] == UPPER).numpy()
    assert (region[torch.from_numpy(replaced)] == 1).all()
    far = torch.ones_like(region, dtype=torch.bool)
    ys, xs = np.nonzero(replaced)
    far[max(ys.min() - GROW - FEATHER, 0):ys.max() + GROW + FEATHER + 1, max(xs.min() - GROW - FEATHER, 0):xs.max() + GROW + FEATHER + 1] = False
    assert (region[far] == 0).all() and (region[:13] == 0).all()  # the face's upper part is untouched
    edge = region[(region > 0) & (region < 1)]
    assert edge.numel() > 0  # feathered, not cut


def test_full_size_result_keeps_the_photo_outside_the_changed_region():
    torch.manual_seed(0)
    classes, layout = _scene()
    region = changed_region(classes, layout)
    photo = torch.rand(1, 3, 256, 192) * 2 - 1  # four times the network's size
    garment = torch.rand(1, 3, 256, 192) * 2 - 1
    image = torch.rand(1, 3, 64, 48) * 2 - 1
    flow = _smooth_flow(64, 48)
    small = torch.nn.functional.interpolate(garment, size=(64, 48), mode="area")
    used = (layout == UPPER).float()[:, None]
    out, alpha = compose_full_size(photo, garment, image, flow, warp(small, flow), used, region)
    assert out.shape == (1, 3, 256, 192) and alpha.shape == (1, 1, 256, 192)
    kept = (alpha == 0).expand_as(out)
    assert kept.float().mean() > 0.3 and torch.equal(out[kept], photo[kept])
    changed = (alpha == 1).expand_as(out)
    assert changed.float().mean() > 0.2 and (out[changed] - photo[changed]).abs().mean() > 0.3
    with pytest.raises(ValueError, match="garment at the photo's size"):
        compose_full_size(photo, garment[..., :100], image, flow, small, used, region)


def test_garment_detail_comes_from_the_full_resolution_garment():
    """With a zero flow and the network keeping the garment, the result inside is the full-size garment."""
    classes = torch.full((1, 16, 12), UPPER)
    region = changed_region(classes, classes)
    garment = torch.rand(1, 3, 64, 48) * 2 - 1  # fine detail a 16 x 12 network cannot hold
    small = torch.nn.functional.interpolate(garment, size=(16, 12), mode="area")
    zero = torch.zeros(1, 2, 16, 12)
    out, _ = compose_full_size(torch.zeros(1, 3, 64, 48), garment, small, zero, small, torch.ones(1, 1, 16, 12), region)
    assert torch.allclose(out, garment, atol=1e-5)
    blurry, _ = compose_full_size(torch.zeros(1, 3, 64, 48), garment, small, zero, small, torch.zeros(1, 1, 16, 12), region)
    assert (blurry - garment).abs().mean() > 0.2  # without the garment's detail: the upsized small image

import math

import pytest
import torch

from clothflow.evaluation import metrics


def test_ssim_identity_and_degradation():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    assert float(metrics.ssim(x, x)) == pytest.approx(1.0, abs=1e-6)
    noisy = (x + 1.0 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    assert float(metrics.ssim(x, noisy)) < 0.6


def test_masked_ssim_only_counts_mask():
    x = torch.zeros(1, 3, 32, 32)
    y = x.clone()
    y[..., :, 16:] = torch.rand(1, 3, 32, 16) * 2 - 1
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., :, :8] = 1  # far from the changed half (window radius 5)
    assert float(metrics.ssim(x, y, mask)) == pytest.approx(1.0, abs=1e-6)
    assert float(metrics.ssim(x, y)) < 0.9


def test_endpoint_error_known_shift():
    flow = torch.zeros(1, 2, 4, 4)
    truth = torch.zeros(1, 2, 4, 4)
    truth[:, 0] = 3.0
    truth[:, 1] = 4.0
    mask = torch.ones(1, 1, 4, 4)
    assert float(metrics.endpoint_error(flow, truth, mask)) == pytest.approx(5.0)
    mask[..., :2, :] = 0
    truth[..., :2, :] = 100.0  # outside the mask: ignored
    assert float(metrics.endpoint_error(flow, truth, mask)) == pytest.approx(5.0)


def test_miou_by_hand():
    truth = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[0, 1, 1, 1]])
    conf = metrics.confusion(pred, truth, 3)
    iou = metrics.iou_from_confusion(conf)
    assert float(iou[0]) == pytest.approx(1 / 2) and float(iou[1]) == pytest.approx(2 / 3)
    assert math.isnan(float(iou[2]))
    assert metrics.mean_iou(conf) == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_ssim_is_the_gaussian_11_sigma_1_5_ssim_of_the_losses():
    """One differentiable SSIM: scikit-image's Gaussian SSIM inside the border, and the losses' term."""
    from skimage.metrics import structural_similarity

    from clothflow.core.ops.ssim import ssim_map
    from clothflow.training.losses import _l1_ssim

    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 40, 30, generator=g) * 2 - 1
    y = (x + 0.3 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    got = metrics.ssim_map(x, y)[:, 0].double().numpy()
    for i in range(2):
        _, want = structural_similarity(
            ((x[i] + 1) / 2).permute(1, 2, 0).double().numpy(), ((y[i] + 1) / 2).permute(1, 2, 0).double().numpy(),
            gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=-1, full=True)
        assert abs(got[i, 5:-5, 5:-5] - want.mean(-1)[5:-5, 5:-5]).max() < 1e-4  # same window; borders padded differently
    a, b = (x + 1) / 2, (y + 1) / 2
    expected = (a - b).abs().mean() + 1 - ssim_map(a, b).mean()
    assert float(_l1_ssim(a, b, 1.0)) == pytest.approx(float(expected), abs=1e-6)
    assert float(metrics.ssim(x, y).mean()) == pytest.approx(float(ssim_map(a, b).mean()), abs=1e-6)

"""Metrics as the pose-transfer papers compute them: skimage SSIM, PSNR, L1, EPE accuracy, FID, IS, LPIPS.

No published weights exist here, so the networks are checked against the published key layouts
written down below, with random weights saved in those layouts; the formulas against values
computed by hand.
"""

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from clothflow.core.images import to_uint8
from clothflow.evaluation import fid, lpips, metrics
from clothflow.evaluation.deep_metrics import deep_metrics
from clothflow.core.errors import ClothflowError

# --------------------------------------------------------------------------- image metrics


def _images(seed: int, n: int = 2, h: int = 48, w: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_paper_ssim_identity_and_skimage_settings():
    a, b = _images(0), _images(1)
    assert metrics.paper_ssim(a, a).tolist() == [1.0, 1.0]
    assert metrics.paper_ssim(a, a, bounding=True).tolist() == [1.0, 1.0]
    got = metrics.paper_ssim(a, b)
    want = [structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                  data_range=255, channel_axis=-1) for x, y in zip(a, b)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got.max() < 0.2  # independent noise images are dissimilar


def test_tensor_input_is_quantised_like_a_png_with_rgb_last():
    x = torch.ones(1, 3, 2, 2)
    x[:, 0] = -1.0
    x[:, 1] = 0.0
    arr = to_uint8(x)
    assert arr.shape == (1, 2, 2, 3) and arr.dtype == np.uint8
    assert arr[0, 0, 0].tolist() == [0, 128, 255]
    t = torch.rand(2, 3, 24, 20) * 2 - 1
    np.testing.assert_allclose(metrics.paper_ssim(t, t.flip(0)), metrics.paper_ssim(to_uint8(t), to_uint8(t.flip(0))))


def test_add_bounding_is_patn_40px_white_margins():
    img = _images(2, n=1, h=256, w=176)
    padded = metrics.add_bounding(img)
    assert padded.shape == (1, 256, 256, 3)
    assert (padded[:, :, :40] == 255).all() and (padded[:, :, 216:] == 255).all()
    assert (padded[:, :, 40:216] == img).all()
    odd = metrics.add_bounding(np.zeros((1, 4, 251, 3), np.uint8), width=256)
    row = odd[0, 0, :, 0]  # 5 px to add: 2 on the left, 3 on the right
    assert (row[:2] == 255).all() and row[2] == 0 and row[-4] == 0 and (row[-3:] == 255).all()
    assert metrics.add_bounding(np.zeros((1, 64, 44, 3), np.uint8)).shape == (1, 64, 64, 3)  # square: 10 px a side


def test_bounding_adds_perfect_margins_and_keeps_the_inside_map():
    a, b = _images(3, h=256, w=176), _images(4, h=256, w=176)
    plain = metrics.paper_ssim_map(a, b)
    padded = metrics.paper_ssim_map(a, b, bounding=True)
    assert padded.shape == (2, 256, 256)
    # Away from the seams (window radius 5) the map is unchanged, the white margins score 1.
    np.testing.assert_allclose(padded[:, :, 45:211], plain[:, :, 5:171], rtol=1e-10)
    np.testing.assert_allclose(padded[:, :, :35], 1.0)
    assert (metrics.paper_ssim(a, b, bounding=True) > metrics.paper_ssim(a, b) + 0.1).all()


def test_masked_ssim_full_mask_is_the_mean_ssim_and_masks_select():
    a, b = _images(5), _images(6)
    full = metrics.paper_masked_ssim(a, b, np.ones((2, 48, 32)))
    np.testing.assert_allclose(full, metrics.paper_ssim(a, b), rtol=1e-12)
    maps = metrics.paper_ssim_map(a, b)
    np.testing.assert_allclose(full, maps[:, 5:-5, 5:-5].mean((1, 2)), rtol=1e-12)
    b2 = a.copy()
    b2[:, :, 16:] = b[:, :, 16:]  # differs only on the right half
    left = torch.zeros(2, 1, 48, 32)
    left[..., :10] = 1  # window radius 5: never sees the right half
    assert metrics.paper_masked_ssim(a, b2, left).tolist() == [1.0, 1.0]
    assert (metrics.paper_masked_ssim(a, b2, 1 - left) < 0.5).all()
    assert math.isnan(metrics.paper_masked_ssim(a, b2, np.zeros((2, 48, 32)))[0])


def test_data_range_generated_is_what_the_scripts_pass():
    a = _images(7, n=1)
    b = (_images(8, n=1) // 2).astype(np.uint8)  # values 0..127
    r = float(b.max()) - float(b.min())
    want = structural_similarity(a[0], b[0], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=r, channel_axis=-1)
    got = metrics.paper_ssim(a, b, data_range="generated")
    assert got[0] == pytest.approx(want, rel=1e-12)
    assert got[0] != pytest.approx(metrics.paper_ssim(a, b)[0], rel=1e-3)


def test_psnr_and_l1_of_a_known_difference():
    a = _images(9, n=1) // 2
    b = a + 10
    assert metrics.psnr(a, b)[0] == pytest.approx(20 * math.log10(255 / 10))
    assert math.isinf(metrics.psnr(a, a)[0])
    c = a + 51
    assert metrics.paper_l1(a, c)[0] == pytest.approx(0.4)  # 51 levels = 0.4 on [-1, 1]
    assert metrics.paper_l1(a, c, (0.0, 1.0))[0] == pytest.approx(0.2)


def test_flow_accuracy_thresholds_on_known_shifts():
    flow = torch.zeros(1, 2, 4, 4)
    truth = torch.zeros(1, 2, 4, 4)
    truth[:, 1] = 2.0  # off by exactly 2 px everywhere
    mask = torch.ones(1, 1, 4, 4)
    acc = metrics.flow_accuracy(flow, truth, mask)
    assert float(acc["epe"]) == pytest.approx(2.0)
    assert float(acc["under_1px"]) == 0.0 and float(acc["under_3px"]) == 100.0
    truth[:, 1, :2, :] = 0.5  # top half off by 0.5 px, the rest by 2 px
    truth[:, 1, 3, :] = 30.0  # ... but the last row is masked out
    mask[..., 3, :] = 0
    acc = metrics.flow_accuracy(flow, truth, mask)
    assert float(acc["under_1px"]) == pytest.approx(100 * 8 / 12)
    assert float(acc["under_3px"]) == pytest.approx(100.0)
    assert float(acc["epe"]) == pytest.approx((8 * 0.5 + 4 * 2.0) / 12)


# --------------------------------------------------------------------------- FID and IS formulas


def test_frechet_distance_hand_cases():
    mu, sigma = np.array([0.3, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
    assert fid.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)
    # N(0, 1) vs N(1, 4): (0 - 1)^2 + 1 + 4 - 2 sqrt(4) = 2
    assert fid.frechet_distance(np.zeros(1), np.ones((1, 1)), np.ones(1), 4 * np.ones((1, 1))) == pytest.approx(2.0)
    # diagonal 2-D: |(0,0) - (1,2)|^2 + (1 + 4 + 4 + 9) - 2 (sqrt(4) + sqrt(36)) = 5 + 18 - 16 = 7
    d = fid.frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.array([1.0, 2.0]), np.diag([4.0, 9.0]))
    assert d == pytest.approx(7.0)


def test_frechet_of_shifted_features_is_the_squared_shift():
    feats = np.random.default_rng(0).normal(size=(50, 4))
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    mu, sigma = fid.feature_statistics(feats)
    np.testing.assert_allclose(sigma, np.cov(feats.T))
    d = fid.frechet_distance(mu, sigma, *fid.feature_statistics(feats + shift))
    assert d == pytest.approx(float(shift @ shift), rel=1e-6)
    # Fewer samples than dimensions: singular covariances still give a finite distance.
    few = np.random.default_rng(1).normal(size=(3, 6))
    assert np.isfinite(fid.frechet_distance(*fid.feature_statistics(few), *fid.feature_statistics(few + 1)))


def test_inception_score_hand_cases():
    assert fid.inception_score(probs=np.full((20, 7), 1 / 7)) == pytest.approx((1.0, 0.0))
    one_hot = np.eye(5)[np.arange(20) % 5]  # every split of 2 uses all 5 classes equally
    assert fid.inception_score(probs=one_hot, splits=2) == pytest.approx((5.0, 0.0))
    # p1 = (1, 0), p2 = (.5, .5): p(y) = (.75, .25); KLs log(4/3) and .5 log(4/3) -> IS (4/3)^.75
    mean, _ = fid.inception_score(probs=np.array([[1.0, 0.0], [0.5, 0.5]]), splits=1)
    assert mean == pytest.approx((4 / 3) ** 0.75)
    # split 1 scores 2 (two classes, one-hot), split 2 scores 1 (uniform): mean 1.5, std 0.5
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.5, 0.5]])
    assert fid.inception_score(probs=probs, splits=2) == pytest.approx((1.5, 0.5))
    logits = np.log(probs + 1e-300)
    assert fid.inception_score(logits, splits=2) == pytest.approx((1.5, 0.5))
    with pytest.raises(ValueError):
        fid.inception_score(probs=probs, splits=5)


# --------------------------------------------------------------------------- LPIPS formula


def test_lpips_distance_matches_a_direct_numpy_computation():
    g = torch.Generator().manual_seed(0)
    chans = (3, 5)
    fx = [torch.randn(2, c, 4, 3, generator=g) for c in chans]
    fy = [torch.randn(2, c, 2, 2, generator=g) for c in chans]
    fy[0] = torch.randn(2, 3, 4, 3, generator=g)
    fy[1] = torch.randn(2, 5, 4, 3, generator=g)
    heads = [torch.rand(1, c, 1, 1, generator=g) for c in chans]
    want = np.zeros(2)
    for x, y, w in zip(fx, fy, heads):
        x, y, w = x.numpy().astype(np.float64), y.numpy().astype(np.float64), w.numpy().reshape(-1)
        xn = x / (np.sqrt((x**2).sum(1, keepdims=True)) + 1e-10)
        yn = y / (np.sqrt((y**2).sum(1, keepdims=True)) + 1e-10)
        want += np.einsum("nchw,c->nhw", (xn - yn) ** 2, w).mean((1, 2))
    got = lpips.lpips_distance(fx, fy, heads)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)
    assert lpips.lpips_distance(fx, fx, heads).abs().max() == 0


def test_lpips_network_identical_images_zero_and_scaling_constants():
    net = lpips.LPIPS()
    x = torch.rand(2, 3, 64, 48) * 2 - 1
    assert net(x, x).abs().max() == 0
    with pytest.raises(ValueError, match="at least 31"):
        net(x[..., :30], x[..., :30])
    assert (net(x, x.flip(-1)) != 0).all()  # random heads may be negative; published ones are not
    assert net.shift.flatten().tolist() == pytest.approx([-0.030, -0.088, -0.188])
    assert net.scale.flatten().tolist() == pytest.approx([0.458, 0.448, 0.450])
    feats = net.net(x)  # relu1..relu5 of AlexNet: after each ReLU
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 15, 11), (192, 7, 5), (384, 3, 2), (256, 3, 2), (256, 3, 2)]
    assert all((f >= 0).all() and (f == 0).any() for f in feats)


# --------------------------------------------------------------------------- published layouts and loading


def _conv(prefix: str, cout: int, cin: int, kh: int, kw: int) -> dict[str, tuple]:
    bn = {f"{prefix}.bn.{k}": (cout,) for k in ("weight", "bias", "running_mean", "running_var")}
    return {f"{prefix}.conv.weight": (cout, cin, kh, kw), **bn, f"{prefix}.bn.num_batches_tracked": ()}


def _published_fid_layout() -> dict[str, tuple]:
    """pytorch-fid's pt_inception-2015-12-05-6726825d.pth: torchvision Inception3, 1008 classes, no aux."""
    L: dict[str, tuple] = {}
    for name, co, ci, k in [("Conv2d_1a_3x3", 32, 3, 3), ("Conv2d_2a_3x3", 32, 32, 3), ("Conv2d_2b_3x3", 64, 32, 3),
                            ("Conv2d_3b_1x1", 80, 64, 1), ("Conv2d_4a_3x3", 192, 80, 3)]:
        L |= _conv(name, co, ci, k, k)
    for name, ci, pool in [("Mixed_5b", 192, 32), ("Mixed_5c", 256, 64), ("Mixed_5d", 288, 64)]:
        for b, co, cin, k in [("branch1x1", 64, ci, 1), ("branch5x5_1", 48, ci, 1), ("branch5x5_2", 64, 48, 5),
                              ("branch3x3dbl_1", 64, ci, 1), ("branch3x3dbl_2", 96, 64, 3),
                              ("branch3x3dbl_3", 96, 96, 3), ("branch_pool", pool, ci, 1)]:
            L |= _conv(f"{name}.{b}", co, cin, k, k)
    for b, co, cin, k in [("branch3x3", 384, 288, 3), ("branch3x3dbl_1", 64, 288, 1),
                          ("branch3x3dbl_2", 96, 64, 3), ("branch3x3dbl_3", 96, 96, 3)]:
        L |= _conv(f"Mixed_6a.{b}", co, cin, k, k)
    for name, c7 in [("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)]:
        for b, co, cin, kh, kw in [("branch1x1", 192, 768, 1, 1), ("branch7x7_1", c7, 768, 1, 1),
                                   ("branch7x7_2", c7, c7, 1, 7), ("branch7x7_3", 192, c7, 7, 1),
                                   ("branch7x7dbl_1", c7, 768, 1, 1), ("branch7x7dbl_2", c7, c7, 7, 1),
                                   ("branch7x7dbl_3", c7, c7, 1, 7), ("branch7x7dbl_4", c7, c7, 7, 1),
                                   ("branch7x7dbl_5", 192, c7, 1, 7), ("branch_pool", 192, 768, 1, 1)]:
            L |= _conv(f"{name}.{b}", co, cin, kh, kw)
    for b, co, cin, kh, kw in [("branch3x3_1", 192, 768, 1, 1), ("branch3x3_2", 320, 192, 3, 3),
                               ("branch7x7x3_1", 192, 768, 1, 1), ("branch7x7x3_2", 192, 192, 1, 7),
                               ("branch7x7x3_3", 192, 192, 7, 1), ("branch7x7x3_4", 192, 192, 3, 3)]:
        L |= _conv(f"Mixed_7a.{b}", co, cin, kh, kw)
    for name, ci in [("Mixed_7b", 1280), ("Mixed_7c", 2048)]:
        for b, co, cin, kh, kw in [("branch1x1", 320, ci, 1, 1), ("branch3x3_1", 384, ci, 1, 1),
                                   ("branch3x3_2a", 384, 384, 1, 3), ("branch3x3_2b", 384, 384, 3, 1),
                                   ("branch3x3dbl_1", 448, ci, 1, 1), ("branch3x3dbl_2", 384, 448, 3, 3),
                                   ("branch3x3dbl_3a", 384, 384, 1, 3), ("branch3x3dbl_3b", 384, 384, 3, 1),
                                   ("branch_pool", 192, ci, 1, 1)]:
            L |= _conv(f"{name}.{b}", co, cin, kh, kw)
    return L | {"fc.weight": (1008, 2048), "fc.bias": (1008,)}


ALEX_FEATURES = {"features.0.weight": (64, 3, 11, 11), "features.0.bias": (64,),
                 "features.3.weight": (192, 64, 5, 5), "features.3.bias": (192,),
                 "features.6.weight": (384, 192, 3, 3), "features.6.bias": (384,),
                 "features.8.weight": (256, 384, 3, 3), "features.8.bias": (256,),
                 "features.10.weight": (256, 256, 3, 3), "features.10.bias": (256,)}
LPIPS_LIN = {f"lin{i}.model.1.weight": (1, c, 1, 1) for i, c in enumerate((64, 192, 384, 256, 256))}


def _random_state(layout: dict[str, tuple], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, shape in layout.items():
        if k.endswith("num_batches_tracked"):
            out[k] = torch.tensor(0)
        elif k.endswith("running_var"):
            out[k] = torch.rand(shape, generator=g) + 0.5
        elif k.endswith("running_mean") or k.endswith("bn.bias"):
            out[k] = torch.randn(shape, generator=g) * 0.1
        elif k.endswith("bn.weight"):
            out[k] = 1 + torch.randn(shape, generator=g) * 0.1
        else:  # He-like scale, so signals neither vanish nor explode through the network
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
            out[k] = torch.randn(shape, generator=g) * math.sqrt(2 / fan_in)
    return out


@pytest.fixture
def no_weights_around(tmp_path, monkeypatch):
    """An empty hub cache and no environment variables, whatever this machine has."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    for var in (fid.FID_ENV_VAR, lpips.ALEX_ENV_VAR, lpips.LIN_ENV_VAR):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(lpips, "_package_lin_file", lambda: [])
    return hub


@pytest.fixture(scope="module")
def fid_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fid") / fid.FID_WEIGHTS_FILENAME
    torch.save(_random_state(_published_fid_layout()), path)
    return path


def test_fid_inception_matches_the_published_layout():
    model = fid.FIDInceptionV3()
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert got == _published_fid_layout()
    # torchvision's inception_v3 has 27,161,264 parameters; less AuxLogits (3,326,696), plus 8 classes.
    assert sum(p.numel() for p in model.parameters()) == 27_161_264 - 3_326_696 + 8 * 2048 + 8


def test_fid_inception_uses_the_tensorflow_pools():
    ones = torch.ones(1, 1, 3, 3)
    assert torch.equal(fid._tf_avg_pool(ones), ones)  # padding is not averaged in (torchvision's is)
    model = fid.FIDInceptionV3()
    assert [model.Mixed_7b.max_pool, model.Mixed_7c.max_pool] == [False, True]  # FIDInceptionE_1, E_2
    x = torch.zeros(1, 2048, 3, 3)
    x[0, :, 0, 0] = 1.0
    block = model.Mixed_7c
    with torch.no_grad():
        pooled = block.branch_pool(torch.nn.functional.max_pool2d(x, 3, stride=1, padding=1))
        assert torch.allclose(block(x)[:, -192:], pooled)


def test_lpips_matches_the_published_layouts():
    model = lpips.LPIPS()
    assert {k: tuple(v.shape) for k, v in model.net.state_dict().items()} == ALEX_FEATURES
    lin = {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith("lin")}
    assert lin == LPIPS_LIN


def test_fid_loader_paths_env_and_hub_cache(fid_file, no_weights_around, monkeypatch, caplog):
    assert fid.load_fid_inception() is None
    msg = fid.fid_missing_message()
    assert fid.FID_WEIGHTS_FILENAME in msg and fid.FID_WEIGHTS_URL in msg and fid.FID_ENV_VAR in msg
    assert str(no_weights_around / "checkpoints") in msg and "\n" not in msg
    assert fid.FID_WEIGHTS_FILENAME in caplog.text
    model = fid.load_fid_inception(fid_file)
    want = torch.load(fid_file, weights_only=True)
    assert torch.equal(model.Mixed_7c.branch_pool.conv.weight, want["Mixed_7c.branch_pool.conv.weight"])
    assert torch.equal(model.fc.weight, want["fc.weight"])
    monkeypatch.setenv(fid.FID_ENV_VAR, str(fid_file))
    assert fid.fid_weights_file() == fid_file
    monkeypatch.delenv(fid.FID_ENV_VAR)
    (no_weights_around / "checkpoints").mkdir(parents=True)
    (no_weights_around / "checkpoints" / fid.FID_WEIGHTS_FILENAME).symlink_to(fid_file)
    assert fid.fid_weights_file() == no_weights_around / "checkpoints" / fid.FID_WEIGHTS_FILENAME


def test_fid_loader_rejects_malformed_and_named_missing_files(tmp_path, no_weights_around, monkeypatch):
    layout = _published_fid_layout()
    small = {k: v for k, v in _random_state(layout).items() if not k.startswith("Mixed_7")}
    cases = {
        "missing_keys.pth": small,
        "wrong_shape.pth": {**_random_state(layout), "fc.weight": torch.zeros(1000, 2048), "fc.bias": torch.zeros(1000)},
        "not_a_dict.pth": [torch.zeros(1)],
    }
    for name, obj in cases.items():
        torch.save(obj, tmp_path / name)
        with pytest.raises(ClothflowError, match=name):
            fid.load_fid_inception(tmp_path / name)
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ClothflowError, match="garbage.pth"):
        fid.load_fid_inception(tmp_path / "garbage.pth")
    with pytest.raises(ClothflowError, match="typo.pth"):
        fid.load_fid_inception(tmp_path / "typo.pth")
    monkeypatch.setenv(fid.FID_ENV_VAR, str(tmp_path / "typo2.pth"))
    with pytest.raises(ClothflowError, match=fid.FID_ENV_VAR):
        fid.load_fid_inception()


def test_fid_loader_accepts_files_without_batchnorm_counters(tmp_path):
    state = {k: v for k, v in _random_state(_published_fid_layout(), seed=1).items() if "num_batches" not in k}
    torch.save(state, tmp_path / "old.pth")
    model = fid.load_fid_inception(tmp_path / "old.pth")
    assert torch.equal(model.Conv2d_1a_3x3.bn.running_var, state["Conv2d_1a_3x3.bn.running_var"])


def test_lpips_loader(tmp_path, no_weights_around, caplog):
    alex = {**_random_state(ALEX_FEATURES), "classifier.1.weight": torch.zeros(2, 2), "classifier.6.bias": torch.zeros(2)}
    torch.save(alex, tmp_path / lpips.ALEX_FILENAME)
    heads = {k: v.abs() for k, v in _random_state(LPIPS_LIN, seed=2).items()}
    torch.save(heads, tmp_path / "alex.pth")
    assert lpips.load_lpips() is None
    msg = lpips.lpips_missing_message()
    assert lpips.ALEX_FILENAME in msg and lpips.LIN_ENV_VAR in msg and lpips.ALEX_ENV_VAR in msg
    assert lpips.lpips_missing_message(tmp_path / lpips.ALEX_FILENAME, tmp_path / "alex.pth") == ""
    net = lpips.load_lpips(tmp_path / lpips.ALEX_FILENAME, tmp_path / "alex.pth")
    assert torch.equal(net.net.features[10].weight, alex["features.10.weight"])
    assert torch.equal(net.lin4.model[1].weight, heads["lin4.model.1.weight"])
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert net(x, x).abs().max() == 0 and (net(x, -x) > 0).all()
    torch.save({"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)}, tmp_path / "partial.pth")
    with pytest.raises(ClothflowError, match="partial.pth"):
        lpips.load_lpips(tmp_path / lpips.ALEX_FILENAME, tmp_path / "partial.pth")


def test_fid_inception_forward_and_deep_metrics(fid_file, tmp_path, no_weights_around, monkeypatch):
    model = fid.load_fid_inception(fid_file)
    feats, logits = fid.inception_outputs(model, torch.rand(2, 3, 40, 28) * 2 - 1)
    assert feats.shape == (2, 2048) and logits.shape == (2, 1008) and np.isfinite(feats).all()
    assert np.abs(feats[0] - feats[1]).max() > 1e-3 * np.abs(feats).max()  # the images are told apart
    unbiased = feats @ model.fc.weight.double().numpy().T  # IS logits: no fc bias
    np.testing.assert_allclose(logits, unbiased, atol=1e-5 * np.abs(unbiased).max())

    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(2, 3, 64, 44, generator=g) * 2 - 1, torch.rand(2, 3, 64, 44, generator=g) * 2 - 1
    out = deep_metrics(real, fake, splits=2)  # no files: nothing reported, every reason noted
    assert (out["fid"], out["is_mean"], out["lpips"]) == (None, None, None)
    assert any(fid.FID_WEIGHTS_FILENAME in n for n in out["notes"]) and any("LPIPS" in n for n in out["notes"])

    # A 2048 x 2048 matrix square root takes ~30 s on this CPU; the formula is tested above, so
    # check what deep_metrics hands it and return only the mean term here.
    seen = []

    def fast_frechet(mu1, s1, mu2, s2):
        seen.append((mu1.shape, s1.shape, mu2.shape, s2.shape))
        assert np.allclose(s1, s1.T) and np.allclose(s2, s2.T)
        return float((mu1 - mu2) @ (mu1 - mu2))

    monkeypatch.setattr(fid, "frechet_distance", fast_frechet)
    torch.save(_random_state(ALEX_FEATURES), tmp_path / "a.pth")
    torch.save({k: v.abs() for k, v in _random_state(LPIPS_LIN).items()}, tmp_path / "l.pth")
    out = deep_metrics(real, [fake[:1], fake[1:]], fid_weights=fid_file, lpips_alex=tmp_path / "a.pth",
                       lpips_lin=tmp_path / "l.pth", splits=2)
    assert out["n_real"] == out["n_fake"] == 2
    assert seen == [((2048,), (2048, 2048), (2048,), (2048, 2048))]
    assert isinstance(out["fid"], float) and out["fid"] > 0
    assert out["is_mean"] >= 1.0 - 1e-9 and out["lpips"] > 0
    assert any("2048" in n for n in out["notes"])  # a 2-image FID is flagged

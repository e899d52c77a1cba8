"""FID and Inception Score with pytorch-fid's Inception network, written here (no torchvision).

:class:`FIDInceptionV3` is the network of pytorch-fid's ``fid_inception_v3()``: torchvision's
``Inception3(num_classes=1008, aux_logits=False)`` with the TensorFlow-compatible blocks
(``FIDInceptionA``/``C``: average pools that ignore padding; ``FIDInceptionE_1``: the same;
``FIDInceptionE_2``: a max pool). Attribute names follow torchvision, so the published
``pt_inception-2015-12-05-6726825d.pth`` (the TF 2015-12-05 graph ported by pytorch-fid) loads
as is with :func:`load_fid_inception`. Nothing is downloaded unless asked (``download=True``).

Preprocessing is pytorch-fid's: bilinear resize to 299 x 299 (``align_corners=False``, no
antialiasing), values in [-1, 1]. FID uses the 2048-d pool3 features. IS uses
``pool3 @ fc.weight.T`` over all 1008 outputs *without* the fc bias, as the original TF code
(``softmax/logits/MatMul``) and torch-fidelity's ``logits_unbiased`` do; the 8 outputs beyond
ImageNet's 1000 classes are kept, as both do. torch-fidelity resizes with its own TF-style
interpolation, so its IS can differ slightly in the last digits.

Example:
    >>> import numpy as np
    >>> mu, sigma = np.zeros(2), np.eye(2)
    >>> round(frechet_distance(mu, sigma, mu + 1, sigma), 6)
    2.0
    >>> probs = np.full((10, 4), 0.25)
    >>> inception_score(probs=probs, splits=2)
    (1.0, 0.0)
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import linalg

from clothflow.evaluation.published_weights import (
    candidates,
    load_exact,
    locate,
    missing_message,
    read_state_dict,
)

logger = logging.getLogger(__name__)

FID_WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
FID_ENV_VAR = "CLOTHFLOW_FID_INCEPTION"
FEATURE_DIM = 2048
NUM_LOGITS = 1008


class _Conv(nn.Module):
    """torchvision's ``BasicConv2d``: conv (no bias), batch norm (eps 1e-3), ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """3 x 3 stride-1 average pool that, like TensorFlow's, does not count the zero padding."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _BlockA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _Conv(cin, 64, 1)
        self.branch5x5_1 = _Conv(cin, 48, 1)
        self.branch5x5_2 = _Conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _Conv(cin, 64, 1)
        self.branch3x3dbl_2 = _Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, 3, padding=1)
        self.branch_pool = _Conv(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))], 1)


class _BlockB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = _Conv(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = _Conv(cin, 64, 1)
        self.branch3x3dbl_2 = _Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class _BlockC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = _Conv(cin, 192, 1)
        self.branch7x7_1 = _Conv(cin, c7, 1)
        self.branch7x7_2 = _Conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = _Conv(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _Conv(cin, c7, 1)
        self.branch7x7dbl_2 = _Conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _Conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _Conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _Conv(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = conv(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_tf_avg_pool(x))], 1)


class _BlockD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = _Conv(cin, 192, 1)
        self.branch3x3_2 = _Conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _Conv(cin, 192, 1)
        self.branch7x7x3_2 = _Conv(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _Conv(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _Conv(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for conv in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = conv(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class _BlockE(nn.Module):
    """InceptionE; ``max_pool=True`` is ``FIDInceptionE_2`` (Mixed_7c), else ``FIDInceptionE_1``."""

    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = _Conv(cin, 320, 1)
        self.branch3x3_1 = _Conv(cin, 384, 1)
        self.branch3x3_2a = _Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _Conv(cin, 448, 1)
        self.branch3x3dbl_2 = _Conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _tf_avg_pool(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """pytorch-fid's FID Inception (frozen, eval mode), taking images in [-1, 1].

    Shape:
        - Input: N x 3 x H x W in [-1, 1], any size (resized to 299 x 299 inside).
        - Output: ``(pool3, logits)``: N x 2048 features and N x 1008 unbiased logits.
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _Conv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _Conv(32, 32, 3)
        self.Conv2d_2b_3x3 = _Conv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _Conv(64, 80, 1)
        self.Conv2d_4a_3x3 = _Conv(80, 192, 3)
        self.Mixed_5b = _BlockA(192, 32)
        self.Mixed_5c = _BlockA(256, 64)
        self.Mixed_5d = _BlockA(288, 64)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b = _BlockC(768, 128)
        self.Mixed_6c = _BlockC(768, 160)
        self.Mixed_6d = _BlockC(768, 160)
        self.Mixed_6e = _BlockC(768, 192)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b = _BlockE(1280, max_pool=False)
        self.Mixed_7c = _BlockE(2048, max_pool=True)
        self.fc = nn.Linear(FEATURE_DIM, NUM_LOGITS)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FIDInceptionV3:
        """Always eval: batch-norm statistics are the published ones."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected N x 3 x H x W images, got {tuple(x.shape)}")
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, stride=2)))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        pool3 = x.mean((2, 3))
        return pool3, pool3 @ self.fc.weight.t()


def fid_weights_file(path: str | Path | None = None) -> Path | None:
    """The FID Inception weights to use: ``path``, ``$CLOTHFLOW_FID_INCEPTION``, the hub cache."""
    return locate(FID_WEIGHTS_FILENAME, FID_ENV_VAR, path)


def fid_missing_message(path: str | Path | None = None) -> str:
    """The one-line note given when no FID Inception weights are found."""
    places = candidates(FID_WEIGHTS_FILENAME, FID_ENV_VAR, path)
    return missing_message("FID/IS", FID_WEIGHTS_FILENAME, FID_ENV_VAR, FID_WEIGHTS_URL, places)


def load_fid_inception(path: str | Path | None = None, download: bool = False) -> FIDInceptionV3 | None:
    """Load the published FID Inception weights if they are available.

    Looks in (1) ``path``, (2) ``$CLOTHFLOW_FID_INCEPTION``, (3)
    ``torch.hub.get_dir()/checkpoints/pt_inception-2015-12-05-6726825d.pth`` (where pytorch-fid
    caches it). Only that file's layout is accepted: every key and shape must match.

    Args:
        path: a ``.pth`` file.
        download: when nothing is found, fetch it from pytorch-fid's release into the hub cache.

    Returns:
        The frozen network, or None (after logging :func:`fid_missing_message`).

    Raises:
        ClothflowError: a named file is missing, or a file is not in the published layout.
    """
    file = fid_weights_file(path)
    if file is None and not download:
        logger.warning(fid_missing_message(path))
        return None
    if file is None:
        state = torch.hub.load_state_dict_from_url(FID_WEIGHTS_URL, map_location="cpu", progress=True)
        source: Path | str = FID_WEIGHTS_URL
    else:
        state, source = read_state_dict(file, "FID Inception"), file
    model = FIDInceptionV3()
    load_exact(model, state, source, "FID Inception (pytorch-fid)")
    return model.eval()


@torch.inference_mode()
def inception_outputs(model: FIDInceptionV3, images: torch.Tensor, batch_size: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """pool3 features (N x 2048) and unbiased logits (N x 1008) of [-1, 1] images, as float64."""
    feats, logits = [], []
    device = next(model.parameters()).device
    for start in range(0, len(images), batch_size):
        f, l = model(images[start : start + batch_size].to(device, torch.float32))
        feats.append(f.double().cpu())
        logits.append(l.double().cpu())
    return torch.cat(feats).numpy(), torch.cat(logits).numpy()


def feature_statistics(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``np.cov``, rows = samples, N - 1 normalisation) of N x D features.

    Example:
        >>> mu, sigma = feature_statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
        >>> mu.tolist(), sigma.tolist()
        ([1.0, 2.0], [[2.0, 2.0], [2.0, 2.0]])
    """
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise ValueError(f"need N x D features with N >= 2, got shape {feats.shape}")
    return feats.mean(0), np.cov(feats, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance of two Gaussians: ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``.

    As pytorch-fid: ``scipy.linalg.sqrtm`` of the product; if that is not finite (a singular
    product), ``eps`` is added to both diagonals and it is retried; a small imaginary part from
    rounding is dropped (a large one, over 1e-3 on the diagonal, is an error).

    Args:
        mu1, mu2: (D,) means. sigma1, sigma2: D x D covariances (scalars for D = 1).

    Returns:
        The distance (a float, >= 0 up to rounding).

    Example:
        >>> round(frechet_distance(np.zeros(1), np.eye(1), np.ones(1), 4 * np.eye(1)), 6)
        2.0
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"mismatched statistics: {mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # a singular product is handled just below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        logger.info("FID: singular covariance product; adding %g to the diagonals", eps)
        offset = np.eye(len(mu1)) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: imaginary component {np.max(np.abs(covmean.imag)):.3g} in sqrtm")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def inception_score(
    logits: np.ndarray | None = None, *, probs: np.ndarray | None = None, splits: int = 10
) -> tuple[float, float]:
    """Inception Score: mean and std over ``splits`` of ``exp(E_x[KL(p(y|x) || p(y))])``.

    Splits are consecutive equal parts, p(y) is the mean prediction within a split and the std is
    the population std (``np.std``), as in the original TF code and torch-fidelity (which also
    shuffles first).

    Args:
        logits: N x K scores, turned into p(y|x) by a softmax (give these or ``probs``).
        probs: N x K class probabilities (rows summing to 1).
        splits: number of parts (N >= splits).

    Returns:
        ``(mean, std)``.

    Example:
        >>> inception_score(probs=np.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3]], splits=2)
        (4.0, 0.0)
    """
    if (logits is None) == (probs is None):
        raise ValueError("give exactly one of logits or probs")
    if logits is not None:
        z = np.asarray(logits, np.float64)
        z = z - z.max(1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    else:
        p = np.asarray(probs, np.float64)
    if p.ndim != 2 or len(p) < splits or splits < 1:
        raise ValueError(f"need N x K predictions with N >= splits={splits}, got shape {p.shape}")
    n = len(p)
    scores = []
    for i in range(splits):
        part = p[i * n // splits : (i + 1) * n // splits]
        py = part.mean(0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0)
        scores.append(float(np.exp(kl.sum(1).mean())))
    return float(np.mean(scores)), float(np.std(scores))

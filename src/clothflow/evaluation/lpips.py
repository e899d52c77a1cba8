"""LPIPS v0.1 (AlexNet) as the ``lpips`` package computes it, written here (no torchvision).

Two published files are needed, both loaded from local copies (nothing is downloaded unless
asked with ``download=True``):

- AlexNet ``features`` in torchvision's layout, ``alexnet-owt-7be5be79.pth``
  (``features.{0,3,6,8,10}.{weight,bias}``; its ``classifier.*`` keys are ignored);
- the linear heads of lpips' ``weights/v0.1/alex.pth``: ``lin{0..4}.model.1.weight`` of shapes
  1 x C x 1 x 1, C = 64, 192, 384, 256, 256.

The distance (Zhang et al. 2018, ``lpips.LPIPS(net="alex", version="0.1")``): inputs in
[-1, 1] are shifted and scaled per channel (shift -0.030, -0.088, -0.188; scale 0.458, 0.448,
0.450), the five AlexNet ReLU outputs are unit-normalised along channels (eps 1e-10), their
squared difference is weighted per channel by the heads (a 1 x 1 conv), averaged over space and
summed over layers.

Example:
    >>> import torch
    >>> fx = [torch.rand(1, c, 4, 4) for c in LAYER_CHANNELS]
    >>> heads = [torch.rand(1, c, 1, 1) for c in LAYER_CHANNELS]
    >>> float(lpips_distance(fx, fx, heads)[0])
    0.0
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn

from clothflow.evaluation.published_weights import (
    candidates,
    load_exact,
    locate,
    missing_message,
    read_state_dict,
)

logger = logging.getLogger(__name__)

ALEX_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
ALEX_FILENAME = "alexnet-owt-7be5be79.pth"
ALEX_ENV_VAR = "CLOTHFLOW_LPIPS_ALEX"
LIN_URL = "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth"
LIN_FILENAME = "alex.pth"
LIN_ENV_VAR = "CLOTHFLOW_LPIPS_LIN"
LAYER_CHANNELS: tuple[int, ...] = (64, 192, 384, 256, 256)
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10
MIN_SIZE = 31  # smaller inputs vanish in AlexNet's second max pool


def normalize_channels(feat: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Divide N x C x H x W features by their L2 norm over C (plus ``eps``), as lpips does."""
    return feat / (feat.pow(2).sum(1, keepdim=True).sqrt() + eps)


def lpips_distance(
    feats_x: Sequence[torch.Tensor], feats_y: Sequence[torch.Tensor], lin_weights: Sequence[torch.Tensor]
) -> torch.Tensor:
    """LPIPS from per-layer features and linear-head weights.

    Args:
        feats_x, feats_y: per layer l, N x C_l x H_l x W_l features of the two images.
        lin_weights: per layer, the head weights, 1 x C_l x 1 x 1 (or C_l).

    Returns:
        (N,) distances: sum over layers of the spatial mean of
        ``sum_c w_c (x_hat - y_hat)^2`` with x_hat, y_hat unit-normalised along channels.
    """
    if not (len(feats_x) == len(feats_y) == len(lin_weights)):
        raise ValueError(f"{len(feats_x)}, {len(feats_y)} feature maps and {len(lin_weights)} heads: need one each per layer")
    total = None
    for fx, fy, w in zip(feats_x, feats_y, lin_weights):
        if fx.shape != fy.shape or w.numel() != fx.shape[1]:
            raise ValueError(f"layer shapes {tuple(fx.shape)}, {tuple(fy.shape)} with {w.numel()} head weights")
        diff = (normalize_channels(fx) - normalize_channels(fy)) ** 2
        layer = (diff * w.reshape(1, -1, 1, 1).to(diff)).sum(1).mean((1, 2))
        total = layer if total is None else total + layer
    return total


class AlexNetFeatures(nn.Module):
    """AlexNet's convolutional part with torchvision's ``features`` indices; returns 5 ReLU maps."""

    TAPS = (1, 4, 7, 9, 11)  # relu1 .. relu5, the slices lpips' ``pretrained_networks.alexnet`` cuts

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, module in enumerate(self.features):
            x = module(x)
            if i in self.TAPS:
                out.append(x)
        return out


class _LinHead(nn.Module):
    """lpips' ``NetLinLayer``: dropout (inactive in eval) then a bias-free 1 x 1 conv to 1 channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))


class LPIPS(nn.Module):
    """Frozen LPIPS v0.1 (AlexNet) network comparing images in [-1, 1].

    Shape:
        - Input: two N x 3 x H x W tensors in [-1, 1], H and W at least 31 (AlexNet's strides).
        - Output: (N,) distances, 0 for identical images.

    Example:
        >>> net = LPIPS()  # random weights: for shapes only; use load_lpips for real ones
        >>> x = torch.rand(2, 3, 64, 64) * 2 - 1
        >>> net(x, x).abs().max().item()
        0.0
    """

    def __init__(self) -> None:
        super().__init__()
        self.net = AlexNetFeatures()
        for i, c in enumerate(LAYER_CHANNELS):
            setattr(self, f"lin{i}", _LinHead(c))
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> LPIPS:
        """Always eval (no dropout on the heads)."""
        return super().train(False)

    def lin_weights(self) -> list[torch.Tensor]:
        """The five head weights, 1 x C_l x 1 x 1."""
        return [getattr(self, f"lin{i}").model[1].weight for i in range(len(LAYER_CHANNELS))]

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected two N x 3 x H x W images of one shape, got {tuple(x.shape)}, {tuple(y.shape)}")
        if min(x.shape[-2:]) < MIN_SIZE:
            raise ValueError(f"LPIPS (AlexNet) needs images of at least {MIN_SIZE} x {MIN_SIZE} px, got {tuple(x.shape[-2:])}")
        fx = self.net((x - self.shift) / self.scale)
        fy = self.net((y - self.shift) / self.scale)
        return lpips_distance(fx, fy, self.lin_weights())


def _package_lin_file() -> list[Path]:
    """lpips' bundled ``weights/v0.1/alex.pth`` if that package is installed (not imported)."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) / "weights" / "v0.1" / LIN_FILENAME for p in spec.submodule_search_locations]


def lpips_weights_files(alex_path: str | Path | None = None, lin_path: str | Path | None = None) -> tuple[Path | None, Path | None]:
    """(AlexNet file, heads file) to use; see :func:`load_lpips` for where they are looked for."""
    return (locate(ALEX_FILENAME, ALEX_ENV_VAR, alex_path),
            locate(LIN_FILENAME, LIN_ENV_VAR, lin_path, extra=_package_lin_file()))


def lpips_missing_message(alex_path: str | Path | None = None, lin_path: str | Path | None = None) -> str:
    """The one-line note for whichever of the two LPIPS files is missing ("" when both exist)."""
    alex, lin = lpips_weights_files(alex_path, lin_path)
    notes = []
    if alex is None:
        notes.append(missing_message("LPIPS", ALEX_FILENAME, ALEX_ENV_VAR, ALEX_URL,
                                     candidates(ALEX_FILENAME, ALEX_ENV_VAR, alex_path)))
    if lin is None:
        notes.append(missing_message("LPIPS", f"v0.1 {LIN_FILENAME}", LIN_ENV_VAR, LIN_URL,
                                     candidates(LIN_FILENAME, LIN_ENV_VAR, lin_path, _package_lin_file())))
    return "; ".join(notes)


def load_lpips(alex_path: str | Path | None = None, lin_path: str | Path | None = None, download: bool = False) -> LPIPS | None:
    """Load LPIPS v0.1 (AlexNet) from the published files if both are available.

    AlexNet: (1) ``alex_path``, (2) ``$CLOTHFLOW_LPIPS_ALEX``, (3)
    ``torch.hub.get_dir()/checkpoints/alexnet-owt-7be5be79.pth`` (torchvision's cache).
    Heads: (1) ``lin_path``, (2) ``$CLOTHFLOW_LPIPS_LIN``, (3) ``<hub dir>/checkpoints/alex.pth``,
    (4) ``weights/v0.1/alex.pth`` inside an installed ``lpips`` package.

    Args:
        alex_path: torchvision AlexNet state dict.
        lin_path: lpips v0.1 ``alex.pth``.
        download: fetch missing files into the hub cache (never done by default).

    Returns:
        The frozen :class:`LPIPS`, or None (after logging :func:`lpips_missing_message`).

    Raises:
        ClothflowError: a named file is missing, or a file is not in the published layout.
    """
    alex, lin = lpips_weights_files(alex_path, lin_path)
    if (alex is None or lin is None) and not download:
        logger.warning(lpips_missing_message(alex_path, lin_path))
        return None
    model = LPIPS()
    if alex is None:
        state, alex_src = torch.hub.load_state_dict_from_url(ALEX_URL, map_location="cpu"), ALEX_URL
    else:
        state, alex_src = read_state_dict(alex, "torchvision AlexNet"), alex
    feats = {k: v for k, v in state.items() if isinstance(k, str) and not k.startswith("classifier.")}
    load_exact(model.net, feats, alex_src, "torchvision AlexNet")
    if lin is None:
        state, lin_src = torch.hub.load_state_dict_from_url(LIN_URL, map_location="cpu", file_name=LIN_FILENAME), LIN_URL
    else:
        state, lin_src = read_state_dict(lin, "LPIPS v0.1 linear heads"), lin
    heads = nn.ModuleDict({f"lin{i}": getattr(model, f"lin{i}") for i in range(len(LAYER_CHANNELS))})
    load_exact(heads, state, lin_src, "LPIPS v0.1 alex linear heads")
    return model.eval()

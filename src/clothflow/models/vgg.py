"""VGG19 features for perceptual and style losses, written here (no torchvision needed).

Module indices of :attr:`VGG19.features` match torchvision's ``vgg19().features``, so the
published ImageNet weights (``vgg19-dcbb9e9d.pth``: ``features.0.weight`` .. ``features.34.bias``,
plus ``classifier.*`` keys that are ignored) load with :func:`load_vgg19`. Nothing is downloaded
unless asked (``download=True``).

Example:
    >>> import torch
    >>> vgg = VGG19()
    >>> feats = vgg(torch.zeros(1, 3, 32, 32), ("relu1_1", "relu3_1"))
    >>> [tuple(f.shape) for f in feats.values()]
    [(1, 64, 32, 32), (1, 256, 8, 8)]
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn

from clothflow.core.errors import ClothflowError

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG19_FILENAME = "vgg19-dcbb9e9d.pth"
ENV_VAR = "CLOTHFLOW_VGG19"

# torchvision's configuration "E": channels per conv, "M" = 2 x 2 max-pool.
_CFG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def _layer_names() -> dict[str, int]:
    """Name -> index in ``features`` of every ReLU ("relu3_2") and pool ("pool3")."""
    names: dict[str, int] = {}
    block, conv, idx = 1, 1, 0
    for v in _CFG:
        if v == "M":
            names[f"pool{block}"] = idx
            block, conv, idx = block + 1, 1, idx + 1
        else:
            names[f"relu{block}_{conv}"] = idx + 1
            conv, idx = conv + 1, idx + 2
    return names


LAYERS: dict[str, int] = _layer_names()


class VGG19(nn.Module):
    """Frozen VGG19 feature extractor taking images in [-1, 1].

    Inputs are mapped to [0, 1] and ImageNet-normalised inside. Parameters never require grad
    and the module stays in eval mode (it has no dropout or batch norm anyway).

    Shape:
        - Input: N x 3 x H x W in [-1, 1].
        - Output: dict layer name -> N x C_l x H_l x W_l, in the order asked.
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        for v in _CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(in_ch, int(v), 3, padding=1), nn.ReLU()]
                in_ch = int(v)
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19:
        """Always eval: a frozen feature extractor."""
        return super().train(False)

    def forward(self, x: torch.Tensor, layers: tuple[str, ...] | list[str]) -> dict[str, torch.Tensor]:
        unknown = [n for n in layers if n not in LAYERS]
        if unknown:
            raise ValueError(f"unknown VGG19 layers {unknown}; known: {list(LAYERS)}")
        wanted = {LAYERS[n]: n for n in layers}
        last = max(wanted)
        y = ((x + 1.0) * 0.5 - self.mean) / self.std
        out: dict[str, torch.Tensor] = {}
        for i, module in enumerate(self.features):
            y = module(y)
            if i in wanted:
                out[wanted[i]] = y
            if i == last:
                break
        return {n: out[n] for n in layers}


def vgg19_candidates(path: str | Path | None = None) -> list[Path]:
    """Where :func:`load_vgg19` looks, in order: ``path``, ``$CLOTHFLOW_VGG19``, the torch hub cache."""
    found = [Path(p) for p in (path, os.environ.get(ENV_VAR)) if p]
    found.append(Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILENAME)
    return found


def _from_state_dict(state: object, source: Path | str) -> VGG19:
    if not isinstance(state, dict):
        raise ClothflowError(f"not a VGG19 state dict (got {type(state).__name__})", source)
    feats = {k: v for k, v in state.items() if isinstance(k, str) and k.startswith("features.")}
    model = VGG19()
    missing = [k for k in model.state_dict() if k not in feats]
    if missing:
        raise ClothflowError(
            f"not a torchvision VGG19 state dict: {len(missing)} 'features.*' keys missing (e.g. {', '.join(missing[:3])})", source
        )
    try:
        model.load_state_dict(feats, strict=True)
    except Exception as exc:  # unexpected keys, wrong shapes, non-tensor values
        raise ClothflowError(f"not a torchvision VGG19 state dict: {str(exc).strip()[:300]}", source) from exc
    return model.requires_grad_(False).eval()


def load_vgg19(path: str | Path | None = None, download: bool = False) -> VGG19 | None:
    """Load ImageNet VGG19 weights if they are available.

    Looks in (1) ``path`` if given, else (2) the file named by ``$CLOTHFLOW_VGG19`` if set, else
    (3) ``torch.hub.get_dir()/checkpoints/vgg19-dcbb9e9d.pth``. A file named by ``path`` or the
    environment variable must exist (a typo is an error, not a silent fallback). Files are read with
    ``torch.load(..., weights_only=True)``; ``classifier.*`` keys are ignored.

    Args:
        path: a ``.pth`` file in torchvision's key layout.
        download: when nothing is found, fetch the torchvision weights into the hub cache.

    Returns:
        The frozen :class:`VGG19`, or None when no weights were found (and ``download`` is False).

    Raises:
        ClothflowError: a named file is missing, or a file is not a VGG19 state dict.
    """
    if path:
        candidate, named_by = Path(path), "the path argument"
    elif os.environ.get(ENV_VAR):
        candidate, named_by = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    else:
        candidate, named_by = vgg19_candidates()[-1], None
    if candidate.is_file():
        try:
            state = torch.load(candidate, map_location="cpu", weights_only=True)
        except Exception as exc:  # unpickling errors come in many types
            raise ClothflowError(
                f"cannot read VGG19 weights as a PyTorch state dict ({type(exc).__name__}); "
                f"expected torchvision's {VGG19_FILENAME}",
                candidate,
            ) from exc
        return _from_state_dict(state, candidate)
    if named_by is not None:
        raise ClothflowError(f"VGG19 weights file named by {named_by} not found", candidate)
    if download:
        state = torch.hub.load_state_dict_from_url(VGG19_URL, map_location="cpu", progress=True)
        return _from_state_dict(state, VGG19_URL)
    return None

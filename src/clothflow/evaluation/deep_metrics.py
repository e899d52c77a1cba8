"""FID, IS and LPIPS over a set of generated images, from the published weights only.

:func:`deep_metrics` loads the networks of :mod:`clothflow.evaluation.fid` and :mod:`clothflow.evaluation.lpips` from
local files (see :func:`clothflow.evaluation.fid.load_fid_inception` and :func:`clothflow.evaluation.lpips.load_lpips`
for where they are looked for) and reports ``None`` plus a note for each metric whose weights are
missing. It never downloads and never substitutes other weights.

Protocol choices, all explicit arguments:

- ``real_images`` are the FID reference set and the LPIPS targets (paired with ``fake_images``
  by order). PATN-style scripts use the test targets; GFLA's FID uses the training images,
  which a caller gets by passing those as ``real_images`` (LPIPS then needs equal counts).
- ``quantize=True`` rounds images to 8 bits first, as scoring saved PNGs does.
- ``bounding=True`` pads 256 x 176 images with white to 256 x 256 first, as PATN's
  ``getMetrics_fashion.py`` does for every metric (its ``addBounding``); GFLA does not.

Example:
    >>> import torch
    >>> x = torch.zeros(4, 3, 32, 32)
    >>> out = deep_metrics(x, x)  # without the weight files: None and a note for each metric
    >>> out["fid"] is None or isinstance(out["fid"], float), out["n_fake"]
    (True, 4)
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from clothflow.evaluation import fid as fidlib
from clothflow.evaluation import lpips as lpipslib

FID_RELIABLE_N = 2048  # fewer samples than feature dimensions: rank-deficient covariance


def _batches(images: torch.Tensor | Iterable[torch.Tensor], batch_size: int) -> Iterator[torch.Tensor]:
    if isinstance(images, torch.Tensor):
        for start in range(0, len(images), batch_size):
            yield images[start : start + batch_size]
    else:
        yield from images


def _prepare(x: torch.Tensor, quantize: bool, bounding: bool) -> torch.Tensor:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected N x 3 x H x W images in [-1, 1], got {tuple(x.shape)}")
    x = x.detach().float().cpu()
    if quantize:
        x = ((x + 1.0) * 127.5).round().clamp(0, 255) / 127.5 - 1.0
    if bounding and x.shape[-1] < x.shape[-2]:  # to a square, as metrics.add_bounding
        left = (x.shape[-2] - x.shape[-1]) // 2
        x = F.pad(x, (left, x.shape[-2] - x.shape[-1] - left), value=1.0)
    return x


@torch.inference_mode()
def deep_metrics(
    real_images: torch.Tensor | Iterable[torch.Tensor],
    fake_images: torch.Tensor | Iterable[torch.Tensor],
    fid_weights: str | Path | None = None,
    lpips_alex: str | Path | None = None,
    lpips_lin: str | Path | None = None,
    batch_size: int = 32,
    splits: int = 10,
    quantize: bool = True,
    bounding: bool = False,
    device: str | torch.device = "cpu",
) -> dict:
    """FID (real vs fake), IS (fake) and mean LPIPS (fake vs paired real) where weights exist.

    Args:
        real_images: N x 3 x H x W tensor in [-1, 1], or an iterable of such batches.
        fake_images: the generated images, the same way (paired with ``real_images`` by order).
        fid_weights: ``pt_inception-2015-12-05-6726825d.pth`` (else env var / hub cache).
        lpips_alex: ``alexnet-owt-7be5be79.pth`` (else env var / hub cache).
        lpips_lin: lpips' v0.1 ``alex.pth`` (else env var / hub cache / installed lpips).
        batch_size: images per forward pass when tensors are given.
        splits: IS splits (10 in the papers).
        quantize: round to 8 bits first (scores of saved PNGs).
        bounding: pad to 256 px wide with white first (PATN).
        device: where the networks run.

    Returns:
        ``{"fid": float | None, "is_mean": float | None, "is_std": float | None,
        "lpips": float | None, "n_real": int, "n_fake": int, "notes": [str, ...]}``;
        a metric is None when its weights are missing or the data cannot give it, and ``notes``
        says why (and warns when FID uses fewer than 2048 images).

    Raises:
        ClothflowError: a weights file named by an argument or environment variable is missing
            or not in the published layout.
    """
    notes: list[str] = []
    # Look first, so a missing file is reported once, here, rather than also logged by the loader.
    inception = fidlib.load_fid_inception(fid_weights) if fidlib.fid_weights_file(fid_weights) else None
    if inception is None:
        notes.append(fidlib.fid_missing_message(fid_weights))
    have_lpips = all(f is not None for f in lpipslib.lpips_weights_files(lpips_alex, lpips_lin))
    lp = lpipslib.load_lpips(lpips_alex, lpips_lin) if have_lpips else None
    if lp is None:
        notes.append(lpipslib.lpips_missing_message(lpips_alex, lpips_lin))
    out: dict = {"fid": None, "is_mean": None, "is_std": None, "lpips": None, "n_real": 0, "n_fake": 0, "notes": notes}
    for net in (inception, lp):
        if net is not None:
            net.to(device)

    real_feats, fake_feats, fake_logits, distances = [], [], [], []
    unpaired = False
    empty = torch.zeros(0, 3, 1, 1)
    pending_real, pending_fake = empty, empty  # images waiting for their LPIPS partner
    real_iter, fake_iter = _batches(real_images, batch_size), _batches(fake_images, batch_size)
    while True:
        real, fake = next(real_iter, None), next(fake_iter, None)
        if real is None and fake is None:
            break
        if real is not None:
            real = _prepare(real, quantize, bounding)
            out["n_real"] += len(real)
            if inception is not None:
                real_feats.append(fidlib.inception_outputs(inception, real.to(device), batch_size)[0])
        if fake is not None:
            fake = _prepare(fake, quantize, bounding)
            out["n_fake"] += len(fake)
            if inception is not None:
                f, logits = fidlib.inception_outputs(inception, fake.to(device), batch_size)
                fake_feats.append(f)
                fake_logits.append(logits)
        if lp is not None and not unpaired:
            pending_real = pending_real if real is None else (real if not len(pending_real) else torch.cat([pending_real, real]))
            pending_fake = pending_fake if fake is None else (fake if not len(pending_fake) else torch.cat([pending_fake, fake]))
            k = min(len(pending_real), len(pending_fake))
            if k and pending_real.shape[1:] != pending_fake.shape[1:]:
                unpaired = True
            elif k:
                distances.append(lp(pending_real[:k].to(device), pending_fake[:k].to(device)).double().cpu().numpy())
                pending_real, pending_fake = pending_real[k:], pending_fake[k:]
    unpaired = unpaired or len(pending_real) > 0 or len(pending_fake) > 0

    if inception is not None:
        n_real, n_fake = out["n_real"], out["n_fake"]
        if min(n_real, n_fake) < 2:
            notes.append(f"FID not computed: needs at least 2 real and 2 generated images (got {n_real}, {n_fake})")
        else:
            stats_real = fidlib.feature_statistics(np.concatenate(real_feats))
            stats_fake = fidlib.feature_statistics(np.concatenate(fake_feats))
            out["fid"] = fidlib.frechet_distance(*stats_real, *stats_fake)
            if min(n_real, n_fake) < FID_RELIABLE_N:
                notes.append(f"FID from {min(n_real, n_fake)} < {FID_RELIABLE_N} images: rank-deficient "
                             "covariance, not comparable with published values")
        if n_fake < splits:
            notes.append(f"IS not computed: {n_fake} generated images for {splits} splits")
        else:
            out["is_mean"], out["is_std"] = fidlib.inception_score(np.concatenate(fake_logits), splits=splits)
    if lp is not None:
        if unpaired:
            notes.append("LPIPS not computed: real and generated images are not paired one to one in shape and count")
        elif distances:
            out["lpips"] = float(np.concatenate(distances).mean())
    return out

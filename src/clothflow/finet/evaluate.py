"""Measuring inpainting: a style classifier, then compatibility, diversity and fidelity.

- **Style classifier** (:class:`StyleClassifier`): a small CNN trained on true garments
  (their pixels and mask, and which region they fill) to predict the outfit style.
- **Compatibility**: the rate at which the classifier's label of a generated garment equals
  the style of the rest of the outfit, over K samples from the prior per held-out input.
- **Diversity**: the mean pairwise L1 (images in [-1, 1]) between the K samples of one
  input, over the erased region.
- **Fidelity**: SSIM and L1 over the erased region when the true garment is encoded
  (codes = the encoders' means); ``pix2pix_noise`` has no encoder and is scored on a
  sample from its noise.

Example:
    >>> import torch
    >>> clf = StyleClassifier(width=8)
    >>> clf(torch.zeros(2, 4, 64, 44), torch.tensor([0, 1])).shape
    torch.Size([2, 5])
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import torch
import torch.nn as nn
import torch.nn.functional as F

from clothflow.data.synth.outfit import NUM_STYLES
from clothflow.evaluation.metrics import masked_mean, ssim_map
from clothflow.models.blocks import ConvNormAct, check_shape
from clothflow.training.loop import StepBatchSampler
from clothflow.finet.data import InpaintDataset, collate
from clothflow.finet.inputs import (
    APPEARANCE_CHANNELS,
    GARMENT_REGIONS,
    REGION_CLASS,
    garment_appearance,
    region_planes,
)
from clothflow.finet.models import FinetModel
from clothflow.finet.objective import batch_inputs


class StyleClassifier(nn.Module):
    """Garment pixels + mask + region -> style logits (a small CNN run at half resolution).

    Shape:
        - garment: N x 4 x H x W (RGB * mask, mask), see :func:`garment_appearance`.
        - region: N region indices.
        - Output: N x NUM_STYLES logits.
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        cin = APPEARANCE_CHANNELS + len(GARMENT_REGIONS)
        self.features = nn.Sequential(
            ConvNormAct(cin, width, 1, "none"), ConvNormAct(width, 2 * width, 2, "none"),
            ConvNormAct(2 * width, 4 * width, 2, "none"), ConvNormAct(4 * width, 4 * width, 2, "none"),
        )
        self.head = nn.Linear(8 * width, NUM_STYLES)

    def forward(self, garment: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        check_shape(garment, APPEARANCE_CHANNELS, "style classifier input")
        x = torch.cat([garment, region_planes(region, *garment.shape[-2:])], 1)
        f = self.features(F.avg_pool2d(x, 2, ceil_mode=True))  # half resolution: colour and pattern survive
        return self.head(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1))


def train_style_classifier(dataset: InpaintDataset, steps: int = 300, batch_size: int = 32, seed: int = 0) -> StyleClassifier:
    """Fit the classifier on the true (erased) garments of ``dataset``; returns it in eval mode."""
    torch.manual_seed(seed)
    clf = StyleClassifier()
    opt = torch.optim.Adam(clf.parameters(), lr=1e-3)
    for indices in StepBatchSampler(len(dataset), batch_size, seed + 7, 0, steps):
        b = collate([dataset[i] for i in indices])
        loss = F.cross_entropy(clf(garment_appearance(b["image"], b["garment"]), b["region"]), b["style"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return clf.eval()


def _batches(dataset: InpaintDataset, batch_size: int):
    for start in range(0, len(dataset), batch_size):
        yield collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])


@torch.no_grad()
def classifier_accuracy(clf: StyleClassifier, dataset: InpaintDataset, batch_size: int = 64) -> float:
    """Share of true garments of ``dataset`` whose style the classifier gets right."""
    right = total = 0
    for b in _batches(dataset, batch_size):
        pred = clf(garment_appearance(b["image"], b["garment"]), b["region"]).argmax(1)
        right += int((pred == b["style"]).sum())
        total += len(pred)
    return right / total


def generated_garment(layout: torch.Tensor, mask: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mask of the generated garment: the region's class in the generated layout, inside the erased box.

    Args:
        layout: N x H x W classes; mask: N x 1 x H x W erased box; region: N indices.

    Returns:
        N x 1 x H x W float.
    """
    target = torch.tensor(REGION_CLASS)[region][:, None, None]
    return (layout == target).unsqueeze(1).float() * mask


@dataclass
class InpaintScores:
    """The three figures of one model on a held-out set.

    Attributes:
        compatibility: share of generated garments classified as the context's style.
        diversity: mean pairwise L1 between samples of one input, over the erased region.
        ssim, l1: fidelity of the reconstruction from the encoded true garment (erased region).
        items, samples: held-out inputs and samples per input.
    """

    compatibility: float
    diversity: float
    ssim: float
    l1: float
    items: int
    samples: int


@torch.no_grad()
def score_model(model: FinetModel, clf: StyleClassifier | None, dataset: InpaintDataset, samples: int = 5,
                batch_size: int = 32, seed: int = 0) -> InpaintScores:
    """Compatibility, diversity and fidelity of ``model`` on ``dataset`` (see the module doc).

    Without a classifier (``clf`` None) compatibility is not measured (NaN).
    """
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    match = count = 0
    div_sum, ssim_sum, l1_sum, n_items = 0.0, 0.0, 0.0, 0
    for b in _batches(dataset, batch_size):
        x = batch_inputs(b)
        outs = model.sample(x, samples, generator=gen)
        for out in outs if clf is not None else []:
            g = generated_garment(out.layout, x.mask, x.region)
            pred = clf(garment_appearance(out.image, g), x.region).argmax(1)
            match += int(((pred == b["context_style"]) & (g.flatten(1).sum(1) > 0)).sum())
            count += len(pred)
        pairs = list(combinations(range(samples), 2))
        for i, j in pairs:
            div_sum += float(masked_mean((outs[i].image - outs[j].image).abs(), x.mask).sum()) / len(pairs)
        rec = model.reconstruct(x, b["image"], b["garment"]) if model.config.has_encoder else outs[0]
        ssim_sum += float(masked_mean(ssim_map(rec.image, b["image"]), x.mask).sum())
        l1_sum += float(masked_mean((rec.image - b["image"]).abs(), x.mask).sum())
        n_items += len(b["image"])
    compatibility = match / count if count else float("nan")
    return InpaintScores(compatibility, div_sum / n_items, ssim_sum / n_items, l1_sum / n_items, n_items, samples)

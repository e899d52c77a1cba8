"""The inpainting dataset: synthetic people in styled outfits, one garment region to erase.

Item ``i`` of dataset ``seed`` is drawn from ``np.random.default_rng([seed, i, 9])``: an
outfit (:func:`clothflow.data.synth.outfit.sample_outfit_identity`), a front-view pose,
the render, and the region to erase (the dress, or the upper or the lower garment at random).

Example:
    >>> ds = InpaintDataset(4, size=(64, 44), seed=0)
    >>> item = ds[0]
    >>> item["image"].shape, item["mask"].shape, int(item["style"]) == int(item["context_style"])
    (torch.Size([3, 64, 44]), torch.Size([1, 64, 44]), True)
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from clothflow.core.ops.labels import to_groups
from clothflow.data.synth.renderer import render
from clothflow.core.images import image_tensor
from clothflow.data.synth.outfit import sample_outfit_identity
from clothflow.data.synth.poses import PoseSampler
from clothflow.core.errors import ClothflowError
from clothflow.finet.inputs import GARMENT_REGIONS, erase_box, region_mask

HELD_OUT_SEED = 10_000  # the seed of evaluation outfits and of `clothflow inpaint --synthetic`


def outfit_item(seed: int, index: int, size: tuple[int, int] = (64, 44), region: str | None = None) -> dict[str, torch.Tensor]:
    """One inpainting sample as tensors.

    Args:
        seed, index: which outfit (deterministic in both).
        size: (H, W).
        region: force the erased region ("upper", "lower", "dress"); None: the dataset's choice.

    Returns:
        ``image`` 3 x H x W in [-1, 1]; ``classes`` H x W model classes; ``keypoints`` 18 x 2;
        ``region`` () int64 index into :data:`GARMENT_REGIONS`; ``mask`` 1 x H x W erased box;
        ``garment`` 1 x H x W true garment mask; ``style`` () the erased garment's style;
        ``context_style`` () the style of the rest of the outfit (the lower garment, the upper
        one, or the shoes for a dress).

    Raises:
        ClothflowError: ``region`` is not worn by this outfit.
    """
    rng = np.random.default_rng([seed, index, 9])
    outfit = sample_outfit_identity(rng)
    pose = PoseSampler(rng).sample(size, outfit.identity, back=False, arm_range=0.8)
    r = render(outfit.identity, pose, size)
    dress = outfit.bottom_style is None
    choice = 2 if dress else int(rng.random() < 0.5)
    if region is not None:
        choice = GARMENT_REGIONS.index(region) if region in GARMENT_REGIONS else -1
        if choice < 0 or (choice == 2) != dress:
            worn = "a dress" if dress else "an upper and a lower garment"
            raise ClothflowError(f"synthetic outfit {index} wears {worn}; cannot erase {region!r}")
    classes = torch.from_numpy(to_groups(r.parse))
    reg = torch.tensor(choice)
    if choice == 0:
        style, context = outfit.top_style, outfit.bottom_style
    elif choice == 1:
        style, context = outfit.bottom_style, outfit.top_style
    else:
        style, context = outfit.top_style, outfit.shoe_style
    return {
        "image": image_tensor(r.image),
        "classes": classes,
        "keypoints": torch.from_numpy(r.keypoints.astype(np.float32)),
        "region": reg,
        "mask": erase_box(classes[None], reg[None])[0],
        "garment": region_mask(classes[None], reg[None])[0],
        "style": torch.tensor(style),
        "context_style": torch.tensor(context),
    }


class InpaintDataset(Dataset):
    """Synthetic styled outfits with one garment region to fill (see :func:`outfit_item`).

    Args:
        num_items: dataset length.
        size: (H, W).
        seed: dataset seed.
        cache: keep rendered items in memory (they are small at 64 x 44 and are drawn many
            times during training).
    """

    def __init__(self, num_items: int, size: tuple[int, int] = (64, 44), seed: int = 0, cache: bool = True) -> None:
        if num_items < 1:
            raise ClothflowError(f"num_items must be >= 1, got {num_items}")
        self.num_items, self.size, self.seed = int(num_items), (int(size[0]), int(size[1])), int(seed)
        self._cache: dict[int, dict[str, torch.Tensor]] | None = {} if cache else None

    def __len__(self) -> int:
        return self.num_items

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.num_items:
            raise IndexError(f"index {index} out of range for {self.num_items} items")
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        item = outfit_item(self.seed, index, self.size)
        if self._cache is not None:
            self._cache[index] = item
        return item


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack items into a batch (every key gains a leading N)."""
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}

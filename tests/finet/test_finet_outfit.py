"""Outfit styles of the renderer and the inpainting dataset built on them."""

import numpy as np
import pytest
import torch

from clothflow.data.synth.outfit import NUM_STYLES, STYLES, sample_outfit_identity
from clothflow.core.errors import ClothflowError
from clothflow.finet.data import InpaintDataset, outfit_item
from clothflow.finet.inputs import REGION_CLASS


def test_outfit_is_deterministic_per_seed_and_labels_every_garment():
    a = [sample_outfit_identity(np.random.default_rng([3, i])) for i in range(20)]
    b = [sample_outfit_identity(np.random.default_rng([3, i])) for i in range(20)]
    assert a == b
    c = [sample_outfit_identity(np.random.default_rng([4, i])) for i in range(20)]
    assert a != c
    for o in a:
        assert o.top_style == o.shoe_style
        assert (o.bottom_style is None) == (o.identity.bottom is None)
        if o.bottom_style is not None:
            assert o.bottom_style == o.top_style


def test_styles_differ_in_palette_and_garments_take_their_style_colours():
    for i in range(NUM_STYLES):
        for j in range(i + 1, NUM_STYLES):
            d = min(np.linalg.norm(np.subtract(p, q)) for p in STYLES[i].palette for q in STYLES[j].palette)
            assert d > 40, (STYLES[i].name, STYLES[j].name, d)
    for k in range(40):
        o = sample_outfit_identity(np.random.default_rng([5, k]))
        garments = [o.identity.top] + ([o.identity.bottom] if o.identity.bottom is not None else [])
        for g in garments:
            near = min(np.abs(np.subtract(g.material.colour, p)).max() for p in STYLES[o.top_style].palette)
            assert near <= 12
            assert g.material.pattern in STYLES[o.top_style].patterns
    with pytest.raises(ClothflowError):
        sample_outfit_identity(np.random.default_rng(0), style=NUM_STYLES)


def test_dataset_item_erases_a_box_around_the_garment():
    ds = InpaintDataset(6, size=(64, 44), seed=1)
    for i in range(6):
        it = ds[i]
        garment, mask = it["garment"], it["mask"]
        assert garment.sum() > 0
        assert bool((garment <= mask).all())  # the whole garment is inside the erased box
        ys, xs = torch.nonzero(mask[0], as_tuple=True)
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        assert int(mask.sum()) == int(box)  # a filled rectangle
        assert bool((it["classes"][garment[0] > 0] == REGION_CLASS[int(it["region"])]).all())
        assert int(it["style"]) == int(it["context_style"])
    again = outfit_item(1, 3, (64, 44))
    assert torch.equal(again["image"], ds[3]["image"])


def test_forcing_a_region_the_outfit_does_not_wear_is_a_clear_error():
    dress = next(i for i in range(200) if int(outfit_item(2, i, (64, 44))["region"]) == 2)
    with pytest.raises(ClothflowError, match="cannot erase 'upper'"):
        outfit_item(2, dress, (64, 44), region="upper")
    assert int(outfit_item(2, dress, (64, 44), region="dress")["region"]) == 2

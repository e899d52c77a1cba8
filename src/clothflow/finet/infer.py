"""Inpainting from files or from an embedded held-out outfit: K samples and a grid.

Example:
    >>> import torch
    >>> from clothflow.finet.config import FinetConfig
    >>> model = FinetModel(FinetConfig(base_channels=8, encoder_channels=8)).eval()
    >>> batch = synthetic_batch(0, "upper", model.config.size)
    >>> outs = inpaint(model, batch, samples=2)
    >>> len(outs), outs[0].image.shape
    (2, torch.Size([1, 3, 64, 44]))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from clothflow.core.ops import pose
from clothflow.data.formats.images import read_rgb
from clothflow.data.formats.keypoints import read_keypoints
from clothflow.data.formats.label_maps import read_label_map
from clothflow.core.ops.labels import colourise, to_groups
from clothflow.core.errors import ClothflowError
from clothflow.core.images import label_tensor, resized_image_tensor
from clothflow.core.files import writable_dir
from clothflow.core.images import save_png, to_uint8
from clothflow.evaluation.visualize import grid
from clothflow.finet.data import HELD_OUT_SEED, collate, outfit_item
from clothflow.finet.inputs import erase_box, region_index, region_mask
from clothflow.finet.models import FinetModel, InpaintOutput
from clothflow.finet.objective import batch_inputs


def synthetic_batch(index: int, region: str, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Held-out synthetic outfit ``index`` (seed :data:`HELD_OUT_SEED`) as a batch of one."""
    if index < 0:
        raise ClothflowError(f"--synthetic takes an index >= 0, got {index}")
    return collate([outfit_item(HELD_OUT_SEED, index, size, region)])


def file_batch(image: str | Path, parse: str | Path, keypoints: str | Path, region: str, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """A user photo with its parsing (LIP ids) and keypoints as a batch of one, resized to ``size``.

    Raises:
        ClothflowError: unreadable files, sizes that differ, or no such garment in the parsing.
    """
    reg = region_index(region)
    rgb = read_rgb(image)
    ids = read_label_map(parse)
    if ids.shape != rgb.shape[:2]:
        raise ClothflowError(f"parsing map is {ids.shape[0]}x{ids.shape[1]} but the image is "
                             f"{rgb.shape[0]}x{rgb.shape[1]}", parse)
    kps = pose.scale_keypoints(read_keypoints(keypoints), rgb.shape[:2], size)
    classes = to_groups(label_tensor(ids, size))
    region_t = torch.tensor([reg])
    try:
        mask = erase_box(classes, region_t)
    except ClothflowError as exc:
        raise ClothflowError(str(exc), parse) from None
    return {
        "image": resized_image_tensor(rgb, size),
        "classes": classes,
        "keypoints": torch.from_numpy(kps)[None],
        "region": region_t,
        "mask": mask,
        "garment": region_mask(classes, region_t),
    }


@torch.no_grad()
def inpaint(model: FinetModel, batch: dict[str, torch.Tensor], samples: int = 4, seed: int = 0) -> list[InpaintOutput]:
    """``samples`` fillings of the erased region, codes drawn from the model's prior (seeded)."""
    if samples < 1:
        raise ClothflowError(f"--samples must be >= 1, got {samples}")
    return model.eval().sample(batch_inputs(batch), samples, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def tryon(model: FinetModel, batch: dict[str, torch.Tensor], garment_image: torch.Tensor, garment: torch.Tensor) -> InpaintOutput:
    """Try-on: fill the erased region with a target garment (N x 3 x H x W image, N x 1 x H x W mask).

    The garment is encoded by the shape and appearance encoders; the compatibility encoders
    are not used.
    """
    return model.eval().reconstruct(batch_inputs(batch), garment_image, garment)


def sample_grid(batch: dict[str, torch.Tensor], outputs: list[InpaintOutput], row: int = 0, truth: bool = False) -> np.ndarray:
    """Two rows for one input: images (erased input, samples[, truth]) and their layouts."""
    mask = batch["mask"][row]
    erased = to_uint8(batch["image"][row] * (1 - mask) + 0.6 * mask)
    known = batch["classes"][row].numpy() * (1 - mask[0].numpy().astype(np.int64))
    images = [erased] + [to_uint8(o.image[row]) for o in outputs]
    layouts = [colourise(known)] + [colourise(o.layout[row].numpy()) for o in outputs]
    names = ["input"] + [f"sample {k + 1}" for k in range(len(outputs))]
    if truth:
        images.append(to_uint8(batch["image"][row]))
        layouts.append(colourise(batch["classes"][row].numpy()))
        names.append("truth")
    return grid([images, layouts], names)


def write_samples(out_dir: str | Path, batch: dict[str, torch.Tensor], outputs: list[InpaintOutput], truth: bool = False) -> list[Path]:
    """Write ``sample_01.png`` ... and ``grid.png`` into ``out_dir``; returns the paths."""
    out = writable_dir(out_dir)
    paths = []
    for k, o in enumerate(outputs):
        path = out / f"sample_{k + 1:02d}.png"
        save_png(path, to_uint8(o.image[0]))
        paths.append(path)
    save_png(out / "grid.png", sample_grid(batch, outputs, truth=truth))
    return paths + [out / "grid.png"]

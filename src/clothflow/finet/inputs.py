"""What the inpainting networks see: erased regions, person representation and contexts.

All functions are pure and batched. Class maps are model classes
(:func:`clothflow.core.ops.labels.to_groups`); images are in [-1, 1].

Example:
    >>> import torch
    >>> classes = torch.zeros(1, 8, 6, dtype=torch.long)
    >>> classes[0, 2:5, 1:4] = GROUP_NAMES.index("upper")
    >>> erase_box(classes, torch.tensor([0]), pad=1)[0, 0].sum().item()  # 5 x 5 box
    25.0
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from clothflow.core.ops import pose
from clothflow.core.ops.labels import GROUP_NAMES, NUM_CLASSES, one_hot
from clothflow.core.errors import ClothflowError
from clothflow.finet.names import GARMENT_REGIONS

REGION_CLASS: tuple[int, ...] = (GROUP_NAMES.index("upper"), GROUP_NAMES.index("bottom"), GROUP_NAMES.index("dress"))
CONTEXT_CLASSES: tuple[int, ...] = tuple(GROUP_NAMES.index(g) for g in ("upper", "dress", "bottom", "shoes"))
FACE_HAIR: tuple[int, ...] = (GROUP_NAMES.index("hair"), GROUP_NAMES.index("face"))

PERSON_CHANNELS = pose.NUM_KEYPOINTS + 3 + 1 + 1  # heatmaps, face/hair RGB, face/hair mask, body shape
SHAPE_CONTEXT_CHANNELS = NUM_CLASSES + 1 + len(GARMENT_REGIONS)  # erased one-hot layout, mask, region id
GARMENT_LAYOUT_CHANNELS = 1 + len(GARMENT_REGIONS)
APPEARANCE_CHANNELS = 4  # RGB * mask, mask
CONTEXT_LAYOUT_CHANNELS = len(CONTEXT_CLASSES)


def region_index(name: str) -> int:
    """Index of an erasable region name ("upper", "lower", "dress")."""
    if name not in GARMENT_REGIONS:
        raise ClothflowError(f"cannot erase {name!r}; choose one of: {', '.join(GARMENT_REGIONS)}")
    return GARMENT_REGIONS.index(name)


def region_mask(classes: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """N x H x W classes, N region indices -> N x 1 x H x W float mask of that garment."""
    target = torch.tensor(REGION_CLASS, device=classes.device)[region.long()]
    return (classes == target[:, None, None]).unsqueeze(1).float()


def erase_box(classes: torch.Tensor, region: torch.Tensor, pad: int = 2) -> torch.Tensor:
    """The region erased for inpainting: the garment's bounding box, grown by ``pad`` pixels.

    Args:
        classes: N x H x W model classes.
        region: N region indices (see :data:`GARMENT_REGIONS`).
        pad: margin in pixels on each side (clipped to the image).

    Returns:
        N x 1 x H x W float mask, 1 inside the box.

    Raises:
        ClothflowError: when an image has no pixel of the garment to erase.
    """
    garment = region_mask(classes, region)[:, 0] > 0
    n, h, w = classes.shape
    out = torch.zeros(n, 1, h, w)
    for i in range(n):
        ys, xs = torch.nonzero(garment[i], as_tuple=True)
        if ys.numel() == 0:
            raise ClothflowError(f"there is no {GARMENT_REGIONS[int(region[i])]} garment to erase in the parsing")
        y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, h)
        x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, w)
        out[i, 0, y0:y1, x0:x1] = 1.0
    return out.to(classes.device)


def body_shape(classes: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """A coarse body-shape mask (FiNet's person representation): N x H x W -> N x 1 x H x W.

    The person's foreground, average-pooled by ``factor`` and upsampled back, so it gives the
    silhouette without the garment outlines.
    """
    fg = (classes > 0).unsqueeze(1).float()
    h, w = fg.shape[-2:]
    small = F.adaptive_avg_pool2d(fg, (max(h // factor, 1), max(w // factor, 1)))
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


@dataclass
class FinetInputs:
    """One batch as the networks see it (all N x C x H x W float unless said).

    Attributes:
        person: pose heatmaps, face/hair RGB and mask, body shape (PERSON_CHANNELS).
        shape_context: one-hot layout with the region erased, the mask, region id planes.
        erased: the image with the region set to 0 (grey), 3 channels.
        mask: 1 inside the erased region.
        region: N region indices (int64).
        context_layout: masks of the other garments (CONTEXT_LAYOUT_CHANNELS).
        context_appearance: the other garments' pixels and their union mask (4).
    """

    person: torch.Tensor
    shape_context: torch.Tensor
    erased: torch.Tensor
    mask: torch.Tensor
    region: torch.Tensor
    context_layout: torch.Tensor
    context_appearance: torch.Tensor


def region_planes(region: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """N region indices -> N x len(GARMENT_REGIONS) x H x W constant one-hot planes."""
    return F.one_hot(region.long(), len(GARMENT_REGIONS)).float()[:, :, None, None].expand(-1, -1, h, w)


def make_inputs(image: torch.Tensor, classes: torch.Tensor, keypoints: torch.Tensor, mask: torch.Tensor, region: torch.Tensor) -> FinetInputs:
    """Build the networks' inputs from a person and the region to erase.

    Args:
        image: N x 3 x H x W in [-1, 1].
        classes: N x H x W model classes.
        keypoints: N x 18 x 2 pixels (-1 missing).
        mask: N x 1 x H x W erased region (see :func:`erase_box`).
        region: N region indices.

    Returns:
        A :class:`FinetInputs`. Nothing inside ``mask`` leaks into ``shape_context`` or
        ``erased``; the contexts only hold garments outside ``mask``.
    """
    n, _, h, w = image.shape
    keep = 1.0 - mask
    face_hair = torch.zeros_like(mask)
    for c in FACE_HAIR:
        face_hair = face_hair + (classes == c).unsqueeze(1).float()
    person = torch.cat([pose.heatmaps(keypoints, h, w), image * face_hair, face_hair, body_shape(classes)], 1)
    planes = region_planes(region, h, w)
    shape_context = torch.cat([one_hot(classes) * keep, mask, planes], 1)
    target = torch.tensor(REGION_CLASS, device=classes.device)[region.long()][:, None, None, None]
    ctx = torch.stack([(classes == c) for c in CONTEXT_CLASSES], 1).float() * keep
    ctx = ctx * (torch.tensor(CONTEXT_CLASSES, device=classes.device).view(1, -1, 1, 1) != target).float()
    ctx_union = ctx.amax(1, keepdim=True)
    return FinetInputs(
        person=person,
        shape_context=shape_context,
        erased=image * keep,
        mask=mask,
        region=region.long(),
        context_layout=ctx,
        context_appearance=torch.cat([image * ctx_union, ctx_union], 1),
    )


def garment_layout(garment: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """What the shape encoder sees: N x 1 x H x W garment mask + region planes -> N x 4 x H x W."""
    return torch.cat([garment, region_planes(region, *garment.shape[-2:])], 1)


def garment_appearance(image: torch.Tensor, garment: torch.Tensor) -> torch.Tensor:
    """What the appearance encoder sees: the garment's pixels and mask, N x 4 x H x W."""
    return torch.cat([image * garment, garment], 1)

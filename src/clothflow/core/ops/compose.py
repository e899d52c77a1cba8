"""Putting a try-on result back into the person's photo at the photo's own size.

The networks run at their training size (e.g. 256 x 192); a user's photo is larger. Upsizing
the network's image blurs all of it, the face and the background included, which the network
never meant to change. Instead:

- the region try-on changes is the old garment and the arms (``REPLACED_GROUPS`` of the
  clothing-agnostic person) in the person's parsing, and the same classes in the predicted
  layout (the new garment and the arms around it), grown a little and feathered
  (:func:`changed_region`); everywhere else the photo's own pixels are kept, exactly;
- inside it, the network's image is upsampled and the garment's detail is put back: the flow
  is upsampled bilinearly (:func:`~clothflow.core.ops.warp.upsample_flow`) and warps the
  full-resolution garment (resized to the photo's size first, as the network's garment was
  resized to its own), and where the render stage kept the warped garment's pixels (its
  composition mask) the difference between that full-resolution warp and the upsampled
  small one is added (:func:`compose_full_size`).

Example:
    >>> import torch
    >>> classes = torch.zeros(1, 16, 12, dtype=torch.long); classes[:, 6:10, 4:8] = 3  # "upper"
    >>> region = changed_region(classes, classes)
    >>> float(region[0, 0, 8, 6]), float(region[0, 0, 0, 0])
    (1.0, 0.0)
    >>> photo = torch.rand(1, 3, 64, 48) * 2 - 1
    >>> small = torch.zeros(1, 3, 16, 12)
    >>> out, alpha = compose_full_size(photo, torch.zeros(1, 3, 64, 48), small, torch.zeros(1, 2, 16, 12),
    ...                                small, torch.zeros(1, 1, 16, 12), region)
    >>> out.shape, bool((out[alpha.expand_as(out) == 0] == photo[alpha.expand_as(out) == 0]).all())
    (torch.Size([1, 3, 64, 48]), True)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from clothflow.core.ops.agnostic import REPLACED_IDS, class_mask
from clothflow.core.ops.warp import upsample_flow, warp

# Growth and feathering of the changed region, in pixels of the network's size (at 256 x 192,
# 4 photo pixels each on a 1024 x 768 photo). GROW >= FEATHER keeps the region itself fully
# the network's: the feathered edge lies outside it.
GROW = 3
FEATHER = 2


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Grow a N x 1 x H x W mask by ``radius`` pixels (a square structuring element)."""
    if radius <= 0:
        return mask
    return F.max_pool2d(mask, 2 * radius + 1, stride=1, padding=radius)


def feather(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Soften a N x 1 x H x W mask with a (2 radius + 1)^2 box filter, edges replicated.

    Pixels further than ``radius`` from the mask stay exactly 0; pixels whose whole box is
    inside stay exactly 1.
    """
    if radius <= 0:
        return mask
    padded = F.pad(mask, (radius,) * 4, mode="replicate")
    return F.avg_pool2d(padded, 2 * radius + 1, stride=1)


def changed_region(person_classes: torch.Tensor, layout: torch.Tensor | None, grow: int = GROW,
                   soften: int = FEATHER) -> torch.Tensor:
    """Where try-on changes the person, at the network's size.

    Args:
        person_classes: N x h x w model classes of the person's parsing (``labels.to_groups``).
        layout: N x h x w predicted classes of the dressed person, or None without a layout stage.
        grow: pixels the region is grown by.
        soften: pixels of feathering at its edge.

    Returns:
        N x 1 x h x w float in [0, 1]: 1 on the old and new garment and the arms, falling to
        0 within ``grow + soften`` pixels of them.
    """
    if person_classes.dim() != 3:
        raise ValueError(f"expected N x h x w classes, got shape {tuple(person_classes.shape)}")
    region = class_mask(person_classes, REPLACED_IDS)
    if layout is not None:
        region = torch.maximum(region, class_mask(layout, REPLACED_IDS))
    return feather(dilate(region, grow), soften)


def upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of N x C x h x w to ``size`` (H, W) (pixel centres aligned, as image resizers do)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def compose_full_size(
    photo: torch.Tensor,
    garment: torch.Tensor,
    image: torch.Tensor,
    flow: torch.Tensor,
    warped_small: torch.Tensor,
    cloth_used: torch.Tensor,
    region: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The try-on result at the photo's size.

    Args:
        photo: N x 3 x H x W the person's photo in [-1, 1], at its own size.
        garment: N x 3 x H x W the masked in-shop garment (garment x its mask) in [-1, 1],
            resized to the photo's size (the network saw it resized to its own).
        image: N x 3 x h x w the network's result.
        flow: N x 2 x h x w its garment flow, target -> garment, pixels of the network's size.
        warped_small: N x 3 x h x w the garment the network warped (``warp(garment_small, flow)``).
        cloth_used: N x 1 x h x w where the network's image is the warped garment (the render
            stage's composition mask), in [0, 1].
        region: N x 1 x h x w the changed region (:func:`changed_region`).

    Returns:
        (N x 3 x H x W result in [-1, 1], N x 1 x H x W blending weight of the network's side:
        where it is 0 the result is the photo, exactly).
    """
    for name, x, c in (("photo", photo, 3), ("garment", garment, 3), ("image", image, 3), ("flow", flow, 2),
                       ("warped_small", warped_small, 3), ("cloth_used", cloth_used, 1), ("region", region, 1)):
        if x.dim() != 4 or x.shape[1] != c:
            raise ValueError(f"expected {name} N x {c} x H x W, got shape {tuple(x.shape)}")
    size = tuple(photo.shape[-2:])
    if tuple(garment.shape[-2:]) != size:
        raise ValueError(f"expected the garment at the photo's size {size}, got {tuple(garment.shape[-2:])}")
    warped_full = warp(garment, upsample_flow(flow, size))
    detail = warped_full - upsample(warped_small, size)
    rendered = (upsample(image, size) + upsample(cloth_used, size) * detail).clamp(-1.0, 1.0)
    alpha = upsample(region, size)
    return alpha * rendered + (1.0 - alpha) * photo, alpha

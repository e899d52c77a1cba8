"""The clothing-agnostic person representation used for virtual try-on.

What try-on may keep of the person: face, hair, lower body, legs, shoes and background; what
it must not see: the garment to be replaced and the arms it shapes. Following VITON /
CP-VTON, the body shape is given as a blurred, low-resolution silhouette so that the old
garment's outline does not leak into the new layout.

Example:
    >>> import torch
    >>> person = torch.zeros(1, 3, 32, 22)
    >>> classes = torch.full((1, 32, 22), 3)  # all "upper"
    >>> rep = agnostic(person, classes)
    >>> rep.image.shape, rep.classes.unique().tolist(), rep.shape_mask.shape
    (torch.Size([1, 3, 32, 22]), [0], torch.Size([1, 1, 32, 22]))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from clothflow.core.ops import labels

# Classes try-on replaces (the upper garment, and the arms whose look depends on its sleeves).
REPLACED_GROUPS: tuple[str, ...] = ("upper", "dress", "arms")
REPLACED_IDS = tuple(labels.GROUP_NAMES.index(g) for g in REPLACED_GROUPS)
# Classes the new upper garment occupies in the target layout.
GARMENT_GROUPS: tuple[str, ...] = ("upper", "dress")
GARMENT_IDS = tuple(labels.GROUP_NAMES.index(g) for g in GARMENT_GROUPS)


@dataclass
class AgnosticPerson:
    """Clothing-agnostic person.

    Attributes:
        image: N x 3 x H x W, the person with replaced regions set to 0 (mid grey).
        classes: N x H x W class map with replaced regions set to background.
        shape_mask: N x 1 x H x W blurred silhouette in [0, 1] (1/8 resolution, upsampled).
    """

    image: torch.Tensor
    classes: torch.Tensor
    shape_mask: torch.Tensor


def class_mask(classes: torch.Tensor, ids: tuple[int, ...]) -> torch.Tensor:
    """N x 1 x H x W float mask of pixels whose class is in ``ids``."""
    mask = torch.zeros_like(classes, dtype=torch.bool)
    for i in ids:
        mask |= classes == i
    return mask.unsqueeze(1).float()


def garment_mask(classes: torch.Tensor) -> torch.Tensor:
    """Where an upper garment (top or dress) is, N x 1 x H x W."""
    return class_mask(classes, GARMENT_IDS)


def agnostic(person: torch.Tensor, classes: torch.Tensor, shape_factor: int = 8) -> AgnosticPerson:
    """Build the clothing-agnostic representation of a person.

    Args:
        person: N x 3 x H x W image in [-1, 1].
        classes: N x H x W model classes (``labels.to_groups`` of the parsing).
        shape_factor: downsampling factor of the body-shape silhouette.

    Returns:
        An :class:`AgnosticPerson`.
    """
    if person.dim() != 4 or classes.dim() != 3 or person.shape[-2:] != classes.shape[-2:]:
        raise ValueError(f"expected N x 3 x H x W person and N x H x W classes, got {tuple(person.shape)}, {tuple(classes.shape)}")
    replaced = class_mask(classes, REPLACED_IDS)
    keep = 1.0 - replaced
    body = (classes != 0).unsqueeze(1).float()
    h, w = classes.shape[-2:]
    small = F.adaptive_avg_pool2d(body, (max(h // shape_factor, 1), max(w // shape_factor, 1)))
    shape_mask = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return AgnosticPerson(
        image=person * keep,
        classes=torch.where(replaced[:, 0] > 0, torch.zeros_like(classes), classes),
        shape_mask=shape_mask,
    )


def garment_classes(cloth_mask: torch.Tensor) -> torch.Tensor:
    """Class map of an in-shop garment image: "upper" inside its mask, background outside."""
    upper = labels.GROUP_NAMES.index("upper")
    return (cloth_mask[:, 0] > 0.5).long() * upper

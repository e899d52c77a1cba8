"""Inference from files: read a person, its parsing and a target pose; write the result."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from .data import pose
from .data.keypoint_files import read_keypoints
from .errors import ClothflowError
from .models.pipeline import ClothFlowPipeline, TransferResult


def read_image(path: str | Path) -> np.ndarray:
    """An RGB image file -> H x W x 3 uint8, with a clear error for missing or corrupt files."""
    path = Path(path)
    if not path.is_file():
        raise ClothflowError("image not found", path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ClothflowError("not a readable image (corrupt or unsupported format)", path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_label_map(path: str | Path) -> np.ndarray:
    """A parsing PNG with LIP ids (8-bit single channel or palette) -> H x W uint8."""
    path = Path(path)
    if not path.is_file():
        raise ClothflowError("parsing map not found", path)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I", "I;16"):
                raise ClothflowError(
                    f"parsing map must hold label ids (8-bit grey or palette PNG), not a colour image (mode {im.mode})",
                    path,
                )
            return np.asarray(im).astype(np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise ClothflowError(f"not a readable label map ({exc})", path) from None


def image_tensor(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """H x W x 3 uint8 -> 1 x 3 x h x w in [-1, 1], resized (area) to ``size``."""
    resized = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(resized).permute(2, 0, 1).float().div(127.5).sub(1).unsqueeze(0)


def transfer_files(
    pipe: ClothFlowPipeline,
    source: str | Path,
    source_parse: str | Path,
    target_pose: str | Path,
    pose_frame: tuple[int, int] | None = None,
) -> TransferResult:
    """Run pose transfer on files.

    Args:
        source: the person image (any size; resized to the model's).
        source_parse: its LIP parsing map, same size as ``source``.
        target_pose: keypoint file (see :func:`read_keypoints`).
        pose_frame: (H, W) of the frame the target keypoints are in; default the source's.
    """
    image = read_image(source)
    parse = read_label_map(source_parse)
    if parse.shape != image.shape[:2]:
        raise ClothflowError(
            f"parsing map is {parse.shape[0]}x{parse.shape[1]} but the image is {image.shape[0]}x{image.shape[1]}",
            source_parse,
        )
    kps = read_keypoints(target_pose)
    size = pipe.config.size
    kps = pose.scale_keypoints(kps, pose_frame or image.shape[:2], size)
    parse_small = cv2.resize(parse, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    with torch.inference_mode():
        return pipe.transfer(
            image_tensor(image, size),
            torch.from_numpy(parse_small.astype(np.int64)).unsqueeze(0),
            torch.from_numpy(kps).unsqueeze(0),
        )


def mask_from_white(cloth: np.ndarray, threshold: int = 240) -> np.ndarray:
    """A garment mask for an in-shop photo on a white background: H x W float32 in {0, 1}.

    Pixels brighter than ``threshold`` in every channel are background; holes are filled
    by keeping the outer contour, so white prints on the garment stay inside it.
    """
    fg = (cloth.min(axis=2) < threshold).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(fg)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(np.float32)


def tryon_files(
    pipe: ClothFlowPipeline,
    person: str | Path,
    cloth: str | Path,
    cloth_mask: str | Path | None = None,
    parse: str | Path | None = None,
    pose_file: str | Path | None = None,
) -> TransferResult:
    """Run virtual try-on on files.

    Args:
        person: the person photo (any size; resized to the model's).
        cloth: the in-shop garment photo.
        cloth_mask: its mask (any single-channel image, > 127 = garment); default: the
            garment's pixels that are not near-white (in-shop photos are shot on white).
        parse: the person's parsing map (LIP ids; grey, palette or LIP-colour PNG).
        pose_file: the person's keypoints (OpenPose JSON, COCO-18 or BODY_25), in the
            person image's pixel frame.
    """
    from .data.label_maps import read_label_map, read_mask

    missing = [flag for flag, value in (("--parse", parse), ("--pose", pose_file)) if value is None]
    if missing:
        raise ClothflowError(
            f"try-on needs the person's parsing and pose; missing {' and '.join(missing)} "
            "(LIP-id parsing PNG and OpenPose JSON, as in VITON's image-parse/ and pose/ folders)",
            person,
        )
    image = read_image(person)
    labels_map = read_label_map(parse)
    if labels_map.shape != image.shape[:2]:
        raise ClothflowError(
            f"parsing map is {labels_map.shape[0]}x{labels_map.shape[1]} but the person image is "
            f"{image.shape[0]}x{image.shape[1]}",
            parse,
        )
    garment = read_image(cloth)
    if cloth_mask is None:
        mask = mask_from_white(garment)
    else:
        mask = (read_mask(cloth_mask) > 0).astype(np.float32)
        if mask.shape != garment.shape[:2]:
            raise ClothflowError(
                f"cloth mask is {mask.shape[0]}x{mask.shape[1]} but the cloth is {garment.shape[0]}x{garment.shape[1]}",
                cloth_mask,
            )
    if mask.sum() == 0:
        raise ClothflowError("the garment mask is empty (no garment found)", cloth_mask or cloth)
    size = pipe.config.size
    kps = pose.scale_keypoints(read_keypoints(pose_file), image.shape[:2], size)
    parse_small = cv2.resize(labels_map, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    mask_small = cv2.resize(mask, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    with torch.inference_mode():
        return pipe.tryon(
            image_tensor(image, size),
            torch.from_numpy(parse_small.astype(np.int64)).unsqueeze(0),
            torch.from_numpy(kps).unsqueeze(0),
            image_tensor(garment, size),
            torch.from_numpy(mask_small)[None, None],
        )

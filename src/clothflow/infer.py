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

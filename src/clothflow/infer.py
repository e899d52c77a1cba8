"""Inference from files: read a person, its parsing and a target pose; write the result."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

from .data import pose
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


def read_keypoints(path: str | Path) -> np.ndarray:
    """18 x 2 keypoints (x, y) from OpenPose JSON (``people[0].pose_keypoints_2d`` or
    ``pose_keypoints``, COCO-18 with confidence; c = 0 means missing) or a JSON list of 18 [x, y]."""
    path = Path(path)
    if not path.is_file():
        raise ClothflowError("keypoint file not found", path)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClothflowError(f"not valid JSON ({exc})", path) from None
    if isinstance(data, dict):
        people = data.get("people")
        if not people:
            raise ClothflowError("OpenPose JSON with no person in it", path)
        flat = people[0].get("pose_keypoints_2d", people[0].get("pose_keypoints"))
        if flat is None or len(flat) != pose.NUM_KEYPOINTS * 3:
            n = None if flat is None else len(flat) // 3
            raise ClothflowError(f"expected 18 OpenPose COCO keypoints (x, y, c), found {n}", path)
        arr = np.asarray(flat, np.float32).reshape(-1, 3)
        kps = np.where(arr[:, 2:3] > 0, arr[:, :2], -1.0)
    else:
        kps = np.asarray(data, np.float32)
        if kps.shape != (pose.NUM_KEYPOINTS, 2):
            raise ClothflowError(f"expected a list of 18 [x, y] keypoints, got shape {kps.shape}", path)
    return kps.astype(np.float32)


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

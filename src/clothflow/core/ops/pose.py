"""Body pose: the 18 OpenPose/COCO keypoints and their heatmap encoding.

Keypoints are (x, y) in pixels of the image they belong to; a missing point is (-1, -1).

Example:
    >>> import torch
    >>> kps = torch.full((1, 18, 2), -1.0)
    >>> kps[0, 0] = torch.tensor([10.0, 5.0])
    >>> maps = heatmaps(kps, 16, 12)
    >>> maps.shape, int(maps[0, 0].argmax())
    (torch.Size([1, 18, 16, 12]), 70)
"""

from __future__ import annotations

import numpy as np
import torch

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "neck",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_hip",
    "r_knee",
    "r_ankle",
    "l_hip",
    "l_knee",
    "l_ankle",
    "r_eye",
    "l_eye",
    "r_ear",
    "l_ear",
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
KP = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

# Bones as keypoint index pairs (OpenPose COCO-18 skeleton), for limb maps and drawing.
LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7),
    (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)


def visible(kps: torch.Tensor | np.ndarray):
    """Boolean mask of present keypoints; kps is ... x 18 x 2, missing = negative coordinates."""
    return (kps[..., 0] >= 0) & (kps[..., 1] >= 0)


def heatmaps(kps: torch.Tensor, height: int, width: int, sigma: float | None = None) -> torch.Tensor:
    """Encode keypoints as Gaussian heatmaps, one channel per keypoint.

    Args:
        kps: N x 18 x 2 keypoints (x, y) in pixels of a height x width image; missing = -1.
        height, width: output size.
        sigma: Gaussian standard deviation in pixels; default height / 64 (4 px at 256).

    Returns:
        N x 18 x height x width float tensor in [0, 1]; all-zero channels for missing points.
    """
    if kps.dim() != 3 or kps.shape[-1] != 2:
        raise ValueError(f"expected N x K x 2 keypoints, got shape {tuple(kps.shape)}")
    sigma = sigma if sigma is not None else max(height / 64.0, 0.75)
    kps = kps.float()
    ys = torch.arange(height, dtype=torch.float32, device=kps.device).view(1, 1, height, 1)
    xs = torch.arange(width, dtype=torch.float32, device=kps.device).view(1, 1, 1, width)
    dx2 = (xs - kps[..., 0, None, None]) ** 2
    dy2 = (ys - kps[..., 1, None, None]) ** 2
    maps = torch.exp(-(dx2 + dy2) / (2 * sigma**2))
    return maps * visible(kps)[..., None, None].float()


def scale_keypoints(kps: np.ndarray, src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> np.ndarray:
    """Rescale keypoints from one image size to another, keeping missing points at -1."""
    kps = np.asarray(kps, dtype=np.float32).copy()
    present = visible(kps)
    kps[..., 0] = np.where(present, kps[..., 0] * dst_hw[1] / src_hw[1], -1)
    kps[..., 1] = np.where(present, kps[..., 1] * dst_hw[0] / src_hw[0], -1)
    return kps


def draw_skeleton(kps: np.ndarray, height: int, width: int, thickness: int = 2) -> np.ndarray:
    """Draw an 18-point skeleton on black, OpenPose-style colours. Returns H x W x 3 uint8."""
    import cv2

    canvas = np.zeros((height, width, 3), np.uint8)
    for i, (a, b) in enumerate(LIMBS):
        if visible(kps[a]) and visible(kps[b]):
            hue = int(180 * i / len(LIMBS))
            colour = cv2.cvtColor(np.uint8([[[hue, 255, 255]]]), cv2.COLOR_HSV2RGB)[0, 0].tolist()
            pa = tuple(int(round(v)) for v in kps[a])
            pb = tuple(int(round(v)) for v in kps[b])
            cv2.line(canvas, pa, pb, colour, thickness, cv2.LINE_AA)
    for p in kps:
        if visible(p):
            cv2.circle(canvas, (int(round(p[0])), int(round(p[1]))), thickness, (255, 255, 255), -1)
    return canvas

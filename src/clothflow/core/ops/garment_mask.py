"""The garment of an in-shop photo: the product on a near-white background, as VITON shows it.

Try-on, the web demo and FiNet's try-on all take a garment photo without its mask; this is
the one place that finds it.

Example:
    >>> import numpy as np
    >>> photo = np.full((40, 30, 3), 255, np.uint8); photo[10:30, 5:25] = (200, 30, 30)
    >>> int(mask_from_white(photo).sum())
    400
"""

from __future__ import annotations

import cv2
import numpy as np

WHITE_THRESHOLD = 240  # a pixel is background when all of its channels are at least this


def mask_from_white(rgb: np.ndarray, threshold: int = WHITE_THRESHOLD) -> np.ndarray:
    """The garment of an in-shop photo on a near-white background: H x W bool.

    Pixels with every channel >= ``threshold`` are background. A closing bridges thin
    near-white lines across the garment (white stripes, seams) so they do not cut it apart,
    holes are filled (white prints stay inside the garment) and only the largest connected
    component is kept (labels, specks and shadows apart from it are dropped).

    Args:
        rgb: H x W x 3 uint8.
        threshold: the near-white level.

    Returns:
        H x W bool, all False when the photo is all near-white.
    """
    fg = (rgb.min(axis=2) < threshold).astype(np.uint8)
    k = max(3, round(0.03 * min(fg.shape)) | 1)  # odd, about 3% of the short side
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count <= 1:
        return np.zeros(rgb.shape[:2], bool)
    largest = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    contours, _ = cv2.findContours(largest, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(largest)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)

"""What the live tests compare outside a face: shared by the live page's tests."""

from __future__ import annotations

import numpy as np


def outside_the_face(image: np.ndarray) -> np.ndarray:
    """H x W bool: the pixels outside the face's landmark box grown by a quarter on each side."""
    from clothflow.animate.face.landmarks import FaceLandmarker

    with FaceLandmarker() as find:
        lm = find(image)
    (x0, y0), (x1, y1) = lm.min(0), lm.max(0)
    dx, dy = (x1 - x0) / 4, (y1 - y0) / 4
    outside = np.ones(image.shape[:2], bool)
    outside[max(int(y0 - dy), 0) : int(y1 + dy) + 1, max(int(x0 - dx), 0) : int(x1 + dx) + 1] = False
    return outside

"""Face landmarks: MediaPipe's face mesh (478 points with the iris refinement) and what is read off them.

The face mesh ships inside the ``mediapipe==0.10.21`` wheel of the ``[pose]`` extra, so it runs
offline. Landmark ids below are MediaPipe's canonical face-mesh ids; "right" and "left" are the
person's own sides (the person's right eye is on the image's left in a frontal photo).

The measures (:func:`eye_aspect_ratio`, :func:`mouth_open_ratio`) need no mediapipe.

Example:
    >>> import numpy as np
    >>> lm = np.zeros((478, 2), np.float32)
    >>> lm[RIGHT_EYE_CORNERS[0]], lm[RIGHT_EYE_CORNERS[1]] = (0, 0), (30, 0)
    >>> for u, l in RIGHT_EYE_LID_PAIRS: lm[u], lm[l] = (10, -3), (10, 3)
    >>> round(float(eye_aspect_ratio(lm)[0]), 3)          # lid gap 6 over eye width 30
    0.2
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from clothflow.core.errors import ClothflowError
from clothflow.core.quiet import native_stderr_silenced
from clothflow.estimate.prepare import INSTALL_HINT, import_mediapipe

NUM_FACE_LANDMARKS = 478  # 468 mesh points + 2 x 5 iris points (refine_landmarks)

# Eyes: (outer corner, inner corner), then upper-lid / lower-lid ids paired top to bottom,
# ordered from the outer corner to the inner one.
RIGHT_EYE_CORNERS = (33, 133)
RIGHT_EYE_LID_PAIRS = ((246, 7), (161, 163), (160, 144), (159, 145), (158, 153), (157, 154), (173, 155))
LEFT_EYE_CORNERS = (263, 362)
LEFT_EYE_LID_PAIRS = ((466, 249), (388, 390), (387, 373), (386, 374), (385, 380), (384, 381), (398, 382))
EYES = ((RIGHT_EYE_CORNERS, RIGHT_EYE_LID_PAIRS), (LEFT_EYE_CORNERS, LEFT_EYE_LID_PAIRS))

# Lips, corner to corner. The inner contour is where the mouth opens.
INNER_LIP_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LIP_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_LIP_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LIP_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
MOUTH_CORNERS = (61, 291)
INNER_LIP_MIDDLE = (13, 14)  # upper, lower

FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)
EYEBROWS = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
NOSE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 327, 48, 278, 115, 344)
CHEEKS = (50, 280, 205, 425, 187, 411, 147, 376, 116, 345)

# Points that expressions barely move (nose bridge, eye corners, forehead, temples): the head's
# similarity motion is fitted on these.
STABLE = (168, 6, 197, 195, 5, 4, 33, 133, 362, 263, 10, 109, 338, 67, 297, 234, 454, 127, 356)


def eye_contour(eye: int) -> tuple[int, ...]:
    """Closed contour of one eye (0: the person's right, 1: left): corner, upper lid, corner, lower lid."""
    (outer, inner), pairs = EYES[eye]
    upper = tuple(u for u, _ in pairs)
    lower = tuple(l for _, l in reversed(pairs))
    return (outer, *upper, inner, *lower)


def inner_mouth_contour() -> tuple[int, ...]:
    """Closed contour of the inner lips (corner, upper inner lip, corner, lower inner lip)."""
    return INNER_LIP_UPPER + tuple(reversed(INNER_LIP_LOWER[1:-1]))


# The sparse points the dense warp follows (every id once).
CONTROL = tuple(
    dict.fromkeys(
        FACE_OVAL + EYEBROWS + NOSE + CHEEKS + eye_contour(0) + eye_contour(1)
        + OUTER_LIP_UPPER + OUTER_LIP_LOWER + INNER_LIP_UPPER + INNER_LIP_LOWER
    )
)


# What moves fast in a face: eyelids and eye corners, irises, lips (a blink is over in a few frames).
EXPRESSIVE = tuple(
    dict.fromkeys(eye_contour(0) + eye_contour(1) + tuple(range(468, 478)) + OUTER_LIP_UPPER + OUTER_LIP_LOWER
                  + INNER_LIP_UPPER + INNER_LIP_LOWER)
)


def _check(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 2 or lm.shape[1] != 2 or lm.shape[0] < 468:
        raise ValueError(f"expected N x 2 face-mesh landmarks (N >= 468), got shape {lm.shape}")
    return lm


def eye_aspect_ratio(landmarks: np.ndarray) -> np.ndarray:
    """Eye openness of both eyes: the mean lid gap over the corner-to-corner width.

    Args:
        landmarks: N x 2 face-mesh landmarks (pixels).

    Returns:
        2 float64 ratios (person's right eye, left eye); about 0.25-0.35 open, below 0.1 closed.
    """
    lm = _check(landmarks)
    out = np.zeros(2)
    for k, ((outer, inner), pairs) in enumerate(EYES):
        gaps = [np.linalg.norm(lm[u] - lm[l]) for u, l in pairs[1:-1]]
        out[k] = float(np.mean(gaps)) / max(float(np.linalg.norm(lm[outer] - lm[inner])), 1e-6)
    return out


def mouth_open_ratio(landmarks: np.ndarray) -> float:
    """Inner-lip gap at the middle over the mouth's corner-to-corner width (0 when closed)."""
    lm = _check(landmarks)
    gap = np.linalg.norm(lm[INNER_LIP_MIDDLE[0]] - lm[INNER_LIP_MIDDLE[1]])
    return float(gap / max(float(np.linalg.norm(lm[MOUTH_CORNERS[0]] - lm[MOUTH_CORNERS[1]])), 1e-6))


def face_size(landmarks: np.ndarray) -> float:
    """The face's width in pixels (extent of the face oval along x), a scale for the whole module."""
    lm = _check(landmarks)
    xs = lm[list(FACE_OVAL), 0]
    return float(xs.max() - xs.min())


def import_face_mesh() -> ModuleType:
    """``mediapipe.solutions.face_mesh``, or a ClothflowError saying what to install."""
    mp = import_mediapipe()
    face_mesh = getattr(mp.solutions, "face_mesh", None)
    if face_mesh is None:
        raise ClothflowError(f"this mediapipe has no legacy face_mesh solution; {INSTALL_HINT}")
    return face_mesh


class FaceLandmarker:
    """MediaPipe's face mesh for one face, returning pixel landmarks (:meth:`landmarks3d` adds their depth).

    Args:
        static: True treats every image on its own (photos); False tracks a face across the
            frames of one video (faster and steadier, frames must come in order).
        refine: with the iris refinement (478 points, better lids and lips); False gives 468.
        min_confidence: detection (and tracking) confidence below which no face is returned.

    Example (scikit-image ships this portrait):
        >>> from skimage.data import astronaut
        >>> with FaceLandmarker() as find:
        ...     lm = find(astronaut())  # 478 x 2 (x, y) pixels, or None
        >>> lm.shape
        (478, 2)
    """

    def __init__(self, *, static: bool = True, refine: bool = True, min_confidence: float = 0.5) -> None:
        face_mesh = import_face_mesh()
        with native_stderr_silenced():  # MediaPipe's C++ log lines
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=static, max_num_faces=1, refine_landmarks=refine,
                min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence,
            )

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        """Landmarks of the most prominent face.

        Args:
            image: H x W x 3 uint8 RGB.

        Returns:
            N x 2 float32 (x, y) pixels (N = 478 refined, 468 otherwise), or None without a face.
        """
        found = self.landmarks3d(image)
        return None if found is None else np.ascontiguousarray(found[:, :2])

    def landmarks3d(self, image: np.ndarray) -> np.ndarray | None:
        """Landmarks of the most prominent face with their depth.

        Args:
            image: H x W x 3 uint8 RGB.

        Returns:
            N x 3 float32 (x, y, z) pixels, or None without a face. z is MediaPipe's depth
            (smaller is nearer the camera, 0 about the head's centre) times the image width,
            the scale of x, so the three share one unit.
        """
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 uint8 RGB image, got {image.dtype} {image.shape}")
        with native_stderr_silenced():
            result = self._mesh.process(np.ascontiguousarray(image))
        if not result.multi_face_landmarks:
            return None
        h, w = image.shape[:2]
        points = result.multi_face_landmarks[0].landmark
        return np.array([(p.x * w, p.y * h, p.z * w) for p in points], np.float32)

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

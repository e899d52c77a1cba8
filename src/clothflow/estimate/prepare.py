"""What the models need from one photo: 18 keypoints, a person mask and a parsing map.

Pose and mask come from MediaPipe's legacy pose solution (``mediapipe==0.10.21``, whose wheel
ships the ``pose_landmark_full`` model and the selfie-segmentation model, so it runs offline),
installed with the optional extra: ``pip install 'clothflow[pose]'``. Its 33 landmarks are
mapped to the 18 OpenPose/COCO points (:func:`landmarks_to_coco18`). The parsing is
:func:`clothflow.core.ops.coarse_layout.coarse_layout` of the keypoints and mask, unless the user
gives a better one from their own parser.

Limits, stated plainly:

- One person per photo: MediaPipe finds the most prominent person; others are ignored and
  the mask is restricted to the surroundings of that person (a touching neighbour can leak in).
- Face points are always placed, also in back views (as OpenPose often does too); points
  MediaPipe rates below ``min_visibility`` or outside the frame are missing (-1).
- The coarse parsing knows nothing about clothing (see :mod:`clothflow.core.ops.coarse_layout`):
  dresses and skirts become upper-clothes + pants, sleeves are arms, shoes are legs. Give a
  real parser's output (``--parse``) when the garment classes matter.
- Close-up, cropped or tiny people may not be found at all (a :class:`ClothflowError`).

Example (the mapping needs no mediapipe):
    >>> import numpy as np
    >>> lm = np.zeros((33, 3)); lm[:, 2] = 1.0          # all visible, all at the origin
    >>> lm[11, :2], lm[12, :2] = (0.6, 0.3), (0.4, 0.3)  # person's left, right shoulder
    >>> kps, conf = landmarks_to_coco18(lm, (100, 50))
    >>> kps[1].tolist(), kps[2].tolist()                 # neck, r_shoulder
    ([25.0, 30.0], [20.0, 30.0])
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np

from clothflow.core.ops.coarse_layout import coarse_layout
from clothflow.core.ops.labels import LIP_LABELS as LIP_NAMES
from clothflow.core.ops.labels import colourise, to_groups
from clothflow.core.ops.pose import NUM_KEYPOINTS, draw_skeleton, visible
from clothflow.core.errors import ClothflowError
from clothflow.core.quiet import native_stderr_silenced

MEDIAPIPE_VERSION = "0.10.21"
INSTALL_HINT = (
    f"install the optional pose estimator: pip install 'clothflow[pose]' "
    f"(from a source checkout: pip install -e '.[pose]'), which brings mediapipe=={MEDIAPIPE_VERSION}"
)

# For each COCO-18 keypoint, the MediaPipe Pose landmark ids it is made of (the mean when two).
# MediaPipe's "left"/"right" are the person's own sides, as in COCO-18: 11 left shoulder,
# 12 right shoulder, 13/14 elbows, 15/16 wrists, 23/24 hips, 25/26 knees, 27/28 ankles,
# 2/5 left/right eye, 7/8 left/right ear, 0 nose.
COCO18_FROM_MEDIAPIPE: tuple[tuple[int, ...], ...] = (
    (0,),  # nose
    (11, 12),  # neck: the shoulder midpoint
    (12,), (14,), (16,),  # r_shoulder, r_elbow, r_wrist
    (11,), (13,), (15,),  # l_shoulder, l_elbow, l_wrist
    (24,), (26,), (28,),  # r_hip, r_knee, r_ankle
    (23,), (25,), (27,),  # l_hip, l_knee, l_ankle
    (5,), (2,),  # r_eye, l_eye
    (8,), (7,),  # r_ear, l_ear
)
NUM_MEDIAPIPE_LANDMARKS = 33
_FACE_KEYPOINTS = (0, 14, 15)  # nose, r_eye, l_eye


def import_mediapipe() -> ModuleType:
    """The ``mediapipe`` module with its legacy pose solution, or a ClothflowError saying what to install.

    Returns:
        The imported module.

    Raises:
        ClothflowError: mediapipe missing, broken (e.g. protobuf >= 5) or without ``solutions.pose``.
    """
    try:
        import mediapipe as mp
    except ImportError:
        raise ClothflowError(f"the pose estimator (mediapipe) is not installed; {INSTALL_HINT}") from None
    except Exception as exc:  # e.g. a protobuf or numpy mismatch raises TypeError/AttributeError
        raise ClothflowError(f"mediapipe cannot be imported ({type(exc).__name__}: {exc}); {INSTALL_HINT}") from None
    solutions = getattr(mp, "solutions", None)
    if solutions is None or not hasattr(solutions, "pose"):
        version = getattr(mp, "__version__", "?")
        raise ClothflowError(f"mediapipe {version} has no legacy pose solution; {INSTALL_HINT}")
    return mp


def landmarks_to_coco18(
    landmarks: np.ndarray, size: tuple[int, int], min_visibility: float = 0.5, in_frame: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Map MediaPipe's 33 pose landmarks to the 18 OpenPose/COCO keypoints.

    Args:
        landmarks: 33 x 3 (x, y, visibility); x, y normalised to the image width / height.
        size: (H, W) of the image, for pixel coordinates.
        min_visibility: points rated below it are missing; the neck needs both shoulders.
        in_frame: points outside the image are missing (as in OpenPose files); False keeps
            those right of or below the frame (a cropped photo's knees, for the layout).

    Returns:
        (keypoints, confidence): 18 x 2 float32 (x, y) pixels, -1 for missing or out-of-frame
        points; 18 float32 visibilities (the lower shoulder's for the neck), 0 where missing.
    """
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (NUM_MEDIAPIPE_LANDMARKS, 3):
        raise ValueError(f"expected 33 x 3 landmarks (x, y, visibility), got shape {lm.shape}")
    h, w = size
    kps = np.full((NUM_KEYPOINTS, 2), -1.0, np.float32)
    conf = np.zeros(NUM_KEYPOINTS, np.float32)
    for k, ids in enumerate(COCO18_FROM_MEDIAPIPE):
        vis = float(lm[list(ids), 2].min())
        x, y = lm[list(ids), 0].mean() * w, lm[list(ids), 1].mean() * h
        inside = x <= w - 1 and y <= h - 1 if in_frame else True
        if vis >= min_visibility and x >= 0 and y >= 0 and inside:
            kps[k] = (x, y)
            conf[k] = vis
    return kps, conf


def facing_away(kps: np.ndarray, margin: float = 0.25) -> bool:
    """Whether the person shows their back: their left shoulder is on the image's left.

    Facing the camera, the person's right shoulder (COCO 2) is on the image's left. Sideways
    views, where the shoulders are closer than ``margin`` x torso length, count as not away.

    Args:
        kps: 18 x 2 (x, y), -1 missing.
        margin: shoulder offset, as a fraction of the torso length, needed to decide.

    Returns:
        True for a back view.
    """
    from clothflow.core.ops.coarse_layout import body_unit

    kps = np.asarray(kps, np.float64)
    if not (visible(kps[2]) and visible(kps[5])):
        return False
    unit = body_unit(kps, (int(kps[:, 1].max()) + 1, int(kps[:, 0].max()) + 1))
    return bool(kps[2, 0] - kps[5, 0] > margin * unit)


def hide_face_in_back_view(kps: np.ndarray) -> np.ndarray:
    """Keypoints with nose and eyes missing when :func:`facing_away` (MediaPipe places them anyway).

    Args:
        kps: 18 x 2 (x, y), -1 missing.

    Returns:
        A copy; ears are kept (they are visible from behind).
    """
    kps = np.array(kps, np.float32)
    if facing_away(kps):
        kps[list(_FACE_KEYPOINTS)] = -1
    return kps


def person_mask(selfie: np.ndarray, pose_mask: np.ndarray | None, threshold: float = 0.5, reach: float = 0.03) -> np.ndarray:
    """One person's mask from the selfie segmentation, kept near the pose model's person.

    The selfie model draws cleaner outlines (IoU 0.97-0.98 vs 0.93-0.98 on DeepFashion
    silhouettes) but segments every person in view; the pose model's own mask picks the one
    person the keypoints belong to.

    Args:
        selfie: H x W float person probability from selfie segmentation.
        pose_mask: H x W float probability from the pose model, or None (selfie only).
        threshold: probability counted as person.
        reach: how far (fraction of the image height) the outline may extend past the pose mask.

    Returns:
        H x W bool.
    """
    mask = np.asarray(selfie) > threshold
    if pose_mask is not None:
        r = max(int(reach * mask.shape[0]), 1)
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        near = cv2.dilate((np.asarray(pose_mask) > 0.2).astype(np.uint8), disc) > 0
        mask &= near
    return mask


@dataclass(frozen=True)
class PoseEstimate:
    """What the estimator found in one photo.

    Attributes:
        keypoints: 18 x 2 float32 (x, y) pixels, -1 missing (COCO-18 order).
        confidence: 18 float32 MediaPipe visibilities, 0 where missing.
        mask: H x W bool person mask; None from an estimator made with ``masks=False``.
        landmarks: the raw 33 x 3 MediaPipe landmarks (x, y normalised, visibility).
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    mask: np.ndarray | None
    landmarks: np.ndarray


class PoseEstimator:
    """MediaPipe pose (full model) + selfie segmentation, loaded once and reused for many photos.

    Args:
        min_visibility: landmarks rated below it become missing keypoints.
        mask_threshold: person probability counted as the person mask.
        static: every image on its own (photos); False tracks the person from frame to frame
            (a camera: faster and steadier).
        masks: also segment the person (the selfie model); False leaves ``mask`` None and
            skips that work, for streams that need only the keypoints.

    Example (needs the ``[pose]`` extra)::

        with PoseEstimator() as estimate:
            found = estimate(rgb_uint8_image)
    """

    def __init__(self, min_visibility: float = 0.5, mask_threshold: float = 0.5, static: bool = True,
                 masks: bool = True) -> None:
        mp = import_mediapipe()
        self.min_visibility = min_visibility
        self.mask_threshold = mask_threshold
        # model_complexity=1 is pose_landmark_full, the model shipped inside the 0.10.21 wheel
        # (0 and 2 would be downloaded on first use).
        with native_stderr_silenced():  # MediaPipe's C++ log lines (W0000 ..., INFO: Created TensorFlow Lite ...)
            self._pose = mp.solutions.pose.Pose(static_image_mode=static, model_complexity=1, enable_segmentation=masks)
            self._selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) if masks else None

    def __call__(self, image: np.ndarray) -> PoseEstimate | None:
        """Estimate one person's pose and mask.

        Args:
            image: H x W x 3 uint8 RGB.

        Returns:
            The estimate, or None when no person is found.
        """
        image = np.ascontiguousarray(image, np.uint8)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 RGB image, got shape {image.shape}")
        with native_stderr_silenced():
            found = self._pose.process(image)
        if found.pose_landmarks is None:
            return None
        lm = np.array([[p.x, p.y, p.visibility] for p in found.pose_landmarks.landmark], np.float32)
        kps, conf = landmarks_to_coco18(lm, image.shape[:2], self.min_visibility)
        kps = hide_face_in_back_view(kps)
        conf = np.where(visible(kps), conf, 0).astype(np.float32)
        mask = None
        if self._selfie is not None:
            with native_stderr_silenced():
                selfie = self._selfie.process(image).segmentation_mask
            mask = person_mask(selfie, found.segmentation_mask, self.mask_threshold)
        return PoseEstimate(kps, conf, mask, lm)

    def close(self) -> None:
        """Release the MediaPipe graphs."""
        self._pose.close()
        if self._selfie is not None:
            self._selfie.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class Prepared:
    """The model inputs made from one photo.

    Attributes:
        keypoints: 18 x 2 float32 (x, y) pixels of the photo, -1 missing.
        confidence: 18 float32 visibilities, 0 where missing.
        mask: H x W bool person mask.
        parse: H x W uint8 LIP ids (coarse, or the user's parsing).
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    mask: np.ndarray
    parse: np.ndarray


def prepare_image(
    image: np.ndarray,
    parse: np.ndarray | None = None,
    estimator: PoseEstimator | None = None,
    path: str | Path | None = None,
    parser=None,
) -> Prepared:
    """Keypoints, person mask and parsing of one photo.

    Args:
        image: H x W x 3 uint8 RGB.
        parse: H x W LIP ids from the user's own parser; default made by ``parser``, else
            the coarse layout.
        estimator: a loaded :class:`PoseEstimator` to reuse; default one made (and closed) here.
        path: the photo's file, named in errors.
        parser: a :class:`~clothflow.models.parser.HumanParser` for the parsing (see
            :func:`clothflow.estimate.parsing.load_parser`).

    Returns:
        The :class:`Prepared` inputs.

    Raises:
        ClothflowError: the ``[pose]`` extra is missing, no person is found, too few body
            keypoints, or ``parse`` does not match the image size.
    """
    if parse is not None and parse.shape != image.shape[:2]:
        raise ClothflowError(
            f"parsing map is {parse.shape[0]}x{parse.shape[1]} but the photo is {image.shape[0]}x{image.shape[1]}", path
        )
    own = estimator is None
    estimator = PoseEstimator() if own else estimator
    try:
        found = estimator(image)
    finally:
        if own:
            estimator.close()
    if found is None:
        raise ClothflowError("no person found in the photo (the pose estimator needs one clearly visible person)", path)
    if visible(found.keypoints).sum() < 4:
        raise ClothflowError(
            f"only {int(visible(found.keypoints).sum())} of 18 keypoints found; the photo needs more of the body in view",
            path,
        )
    if parse is None and parser is not None:
        from clothflow.estimate.parsing import parse_photo

        parse = parse_photo(parser, image)
    if parse is None:  # the layout also uses the points beyond the frame of a cropped photo
        beyond, _ = landmarks_to_coco18(found.landmarks, image.shape[:2], estimator.min_visibility, in_frame=False)
        parse = coarse_layout(hide_face_in_back_view(beyond), image.shape[:2], found.mask)
    return Prepared(found.keypoints, found.confidence, found.mask, np.asarray(parse, np.uint8))


def preview(image: np.ndarray, prepared: Prepared) -> np.ndarray:
    """A picture to check the result: [photo + skeleton | parsing over the photo + mask outline].

    Args:
        image: H x W x 3 uint8 RGB.
        prepared: what :func:`prepare_image` found.

    Returns:
        H x 2W x 3 uint8 RGB.
    """
    h, w = image.shape[:2]
    thick = max(2, round(h / 256))
    bones = draw_skeleton(prepared.keypoints, h, w, thick)
    drawn = bones.any(-1, keepdims=True)
    left = np.where(drawn, bones, image)
    colours = colourise(to_groups(prepared.parse))
    on_person = (prepared.parse > 0)[..., None]
    right = np.where(on_person, (0.4 * image + 0.6 * colours).astype(np.uint8), (0.5 * image).astype(np.uint8))
    contours, _ = cv2.findContours(prepared.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    right = np.ascontiguousarray(right)
    cv2.drawContours(right, contours, -1, (255, 255, 255), max(1, thick // 2), cv2.LINE_AA)
    right = np.where(drawn, bones, right)
    return np.concatenate([left, right], 1)


@dataclass(frozen=True)
class PreparedFiles:
    """The files :func:`prepare_files` wrote, and what they hold.

    Attributes:
        keypoints: ``<stem>_keypoints.json``, OpenPose JSON (COCO-18, ``pose_keypoints_2d``).
        mask: ``<stem>_mask.png``, 8-bit, 255 on the person.
        parse: ``<stem>_parse.png``, 8-bit LIP ids.
        preview: ``<stem>_preview.png``, skeleton and parsing drawn over the photo.
        prepared: the arrays written.
    """

    keypoints: Path
    mask: Path
    parse: Path
    preview: Path
    prepared: Prepared


def prepare_files(
    image_path: str | Path,
    out_dir: str | Path,
    parse_path: str | Path | None = None,
    estimator: PoseEstimator | None = None,
    parser=None,
) -> PreparedFiles:
    """Run :func:`prepare_image` on a photo file and write its outputs to ``out_dir``.

    Args:
        image_path: the photo (any format OpenCV reads).
        out_dir: folder for the outputs (created); files are named after the photo's stem.
        parse_path: a parsing PNG from the user's own parser (LIP ids, grey/palette/LIP colours),
            same size as the photo; copied as ``<stem>_parse.png`` instead of the coarse layout.
        estimator: a loaded :class:`PoseEstimator` to reuse across photos.
        parser: a human parser for the parsing when ``parse_path`` is None (else the coarse layout).

    Returns:
        The written :class:`PreparedFiles`.

    Raises:
        ClothflowError: unreadable photo or parsing, no person found, unwritable folder, or
            the ``[pose]`` extra missing.
    """
    from PIL import Image

    from clothflow.data.formats.images import read_rgb
    from clothflow.data.formats.keypoints import openpose_dict
    from clothflow.data.formats.label_maps import read_label_map
    from clothflow.core.files import atomic_write_text, writable_dir

    image_path = Path(image_path)
    if not image_path.is_file():
        raise ClothflowError("image not found", image_path)
    image = read_rgb(image_path)
    user_parse = None if parse_path is None else read_label_map(parse_path)
    prepared = prepare_image(image, user_parse, estimator, path=parse_path if user_parse is not None else image_path,
                             parser=parser)
    out = writable_dir(out_dir)
    stem = image_path.stem
    files = PreparedFiles(
        keypoints=out / f"{stem}_keypoints.json",
        mask=out / f"{stem}_mask.png",
        parse=out / f"{stem}_parse.png",
        preview=out / f"{stem}_preview.png",
        prepared=prepared,
    )
    atomic_write_text(files.keypoints, json.dumps(openpose_dict(prepared.keypoints)))
    Image.fromarray(prepared.mask.astype(np.uint8) * 255, mode="L").save(files.mask)
    Image.fromarray(prepared.parse, mode="L").save(files.parse)
    Image.fromarray(preview(image, prepared)).save(files.preview)
    return files


def summary(files: PreparedFiles) -> str:
    """A few lines for people: what was found and where it was written."""
    p = files.prepared
    found = int(visible(p.keypoints).sum())
    labels = ", ".join(sorted({LIP_NAMES.get(int(i), str(int(i))) for i in np.unique(p.parse) if i}))
    return (
        f"{found} of 18 keypoints, person mask {100 * p.mask.mean():.0f}% of the photo, parsing: {labels}\n"
        f"wrote {files.keypoints}\n      {files.mask}\n      {files.parse}\n      {files.preview}"
    )

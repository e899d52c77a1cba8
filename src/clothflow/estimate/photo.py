"""A user's photo made ready for a model: its pose and parsing, estimated where not given.

The one place the commands prepare a person photo (``transfer``, ``animate``, pair tables):

- parsing: the shipped human parser (:func:`~clothflow.estimate.parsing.parse_framed`), else the
  coarse layout drawn from the pose;
- pose: MediaPipe, trying harder where the first look fails (:func:`robust_pose`), else the
  rough pose read off the parsing (:func:`~clothflow.estimate.pose_from_parsing.pose_from_parsing`);
  a photo where neither finds a body is refused with one line naming it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clothflow.core.errors import ClothflowError
from clothflow.core.ops.pose import visible

MIN_KEYPOINTS = 4  # fewer body points than this is no usable pose
MIN_SIDE = 256  # smaller photos are enlarged to this before the pose estimator looks
BY_ESTIMATOR = "MediaPipe's pose estimator"
FROM_PARSING = "read off the parsing (the pose estimator found no one)"


def robust_pose(estimator, image: np.ndarray) -> np.ndarray | None:
    """Keypoints of the one person in a photo, trying harder where the first look fails.

    MediaPipe misses people in close crops, small photos and some back views. A photo under
    :data:`MIN_SIDE` pixels is enlarged first. Tried in order: the photo; the photo with a
    border of a third of its size on every side (a close crop then looks like a full view);
    its mirror image (swapped back); a lower visibility threshold.

    Args:
        estimator: a :class:`~clothflow.estimate.prepare.PoseEstimator`.
        image: H x W x 3 uint8 RGB.

    Returns:
        18 x 2 float32 pixels of ``image`` (-1 missing), or None when no try finds at least
        :data:`MIN_KEYPOINTS` points.
    """
    import cv2
    import torch

    from clothflow.data.datasets.augment import mirror_keypoints

    h, w = image.shape[:2]
    scale = max(MIN_SIDE / max(h, w), 1.0)
    if scale > 1:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
    sh, sw = image.shape[:2]
    m = max(sh, sw) // 3

    def padded(img):
        found = estimator(cv2.copyMakeBorder(img, m, m, m, m, cv2.BORDER_REPLICATE))
        if found is None:
            return None
        kps = found.keypoints.copy()
        ok = visible(kps)
        kps[ok] -= m
        inside = ok & (kps[:, 0] >= 0) & (kps[:, 1] >= 0) & (kps[:, 0] < sw) & (kps[:, 1] < sh)
        kps[~inside] = -1
        return kps

    def plain(img):
        found = estimator(img)
        return None if found is None else found.keypoints

    def mirrored(img):
        kps = plain(np.ascontiguousarray(img[:, ::-1]))
        return None if kps is None else mirror_keypoints(torch.from_numpy(kps), sw).numpy()

    def at_photo_scale(kps):
        ok = visible(kps)
        return np.where(ok[:, None], kps / scale, -1.0).astype(np.float32)

    for attempt in (plain, padded, mirrored):
        kps = attempt(image)
        if kps is not None and visible(kps).sum() >= MIN_KEYPOINTS:
            return at_photo_scale(kps)
    saved = estimator.min_visibility
    estimator.min_visibility = min(saved, 0.2)
    try:
        kps = padded(image)
    finally:
        estimator.min_visibility = saved
    return at_photo_scale(kps) if kps is not None and visible(kps).sum() >= MIN_KEYPOINTS else None


def stands_out(image: np.ndarray, parse: np.ndarray, min_contrast: float = 20.0) -> bool:
    """Whether the person a parsing marks differs from the rest of the photo (a parser may
    see a person in an empty frame; the photo then shows nothing there).

    The median colours of the two regions must differ by ``min_contrast`` grey levels in some
    channel, or the person region must be textured (its standard deviation that much above the
    background's).

    Example:
        >>> parse = np.zeros((40, 30), np.uint8); parse[10:30, 10:20] = 5
        >>> flat = np.full((40, 30, 3), 90, np.uint8)
        >>> person = flat.copy(); person[10:30, 10:20] = 200
        >>> stands_out(flat, parse), stands_out(person, parse)
        (False, True)
    """
    body = np.asarray(parse) > 0
    if body.sum() < 16 or (~body).sum() < 16:
        return False
    inside, outside = image[body].astype(np.float32), image[~body].astype(np.float32)
    contrast = np.abs(np.median(inside, 0) - np.median(outside, 0)).max()
    texture = inside.std(0).max() - outside.std(0).max()
    return bool(contrast >= min_contrast or texture >= min_contrast)


def person_pose(image: np.ndarray, parse: np.ndarray | None, estimator=None) -> tuple[np.ndarray | None, str]:
    """A photo's keypoints: the estimator's (:func:`robust_pose`), else read off ``parse``.

    Args:
        image: H x W x 3 uint8 RGB.
        parse: its LIP parsing, or None.
        estimator: a loaded :class:`~clothflow.estimate.prepare.PoseEstimator`; default one made here.

    Returns:
        (18 x 2 float32 pixels, or None when neither way finds :data:`MIN_KEYPOINTS` points or
        the parsing's person does not stand out of the photo (:func:`stands_out`);
        :data:`BY_ESTIMATOR` or :data:`FROM_PARSING`).
    """
    from clothflow.estimate.pose_from_parsing import pose_from_parsing
    from clothflow.estimate.prepare import PoseEstimator

    own = estimator is None
    estimator = PoseEstimator(masks=False) if own else estimator
    try:
        kps = robust_pose(estimator, image)
    finally:
        if own:
            estimator.close()
    if kps is not None:
        return kps, BY_ESTIMATOR
    if parse is not None and stands_out(image, parse):
        kps = pose_from_parsing(parse)
        if visible(kps).sum() >= MIN_KEYPOINTS:
            return kps, FROM_PARSING
    return None, BY_ESTIMATOR


def prepare_photo(image: np.ndarray, parse: np.ndarray | None = None, keypoints: np.ndarray | None = None,
                  path: str | Path | None = None, notes: list[str] | None = None,
                  parser=None) -> tuple[np.ndarray, np.ndarray]:
    """The parsing and keypoints of a person photo, each estimated where not given.

    Args:
        image: H x W x 3 uint8 RGB.
        parse: its LIP parsing (H x W), or None.
        keypoints: its 18 x 2 keypoints in photo pixels, or None.
        path: the photo's file, named in errors.
        notes: a list that gets a line for each input estimated.
        parser: the :class:`~clothflow.models.parser.HumanParser` to use; None: the shipped one
            (without one, the coarse layout drawn from the pose).

    Returns:
        (H x W uint8 LIP ids, 18 x 2 float32 keypoints).

    Raises:
        ClothflowError: no person found (naming the file), or the ``[pose]`` extra missing.
    """
    from clothflow.estimate.parsing import load_parser, parse_framed

    notes = notes if notes is not None else []
    if parse is None:
        parser = parser if parser is not None else load_parser()
        if parser is not None:
            parse = parse_framed(parser, image)
            notes.append("parsing: by the human parser")
    if keypoints is None:
        keypoints, how = person_pose(image, parse)
        if keypoints is None:
            raise ClothflowError("no person found in the photo (neither the pose estimator nor the parsing shows a "
                                 "body)", path)
        notes.append(f"keypoints: {how}")
    if parse is None:
        from clothflow.core.ops.coarse_layout import coarse_layout

        parse = coarse_layout(keypoints, image.shape[:2])
        notes.append("parsing: the coarse layout drawn from the pose (no parser)")
    return np.asarray(parse, np.uint8), np.asarray(keypoints, np.float32)

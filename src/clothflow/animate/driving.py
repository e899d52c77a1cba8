"""Driving sequences for body animation: where the poses come from.

:func:`open_driving` takes one of

- ``synthetic:walk`` / ``synthetic:wave``: a person of the synthetic renderer walking or
  waving (:mod:`clothflow.data.synth.motion`); needs nothing else;
- a ``poses.json`` file (:func:`read_poses_json`)::

      {"frame_size": [480, 640],          # H, W of the frame the points are in
       "fps": 25,                          # optional, default 25
       "frames": [[[x, y], ... 18 points], # COCO-18 order, pixels, [-1, -1] = missing
                  ...]}

- a folder of OpenPose JSON files, one per frame in name order (``*_keypoints.json`` as
  OpenPose writes them; COCO-18 or BODY_25);
- a video file, or a folder of its frames as images (name order): each frame's pose from the
  estimator of ``clothflow prepare`` (MediaPipe, the ``[pose]`` extra); frames without a
  person are missing poses.

:func:`camera_driving` reads a webcam the same way, frame by frame.

Every source gives a :class:`Driving`: its poses (18 x 2 float32 in the driving frame), the
frame size and the frame rate.

Example:
    >>> d = open_driving("synthetic:wave", frames=3)
    >>> d.frame_hw, len(list(d.poses)), d.fps
    ((256, 176), 3, 25.0)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clothflow.data.formats.keypoints import read_openpose_json
from clothflow.core.ops.pose import NUM_KEYPOINTS
from clothflow.core.errors import ClothflowError
from clothflow.core.files import atomic_write_text

SYNTHETIC_PREFIX = "synthetic:"
SYNTHETIC_SIZE = (256, 176)
DEFAULT_FPS = 25.0
DEFAULT_SYNTHETIC_FRAMES = 48


@dataclass
class Driving:
    """A driving sequence.

    Attributes:
        poses: 18 x 2 float32 poses (x, y) in pixels of ``frame_hw``, -1 missing; a list, or a
            lazy iterator for a camera.
        frame_hw: (H, W) of the driving frame.
        fps: frame rate.
        name: where it came from (for messages).
    """

    poses: Iterable[np.ndarray]
    frame_hw: tuple[int, int]
    fps: float
    name: str


# ---- poses.json ---------------------------------------------------------------------------------
def _pose_rows(frames, path: Path) -> np.ndarray:
    if not isinstance(frames, list) or not frames:
        raise ClothflowError("'frames' must be a non-empty list of poses", path)
    out = np.full((len(frames), NUM_KEYPOINTS, 2), -1.0, np.float32)
    for t, pts in enumerate(frames):
        if not isinstance(pts, list) or len(pts) != NUM_KEYPOINTS:
            got = len(pts) if isinstance(pts, list) else type(pts).__name__
            raise ClothflowError(f"frame {t} has {got} points; each frame needs 18 [x, y] points (COCO-18 order)", path)
        for k, p in enumerate(pts):
            ok = isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
            if not ok or not all(np.isfinite(p)):
                raise ClothflowError(f"frame {t}, point {k}: expected [x, y] numbers, got {json.dumps(p)[:40]}", path)
            if p[0] >= 0 and p[1] >= 0:
                out[t, k] = p
    return out


def read_poses_json(path: str | Path) -> Driving:
    """Read a ``poses.json`` driving file (format in the module notes).

    Raises:
        ClothflowError: missing or unreadable file, no frame size, or a frame without 18 points.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ClothflowError(f"not a readable poses JSON ({type(exc).__name__}: {str(exc)[:80]})", path) from None
    if not isinstance(data, dict) or "frames" not in data:
        raise ClothflowError('expected {"frame_size": [H, W], "frames": [[18 x [x, y]], ...]}', path)
    size = data.get("frame_size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise ClothflowError("'frame_size' must be [H, W] in whole pixels", path)
    fps = data.get("fps", DEFAULT_FPS)
    if not isinstance(fps, (int, float)) or not fps > 0:
        raise ClothflowError(f"'fps' must be a positive number, got {fps!r}", path)
    return Driving(list(_pose_rows(data["frames"], path)), (size[0], size[1]), float(fps), str(path))


def write_poses_json(path: str | Path, poses: np.ndarray, frame_hw: tuple[int, int], fps: float = DEFAULT_FPS) -> None:
    """Write T x 18 x 2 poses as a ``poses.json`` file (atomically)."""
    rows = [[[round(float(x), 2), round(float(y), 2)] if x >= 0 and y >= 0 else [-1, -1] for x, y in frame] for frame in np.asarray(poses)]
    atomic_write_text(path, json.dumps({"frame_size": [int(frame_hw[0]), int(frame_hw[1])], "fps": float(fps), "frames": rows}))


def read_openpose_folder(path: str | Path, fps: float = DEFAULT_FPS) -> Driving:
    """A folder of OpenPose JSON files, one frame each, in name order.

    The frame size is not stored in OpenPose files; it is taken as the extent of the points
    (retargeting only needs the points).
    """
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json")
    if not files:
        raise ClothflowError("no OpenPose .json files in the folder", path)
    poses = [read_openpose_json(f) for f in files]
    extent = np.max([p.max(0) for p in poses], axis=0)
    return Driving(poses, (int(extent[1]) + 1, int(extent[0]) + 1), fps, str(path))


# ---- video and camera ---------------------------------------------------------------------------
def _estimate_poses(frames: Iterable[np.ndarray], estimator) -> Iterator[np.ndarray]:
    for frame in frames:
        found = estimator(frame)
        yield found.keypoints if found is not None else np.full((NUM_KEYPOINTS, 2), -1.0, np.float32)


def video_driving(path: str | Path, max_frames: int | None = None) -> Driving:
    """Poses of every frame of a video, from the offline estimator (the ``[pose]`` extra).

    Raises:
        ClothflowError: not a decodable video, no frames, no person in any frame, or the
            estimator not installed.
    """
    from clothflow.estimate.prepare import PoseEstimator
    from clothflow.data.formats.video import iter_video, video_fps

    path = Path(path)
    frames = iter_video(path, max_frames)
    first = next(frames, None)  # decode errors surface here, naming the file
    if first is None:
        raise ClothflowError("the video has no frames", path)
    with PoseEstimator() as estimator:
        poses = list(_estimate_poses(_chain(first, frames), estimator))
    if all((p < 0).all() for p in poses):
        raise ClothflowError(f"no person found in any of the {len(poses)} frames", path)
    return Driving(poses, first.shape[:2], video_fps(path), str(path))


def frames_driving(path: str | Path, max_frames: int | None = None, fps: float | None = None) -> Driving:
    """Poses of a folder of video frames (images in name order), from the estimator, tracked frame to frame.

    Raises:
        ClothflowError: no image in the folder, a frame unreadable or of another size, no
            person in any frame, or the estimator not installed.
    """
    from clothflow.data.formats.images import read_rgb
    from clothflow.estimate.prepare import PoseEstimator

    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp"))
    if not files:
        raise ClothflowError("no OpenPose .json files and no frame images (.jpg, .png) in the folder", path)
    files = files[:max_frames] if max_frames is not None else files
    first = read_rgb(files[0])

    def frames() -> Iterator[np.ndarray]:
        for f in files:
            frame = read_rgb(f)
            if frame.shape != first.shape:
                raise ClothflowError(f"frame is {frame.shape[0]} x {frame.shape[1]}, the first is "
                                     f"{first.shape[0]} x {first.shape[1]}", f)
            yield frame

    from clothflow.estimate.photo import robust_pose

    poses = []
    with PoseEstimator(static=False, masks=False) as tracker, PoseEstimator(masks=False) as single:
        for frame in frames():  # tracked; a frame the tracker misses is looked at on its own, harder
            found = tracker(frame)
            kps = found.keypoints if found is not None else robust_pose(single, frame)
            poses.append(kps if kps is not None else np.full((NUM_KEYPOINTS, 2), -1.0, np.float32))
    if all((p < 0).all() for p in poses):
        raise ClothflowError(f"no person found in any of the {len(poses)} frames", path)
    return Driving(poses, first.shape[:2], fps or DEFAULT_FPS, str(path))


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def camera_driving(index: int, max_frames: int | None = None, fps: float = DEFAULT_FPS) -> Driving:
    """Poses from webcam ``index``, estimated frame by frame as they arrive (lazy).

    Raises:
        ClothflowError: no camera at ``index`` (says so), or the estimator not installed.
    """
    import cv2

    from clothflow.estimate.prepare import PoseEstimator
    from clothflow.data.formats.video import camera_frames, open_camera

    cap = open_camera(index)  # fails here, before anything else is loaded, when there is none
    hw = (int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
    cap.release()
    estimator = PoseEstimator()

    def poses() -> Iterator[np.ndarray]:
        try:
            yield from _estimate_poses(camera_frames(index, max_frames), estimator)
        finally:
            estimator.close()

    return Driving(poses(), hw, fps, f"camera {index}")


# ---- synthetic ----------------------------------------------------------------------------------
def synthetic_driving(kind: str, frames: int = DEFAULT_SYNTHETIC_FRAMES, fps: float = DEFAULT_FPS, seed: int = 0) -> Driving:
    """A synthetic person's walk or wave (``kind``), as keypoints in a 256 x 176 frame."""
    from clothflow.data.synth.motion import motion_identity, motion_poses

    poses = motion_poses(kind, frames, SYNTHETIC_SIZE, motion_identity(seed))
    return Driving([p.keypoints for p in poses], SYNTHETIC_SIZE, fps, f"{SYNTHETIC_PREFIX}{kind}")


def open_driving(spec: str | Path, frames: int | None = None, fps: float | None = None) -> Driving:
    """Open a driving sequence from a spec (see the module notes).

    Args:
        spec: ``synthetic:walk``, ``synthetic:wave``, a poses.json, a folder of OpenPose JSON
            files, a folder of frame images or a video file.
        frames: number of frames (synthetic; default 48) or at most this many (files).
        fps: frame rate to use instead of the file's own (synthetic default 25).

    Raises:
        ClothflowError: naming the file and what is wrong with it.
    """
    text = str(spec)
    if text.startswith(SYNTHETIC_PREFIX):
        driving = synthetic_driving(text[len(SYNTHETIC_PREFIX):], frames or DEFAULT_SYNTHETIC_FRAMES, fps or DEFAULT_FPS)
        return driving
    path = Path(spec)
    if not path.exists():
        raise ClothflowError("driving file not found (give a video, a poses.json, a folder of OpenPose JSON files, "
                             "or synthetic:walk / synthetic:wave)", path)
    if path.is_dir():
        has_json = any(p.suffix.lower() == ".json" for p in path.iterdir())
        driving = read_openpose_folder(path, fps or DEFAULT_FPS) if has_json else frames_driving(path, frames, fps)
    elif path.suffix.lower() == ".json":
        driving = read_poses_json(path)
    else:
        driving = video_driving(path, frames)
    if frames is not None and isinstance(driving.poses, list):
        driving.poses = driving.poses[:frames]
    if fps is not None:
        driving.fps = float(fps)
    return driving


__all__ = ["Driving", "camera_driving", "frames_driving", "open_driving", "read_openpose_folder", "read_poses_json",
           "synthetic_driving", "video_driving", "write_poses_json"]

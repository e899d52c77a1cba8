"""Video in and out: read a driving video's frames, write an MP4, open a webcam.

Frames are H x W x 3 uint8 RGB numpy arrays everywhere. Reading and writing go through
``imageio-ffmpeg``, whose wheel ships its own ffmpeg binary (nothing to install system-wide);
the camera goes through OpenCV.

Example:
    >>> import numpy as np, tempfile, os
    >>> frames = [np.full((64, 48, 3), i * 20, np.uint8) for i in range(5)]
    >>> path = os.path.join(tempfile.mkdtemp(), "clip.mp4")
    >>> write_video(path, frames, fps=10)
    >>> clip = read_video(path)
    >>> len(clip.frames), clip.frames[0].shape, clip.fps
    (5, (64, 48, 3), 10.0)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clothflow.core.errors import ClothflowError

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".gif")


@dataclass
class Clip:
    """A decoded video: its frames (RGB uint8) and frame rate."""

    frames: list[np.ndarray]
    fps: float


def _ffmpeg():
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - a core dependency
        raise ClothflowError("video needs the imageio-ffmpeg package: pip install imageio-ffmpeg") from None
    return imageio_ffmpeg


def iter_video(path: str | Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield a video's frames as H x W x 3 uint8 RGB arrays, one at a time."""
    path = Path(path)
    if not path.is_file():
        raise ClothflowError("no such video file", path)
    ffmpeg = _ffmpeg()
    try:
        reader = ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(reader)
    except (RuntimeError, OSError, StopIteration) as exc:
        raise ClothflowError(f"cannot decode as a video ({str(exc).strip().splitlines()[-1] if str(exc).strip() else exc})", path) from None
    w, h = meta["size"]
    try:
        for count, raw in enumerate(reader):
            if max_frames is not None and count >= max_frames:
                break
            yield np.frombuffer(raw, np.uint8).reshape(h, w, 3).copy()
    finally:
        reader.close()


def video_fps(path: str | Path) -> float:
    """The frame rate a video declares (25 when it declares none)."""
    ffmpeg = _ffmpeg()
    try:
        reader = ffmpeg.read_frames(str(path))
        meta = next(reader)
        reader.close()
    except (RuntimeError, OSError, StopIteration):
        raise ClothflowError("cannot decode as a video", path) from None
    fps = float(meta.get("fps") or 0.0)
    return fps if fps > 0 else 25.0


def read_video(path: str | Path, max_frames: int | None = None) -> Clip:
    """Decode a whole video into memory; raises ClothflowError naming the file if it has no frames."""
    frames = list(iter_video(path, max_frames))
    if not frames:
        raise ClothflowError("the video has no frames", path)
    return Clip(frames=frames, fps=video_fps(path))


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 25.0) -> None:
    """Write RGB uint8 frames as an H.264 MP4 (yuv420p, playable everywhere).

    The file is written to a temporary name and renamed when complete, so an interrupted
    run never leaves a truncated video under the final name. Odd frame sizes are padded
    by one pixel (H.264 with yuv420p needs even sizes).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix or '.mp4'}")
    writer = None
    size = None
    count = 0
    try:
        for frame in frames:
            frame = np.asarray(frame)
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise ClothflowError(f"frames must be H x W x 3 uint8, got {frame.dtype} {frame.shape}", path)
            if size is None:
                size = frame.shape[:2]
                writer = _ffmpeg().write_frames(
                    str(tmp), (size[1] + size[1] % 2, size[0] + size[0] % 2), fps=fps, codec="libx264",
                    pix_fmt_out="yuv420p", macro_block_size=1, ffmpeg_log_level="error",
                    output_params=["-crf", "18"],
                )
                writer.send(None)
            if frame.shape[:2] != size:
                raise ClothflowError(f"frame {count} is {frame.shape[:2]}, the first was {size}", path)
            if size[0] % 2 or size[1] % 2:
                frame = np.pad(frame, ((0, size[0] % 2), (0, size[1] % 2), (0, 0)), mode="edge")
            writer.send(np.ascontiguousarray(frame))
            count += 1
    finally:
        if writer is not None:
            writer.close()
    if count == 0:
        raise ClothflowError("no frames to write", path)
    os.replace(tmp, path)


def open_camera(index: int):
    """Open webcam ``index`` with OpenCV, or raise ClothflowError saying there is none."""
    import cv2

    from clothflow.core.quiet import native_stderr_silenced, silence_opencv

    silence_opencv()  # "[ WARN:0 ... can't open camera by index": the error below says it in one line
    with native_stderr_silenced():
        cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        cap.release()
        raise ClothflowError(f"no camera at index {index} (none found on this machine, or it is in use)")
    return cap


def camera_frames(index: int, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield RGB frames from webcam ``index`` until it stops or ``max_frames`` are read."""
    import cv2

    cap = open_camera(index)
    count = 0
    try:
        while max_frames is None or count < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            count += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()

"""``clothflow animate``: one photo driven by a video, a pose sequence or a camera.

Body (default)::

    clothflow animate --model RUN --source photo.jpg --driving video.mp4|poses.json|synthetic:walk --out out.mp4

Face::

    clothflow animate --face --source portrait.jpg --driving video.mp4 --out out.mp4
    clothflow animate --face --source portrait.jpg --camera 0 --out out.mp4
    clothflow animate --face-mode turn --source portrait.jpg --driving video.mp4 --out out.mp4  # head turns
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from clothflow.core.arguments import positive_float, positive_int
from clothflow.core.errors import ClothflowError


def add_animate_parser(sub) -> None:
    """Add the ``animate`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("animate", help="animate one photo: a body (pose transfer) or a face, driven by a video, "
                       "poses or a camera")
    p.add_argument("--source", type=Path, required=True, help="the photo to animate")
    p.add_argument("--driving", help="a video, a poses.json, a folder of OpenPose JSON files, or synthetic:walk / "
                   "synthetic:wave (body only; nothing else needed)")
    p.add_argument("--camera", type=int, metavar="N", help="drive from webcam N instead of --driving")
    p.add_argument("--out", type=Path, required=True, help="the MP4 to write")
    p.add_argument("--face", action="store_true", help="animate a face (portrait) instead of a body")
    p.add_argument("--face-mode", choices=("warp", "turn"), help="face (implies --face): warp, the portrait bent "
                   "in 2-D (mode 1, the default), or turn, its face turned in 3-D with the driver's head (mode 2)")
    p.add_argument("--model", type=Path, help="body: a pose-transfer run or saved model folder, or a shipped name "
                   "(default: the shipped synthetic pose-transfer model)")
    p.add_argument("--frames", type=positive_int, help="number of frames (synthetic driving: default 48; "
                   "files and camera: at most this many)")
    p.add_argument("--fps", type=positive_float, help="frame rate of the output (default: the driving's, 25 for "
                   "synthetic driving and cameras)")
    p.add_argument("--source-parse", type=Path, help="body: the photo's parsing (LIP ids PNG); default estimated")
    p.add_argument("--source-pose", type=Path, help="body: the photo's keypoints (OpenPose JSON); default estimated")
    p.add_argument("--no-temporal-reuse", action="store_true", help="body: render every frame on its own")
    p.add_argument("--no-smoothing", action="store_true", help="face: drive with the raw landmarks of every frame "
                   "(default: One Euro smoothing, less trembling)")
    p.add_argument("--threads", type=positive_int, help="body: CPU threads for the model (default: torch's; on a "
                   "busy machine 1 is often fastest)")
    p.add_argument("--out-height", type=positive_int, default=256, help="body: height of the written video in "
                   "pixels (the model's frames are enlarged to it; default 256)")
    p.set_defaults(func=run_animate)


def run_animate(args) -> None:
    """Dispatch to the face or the body mode."""
    if (args.driving is None) == (args.camera is None):
        raise ClothflowError("animate: give either --driving (a video, poses or synthetic:walk) or --camera N")
    if args.camera is not None and args.camera < 0:
        raise ClothflowError(f"animate: --camera must be a camera index >= 0, got {args.camera}")
    if not args.source.is_file():
        raise ClothflowError("source photo not found", args.source)
    from clothflow.core.files import writable_dir

    writable_dir(args.out.parent if str(args.out.parent) else Path("."))
    if args.camera is not None:
        _check_camera(args.camera)
    if args.face or args.face_mode is not None:
        _run_face(args)
    else:
        _run_body(args)


def _check_camera(index: int) -> None:
    """Say there is no camera ``index`` before loading anything (OpenCV's own warnings silenced)."""
    from clothflow.data.formats.video import open_camera

    open_camera(index).release()


def _counted(frames: Iterable[np.ndarray], tally: list[int]) -> Iterator[np.ndarray]:
    for frame in frames:
        tally[0] += 1
        yield frame


def _report(out: Path, count: int, seconds: float) -> None:
    print(f"wrote {count} frames to {out} ({count / max(seconds, 1e-9):.1f} frames/s)")


def _run_face(args) -> None:
    from clothflow.animate.face.animator import FaceAnimateConfig, animate_face
    from clothflow.data.formats.images import read_rgb
    from clothflow.data.formats.video import iter_video, write_video

    if args.driving is not None and str(args.driving).startswith("synthetic:"):
        raise ClothflowError("animate --face: synthetic driving is for bodies; give a video with a face, or --camera N")
    source = read_rgb(args.source)
    if args.camera is not None:
        from clothflow.data.formats.video import camera_frames

        frames, fps, name = camera_frames(args.camera, args.frames), args.fps or 25.0, f"camera {args.camera}"
    else:
        from clothflow.data.formats.video import video_fps

        path = Path(args.driving)
        if not path.is_file():
            raise ClothflowError("driving video not found", path)
        frames, fps, name = iter_video(path, args.frames), args.fps or video_fps(path), str(path)
    tally = [0]
    start = time.perf_counter()
    config = FaceAnimateConfig(fps=fps, smoothing=None) if args.no_smoothing else FaceAnimateConfig(fps=fps)
    if args.face_mode == "turn":
        from clothflow.animate.face.turn import TurnConfig, animate_turn

        animated = animate_turn(source, frames, config=TurnConfig(face=config), source_name=args.source, driving_name=name)
    else:
        animated = animate_face(source, frames, config=config, source_name=args.source, driving_name=name)
    write_video(args.out, _counted(animated, tally), fps)
    _report(args.out, tally[0], time.perf_counter() - start)


def load_source(photo: Path, parse_path: Path | None, pose_path: Path | None, notes: list[str] | None = None):
    """The source photo, its LIP parsing and its keypoints (estimated when not given).

    Returns:
        (H x W x 3 uint8, H x W uint8 LIP ids, 18 x 2 float32 keypoints in photo pixels).
    """
    from clothflow.data.formats.images import read_rgb
    from clothflow.data.formats.keypoints import read_keypoints
    from clothflow.data.formats.label_maps import read_label_map
    from clothflow.estimate.photo import prepare_photo

    image = read_rgb(photo)
    parse = None if parse_path is None else read_label_map(parse_path)
    if parse is not None and parse.shape != image.shape[:2]:
        raise ClothflowError(f"parsing map is {parse.shape[0]}x{parse.shape[1]} but the photo is "
                             f"{image.shape[0]}x{image.shape[1]}", parse_path)
    kps = None if pose_path is None else read_keypoints(pose_path)
    parse, kps = prepare_photo(image, parse, kps, path=photo, notes=notes)
    return image, parse, kps


LOWER_BODY = (8, 9, 10, 11, 12, 13)  # hips, knees and ankles (COCO-18)


def check_coverage(source_kps: np.ndarray, driving, photo: Path) -> None:
    """Refuse a photo that lacks the body parts the driving moves: a portrait driven by a walk
    would come out as fragments. Only the lower body is checked: a photo cut at the thighs still
    walks (the legs move below the frame), a head-and-shoulders photo does not. A camera's poses
    are not known in advance, so a camera only gets a warning.

    Raises:
        ClothflowError: the photo shows no hip, knee or ankle, and the driving moves them in some frame.
    """
    from clothflow.core.ops.pose import visible

    if visible(np.asarray(source_kps)[list(LOWER_BODY)]).any():
        return
    if not isinstance(driving.poses, list):
        print(f"warning: {photo} shows no hips or legs; if the camera shows them, they will come out as fragments")
        return
    moving = sum(bool(visible(np.asarray(p)[list(LOWER_BODY)]).any()) for p in driving.poses)
    if moving:
        raise ClothflowError(f"the photo shows no hips or legs, and the driving ({driving.name}) moves them in "
                             f"{moving} of {len(driving.poses)} frames: give a photo of the body down to the hips at "
                             "least (or --face for a portrait)", photo)


def _run_body(args) -> None:
    import cv2
    import torch

    from clothflow.animate.body import AnimateConfig, BodyAnimator, encode_source
    from clothflow.animate.driving import camera_driving, open_driving
    from clothflow.models.pipeline import ClothFlowPipeline
    from clothflow.data.formats.video import write_video
    from clothflow.data.formats.images import place_in_frame
    from clothflow.core.images import to_uint8

    from clothflow.core.pretrained import DEFAULT_MODELS, shipped_default

    if args.model is None:
        args.model = shipped_default("transfer")
    if args.model is None:
        raise ClothflowError(f"animate: a body needs --model RUN (a pose-transfer model, e.g. clothflow-demo/model; "
                             f"{DEFAULT_MODELS['transfer']} is not shipped here); use --face for a portrait")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    pipe = ClothFlowPipeline.from_pretrained(args.model)
    if pipe.config.task != "transfer":
        raise ClothflowError("animate needs a pose-transfer model; this one was trained for try-on", args.model)
    notes: list[str] = []
    image, parse, kps = load_source(args.source, args.source_parse, args.source_pose, notes)
    for note in notes:
        print(f"estimated {note}")
    source = encode_source(pipe, image, parse, kps)
    start = time.perf_counter()  # the figure printed covers pose estimation, animation and encoding
    if args.camera is not None:
        driving = camera_driving(args.camera, args.frames, args.fps or 25.0)
    else:
        driving = open_driving(args.driving, args.frames, args.fps)
    check_coverage(kps, driving, args.source)
    animator = BodyAnimator(pipe, source, driving.fps, AnimateConfig(temporal_reuse=not args.no_temporal_reuse))
    scale = args.out_height / image.shape[0]  # the source photo's frame, at the height asked for
    backdrop = cv2.resize(image, (max(2, round(image.shape[1] * scale)), args.out_height),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)

    def frames() -> Iterator[np.ndarray]:
        for frame in animator.run(driving.poses):
            yield place_in_frame(to_uint8(frame.image[0]), backdrop)

    tally = [0]
    with torch.inference_mode():
        write_video(args.out, _counted(frames(), tally), driving.fps)
    _report(args.out, tally[0], time.perf_counter() - start)


__all__ = ["add_animate_parser", "load_source", "run_animate"]

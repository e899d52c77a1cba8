"""Live animation without the web: portraits prepared once, and each camera stream's own state.

A portrait is prepared when it is uploaded or picked (:func:`prepare_portrait`): in face mode
its face is found and the warp's fixed part computed
(:class:`~clothflow.animate.face.animator.FaceAnimator`); in turn mode (face mode 2, head
turns) its face mesh is lifted to 3-D too (:class:`~clothflow.animate.face.turn.TurnAnimator`);
in body mode its pose and parsing
are estimated and the pose-transfer model's source side is encoded
(:func:`~clothflow.animate.body.encode_source`). That part is only read afterwards, so a page
that restarts its camera reuses it. Each camera stream then opens a :class:`LiveSession`,
which holds what changes from frame to frame (the tracking landmark or pose model, the
smoothing filters, the reference face) and must be closed when the stream ends: MediaPipe's
graphs keep native threads and memory until they are closed.

Frames come and go as JPEG bytes. Portraits are animated at most :data:`MAX_PORTRAIT_SIDE`
pixels a side (larger ones are shrunk first), which keeps a frame within the time a live
picture allows.

Example (frames travel as JPEG; big portraits are shrunk before they are prepared):
    >>> frame = decode_jpeg(encode_jpeg(np.full((120, 160, 3), 90, np.uint8)))
    >>> frame.shape, fit_portrait(np.zeros((1024, 768, 3), np.uint8)).shape
    ((120, 160, 3), (512, 384, 3))
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from clothflow.core.errors import ClothflowError
from clothflow.data.formats.images import ImageFileError, decode_rgb

MAX_PORTRAIT_SIDE = 512
JPEG_QUALITY = 85
MODES = ("face", "turn", "body")
FOUND = 1  # flag: the camera frame showed a face (face and turn modes) or a person (body mode)
POSED = 2  # flag, body mode: the driver's pose is followed (else the portrait's own, until hips are seen)
NO_BODY_MODEL = ("body mode needs a pose-transfer model, and this page was started without one: start it "
                 "with `clothflow live` (the shipped model, when installed) or `clothflow live --model RUN`")


def decode_jpeg(data: bytes) -> np.ndarray:
    """A camera frame, JPEG (or PNG) bytes, as H x W x 3 uint8 RGB, read by the package's one
    image reader (its limits, EXIF rotation); a ClothflowError when it is refused."""
    try:
        return decode_rgb(data)
    except ImageFileError as exc:
        raise ClothflowError(f"a camera frame is {exc.problem}") from None


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """H x W x 3 uint8 RGB as JPEG bytes."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV fails only on impossible shapes
        raise ClothflowError(f"cannot encode a {image.shape} frame as JPEG")
    return data.tobytes()


def fit_portrait(image: np.ndarray, max_side: int = MAX_PORTRAIT_SIDE) -> np.ndarray:
    """``image`` shrunk (aspect kept) so that no side exceeds ``max_side``; as it is when it fits."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    return cv2.resize(image, (max(16, round(w * scale)), max(16, round(h * scale))), interpolation=cv2.INTER_AREA)


# ---- the body mode's model ----------------------------------------------------------------
@dataclass(frozen=True)
class BodyModel:
    """A pose-transfer pipeline for body mode and what the page says of it."""

    pipe: object  # ClothFlowPipeline (imported lazily: torch is slow to import)
    name: str
    about: str


def training_data(folder: Path) -> str:
    """What a saved model was trained on: its card's ``- data:`` line (a shipped model), else
    ``train.json``'s data (a training run); says so when neither records it."""
    card = folder / "card.md"
    lines = card.read_text(errors="replace").splitlines() if card.is_file() else []
    for line in lines:
        if line.startswith("- data:"):
            return line.split(":", 1)[1].strip()
    try:
        data = json.loads((folder / "train.json").read_text()).get("data")
    except (OSError, ValueError, AttributeError):
        data = None
    if data == "synthetic":
        return "synthetic people from clothflow's renderer"
    return f"the dataset {'/'.join(Path(str(data)).parts[-2:])}" if data else "data not recorded with the model"


def load_body_model(model: str | Path) -> BodyModel:
    """The pose-transfer model for body mode: a saved model or run folder, or a shipped name.

    Raises:
        ClothflowError: not a model, a try-on model, or the dense variant (it needs DensePose
            maps of every camera frame).
    """
    from clothflow.core.pretrained import resolve_model
    from clothflow.models.pipeline import ClothFlowPipeline

    folder = resolve_model(model)
    pipe = ClothFlowPipeline.from_pretrained(folder)
    if pipe.config.task != "transfer":
        raise ClothflowError("body mode needs a pose-transfer model; this one was trained for try-on", folder)
    if pipe.config.dense:
        raise ClothflowError("body mode cannot use the dense variant (it needs DensePose maps of every frame)", folder)
    h, w = pipe.config.size
    name = folder.name if folder.name not in ("model", "") else f"{folder.parent.name}/{folder.name}"
    about = f"pose-transfer model {name}: {h} x {w} pixels, trained on {training_data(folder)}"
    return BodyModel(pipe, name, about)


# ---- portraits, prepared once ---------------------------------------------------------------
class Portrait:
    """A prepared portrait: ``mode`` ("face", "turn" or "body"), ``image`` (what is animated, H x W x 3
    uint8), ``size`` of the frames it makes (H, W), and ``about`` (a line for the page)."""

    mode: str
    image: np.ndarray
    size: tuple[int, int]
    about: str

    def open(self):
        """The per-stream state: ``step(frame, dt) -> frame``, ``found`` (the last frame showed
        a face or person), ``restart()`` and ``close()``; body mode adds ``posed``."""
        raise NotImplementedError


class FacePortrait(Portrait):
    """The face modes: ``face`` (mode 1: the portrait itself, warped; identity kept) and
    ``turn`` (mode 2: the portrait's face mesh turned in 3-D as the camera's head turns).

    Raises:
        ClothflowError: no face in the portrait.
    """

    def __init__(self, image: np.ndarray, mode: str = "face") -> None:
        if mode == "turn":
            from clothflow.animate.face.turn import TurnAnimator as animator, TurnSession as session

            what = "face mode 2: head turns, the portrait's face turned in 3-D"
        else:
            from clothflow.animate.face.animator import FaceAnimator as animator, FaceSession as session

            what = "face mode: the portrait itself, warped"
        self.mode = mode
        self.image = image
        self._session = session
        try:
            self.animator = animator(image)
        except ClothflowError as exc:
            raise ClothflowError(f"portrait: {exc}") from None
        self.size = image.shape[:2]
        self.about = f"{what} ({image.shape[1]} x {image.shape[0]} pixels)"

    def open(self):
        return self._session(self.animator, "camera")


class BodyPortrait(Portrait):
    """Body mode: the pose-transfer model redraws the person in the camera's pose.

    Raises:
        ClothflowError: no person (or too little of one) in the portrait.
    """

    mode = "body"

    def __init__(self, image: np.ndarray, model: BodyModel) -> None:
        from clothflow.animate.body import encode_source
        from clothflow.estimate.photo import prepare_photo

        self.image = image
        self.model = model
        try:
            parse, keypoints = prepare_photo(image)
        except ClothflowError as exc:
            raise ClothflowError(f"portrait: {exc}") from None
        self.source = encode_source(model.pipe, image, parse, keypoints)
        self.size = tuple(model.pipe.config.size)
        self.about = f"body mode: {model.about}"

    def open(self):
        return _BodyStream(self)


class _BodyStream:
    """The camera's pose, tracked (MediaPipe pose, no segmentation), drives a :class:`BodyAnimator`."""

    def __init__(self, portrait: BodyPortrait) -> None:
        from clothflow.animate.body import BodyAnimator
        from clothflow.estimate.prepare import PoseEstimator

        self.portrait = portrait
        self.animator = BodyAnimator(portrait.model.pipe, portrait.source, fps=25.0)
        self._pose = PoseEstimator(static=False, masks=False)
        self._last: np.ndarray | None = None
        self.found = self.posed = False

    def step(self, frame: np.ndarray, dt: float | None = None) -> np.ndarray:
        """The portrait's person in the pose of the camera's (the last picture when none is seen)."""
        from clothflow.core.images import to_uint8

        seen = self._pose(frame)
        self.found = seen is not None
        if seen is None and self._last is not None:
            return self._last
        kps = seen.keypoints if seen is not None else np.full((18, 2), -1.0, np.float32)
        self._last = to_uint8(self.animator.step(kps).image[0])
        self.posed = self.animator.retargeter is not None
        return self._last

    def restart(self) -> None:
        self.animator.retargeter = self.animator.filter = self.animator.prev = None

    def close(self) -> None:
        self._pose.close()


def prepare_portrait(image: np.ndarray, mode: str, body: BodyModel | None = None,
                     max_side: int = MAX_PORTRAIT_SIDE) -> Portrait:
    """Prepare a portrait (H x W x 3 uint8 RGB, shrunk to ``max_side``) for ``mode``.

    Raises:
        ClothflowError: an unknown mode, body mode without a model, or no face / person in it.
    """
    if mode not in MODES:
        raise ClothflowError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    image = np.ascontiguousarray(fit_portrait(np.asarray(image, np.uint8), max_side))
    if mode in ("face", "turn"):
        return FacePortrait(image, mode)
    if body is None:
        raise ClothflowError(NO_BODY_MODEL)
    return BodyPortrait(image, body)


# ---- one camera stream ----------------------------------------------------------------------
@dataclass(frozen=True)
class Processed:
    """One animated frame: JPEG bytes, :data:`FOUND` / :data:`POSED` flags, milliseconds it took."""

    jpeg: bytes
    flags: int
    ms: float


class LiveSession:
    """One camera stream animating one ``portrait`` (thread-safe, a frame at a time); the
    frames sent back are JPEGs of ``quality``."""

    def __init__(self, portrait: Portrait, quality: int = JPEG_QUALITY) -> None:
        self.portrait = portrait
        self.quality = quality
        self.processed = 0
        self.closed = False
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._stream = portrait.open()

    def process(self, jpeg: bytes, stamp_ms: float) -> Processed:
        """Animate one camera frame (JPEG bytes) captured at ``stamp_ms`` (the page's clock).

        The spacing of the stamps is the smoothing's time step, so dropped frames do not
        make the motion lag.

        Raises:
            ClothflowError: the frame is not an image, or the session is closed.
        """
        with self._lock:
            if self.closed:
                raise ClothflowError("the live session is closed")
            start = time.perf_counter()
            frame = decode_jpeg(jpeg)
            dt = None
            if self._stamp is not None and 0 < stamp_ms - self._stamp < 5000:
                dt = (stamp_ms - self._stamp) / 1000.0
            self._stamp = stamp_ms
            data = encode_jpeg(self._stream.step(frame, dt), self.quality)
            flags = (FOUND if self._stream.found else 0) | (POSED if getattr(self._stream, "posed", False) else 0)
            self.processed += 1
            return Processed(data, flags, (time.perf_counter() - start) * 1000.0)

    def restart(self) -> None:
        """Take the next face or pose as the new reference (re-centre)."""
        with self._lock:
            if not self.closed:
                self._stream.restart()

    def close(self) -> None:
        """Release the tracking models (waits for a frame being animated); safe to repeat."""
        with self._lock:
            if not self.closed:
                self.closed = True
                self._stream.close()

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["BodyModel", "LiveSession", "Portrait", "Processed", "decode_jpeg", "encode_jpeg", "load_body_model",
           "prepare_portrait"]

"""What the web demo does, without the web: examples, checked uploads, and the two tasks.

:mod:`clothflow.apps.web.app` wires these functions into a Gradio page; they take and return plain
numpy arrays and small dataclasses, so they are tested without a browser or a server.

Synthetic example people are rendered on start-up (a few milliseconds each) and keep their
parsing and keypoints, so the examples work without the pose estimator. Uploaded photos get
theirs from :func:`clothflow.estimate.prepare.prepare_image` (the ``[pose]`` extra); without it the
error says what to install.

Example:
    >>> ex = render_examples(count=2, size=(64, 44))
    >>> len(ex.people), ex.people[0].image.shape, ex.poses[0].frame
    (2, (64, 44, 3), (64, 44))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch

from clothflow.core.ops import labels, pose
from clothflow.core.errors import ClothflowError
from clothflow.core.ops.garment_mask import mask_from_white
from clothflow.core.images import image_tensor
from clothflow.data.formats.images import MAX_UPLOAD_BYTES, ImageFileError, read_rgb
from clothflow.models.parser import HumanParser
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.core.images import to_uint8
from clothflow.core.pretrained import WEIGHTS_NAME

log = logging.getLogger("clothflow")

UPLOAD_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MIN_UPLOAD_SIDE = 16
EXAMPLE_SIZE = (256, 176)
DISPLAY_HEIGHT = 256
EXAMPLE_SEED = 20_190_000  # not a training seed: the examples are people the demo models never saw


@dataclass(frozen=True)
class PersonInput:
    """A person photo with what the models need besides the pixels.

    Attributes:
        image: H x W x 3 uint8 RGB.
        parse: H x W uint8 LIP ids, or None (not estimated yet).
        keypoints: 18 x 2 float32 (x, y) pixels of ``image``, -1 missing, or None.
        name: shown in messages.
        photo: an uploaded photo (served by the real-photo try-on model when one is loaded),
            not a synthetic example.
    """

    image: np.ndarray
    parse: np.ndarray | None
    keypoints: np.ndarray | None
    name: str
    photo: bool = False


@dataclass(frozen=True)
class PhotoModels:
    """What serves uploaded photos: a try-on model trained on real photos (e.g. the shipped
    ``tryon-viton-256``), the human parser that parses them (None: the coarse layout drawn from
    the pose), and a pose-transfer model for real people (e.g. ``transfer-deepfashion-256``; None:
    the pose-transfer tab's own model serves them too)."""

    tryon: ClothFlowPipeline
    parser: HumanParser | None
    about: str
    transfer: ClothFlowPipeline | None = None
    transfer_about: str = ""


@dataclass(frozen=True)
class GarmentInput:
    """An in-shop garment photo and its mask (H x W float32 in {0, 1}; None: from the white background)."""

    image: np.ndarray
    mask: np.ndarray | None
    name: str


@dataclass(frozen=True)
class TargetPose:
    """18 x 2 keypoints (x, y) in a frame of ``frame`` = (H, W) pixels, -1 missing."""

    keypoints: np.ndarray
    frame: tuple[int, int]
    name: str


@dataclass(frozen=True)
class Examples:
    """What the page offers to click: people (pose transfer), try-on people, garments, target poses."""

    people: list[PersonInput]
    tryon_people: list[PersonInput]
    garments: list[GarmentInput]
    poses: list[TargetPose]


@dataclass(frozen=True)
class TryonView:
    """The try-on result (at the person photo's size), predicted layout (colours) and warped garment (display size), H x W x 3 uint8."""

    result: np.ndarray
    layout: np.ndarray
    warped: np.ndarray


def render_examples(
    count: int = 4, size: tuple[int, int] = EXAMPLE_SIZE, poses_csv: str | Path | None = None, seed: int = EXAMPLE_SEED
) -> Examples:
    """Render example inputs with the synthetic renderer (deterministic in ``seed``).

    Args:
        count: people, garments and synthetic target poses each.
        size: (H, W) of the renders.
        poses_csv: a DeepFashion annotation CSV whose poses are added to the target poses
            (up to ``2 * count`` of them, evenly spread over the file).
        seed: which renders.

    Returns:
        The :class:`Examples`.
    """
    from clothflow.data.synth.renderer import make_transfer_pair, make_tryon_pair

    people, tryon_people, garments, poses = [], [], [], []
    for i in range(count):
        pair = make_transfer_pair(seed, i, size)
        people.append(PersonInput(pair.src.image, pair.src.parse, pair.src.keypoints, f"example person {i + 1}"))
        poses.append(TargetPose(pair.tgt.keypoints, size, f"synthetic pose {i + 1}"))
        tp = make_tryon_pair(seed, i, size)
        tryon_people.append(PersonInput(tp.person.image, tp.person.parse, tp.person.keypoints, f"example person {i + 1}"))
        garments.append(GarmentInput(tp.shop.image, tp.shop.mask.astype(np.float32), f"example garment {i + 1}"))
    if poses_csv is not None:
        from clothflow.data.datasets.deepfashion import real_pose_sampler

        sampler = real_pose_sampler(poses_csv)
        rows = np.linspace(0, len(sampler.real) - 1, min(2 * count, len(sampler.real))).round().astype(int)
        for n, r in enumerate(rows):
            poses.append(TargetPose(sampler.real[r].astype(np.float32), sampler.frame_hw, f"DeepFashion pose {n + 1}"))
    return Examples(people, tryon_people, garments, poses)


def pose_picture(target: TargetPose, size: tuple[int, int] = EXAMPLE_SIZE) -> np.ndarray:
    """A target pose drawn as a skeleton on black, H x W x 3 uint8 of ``size``."""
    kps = pose.scale_keypoints(target.keypoints, target.frame, size)
    return pose.draw_skeleton(kps, size[0], size[1], thickness=max(2, size[0] // 96))


def read_upload(path: str | Path | None, what: str = "photo") -> np.ndarray:
    """An uploaded image file, read by the package's one image reader with the upload limit:
    at most :data:`MAX_UPLOAD_BYTES` (10 MB), PNG, JPEG, WebP or BMP, at most :data:`MAX_SIDE`
    (4096) pixels a side, at least 16.

    Args:
        path: the uploaded file (a temporary file of the web server).
        what: what it should be, for the messages ("person photo", "garment photo", ...).

    Returns:
        H x W x 3 uint8 RGB, EXIF rotation applied.

    Raises:
        ClothflowError: no file, too big, not an image or an unsupported format.
    """
    if path is None:
        raise ClothflowError(f"no {what} uploaded")
    path = Path(path)
    if not path.exists():
        raise ClothflowError(f"the uploaded {what} is gone; upload it again")
    try:
        image = read_rgb(path, max_bytes=MAX_UPLOAD_BYTES)
    except ImageFileError as exc:
        raise ClothflowError(f"the {what} is {exc.problem}") from None
    if min(image.shape[:2]) < MIN_UPLOAD_SIDE:
        raise ClothflowError(f"the {what} is only {image.shape[1]} x {image.shape[0]} pixels; it is too small")
    return image


def person_from_upload(path: str | Path | None, what: str = "person photo", parser: HumanParser | None = None) -> PersonInput:
    """An uploaded person photo with its estimated pose and its parsing (needs the ``[pose]`` extra).

    Prepared as every command prepares a photo (:func:`clothflow.estimate.photo.prepare_photo`):
    the parsing from ``parser`` (None: the shipped one, else the coarse layout drawn from the
    pose), the pose from MediaPipe, else read off the parsing.

    Raises:
        ClothflowError: a bad file, the extra missing ("pip install 'clothflow[pose]'"), or no person found.
    """
    from clothflow.estimate.photo import prepare_photo

    image = read_upload(path, what)
    try:
        parse, keypoints = prepare_photo(image, parser=parser)
    except ClothflowError as exc:
        raise ClothflowError(f"{what}: {exc}") from None
    return PersonInput(image, parse, keypoints, Path(path).name, photo=True)


def pose_from_upload(path: str | Path | None) -> TargetPose:
    """The pose of the person in an uploaded photo, as a target pose (needs the ``[pose]`` extra)."""
    person = person_from_upload(path, "pose photo")
    return TargetPose(person.keypoints, person.image.shape[:2], f"pose of {person.name}")


def garment_from_upload(path: str | Path | None) -> GarmentInput:
    """An uploaded in-shop garment photo; its mask comes from the white background until one is uploaded."""
    image = read_upload(path, "garment photo")
    if mask_from_white(image).sum() == 0:
        raise ClothflowError("no garment found in the garment photo (expected a garment on a white background)")
    return GarmentInput(image, None, Path(path).name)


def with_mask_upload(garment: GarmentInput, path: str | Path | None) -> GarmentInput:
    """The garment with an uploaded mask (any image; bright = garment); None keeps the garment's mask."""
    if path is None:
        return garment
    mask = read_upload(path, "garment mask").max(axis=2) > 127
    if mask.sum() == 0:
        raise ClothflowError("the garment mask is empty (white = garment, black = background)")
    mask = cv2.resize(mask.astype(np.uint8), garment.image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    return replace(garment, mask=mask.astype(np.float32))


def to_display(image: np.ndarray, height: int = DISPLAY_HEIGHT, nearest: bool = False) -> np.ndarray:
    """Resize an H x W x 3 model-size picture to ``height`` rows (aspect kept) for the page."""
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_CUBIC if height > image.shape[0] else cv2.INTER_AREA)
    return cv2.resize(image, (width, height), interpolation=interp)


def tryon_model_for(person: PersonInput | None, synthetic: ClothFlowPipeline | None,
                    photos: PhotoModels | None) -> tuple[ClothFlowPipeline, str]:
    """The try-on model that serves ``person`` and what to say of it: uploaded photos go to the
    real-photo model when one is loaded, synthetic examples to the synthetic model.

    Raises:
        ClothflowError: no model serves this kind of person.
    """
    if person is not None and person.photo and photos is not None:
        return photos.tryon, photos.about
    if synthetic is not None:
        return synthetic, f"synthetic try-on model, {synthetic.config.size[0]} x {synthetic.config.size[1]}"
    if photos is not None:
        return photos.tryon, photos.about
    raise ClothflowError("no try-on model is loaded")


def load_photo_models(model: str | Path | None = None, parser: str | Path | None = None,
                      transfer: str | Path | None = None) -> PhotoModels | None:
    """The real-photo try-on model, parser and pose-transfer model: the given folders or shipped
    names, else the shipped ``tryon-viton-256``, parser and ``transfer-deepfashion-256``; None when
    no try-on model is given or shipped."""
    from clothflow.core.pretrained import resolve_model, shipped_default
    from clothflow.estimate.parsing import load_parser

    if model is None:
        model = shipped_default("tryon")
        if model is None:
            return None
    pipe = ClothFlowPipeline.from_pretrained(resolve_model(model))
    if pipe.config.task != "tryon":
        raise ClothflowError(f"the photo model was trained for {pipe.config.task}, not try-on", model)
    h, w = pipe.config.size
    transfer = transfer if transfer is not None else shipped_default("transfer")
    moves = None if transfer is None else ClothFlowPipeline.from_pretrained(resolve_model(transfer))
    if moves is not None and moves.config.task != "transfer":
        raise ClothflowError(f"the photo pose-transfer model was trained for {moves.config.task}", transfer)
    moves_about = "" if moves is None else (f"real-photo pose-transfer model ({Path(str(transfer)).name}), "
                                            f"{moves.config.size[0]} x {moves.config.size[1]}")
    return PhotoModels(pipe, load_parser(parser), f"real-photo try-on model ({Path(str(model)).name}), {h} x {w}",
                       moves, moves_about)


def run_tryon(pipe: ClothFlowPipeline, person: PersonInput | None, garment: GarmentInput | None) -> TryonView:
    """Dress ``person`` in ``garment``: the result at the person photo's size (the engine's
    :func:`~clothflow.apps.infer.tryon_arrays`), the layout and warped garment at :data:`DISPLAY_HEIGHT` rows.

    Raises:
        ClothflowError: an input missing, or the pipeline is not a try-on model.
    """
    from clothflow.apps.infer import tryon_arrays

    if pipe.config.task != "tryon":
        raise ClothflowError("the loaded try-on model was trained for pose transfer")
    if person is None or garment is None:
        raise ClothflowError("pick or upload a person and a garment first")
    if person.parse is None or person.keypoints is None:
        raise ClothflowError(f"{person.name}: its parsing and pose are unknown; upload it again")
    mask = mask_from_white(garment.image) if garment.mask is None else garment.mask
    result = tryon_arrays(pipe, person.image, person.parse, person.keypoints, garment.image, mask)
    out = result.output
    layout = labels.colourise(out.layout[0].numpy())
    warped = to_uint8(out.flow.warped_cloth[0] * out.flow.warped_mask[0] + (1 - out.flow.warped_mask[0]))
    return TryonView(result.image, to_display(layout, nearest=True), to_display(warped))


def run_transfer(pipe: ClothFlowPipeline, person: PersonInput | None, target: TargetPose | None) -> np.ndarray:
    """Re-pose ``person`` to ``target``; the result in the person photo's frame at :data:`DISPLAY_HEIGHT` rows.

    The photo is framed as the model was trained (scaled to its height, centre-cropped or padded
    to its width, never squashed) and the result put back in the photo's frame.

    Raises:
        ClothflowError: an input missing, or the pipeline is not a pose-transfer model.
    """
    from clothflow.data.datasets.deepfashion import map_keypoints
    from clothflow.data.formats.images import fit_to_size, place_in_frame

    if pipe.config.task != "transfer":
        raise ClothflowError("the loaded pose-transfer model was trained for try-on")
    if person is None or target is None:
        raise ClothflowError("pick or upload a person and a target pose first")
    if person.parse is None:
        raise ClothflowError(f"{person.name}: its parsing is unknown; upload it again")
    size = pipe.config.size
    kps = map_keypoints(target.keypoints, target.frame, size)
    image = image_tensor(fit_to_size(person.image, size))[None]
    parse = torch.from_numpy(fit_to_size(person.parse, size, nearest=True, pad=0).astype(np.int64))[None]
    with torch.inference_mode():
        out = pipe.transfer(image, parse, torch.from_numpy(kps).unsqueeze(0))
    return to_display(place_in_frame(to_uint8(out.image[0]), person.image))


def transfer_model_for(person: PersonInput | None, examples: ClothFlowPipeline,
                       photos: PhotoModels | None) -> ClothFlowPipeline:
    """The pose-transfer model that serves ``person``: uploaded photos go to the real-photo
    model when one is loaded, the example people to the tab's own model."""
    if person is not None and person.photo and photos is not None and photos.transfer is not None:
        return photos.transfer
    return examples


def load_or_train(model: str | Path | None, task: str, default_dir: Path, steps: int = 60) -> ClothFlowPipeline:
    """A saved pipeline for ``task``: ``model``, else the shipped synthetic model of ``task``, else
    ``default_dir/model``, else a demo model trained there now.

    Args:
        model: a saved model or training run folder, or a shipped name (None: the default).
        task: "transfer" or "tryon"; a model of the other task is an error.
        default_dir: where ``clothflow demo`` writes (``clothflow-demo``, ``clothflow-demo-tryon``).
        steps: steps per stage when training (60: 1-6 minutes on a CPU, by its speed and load).
    """
    from clothflow.apps.demo import shipped_demo_models

    if model is None:
        model = shipped_demo_models((task,)).get(task)
    if model is None:
        model = default_dir / "model"
        if not (model / WEIGHTS_NAME).is_file():  # none yet, or a run that was interrupted before it ended
            from clothflow.apps.demo import DemoConfig, run_demo

            if model.exists():
                log.warning("%s holds an unfinished demo run (interrupted before it saved its model): starting it over",
                            model)
            log.info("no %s model given and none in %s: training a small demo model first (%d steps a stage: a few minutes on a CPU)...",
                     task, model, steps)
            run_demo(default_dir, DemoConfig(task=task, steps=steps, train_pairs=64 * steps, eval_pairs=32))
            log.info("demo %s model saved in %s", task, model)
    pipe = ClothFlowPipeline.from_pretrained(model)
    if pipe.config.task != task:
        raise ClothflowError(f"this model was trained for {pipe.config.task}, not {task}", model)
    return pipe

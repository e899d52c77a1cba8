"""The inference engine's try-on and pose transfer on photos: run the network at its size, give the result at the photo's.

Try-on (:func:`tryon_arrays`, which every front door calls: ``clothflow tryon`` for one pair or
a folder, and the web page) runs the network at its training size and composes the result back
into the photo at the photo's own size (:func:`compose_tryon`, :mod:`clothflow.core.ops.compose`):
the person's own pixels wherever try-on changes nothing, the full-resolution garment warped by
the upsampled flow where the garment is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from clothflow.core.images import image_tensor, label_tensor, mask_tensor, resized_image_tensor, to_uint8
from clothflow.core.ops import labels, pose
from clothflow.core.ops.compose import changed_region, compose_full_size
from clothflow.core.ops.garment_mask import mask_from_white
from clothflow.data.formats.images import read_rgb as read_image
from clothflow.data.formats.keypoints import read_keypoints
from clothflow.data.formats.label_maps import read_label_map
from clothflow.core.errors import ClothflowError
from clothflow.models.pipeline import ClothFlowPipeline, PipelineOutput


def transfer_files(
    pipe: ClothFlowPipeline,
    source: str | Path,
    source_parse: str | Path | None,
    target_pose: str | Path,
    pose_frame: tuple[int, int] | None = None,
    parser=None,
    estimated: list[str] | None = None,
) -> tuple[PipelineOutput, np.ndarray]:
    """Run pose transfer on files; the result also put back into the source photo's frame.

    The photo is framed as the model was trained (scaled to its height, centre-cropped or
    padded to its width, never squashed), and the result placed back at the photo's size
    (:func:`place_in_frame`; the columns the model did not see keep the source's pixels).

    Args:
        source: the person image (any size).
        source_parse: its LIP parsing map, same size as ``source``; None: made by ``parser``,
            or without one the coarse layout of :func:`clothflow.estimate.prepare.prepare_image`
            (needs the ``[pose]`` extra).
        target_pose: keypoint file (see :func:`read_keypoints`).
        pose_frame: (H, W) of the frame the target keypoints are in; default the source's.
        parser: a :class:`~clothflow.models.parser.HumanParser` for a photo without a parsing.
        estimated: a list that gets a line for each input estimated from the photo.

    Returns:
        (the pipeline's output at its size, the result at the source photo's size, H x W x 3 uint8).
    """
    from clothflow.data.datasets.deepfashion import map_keypoints
    from clothflow.data.formats.images import fit_to_size, place_in_frame

    image = read_image(source)
    notes = estimated if estimated is not None else []
    if source_parse is not None:
        parse = read_label_map(source_parse)
    elif parser is not None:
        from clothflow.estimate.parsing import parse_framed

        parse = parse_framed(parser, image)
        notes.append("parsing: by the human parser")
    else:
        from clothflow.estimate.prepare import prepare_image

        parse = prepare_image(image, path=source).parse
        notes.append("parsing: the coarse layout drawn from the pose (no parser)")
    if parse.shape != image.shape[:2]:
        raise ClothflowError(
            f"parsing map is {parse.shape[0]}x{parse.shape[1]} but the image is {image.shape[0]}x{image.shape[1]}",
            source_parse,
        )
    kps = read_keypoints(target_pose)
    size = pipe.config.size
    kps = map_keypoints(kps, pose_frame or image.shape[:2], size)
    framed = fit_to_size(image, size)
    labels_map = fit_to_size(parse, size, nearest=True, pad=0)
    with torch.inference_mode():
        out = pipe.transfer(image_tensor(framed)[None],
                            torch.from_numpy(labels_map.astype(np.int64))[None], torch.from_numpy(kps).unsqueeze(0))
    return out, place_in_frame(np.ascontiguousarray(to_uint8(out.image[0])), image)


def tryon_files(
    pipe: ClothFlowPipeline,
    person: str | Path,
    cloth: str | Path,
    cloth_mask: str | Path | None = None,
    parse: str | Path | None = None,
    pose_file: str | Path | None = None,
    parser=None,
    estimated: list[str] | None = None,
    parse_scheme: str = "auto",
) -> TryonResult:
    """Run virtual try-on on files; the result at the person photo's size (:func:`tryon_arrays`).

    Args:
        person: the person photo (any size; resized to the model's).
        cloth: the in-shop garment photo.
        cloth_mask: its mask (any single-channel image, > 127 = garment); default: the
            garment's pixels that are not near-white (in-shop photos are shot on white).
        parse: the person's parsing map (grey, palette or LIP-colour PNG; LIP, CIHP or CP-VTON+
            ids, read as :func:`~clothflow.data.formats.label_maps.read_label_map` reads them); None:
            made by ``parser``, or without one the coarse parsing of
            :func:`clothflow.estimate.prepare.prepare_image` (``[pose]`` extra).
        pose_file: the person's keypoints (OpenPose JSON, COCO-18 or BODY_25), in the
            person image's pixel frame; None: estimated from the photo (``[pose]`` extra).
        parser: a :class:`~clothflow.models.parser.HumanParser` for a photo without ``parse``.
        estimated: a list that gets a line for each input estimated from the photo.
        parse_scheme: the label scheme of ``parse``: "auto", "lip", "cihp" or "lip-neck".

    Returns:
        A :class:`TryonResult`: the network's output at its size, the result at the photo's.
    """
    from clothflow.data.formats.label_maps import read_mask

    image = read_image(person)
    labels_map = None if parse is None else read_label_map(parse, parse_scheme)
    if labels_map is not None and labels_map.shape != image.shape[:2]:
        raise ClothflowError(
            f"parsing map is {labels_map.shape[0]}x{labels_map.shape[1]} but the person image is "
            f"{image.shape[0]}x{image.shape[1]}",
            parse,
        )
    person_kps = None if pose_file is None else read_keypoints(pose_file)
    notes = estimated if estimated is not None else []
    if labels_map is None and parser is not None:
        from clothflow.estimate.parsing import parse_photo

        labels_map = parse_photo(parser, image)
        notes.append("parsing: by the human parser")
    if labels_map is None or person_kps is None:  # estimate what is missing from the photo
        from clothflow.estimate.prepare import prepare_image

        if person_kps is None:
            notes.append("keypoints: by MediaPipe's pose estimator")
        if labels_map is None:
            notes.append("parsing: the coarse layout drawn from the pose (no parser)")
        prepared = prepare_image(image, labels_map, path=person)
        labels_map = prepared.parse
        person_kps = prepared.keypoints if person_kps is None else person_kps
    garment = read_image(cloth)
    if cloth_mask is None:
        mask = mask_from_white(garment)
        notes.append("garment mask: its pixels that are not near-white")
    else:
        mask = (read_mask(cloth_mask) > 0).astype(np.float32)
        if mask.shape != garment.shape[:2]:
            raise ClothflowError(
                f"cloth mask is {mask.shape[0]}x{mask.shape[1]} but the cloth is {garment.shape[0]}x{garment.shape[1]}",
                cloth_mask,
            )
    if mask.sum() == 0:
        raise ClothflowError("the garment mask is empty (no garment found)", cloth_mask or cloth)
    return tryon_arrays(pipe, image, labels_map, person_kps, garment, mask)


@dataclass
class TryonResult:
    """A try-on result.

    Attributes:
        output: the pipeline's output at its size (layout, flow, warped garment, image).
        image: H x W x 3 uint8, the result at the person photo's size.
    """

    output: PipelineOutput
    image: np.ndarray


def tryon_arrays(
    pipe: ClothFlowPipeline,
    image: np.ndarray,
    labels_map: np.ndarray,
    keypoints: np.ndarray,
    garment: np.ndarray,
    mask: np.ndarray,
) -> TryonResult:
    """Virtual try-on of one person photo and one garment photo, the result at the photo's size.

    Args:
        image: H x W x 3 uint8 RGB person photo (any size; resized to the network's).
        labels_map: H x W LIP ids of the person (:func:`~clothflow.data.formats.label_maps.read_label_map`).
        keypoints: 18 x 2 keypoints in the photo's pixels, -1 missing.
        garment: Hg x Wg x 3 uint8 RGB in-shop garment.
        mask: Hg x Wg garment mask (> 0 = garment).

    Returns:
        A :class:`TryonResult`.
    """
    size = pipe.config.size
    parse = label_tensor(labels_map, size)
    kps = pose.scale_keypoints(keypoints, image.shape[:2], size)
    with torch.inference_mode():
        out = pipe.tryon(resized_image_tensor(image, size), parse, torch.from_numpy(kps).unsqueeze(0),
                         resized_image_tensor(garment, size), mask_tensor(mask, size))
    return TryonResult(out, compose_tryon(out, parse, 0, image, garment, mask))


def compose_tryon(
    out: PipelineOutput, person_parse: torch.Tensor, index: int, photo: np.ndarray, garment: np.ndarray,
    mask: np.ndarray,
) -> np.ndarray:
    """Item ``index`` of a try-on batch composed into its person photo at the photo's size.

    The photo's own pixels are kept wherever try-on changes nothing (outside the old and new
    garment and the arms, grown and feathered: :func:`~clothflow.core.ops.compose.changed_region`);
    inside, the network's image upsampled, with the full-resolution garment's detail where the
    network kept the warped garment (:func:`~clothflow.core.ops.compose.compose_full_size`).

    Args:
        out: the pipeline's output for the batch.
        person_parse: N x h x w LIP ids the batch's persons were given, at the network's size.
        index: which item.
        photo: H x W x 3 uint8 RGB, the item's person photo at its own size.
        garment: Hg x Wg x 3 uint8 RGB, its in-shop garment at its own size.
        mask: Hg x Wg, the garment's mask (> 0 = garment).

    Returns:
        H x W x 3 uint8.
    """
    import cv2

    h, w = photo.shape[:2]
    i = slice(index, index + 1)
    layout = out.layout[i] if out.layout is not None else None
    region = changed_region(labels.to_groups(person_parse[i]), layout)
    cloth_used = out.composition_mask
    if cloth_used is None:  # a network that renders directly (or an ONNX file without it): where its layout has the garment
        from clothflow.core.ops.agnostic import garment_mask

        cloth_used = out.flow.warped_mask * (garment_mask(out.layout) if out.layout is not None else 1.0)
    interp = cv2.INTER_AREA if garment.shape[0] >= h and garment.shape[1] >= w else cv2.INTER_LINEAR
    big_garment = cv2.resize(garment, (w, h), interpolation=interp)
    big_mask = cv2.resize((mask > 0).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    masked = image_tensor(big_garment)[None] * torch.from_numpy(big_mask)[None, None]
    photo_t = image_tensor(photo)[None]
    with torch.inference_mode():
        result, alpha = compose_full_size(photo_t, masked, out.image[i].float(), out.flow.flow[i].float(),
                                          out.flow.warped_cloth[i].float(), cloth_used[i].float(), region)
    full = to_uint8(result[0])
    keep = (alpha[0, 0] == 0).numpy()
    full[keep] = photo[keep]  # the photo's pixels, exactly, wherever nothing changed
    return full

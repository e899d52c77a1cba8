"""Writing synthetic pairs to disk in the layouts real datasets use, and reading them back.

``write_dataset`` produces two folders under ``out_dir``:

- ``deepfashion/`` (pose transfer, DeepFashion "fasion-resize" conventions):
  ``images/<stem>.png``, ``parsing/<stem>.png`` (8-bit LIP ids),
  ``fasion-resize-pairs-test.csv`` (``from,to``), ``fasion-resize-annotation-test.csv``
  (``name:keypoints_y:keypoints_x``, y list first, -1 missing, in the image's pixels) and
  ``flow/<from-stem>__<to-stem>.npz`` (``flow`` H x W x 2 float32 (dx, dy) to -> from,
  ``visible`` H x W bool).
- ``viton/`` (try-on, VITON / CP-VTON conventions): ``image/<stem>_0.jpg`` (person),
  ``cloth/<stem>_1.jpg`` (the in-shop garment of the pair, not the one the person wears),
  ``cloth-mask/<stem>_1.jpg`` (1 channel), ``image-parse/<stem>_0.png`` (8-bit LIP ids),
  ``openpose_json/<stem>_0_keypoints.json`` (OpenPose COCO-18, both ``pose_keypoints``
  and ``pose_keypoints_2d``), ``test_pairs.txt`` (``person.jpg cloth.jpg``), and the
  unpaired ground truth: ``target/<stem>_0.jpg`` (the person wearing the cloth),
  ``target-parse/<stem>_0.png`` and ``flow/<stem>_0__<stem>_1.npz`` (target -> cloth pixels).

JPEGs are written at quality 95; PNGs are lossless.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from clothflow.data.synth.renderer import make_transfer_pair, make_tryon_pair
from clothflow.data.datasets.deepfashion import real_pose_sampler
from clothflow.data.formats.keypoints import annotation_row, openpose_dict
from clothflow.core.errors import ClothflowError
from clothflow.core.files import writable_dir

JPEG_QUALITY = 95
def _imwrite(path: Path, image: np.ndarray) -> None:
    """Write RGB (H x W x 3) or single-channel (H x W) uint8; JPEG at quality 95."""
    img = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(path), img, params):
        raise ClothflowError("cannot write image", path)


def _save_flow(path: Path, flow: np.ndarray, visible: np.ndarray) -> None:
    np.savez_compressed(path, flow=flow.astype(np.float32), visible=visible.astype(bool))


def write_transfer(root: Path, index: int, seed: int, size: tuple[int, int], real_poses=None) -> tuple[tuple[str, str], list[str]]:
    """Write pose-transfer pair ``index`` into a DeepFashion-style folder.

    Returns:
        ((from name, to name), annotation rows of both images).
    """
    p = make_transfer_pair(seed, index, size, real_poses=real_poses)
    names, rows = [], []
    for k, r in enumerate((p.src, p.tgt)):
        stem = f"synth_id{index:05d}_pose{k}"
        _imwrite(root / "images" / f"{stem}.png", r.image)
        _imwrite(root / "parsing" / f"{stem}.png", r.parse)
        names.append(f"{stem}.png")
        rows.append(annotation_row(f"{stem}.png", r.keypoints))
    _save_flow(root / "flow" / f"{Path(names[0]).stem}__{Path(names[1]).stem}.npz", p.flow, p.visible)
    return (names[0], names[1]), rows


def write_tryon(root: Path, index: int, seed: int, size: tuple[int, int]) -> str:
    """Write try-on pair ``index`` into a VITON-style folder. Returns its ``test_pairs.txt`` line."""
    t = make_tryon_pair(seed, index, size)
    stem = f"synth{index:06d}"
    _imwrite(root / "image" / f"{stem}_0.jpg", t.person.image)
    _imwrite(root / "image-parse" / f"{stem}_0.png", t.person.parse)
    _imwrite(root / "cloth" / f"{stem}_1.jpg", t.shop.image)
    _imwrite(root / "cloth-mask" / f"{stem}_1.jpg", t.shop.mask.astype(np.uint8) * 255)
    _imwrite(root / "target" / f"{stem}_0.jpg", t.target.image)
    _imwrite(root / "target-parse" / f"{stem}_0.png", t.target.parse)
    (root / "openpose_json" / f"{stem}_0_keypoints.json").write_text(json.dumps(openpose_dict(t.person.keypoints)))
    _save_flow(root / "flow" / f"{stem}_0__{stem}_1.npz", t.flow, t.visible)
    return f"{stem}_0.jpg {stem}_1.jpg"


def write_dataset(out_dir: str | Path, pairs: int, size: tuple[int, int] = (256, 176), seed: int = 0, progress: bool = True, tryon_pairs: int | None = None, poses=None) -> Path:
    """Render and write a synthetic dataset: ``pairs`` pose-transfer pairs and try-on pairs.

    Args:
        out_dir: output folder (created); gets ``deepfashion/`` and ``viton/`` (see module doc).
        pairs: number of pose-transfer pairs (and of try-on pairs unless ``tryon_pairs`` is given).
        size: (H, W) of every image.
        seed: dataset seed; pair i is (seed, i) as in :class:`SyntheticPairs`.
        progress: show a tqdm progress bar.
        tryon_pairs: number of try-on pairs; default ``pairs``.
        poses: a DeepFashion annotation CSV (or a PoseSampler): pose-transfer people are drawn
            in these real poses (frame detected); None = random poses.

    Returns:
        ``out_dir`` as a Path.

    Raises:
        ClothflowError: ``out_dir`` cannot be created or written.
    """
    out = Path(out_dir)
    n_tryon = pairs if tryon_pairs is None else tryon_pairs
    df, vt = out / "deepfashion", out / "viton"
    writable_dir(df, "images", "parsing", "flow")
    writable_dir(vt, "image", "image-parse", "cloth", "cloth-mask", "target", "target-parse", "openpose_json", "flow")
    size = (int(size[0]), int(size[1]))
    real = None if poses is None else real_pose_sampler(poses)
    pair_lines, ann_lines, tryon_lines = ["from,to"], ["name:keypoints_y:keypoints_x"], []
    with tqdm(total=pairs + n_tryon, desc="synthetic data", unit="pair", disable=not progress) as bar:
        for i in range(pairs):
            (a, b), rows = write_transfer(df, i, seed, size, real)
            pair_lines.append(f"{a},{b}")
            ann_lines += rows
            bar.update()
        for i in range(n_tryon):
            tryon_lines.append(write_tryon(vt, i, seed, size))
            bar.update()
    try:
        (df / "fasion-resize-pairs-test.csv").write_text("\n".join(pair_lines) + "\n")
        (df / "fasion-resize-annotation-test.csv").write_text("\n".join(ann_lines) + "\n")
        (vt / "test_pairs.txt").write_text("\n".join(tryon_lines) + ("\n" if tryon_lines else ""))
    except OSError as exc:
        raise ClothflowError(f"cannot write the pair lists ({exc.strerror})", out) from exc
    return out

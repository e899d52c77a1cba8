"""Datasets as dicts of tensors, and :func:`make_dataset`, which picks one by name or folder.

- :mod:`.synthetic`: the embedded renderer (pose transfer and try-on, exact flow);
- :mod:`.deepfashion`: DeepFashion pose-transfer splits (PATN / GFLA / NTED files);
- :mod:`.viton`, :mod:`.viton_layout`: VITON, VITON-HD, PF-AFN and synthetic VITON try-on folders.

Submodules are imported when used, so importing this package is cheap.

Imports: ``clothflow.core`` and the rest of ``clothflow.data``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from clothflow.core.errors import ClothflowError

if TYPE_CHECKING:
    from torch.utils.data import Dataset

log = logging.getLogger(__name__)

SYNTHETIC = "synthetic"
TASKS = ("transfer", "tryon")
TRYON_KEYS = ("person_parse", "person_pose", "target", "target_parse")  # what training and evaluation read


def make_dataset(
    data: str | Path,
    size: tuple[int, int],
    num_pairs: int = 1000,
    seed: int = 0,
    task: str = "transfer",
    dense: bool = False,
    pairs_file: str | Path | None = None,
    mirrored: bool = False,
    subset: str = "",
    all_views: bool = False,
) -> Dataset:
    """The dataset named by ``data`` for ``task``: what ``train --data`` and ``evaluate --data`` read.

    ========================================  =====================  =============================
    ``data``                                  task "transfer"        task "tryon"
    ========================================  =====================  =============================
    ``"synthetic"``                           SyntheticPairs         SyntheticPairs
    DeepFashion folder (CSVs + images)        DeepFashionPairs       error: no garment images
    pair table (``pairs.csv``) or its folder   PosePairs              error: no garment images
    VITON / VITON-HD / synthetic VITON        error: no pose pairs   VitonDataset
    ``clothflow synth --out`` folder          its ``deepfashion/``   its ``viton/``
    ========================================  =====================  =============================

    A DeepFashion folder's parsings (``parsing/<stem>.png``) are used when present, else a
    coarse layout from the pose and a person mask (as ``clothflow inspect`` reports).

    Args:
        data: ``"synthetic"`` or a dataset folder.
        size: (H, W) of the tensors (the model's size).
        num_pairs: length of the synthetic set (a folder holds its own pairs).
        seed: seed of the synthetic pairs.
        task: "transfer" or "tryon" (or a task object with such a ``name``).
        dense: the model reads IUV maps (the dense variant): a folder must have them.
        pairs_file: a try-on folder's pair list (path, or name in the folder or its parent);
            None: the folder's own. A DeepFashion folder reads its split's pairs CSV.
        mirrored: add the mirror image of every try-on or pair-table pair (training augmentation).
        subset: a pair table's ``DATASET/SPLIT`` ("" = every row).
        all_views: a pair table's every two views of one person, not only its pairs.

    Returns:
        A ``Dataset`` of dicts in the :class:`~clothflow.data.datasets.synthetic.SyntheticPairs`
        contract of ``task``.

    Raises:
        ClothflowError: unknown task; a folder that is missing, of no known layout, made for the
            other task, or lacking what the model reads, naming the folder.

    Example:
        >>> ds = make_dataset("synthetic", (64, 44), num_pairs=2, task="tryon")
        >>> len(ds), tuple(ds[0]["cloth"].shape)
        (2, (3, 64, 44))
    """
    task = getattr(task, "name", task)
    if task not in TASKS:
        raise ClothflowError(f"unknown task {task!r} for a dataset; choose one of {', '.join(TASKS)}")
    if str(data) == SYNTHETIC:
        from clothflow.data.datasets.synthetic import SyntheticPairs

        return SyntheticPairs(num_pairs=num_pairs, size=size, seed=seed, task=task)
    path = Path(data)
    from clothflow.data.formats.pose_pairs import is_pair_table

    if task == "transfer" and is_pair_table(path):
        from clothflow.data.datasets.pose_pairs import PosePairs

        return PosePairs(path, size, subset, all_views, mirrored)
    if subset or all_views:
        raise ClothflowError("a subset and every-two-views pairing are for pose pair tables (pairs.csv with "
                             "dataset,split,person,source,target)", path)
    if not path.exists():
        raise ClothflowError(f"dataset folder not found; use --data {SYNTHETIC} for the embedded renderer", path)
    if not path.is_dir():
        raise ClothflowError("not a folder: --data takes 'synthetic' or a dataset folder", path)
    if (path / "deepfashion").is_dir() and (path / "viton").is_dir():  # a `clothflow synth --out` folder
        path = path / ("deepfashion" if task == "transfer" else "viton")
        log.info("synthetic output folder: reading %s for task %s", path, task)
    if task == "transfer":
        if pairs_file is not None or mirrored:
            raise ClothflowError("a pair list and mirroring are for try-on folders; a DeepFashion folder reads "
                                 "its split's pairs CSV", path)
        return _deepfashion(path, size, dense)
    return _tryon(path, size, pairs_file, mirrored)


def _layouts(path: Path) -> tuple[bool, str | None]:
    """(is a DeepFashion split folder, the try-on layout's name or None)."""
    from clothflow.data.datasets.deepfashion import find_split_files
    from clothflow.data.datasets.viton_layout import detect_layout

    return any(f is not None for f in find_split_files(path)), detect_layout(path)


def _unknown(path: Path) -> ClothflowError:
    return ClothflowError(
        "no known dataset layout: expected DeepFashion CSVs (*annotation*.csv, *pairs*.csv) with images, a VITON / "
        "VITON-HD folder, or a clothflow synth output; `clothflow inspect` tells what a folder holds", path)


def _deepfashion(path: Path, size: tuple[int, int], dense: bool) -> Dataset:
    is_deepfashion, tryon_kind = _layouts(path)
    if not is_deepfashion:
        if tryon_kind is not None:
            raise ClothflowError(
                f"this is a {tryon_kind} try-on folder, and pose transfer needs DeepFashion pose pairs "
                "(*annotation*.csv, *pairs*.csv, images); a try-on model (train --task tryon) reads this folder", path)
        raise _unknown(path)
    from clothflow.data.datasets.deepfashion import DeepFashionPairs

    dataset = DeepFashionPairs(path, size=size)
    if dense and not dataset.with_iuv:
        raise ClothflowError("the dense variant reads IUV maps, but not every image here has a <stem>_iuv.png "
                             "beside it; use another variant or add the maps", path)
    return dataset


def _tryon(path: Path, size: tuple[int, int], pairs_file: str | Path | None, mirrored: bool) -> Dataset:
    is_deepfashion, tryon_kind = _layouts(path)
    if tryon_kind is None:
        if is_deepfashion:
            raise ClothflowError(
                "this is a DeepFashion pose-transfer folder, and try-on needs in-shop garments (a VITON / VITON-HD "
                "folder); a pose-transfer model (train --task transfer) reads this folder", path)
        raise _unknown(path)
    from clothflow.data.datasets.viton import PfafnDataset, VitonDataset

    if tryon_kind == "pfafn":
        dataset = PfafnDataset(path, pairs_file, size=size)
    else:
        dataset = VitonDataset(path, pairs_file, size=size, mirrored=mirrored)
    dataset.require(*TRYON_KEYS)
    return dataset

"""make_dataset: one route from --data and the task to a dataset, and clear errors for the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from clothflow.core.errors import ClothflowError
from clothflow.core.ops.coarse_layout import coarse_layout, foreground_mask
from clothflow.data.datasets import make_dataset
from clothflow.data.datasets.deepfashion import DeepFashionPairs
from clothflow.data.datasets.synthetic import SyntheticPairs
from clothflow.data.datasets.viton import VitonDataset
from clothflow.data.tools.writers import write_dataset

SIZE = (64, 44)


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    """A `clothflow synth --out` folder: deepfashion/ (3 pairs) and viton/ (2 pairs)."""
    return write_dataset(tmp_path_factory.mktemp("synth"), pairs=3, size=SIZE, seed=4, progress=False, tryon_pairs=2)


def test_synthetic_for_both_tasks():
    transfer = make_dataset("synthetic", SIZE, num_pairs=3, seed=1)
    tryon = make_dataset("synthetic", SIZE, num_pairs=2, seed=1, task="tryon")
    assert isinstance(transfer, SyntheticPairs) and len(transfer) == 3 and "src_image" in transfer[0]
    assert isinstance(tryon, SyntheticPairs) and len(tryon) == 2 and "cloth" in tryon[0]


def test_folders_route_by_task(synth: Path):
    df = make_dataset(synth / "deepfashion", SIZE, num_pairs=99)
    assert isinstance(df, DeepFashionPairs) and len(df) == 3  # a folder holds its own pairs
    assert df.parsing_dir == synth / "deepfashion" / "parsing"
    root = make_dataset(synth, SIZE)  # the synth output root: its deepfashion/ part
    assert isinstance(root, DeepFashionPairs) and root.root == synth / "deepfashion"
    vt = make_dataset(synth, SIZE, task="tryon")
    assert isinstance(vt, VitonDataset) and len(vt) == 2
    assert {"person", "cloth", "target", "target_parse"} <= set(vt[0])
    assert isinstance(make_dataset(synth / "viton", SIZE, task="tryon"), VitonDataset)


@pytest.mark.parametrize(
    "where, task, message",
    [
        ("viton", "transfer", "synthetic-viton try-on folder, and pose transfer needs DeepFashion"),
        ("deepfashion", "tryon", "DeepFashion pose-transfer folder, and try-on needs in-shop garments"),
        ("nowhere", "transfer", "dataset folder not found"),
        ("empty", "tryon", "no known dataset layout"),
        ("deepfashion", "inpaint", "unknown task 'inpaint'"),
    ],
)
def test_combinations_that_do_not_exist_are_errors(synth: Path, tmp_path: Path, where, task, message):
    (tmp_path / "empty").mkdir()
    path = synth / where if where in ("viton", "deepfashion") else tmp_path / where
    with pytest.raises(ClothflowError, match=message) as err:
        make_dataset(path, SIZE, task=task)
    if task != "inpaint":
        assert str(path) in str(err.value)  # the message names the folder


def test_dense_needs_iuv_maps(synth: Path):
    with pytest.raises(ClothflowError, match="_iuv.png"):
        make_dataset(synth / "deepfashion", SIZE, dense=True)
    assert "src_iuv" in make_dataset("synthetic", SIZE, num_pairs=1, dense=True)[0]


def test_without_parsings_the_coarse_layout_is_used(synth: Path, tmp_path: Path):
    root = tmp_path / "deepfashion"
    shutil.copytree(synth / "deepfashion", root, ignore=shutil.ignore_patterns("parsing"))
    ds = make_dataset(root, SIZE)
    assert ds.parsing_dir is None and "coarse layout" in ds.parse_source
    item = ds[0]
    src = ds.split.pairs[0][0]
    image = cv2.cvtColor(cv2.imread(str(root / "images" / src)), cv2.COLOR_BGR2RGB)
    kps = item["src_pose"].numpy()
    want = coarse_layout(kps, SIZE, foreground_mask(image, kps))
    assert np.array_equal(item["src_parse"].numpy(), want)
    truth = cv2.imread(str(synth / "deepfashion" / "parsing" / src), cv2.IMREAD_UNCHANGED)
    assert not np.array_equal(want, truth)  # not the renderer's parsing
    assert set(np.unique(want)) <= {0, 2, 5, 9, 13, 14, 15, 16, 17}

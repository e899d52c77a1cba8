"""Real try-on dataset loaders: VITON / VITON-HD samples, synthetic VITON output, PF-AFN layout, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from clothflow.data.formats.keypoints import read_openpose_json
from clothflow.data.formats.label_maps import LIP_PALETTE, read_label_map, read_mask
from clothflow.core.ops.labels import LIP_LABELS
from clothflow.core.ops.pose import KP, visible
from clothflow.data.datasets.synthetic import SyntheticPairs
from clothflow.data.datasets.viton import PfafnDataset, VitonDataset, check_layout
from clothflow.data.datasets.viton_layout import detect_layout
from clothflow.data.tools.writers import write_dataset
from clothflow.core.errors import ClothflowError

SIZE = (256, 192)
TRYON_KEYS = {"person", "person_parse", "person_pose", "cloth", "cloth_mask"}


def _all_persons_pairs(test_dir: Path, out: Path) -> Path:
    """A pair list (in tmp) naming every sample person with the sample garments in turn."""
    persons = sorted(p.name for p in (test_dir / "image").iterdir())
    cloths = sorted(p.name for p in (test_dir / "cloth").iterdir())
    out.write_text("".join(f"{p} {cloths[i % len(cloths)]}\n" for i, p in enumerate(persons)))
    return out


def _check_item(item: dict[str, torch.Tensor], size: tuple[int, int]) -> None:
    h, w = size
    assert item["person"].shape == (3, h, w) and item["person"].dtype == torch.float32
    assert item["cloth"].shape == (3, h, w) and item["cloth"].dtype == torch.float32
    assert -1.0 <= item["person"].min() and item["person"].max() <= 1.0
    assert item["person_parse"].shape == (h, w) and item["person_parse"].dtype == torch.int64
    assert item["person_pose"].shape == (18, 2) and item["person_pose"].dtype == torch.float32
    assert item["cloth_mask"].shape == (1, h, w) and set(item["cloth_mask"].unique().tolist()) <= {0.0, 1.0}
    assert 0.1 < item["cloth_mask"].mean() < 0.9
    assert set(item["person_parse"].unique().tolist()) <= set(LIP_LABELS)


def _inside_fraction(pose: torch.Tensor, mask: np.ndarray) -> tuple[int, int]:
    kps = pose.numpy()
    pts = np.round(kps[visible(kps)]).astype(int)
    pts[:, 0] = pts[:, 0].clip(0, mask.shape[1] - 1)
    pts[:, 1] = pts[:, 1].clip(0, mask.shape[0] - 1)
    return int(mask[pts[:, 1], pts[:, 0]].sum()), len(pts)


# --- shared real samples -------------------------------------------------------------------------


def test_viton_samples_load_with_keypoints_inside_the_body(shared_data, tmp_path):
    test_dir = shared_data / "viton_samples" / "test"
    ds = VitonDataset(test_dir, pairs_file="test_samples_pair.txt", size=SIZE, mode="unpaired")
    assert len(ds) == 1 and set(ds.keys) == TRYON_KEYS
    _check_item(ds[0], SIZE)

    ds = VitonDataset(test_dir, pairs_file=_all_persons_pairs(test_dir, tmp_path / "p.txt"), size=SIZE, mode="unpaired")
    assert len(ds) == 6
    inside = total = 0
    for pair, item in zip(ds.pairs, ds):
        _check_item(item, SIZE)
        body = read_mask(test_dir / "image-mask" / f"{Path(pair.person).stem}.png")
        i, n = _inside_fraction(item["person_pose"], body)
        inside, total = inside + i, total + n
    # measured: 81 of 85 visible keypoints (95%) on the body mask; wrists/ears miss by a pixel or two
    assert total >= 70 and inside / total >= 0.85


def test_viton_paired_mode_uses_the_persons_own_cloth(shared_data, tmp_path):
    test_dir = shared_data / "viton_samples" / "test"
    (tmp_path / "p.txt").write_text("003491_0.jpg 004325_1.jpg\n")
    ds = VitonDataset(test_dir, pairs_file=tmp_path / "p.txt", size=(128, 96), mode="paired")
    assert ds.pairs[0].cloth == "003491_1.jpg"
    item = ds[0]
    assert torch.equal(item["target"], item["person"]) and torch.equal(item["target_parse"], item["person_parse"])
    own = np.asarray(Image.open(test_dir / "cloth" / "003491_1.jpg").resize((96, 128)), np.float32) / 127.5 - 1
    assert np.abs(item["cloth"].permute(1, 2, 0).numpy() - own).mean() < 0.05
    # the sample pair list's person 000001_0 has no own cloth in the samples: named in the error
    with pytest.raises(ClothflowError, match="000001_1.jpg"):
        VitonDataset(test_dir, pairs_file="test_samples_pair.txt", mode="paired")


def test_vitonhd_samples_load_body25_mapped_and_scaled(shared_data, tmp_path):
    test_dir = shared_data / "vitonhd_samples" / "test"
    assert VitonDataset(shared_data / "vitonhd_samples", size=SIZE, mode="unpaired").pairs[0].person == "00891_00.jpg"
    pairs = _all_persons_pairs(test_dir, tmp_path / "p.txt")
    ds = VitonDataset(test_dir, pairs_file=pairs, size=SIZE, mode="unpaired")
    big = VitonDataset(test_dir, pairs_file=pairs, size=(512, 384), mode="unpaired")
    inside = total = 0
    for k in range(len(ds)):
        item = ds[k]
        _check_item(item, SIZE)
        pose = item["person_pose"]
        i, n = _inside_fraction(pose, item["person_parse"].numpy() > 0)
        inside, total = inside + i, total + n
        # BODY_25 -> COCO-18: neck between the shoulders, nose above the neck
        nose, neck, rs, ls = (pose[KP[j]] for j in ("nose", "neck", "r_shoulder", "l_shoulder"))
        assert min(rs[0], ls[0]) < neck[0] < max(rs[0], ls[0])
        assert nose[1] < neck[1]
        # keypoints scale with the model size (1024 x 768 file frame -> 256 x 192 / 512 x 384)
        big_pose = big[k]["person_pose"] if k < 2 else None
        if big_pose is not None:
            vis = visible(pose)
            assert torch.allclose(big_pose[vis], pose[vis] * 2, atol=1e-3)
    # measured: 89 of 89 visible keypoints (100%) on parse != background
    assert total >= 70 and inside / total >= 0.9


def test_viton_colour_parsing_agrees_with_label_ids(shared_data):
    folder = shared_data / "viton_samples" / "test"
    files = sorted((folder / "image-parse").glob("*.png"))
    assert files
    agree = []
    for f in files:
        assert Image.open(f).mode == "RGB"
        colour = read_label_map(f, "cihp")
        ids = read_label_map(folder / "image-parse-new" / f.name, "cihp")
        agree.append((colour == ids).mean())
    # measured: 100.0% of pixels on all six samples
    assert min(agree) > 0.98


def test_label_map_encodings_and_schemes(tmp_path, shared_data):
    ids = np.random.default_rng(0).integers(0, 20, (32, 24)).astype(np.uint8)
    ids[0, 0] = 10
    Image.fromarray(ids, "L").save(tmp_path / "grey.png")
    pal = Image.fromarray(ids, "P")
    pal.putpalette((np.roll(LIP_PALETTE, 1, axis=0)).flatten().tolist())  # colours irrelevant: indices are ids
    pal.save(tmp_path / "pal.png")
    Image.fromarray(LIP_PALETTE[ids]).save(tmp_path / "colour.png")
    blocks = np.kron(ids[:8, :6], np.ones((32, 32), np.uint8))  # regions of parsing size, saved lossy
    Image.fromarray(LIP_PALETTE[blocks]).save(tmp_path / "colour.jpg", quality=90)
    for name in ("grey.png", "pal.png", "colour.png"):
        assert np.array_equal(read_label_map(tmp_path / name, "lip"), ids), name
    assert (read_label_map(tmp_path / "colour.jpg", "lip") == blocks).mean() > 0.95  # measured 0.99
    cihp = read_label_map(tmp_path / "grey.png", "cihp")  # CIHP's 10 (the neck) is background
    assert cihp[0, 0] == 0 and not (cihp == 10).any() and np.array_equal(cihp[ids != 10], ids[ids != 10])
    photo = shared_data / "viton_samples" / "test" / "image" / "000001_0.jpg"
    with pytest.raises(ClothflowError, match="000001_0.jpg.*not a colour-coded parsing"):
        read_label_map(photo)
    Image.fromarray((ids > 5).astype(np.uint8) * 255).save(tmp_path / "mask.png")
    with pytest.raises(ClothflowError, match="mask.png.*255"):
        read_label_map(tmp_path / "mask.png")


# --- synthetic VITON output ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("synth"), pairs=2, size=(64, 44), progress=False)


def test_synthetic_viton_output_loads_with_ground_truth(synth):
    ds = VitonDataset(synth, size=(64, 44))  # the synth output folder: viton/ is entered
    assert ds.layout.kind == "synthetic-viton" and ds.mode == "unpaired" and len(ds) == 2
    ref = SyntheticPairs(2, size=(64, 44), seed=0, task="tryon")
    for k in range(2):
        item, want = ds[k], ref[k]
        assert set(item) == set(want)
        for key in ("person_parse", "target_parse", "flow", "visible"):
            assert torch.equal(item[key], want[key]), key
        assert torch.allclose(item["person_pose"], want["person_pose"], atol=1e-2)
        assert torch.equal(item["cloth_mask"], want["cloth_mask"])
        assert (item["person"] - want["person"]).abs().mean() < 0.05  # JPEG
    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch["flow"].shape == (2, 2, 64, 44)
    # resizing scales the flow vectors with the image
    big = VitonDataset(synth / "viton", size=(128, 88))[0]
    assert big["flow"].shape == (2, 128, 88)
    assert torch.allclose(big["flow"][:, ::2, ::2], ref[0]["flow"] * 2)
    assert torch.allclose(big["person_pose"], ref[0]["person_pose"] * 2, atol=2e-2)
    with pytest.raises(ClothflowError, match="mode='unpaired'"):
        VitonDataset(synth, mode="paired")


def _break(root: Path, case: str) -> str:
    """Damage pair 0 of a synthetic VITON copy; returns the name of the damaged file."""
    vt = root / "viton"
    if case == "missing":
        (vt / "cloth" / "synth000000_1.jpg").unlink()
        return "synth000000_1.jpg"
    if case in ("no_person", "17_points"):
        path = vt / "openpose_json" / "synth000000_0_keypoints.json"
        people = [] if case == "no_person" else [{"pose_keypoints": [10.0, 10.0, 1.0] * 17}]
        path.write_text(json.dumps({"version": 1.0, "people": people}))
        return path.name
    if case == "mask_size":
        cv2.imwrite(str(vt / "cloth-mask" / "synth000000_1.jpg"), np.full((30, 20), 255, np.uint8))
        return "synth000000_1.jpg"
    if case == "corrupt_jpeg":
        path = vt / "image" / "synth000000_0.jpg"
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
        return path.name
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing", "no_person", "17_points", "mask_size", "corrupt_jpeg"])
def test_bad_input_names_the_file_and_can_be_skipped(synth, tmp_path, case):
    root = Path(shutil.copytree(synth, tmp_path / "copy"))
    name = _break(root, case)
    with pytest.raises(ClothflowError, match=name):
        ds = VitonDataset(root, size=(64, 44))  # cheap checks: existence only
        ds[1]  # the intact pair loads
        ds[0]
    ds = VitonDataset(root, size=(64, 44), skip_bad=True)
    assert len(ds) == 1 and ds.pairs[0].person == "synth000001_0.jpg"
    assert len(ds.skipped) == 1
    line, reason = ds.skipped[0]
    assert line.endswith("test_pairs.txt:1: synth000000_0.jpg synth000000_1.jpg") and name in reason
    problems = check_layout(root)
    assert problems and all(name in p for p in problems), problems
    if case == "mask_size":
        assert "20 x 30" in reason and "44 x 64" in reason


def test_malformed_pair_list_and_keypoint_file(synth, tmp_path):
    root = Path(shutil.copytree(synth / "viton", tmp_path / "vt"))
    (root / "test_pairs.txt").write_text("synth000000_0.jpg synth000000_1.jpg extra\n")
    with pytest.raises(ClothflowError, match=r"test_pairs.txt: line 1"):
        VitonDataset(root)
    bad = tmp_path / "k.json"
    bad.write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 50}]}))
    with pytest.raises(ClothflowError, match="k.json"):
        read_openpose_json(bad)
    assert check_layout(synth) == []


# --- PF-AFN layout and layout detection ----------------------------------------------------------


@pytest.fixture
def pfafn(tmp_path) -> Path:
    root = tmp_path / "pfafn"
    for d in ("test_img", "test_clothes", "test_edge"):
        (root / d).mkdir(parents=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(root / "test_img" / "000066_0.jpg"), rng.integers(0, 255, (256, 192, 3), np.uint8))
    cv2.imwrite(str(root / "test_clothes" / "004325_1.jpg"), rng.integers(0, 255, (256, 192, 3), np.uint8))
    edge = np.zeros((256, 192), np.uint8)
    edge[40:200, 30:160] = 255
    cv2.imwrite(str(root / "test_edge" / "004325_1.jpg"), edge)
    (root / "demo.txt").write_text("000066_0.jpg 004325_1.jpg\n")
    return root


def test_pfafn_layout_loads_and_explains_missing_parsing(pfafn):
    ds = PfafnDataset(pfafn, size=(128, 96))
    item = ds[0]
    assert set(item) == {"person", "cloth", "cloth_mask"}
    assert item["person"].shape == (3, 128, 96) and item["cloth_mask"].shape == (1, 128, 96)
    assert abs(item["cloth_mask"].mean().item() - (160 * 130) / (256 * 192)) < 0.02
    ds.require("person", "cloth_mask")
    with pytest.raises(ClothflowError, match=r"test_img/000066_0.jpg.*clothflow prepare"):
        ds.require("person_parse")
    with pytest.raises(ClothflowError, match="PfafnDataset"):
        VitonDataset(pfafn)


def test_detect_layout_on_each_kind(shared_data, synth, pfafn, tmp_path):
    assert detect_layout(shared_data / "viton_samples" / "test") == "viton"
    assert detect_layout(shared_data / "viton_samples") == "viton"
    assert detect_layout(shared_data / "vitonhd_samples") == "vitonhd"
    assert detect_layout(synth) == "synthetic-viton" and detect_layout(synth / "viton") == "synthetic-viton"
    assert detect_layout(pfafn) == "pfafn"
    assert detect_layout(tmp_path / "empty") is None and detect_layout(synth / "deepfashion") is None
    assert check_layout(shared_data / "viton_samples") == []
    assert check_layout(pfafn) == []
    assert "not a try-on dataset" in check_layout(synth / "deepfashion")[0]

"""DeepFashion pose-transfer data: names, frames, split loading, the dataset, real poses in synth."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from clothflow.data.datasets.deepfashion import (
    DeepFashionPairs,
    detect_frame,
    flatten_name,
    frame_problem,
    load_split,
    map_keypoints,
    raw_name,
    real_pose_sampler,
)
from clothflow.data.formats.keypoints import annotation_row, read_annotation_csv
from clothflow.core.errors import ClothflowError

ANN = "fasion-annotation-test.csv"
PAIRS = "fashion-pairs-test.csv"


@pytest.fixture
def poses_dir(shared_data: Path) -> Path:
    d = shared_data / "deepfashion_test_poses"
    if not (d / ANN).is_file():
        pytest.skip(f"{d / ANN} not found")
    return d


def test_name_mapping_example_and_round_trip(poses_dir: Path) -> None:
    raw = "fashion/WOMEN/Tees_Tanks/id_00005085/45_1_front.jpg"
    flat = "fashionWOMENTees_Tanksid0000508545_1front.jpg"
    assert flatten_name(raw) == flat and raw_name(flat) == raw
    assert flatten_name("img/" + raw[len("fashion/"):]) == flat
    names = list(read_annotation_csv(poses_dir / ANN))
    assert len(names) == 4038
    assert all(flatten_name(raw_name(n)) == n for n in names)
    with pytest.raises(ClothflowError):
        raw_name("person.jpg")


def test_shared_split_loads_with_pose_gan_frame(poses_dir: Path) -> None:
    split = load_split(poses_dir / ANN, poses_dir / PAIRS)
    assert (len(split.poses), len(split.pairs)) == (4038, 8570)
    assert split.unknown_names() == []
    assert split.frame == (256, 256)


def test_frame_detection_rules_and_mismatch() -> None:
    kps = np.full((18, 2), -1, np.float32)
    kps[1] = (100, 80)
    assert detect_frame({"a": kps}, "fasion-resize-annotation-test.csv")[0] == (256, 176)
    wide = kps.copy()
    wide[2] = (200, 90)
    assert detect_frame({"a": wide}, "x.csv")[0] == (256, 256)
    high = kps.copy()
    high[10] = (400, 1000)
    assert detect_frame({"a": high}, "x.csv")[0] == (1101, 750)
    assert detect_frame({"a": kps}, "x.csv", image_hw=(64, 44))[0] == (64, 44)
    assert frame_problem((256, 256), (256, 176)) is None and frame_problem((1101, 750), (256, 176)) is None
    assert "frame" in frame_problem((256, 176), (256, 256))
    moved = map_keypoints(wide, (256, 256), (256, 176))
    assert np.allclose(moved[2], (160, 90)) and (moved[0] == -1).all()


def test_stated_frame_too_small_is_an_error(tmp_path: Path) -> None:
    kps = np.full((18, 2), -1, np.float32)
    kps[1] = (200, 80)
    csv = tmp_path / "ann.csv"
    csv.write_text("name:keypoints_y:keypoints_x\n" + annotation_row("a.jpg", kps) + "\n")
    with pytest.raises(ClothflowError, match="outside the stated 256 x 176"):
        load_split(csv, None, frame=(256, 176))


def test_synthetic_output_loads_with_parsing_and_flow(tmp_path: Path) -> None:
    from clothflow.data.tools.writers import write_dataset

    write_dataset(tmp_path, pairs=2, size=(64, 44), seed=1, progress=False, tryon_pairs=0)
    root = tmp_path / "deepfashion"
    ds = DeepFashionPairs(root, size=(64, 44))
    assert len(ds) == 2 and ds.with_flow and ds.split.frame == (64, 44)
    item = ds[1]
    assert set(item) == {"src_image", "tgt_image", "src_parse", "tgt_parse", "src_pose", "tgt_pose", "flow", "visible"}
    src, tgt = ds.split.pairs[1]
    parse = cv2.imread(str(root / "parsing" / src), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(item["src_parse"].numpy(), parse)
    z = np.load(root / "flow" / f"{Path(src).stem}__{Path(tgt).stem}.npz")
    assert np.allclose(item["flow"].numpy().transpose(1, 2, 0), z["flow"])
    assert np.array_equal(item["tgt_pose"].numpy(), ds.split.poses[tgt])
    assert item["src_image"].min() >= -1 and item["src_image"].max() <= 1


def test_real_photos_coarse_layout_iuv_and_aligned_keypoints(shared_data: Path, poses_dir: Path, tmp_path: Path) -> None:
    root = shared_data / "deepfashion_images_iuv"
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("from,to\nfashionWOMENBlouses_Shirtsid0000635004_1front.jpg,fashionWOMENSkirtsid0000177102_1front.jpg\n")
    ds = DeepFashionPairs(root, pairs_csv=pairs, annotation_csv=poses_dir / ANN)
    assert ds.split.frame == (256, 256) and ds.with_iuv and not ds.with_flow
    item = ds[0]
    assert item["src_iuv"].shape == (3, 256, 176) and item["src_parse"].dtype.is_floating_point is False
    sil = cv2.imread(str(root / "fashionWOMENSkirtsid0000177102_1front_sil.png"), cv2.IMREAD_GRAYSCALE)
    sil = cv2.resize(sil, (174, 256), interpolation=cv2.INTER_NEAREST)
    sil = np.pad(sil, ((0, 0), (1, 1)))
    kps = item["tgt_pose"].numpy()
    on = [sil[int(y), int(x)] > 0 for x, y in kps if x >= 0]
    assert np.mean(on) > 0.8  # the 256 x 256 keypoints land on the person in the 348 x 512 photo
    labels = set(np.unique(item["tgt_parse"].numpy()))
    assert {0, 5, 13}.issubset(labels)


def test_raw_tree_images_and_errors(tmp_path: Path) -> None:
    kps = np.full((18, 2), -1, np.float32)
    kps[[1, 2, 5, 8, 11]] = [(88, 60), (70, 62), (106, 62), (78, 140), (98, 140)]
    names = ["fashionMENDenimid0000000101_1front.jpg", "fashionMENDenimid0000000101_2side.jpg"]
    for n in names:
        p = tmp_path / "img" / raw_name(n).split("/", 1)[1]
        p.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(p), np.full((256, 176, 3), 240, np.uint8))
    (tmp_path / "fasion-resize-annotation-test.csv").write_text(
        "name:keypoints_y:keypoints_x:\r\n" + "\r\n".join(annotation_row(n, kps) for n in names) + "\r\n")
    (tmp_path / "fasion-resize-pairs-test.csv").write_text(f"from,to\n{names[0]},{names[1]}\n")
    item = DeepFashionPairs(tmp_path, size=(128, 88))[0]
    assert np.allclose(item["src_pose"].numpy()[1], (44, 30))
    (tmp_path / "fasion-resize-pairs-test.csv").write_text(f"from,to\n{names[0]},fashionMENDenimid0000000101_9back.jpg\n")
    with pytest.raises(ClothflowError, match="no keypoints"):
        DeepFashionPairs(tmp_path)
    (tmp_path / "fasion-resize-pairs-test.csv").write_text(f"from,to\n{names[0]},{names[1]}\n")
    with pytest.raises(ClothflowError, match="frame"):
        DeepFashionPairs(tmp_path, frame=(256, 80))


def test_real_poses_drive_the_renderer(poses_dir: Path, tmp_path: Path) -> None:
    from clothflow.data.tools.writers import write_dataset

    sampler = real_pose_sampler(poses_dir / ANN)
    assert sampler.frame_hw == (256, 256) and len(sampler.real) == 3418  # 4038 minus 619 empty and 1 without neck or shoulders
    write_dataset(tmp_path, pairs=2, size=(128, 88), seed=0, progress=False, tryon_pairs=0, poses=poses_dir / ANN)
    out = read_annotation_csv(tmp_path / "deepfashion" / "fasion-resize-annotation-test.csv")
    real = map_keypoints(sampler.real.astype(np.float32), (256, 256), (128, 88))
    for kps in out.values():  # every rendered person stands in one of the real poses
        ok = (kps[:, 0] >= 0) & (real[..., 0] >= 0)
        err = np.where(ok, np.abs(real - kps).max(-1), 0).max(-1)
        assert err.min() <= 1.0

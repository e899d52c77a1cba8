"""The real VITON set (skipped when absent): pairs load in the standard layout, at training speed."""

import torch

from clothflow.data.datasets.viton import VitonDataset


def test_train_folder_reads_its_own_pair_list(viton_root):
    ds = VitonDataset(viton_root / "train", size=(256, 192))
    assert ds.pairs_file.name == "train_pairs.txt"  # not the parent's test_pairs.txt
    assert len(ds) == 6824
    item = ds[0]
    assert item["person"].shape == (3, 256, 192) and item["cloth_mask"].shape == (1, 256, 192)
    assert set(item["person_parse"].unique().tolist()) >= {0, 5, 13}  # background, upper clothes, face
    assert torch.equal(item["target"], item["person"])  # paired: the person wears their own garment
    pose = item["person_pose"]
    assert ((pose[:, 0] >= 0) & (pose[:, 0] < 192)).sum() >= 10


def test_test_folder_pairs_and_clean_split(viton_root):
    paired = VitonDataset(viton_root / "test", "test_pairs_same.txt", size=(128, 96))
    unpaired = VitonDataset(viton_root / "test", "test_pairs.txt", size=(128, 96), mode="unpaired")
    assert len(paired) == len(unpaired) == 2032
    assert "target" in paired.keys and "target" not in unpaired.keys
    clean = (viton_root / "test_clean.txt").read_text().split()
    assert len(clean) == 457 and all(n in {p.person for p in paired.pairs} for n in clean)
    assert paired[5]["cloth"].shape == (3, 128, 96)


def test_mirrored_items_swap_sides(viton_root):
    ds = VitonDataset(viton_root / "train", size=(256, 192), mirrored=True)
    assert len(ds) == 2 * 6824
    a, b = ds[3], ds[3 + 6824]
    assert torch.equal(b["person"], a["person"].flip(-1)) and torch.equal(b["cloth"], a["cloth"].flip(-1))
    # the right shoulder (2) of the mirror image is where the left one (5) was, mirrored
    if (a["person_pose"][5] >= 0).all():
        assert torch.allclose(b["person_pose"][2], torch.tensor([191 - a["person_pose"][5, 0], a["person_pose"][5, 1]]))
    left_arm = (a["person_parse"] == 14).sum()
    assert (b["person_parse"] == 15).sum() == left_arm


def test_evaluate_a_tryon_model_on_a_real_pair_list(viton_root, tmp_path):
    import json
    import subprocess

    from clothflow.core.config import apply_overrides
    from clothflow.models.config import preset
    from clothflow.models.pipeline import ClothFlowPipeline

    cfg = apply_overrides(preset("tiny", task="tryon"), ["size=64x48", "layout.base_channels=4",
                                                         "flow.base_channels=4", "render.base_channels=4"])
    ClothFlowPipeline(cfg).save_pretrained(tmp_path / "model")
    names = (viton_root / "test_clean.txt").read_text().split()[:6]
    (tmp_path / "six.txt").write_text("\n".join(names) + "\n")
    run = subprocess.run(["clothflow", "evaluate", "--model", str(tmp_path / "model"), "--data", str(viton_root / "test"),
                          "--pairs", str(tmp_path / "six.txt"), "--out", str(tmp_path / "report")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert report["pairs"] == 6
    assert set(report["paper"]) >= {"ssim", "psnr", "l1", "cloth_ssim"}
    assert 0 < report["paper"]["cloth_ssim"] < 1 and 0 < report["paper"]["ssim"] < 1
    missing = subprocess.run(["clothflow", "evaluate", "--model", str(tmp_path / "model"), "--data",
                              str(viton_root / "test"), "--pairs", "no_such_list.txt", "--out", str(tmp_path / "r2")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no_such_list.txt" in missing.stderr

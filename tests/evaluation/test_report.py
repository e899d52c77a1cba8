"""`clothflow evaluate`: the report folder and what it holds."""

import csv
import json
import shutil

import cv2

from clothflow.apps.cli import main
from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.models.pipeline import ClothFlowPipeline

NARROW = ["layout.base_channels=8", "flow.base_channels=8", "render.base_channels=8"]


def test_evaluate_writes_report(tmp_path, capsys):
    model = tmp_path / "model"
    ClothFlowPipeline(apply_overrides(preset("tiny"), NARROW)).save_pretrained(model)
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(model), "--pairs", "6", "--out", str(out), "--bounding"]) == 0
    printed = capsys.readouterr().out
    assert "FID/IS not computed" in printed  # no published weights here: said, not faked
    assert f"scoring the model {model} (transfer, 64 x 44) on 6 pairs of synthetic" in printed  # which model it scored
    assert printed.rstrip().endswith(f"report written to {out} (model {model})")
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["pairs"] == 6 and summary["deep"]["fid"] is None and summary["deep"]["lpips"] is None
    rows = list(csv.DictReader(open(out / "per_pair.csv")))
    assert len(rows) == 6 and {"ssim", "masked_ssim", "psnr", "l1", "flow_epe", "flow_under_3px"} <= set(rows[0])
    assert abs(sum(float(r["ssim"]) for r in rows) / 6 - summary["paper"]["ssim"]) < 1e-3
    proto = json.loads((out / "protocol.json").read_text())
    assert proto["ssim"]["sigma"] == 1.5 and "10 px" in proto["ssim"]["padding"] and proto["versions"]["torch"]
    grid = cv2.imread(str(out / "grid.png"))
    assert grid is not None and grid.shape[0] > 8 * 64  # best 4 + worst 4 rows


def test_evaluate_bad_data_range(tmp_path, capsys):
    model = tmp_path / "model"
    ClothFlowPipeline(apply_overrides(preset("tiny"), NARROW)).save_pretrained(model)
    assert main(["evaluate", "--model", str(model), "--data-range", "lots", "--out", str(tmp_path / "r")]) == 2
    assert "--data-range" in capsys.readouterr().err


def test_pose_transfer_trains_and_evaluates_on_a_deepfashion_folder(tmp_path, capsys, caplog):
    data = tmp_path / "synth"
    assert main(["synth", "--out", str(data), "--pairs", "3", "--size", "64x44", "--seed", "3"]) == 0
    run = tmp_path / "run"
    sets = [a for s in NARROW for a in ("--set", s)]
    assert main(["train", "--data", str(data / "deepfashion"), "--steps", "1", "--batch-size", "2",
                 "--out", str(run), *sets]) == 0
    assert json.loads((run / "train.json").read_text())["data"] == str(data / "deepfashion")
    out = tmp_path / "report"
    with caplog.at_level("INFO", logger="clothflow"):
        assert main(["evaluate", "--model", str(run), "--data", str(data), "--out", str(out)]) == 0
    assert "parsing maps from" in caplog.text
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["pairs"] == 3 and summary["layout_miou"] is not None  # the folder's 3 pairs, not --pairs
    rows = list(csv.DictReader(open(out / "per_pair.csv")))
    assert len(rows) == 3 and any(0 < float(r["flow_epe"]) < 64 for r in rows)  # the folder's true flow is read
    assert 0 < summary["paper"]["flow_epe"] < 64


def test_evaluate_on_a_deepfashion_folder_without_parsings_uses_the_coarse_layout(tmp_path, caplog):
    data = tmp_path / "synth"
    assert main(["synth", "--out", str(data), "--pairs", "2", "--size", "64x44", "--seed", "5"]) == 0
    shutil.rmtree(data / "deepfashion" / "parsing")
    model = tmp_path / "model"
    ClothFlowPipeline(apply_overrides(preset("tiny"), NARROW)).save_pretrained(model)
    with caplog.at_level("INFO", logger="clothflow"):
        assert main(["evaluate", "--model", str(model), "--data", str(data / "deepfashion"),
                     "--out", str(tmp_path / "r")]) == 0
    assert "coarse layout from pose + person mask" in caplog.text
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["pairs"] == 2


def test_evaluate_a_pose_transfer_model_on_a_tryon_folder_is_an_error(tmp_path, capsys):
    data = tmp_path / "synth"
    assert main(["synth", "--out", str(data), "--pairs", "1", "--size", "64x44"]) == 0
    model = tmp_path / "model"
    ClothFlowPipeline(apply_overrides(preset("tiny"), NARROW)).save_pretrained(model)
    assert main(["evaluate", "--model", str(model), "--data", str(data / "viton"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "try-on folder, and pose transfer needs DeepFashion" in err and str(data / "viton") in err

"""`clothflow evaluate`: the report folder and what it holds."""

import csv
import json

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
    assert "FID/IS not computed" in capsys.readouterr().out  # no published weights here: said, not faked
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

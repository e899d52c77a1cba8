"""`clothflow tryon` on bad real input: one clear line naming the file, exit status 2 (skipped without VITON)."""

import importlib.util
import subprocess

import numpy as np
import pytest
from PIL import Image

from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.models.pipeline import ClothFlowPipeline


@pytest.fixture
def files(viton_root, tmp_path):
    cfg = apply_overrides(preset("tiny", task="tryon"), ["size=64x48", "layout.base_channels=4",
                                                         "flow.base_channels=4", "render.base_channels=4"])
    ClothFlowPipeline(cfg).save_pretrained(tmp_path / "model")
    test = viton_root / "test"
    Image.fromarray(np.full((256, 192, 3), 255, np.uint8)).save(tmp_path / "white.jpg")
    Image.fromarray(np.full((256, 192, 3), 120, np.uint8)).save(tmp_path / "empty_room.jpg")
    data = (test / "image" / "000038_0.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (tmp_path / "pairs.txt").write_text("000038_0.jpg 000038_1.jpg\nmissing_0.jpg 000038_1.jpg\n")
    return {"model": tmp_path / "model", "person": test / "image" / "000038_0.jpg", "cloth": test / "cloth" / "000038_1.jpg",
            "pose": test / "pose" / "000038_0_keypoints.json", "parse": test / "image-parse" / "000038_0.png",
            "tmp": tmp_path, "test": test}


def _tryon(*args) -> tuple[int, str]:
    run = subprocess.run(["clothflow", "tryon", *map(str, args)], capture_output=True, text=True)
    errors = [line for line in run.stderr.splitlines() if line.startswith("clothflow: error:")]
    assert "Traceback" not in run.stderr
    return run.returncode, errors[0] if len(errors) == 1 else run.stderr


def test_a_parser_folder_that_is_not_a_parser(files):
    code, err = _tryon("--model", files["model"], "--person", files["person"], "--cloth", files["cloth"],
                       "--pose", files["pose"], "--parser", files["model"], "--out", files["tmp"] / "o.png")
    assert code == 2 and "not a human parser" in err


def test_all_white_garment(files):
    code, err = _tryon("--model", files["model"], "--person", files["person"], "--cloth", files["tmp"] / "white.jpg",
                       "--pose", files["pose"], "--parse", files["parse"], "--out", files["tmp"] / "o.png")
    assert code == 2 and "white.jpg" in err and "garment mask is empty" in err


def test_truncated_jpeg(files):
    code, err = _tryon("--model", files["model"], "--person", files["tmp"] / "truncated.jpg", "--cloth", files["cloth"],
                       "--pose", files["pose"], "--parse", files["parse"], "--out", files["tmp"] / "o.png")
    assert code == 2 and "truncated.jpg" in err and "not a readable image" in err


def test_pairs_line_naming_a_missing_file(files):
    code, err = _tryon("--model", files["model"], "--data", files["test"], "--pairs", files["tmp"] / "pairs.txt",
                       "--out", files["tmp"] / "batch")
    assert code == 2 and "missing_0.jpg" in err and "pairs.txt:2" in err


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="needs the [pose] extra (mediapipe)")
def test_photo_with_nobody_in_it(files):
    code, err = _tryon("--model", files["model"], "--person", files["tmp"] / "empty_room.jpg", "--cloth", files["cloth"],
                       "--out", files["tmp"] / "o.png")
    assert code == 2 and "empty_room.jpg" in err and "no person found" in err

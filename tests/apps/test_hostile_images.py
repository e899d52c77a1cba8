"""A decompression bomb (a 1.1 MB PNG declaring 20,000 x 20,000 pixels) through the command line:
one line naming the file and exit status 2 for one pair, a listed skip in a folder with
``--skip-bad``; the web page and the live page refuse it the same way."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from clothflow.apps.cli import main
from clothflow.core.config import apply_overrides
from clothflow.core.errors import ClothflowError
from clothflow.data.tools.writers import write_dataset
from clothflow.models.config import preset
from clothflow.models.pipeline import ClothFlowPipeline

REFUSAL = "an image of 400 megapixels by its header; at most 4096 pixels a side"


@pytest.fixture(scope="module")
def tryon(tmp_path_factory):
    """A tiny try-on model and a synthetic VITON folder of 3 pairs."""
    root = tmp_path_factory.mktemp("hostile")
    cfg = apply_overrides(preset("tiny", task="tryon"), ["layout.base_channels=4", "flow.base_channels=4",
                                                         "render.base_channels=4"])
    ClothFlowPipeline(cfg).save_pretrained(root / "model")
    write_dataset(root / "synth", pairs=3, size=(64, 44), seed=3, progress=False)
    return root / "model", root / "synth" / "viton"


def test_tryon_one_pair_with_a_bomb_as_person(tryon, png_bomb, tmp_path):
    model, viton = tryon
    stem = sorted((viton / "image").iterdir())[0].stem
    argv = ["tryon", "--model", model, "--person", png_bomb, "--cloth", sorted((viton / "cloth").iterdir())[0],
            "--parse", viton / "image-parse" / f"{stem}.png",
            "--pose", viton / "openpose_json" / f"{stem}_keypoints.json", "--out", tmp_path / "o.png"]
    run = subprocess.run([sys.executable, "-m", "clothflow", *map(str, argv)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == f"clothflow: error: {png_bomb}: {REFUSAL} (16.8 megapixels) are read"
    assert not (tmp_path / "o.png").exists()


def test_tryon_folder_with_a_bomb_stops_or_skips_it(tryon, png_bomb, tmp_path, capsys):
    model, viton = tryon
    folder = tmp_path / "viton"
    shutil.copytree(viton, folder)
    person = sorted((folder / "image").iterdir())[1]
    person.write_bytes(png_bomb.read_bytes())  # a PNG named .jpg: read by its content
    assert main(["tryon", "--model", str(model), "--data", str(folder), "--out", str(tmp_path / "stop")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert errors == [f"clothflow: error: {person}: {REFUSAL} (16.8 megapixels) are read"]
    argv = ["tryon", "--model", str(model), "--data", str(folder), "--out", str(tmp_path / "skip"), "--skip-bad"]
    assert main(argv) == 0
    report = capsys.readouterr().out
    assert "skipped 1 bad pairs" in report and f"{person}: {REFUSAL}" in report
    assert len(list((tmp_path / "skip").glob("*__*.png"))) == 2
    assert person.name in (tmp_path / "skip" / "skipped.txt").read_text()


def test_prepare_refuses_a_bomb_before_looking_for_a_person(png_bomb, tmp_path, capsys):
    assert main(["prepare", "--image", str(png_bomb), "--out", str(tmp_path / "p")]) == 2
    assert f"{png_bomb}: {REFUSAL}" in capsys.readouterr().err


def test_web_upload_and_live_frame_refuse_a_bomb(png_bomb):
    from clothflow.apps.live.session import decode_jpeg, encode_jpeg
    from clothflow.apps.web.backend import read_upload

    with pytest.raises(ClothflowError, match=f"^the person photo is {REFUSAL}"):
        read_upload(png_bomb, "person photo")
    with pytest.raises(ClothflowError, match=f"^a camera frame is {REFUSAL}"):
        decode_jpeg(png_bomb.read_bytes())
    assert decode_jpeg(encode_jpeg(np.zeros((8, 8, 3), np.uint8))).shape == (8, 8, 3)  # frames still pass

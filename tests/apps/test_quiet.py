"""A command's own lines are what the user sees: libraries' logs only with ``-v``.

MediaPipe and TensorFlow Lite write from C++ to descriptor 2, and the ONNX exporter logs
dozens of lines through Python's logging; both are checked in a real process, as a user runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
# What the libraries print: absl/glog lines (W0000 ..., I1205 ...), TFLite's INFO, OpenCV's [ WARN:0 ...],
# torch's exporter warnings and the ONNX optimiser's INFO lines ("Replaced initializer ...").
NATIVE = re.compile(r"^([IWEF]\d{4} |INFO: Created TensorFlow Lite|WARNING: All log messages|\[ *WARN:)", re.M)


def _clothflow(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1"}
    for name in ("GLOG_minloglevel", "TF_CPP_MIN_LOG_LEVEL", "OPENCV_LOG_LEVEL"):  # as a user's shell has them
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "clothflow", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_estimating_a_pose_prints_only_the_commands_lines(tmp_path):
    pytest.importorskip("mediapipe", reason="needs the [pose] extra")
    from PIL import Image
    from skimage.data import astronaut

    Image.fromarray(np.ascontiguousarray(astronaut())).save(tmp_path / "photo.png")
    quiet = _clothflow("prepare", "--image", "photo.png", "--out", "out", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert not NATIVE.search(quiet.stderr), quiet.stderr
    assert quiet.stderr.strip() == ""
    assert "keypoints" in quiet.stdout and (tmp_path / "out" / "photo_keypoints.json").is_file()
    loud = _clothflow("prepare", "--image", "photo.png", "--out", "out", "-v", cwd=tmp_path)
    assert loud.returncode == 0, loud.stderr
    assert NATIVE.search(loud.stderr), loud.stderr  # -v shows what MediaPipe says


@pytest.mark.slow
def test_export_prints_only_what_it_wrote(tmp_path):
    pytest.importorskip("onnxscript", reason="needs the [onnx] extra")
    from clothflow.core.config import apply_overrides
    from clothflow.models.config import preset
    from clothflow.models.pipeline import ClothFlowPipeline

    narrow = ["layout.base_channels=8", "flow.base_channels=8", "render.base_channels=8", "layout.depth=2",
              "render.depth=2", "flow.num_levels=2"]
    ClothFlowPipeline(apply_overrides(preset("tiny"), narrow)).save_pretrained(tmp_path / "model")
    quiet = _clothflow("export", "--model", "model", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.strip() == "", quiet.stderr  # no "Replaced initializer ...", no torchvision warnings
    assert quiet.stdout.startswith("wrote model/model.onnx")
    loud = _clothflow("-v", "export", "--model", "model", cwd=tmp_path)
    assert loud.returncode == 0, loud.stderr
    assert len(loud.stderr.splitlines()) > 5  # the exporter's and optimiser's own lines, asked for

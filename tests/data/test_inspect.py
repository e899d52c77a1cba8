"""``clothflow inspect``: layouts recognised, counts reported, problems listed, exit status."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clothflow.apps.cli import main
from clothflow.data.tools.inspect_folder import Report, format_report, inspect_path
from clothflow.data.formats.keypoints import annotation_row


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory) -> Path:
    from clothflow.data.tools.writers import write_dataset

    root = tmp_path_factory.mktemp("synth")
    write_dataset(root, pairs=2, size=(64, 44), seed=0, progress=False)
    return root


def test_synthetic_output_root_is_usable(synth_root: Path, capsys) -> None:
    assert main(["inspect", str(synth_root)]) == 0
    out = capsys.readouterr().out
    assert "synthetic output" in out and "DeepFashion pose transfer (synthetic" in out
    assert "4 poses" in out and "2 pairs" in out and "frame 64 x 44" in out and "2 of 2 pairs have ground-truth flow" in out


def test_shared_deepfashion_poses_counts(shared_data: Path, capsys) -> None:
    d = shared_data / "deepfashion_test_poses"
    assert main(["inspect", str(d)]) == 0
    out = capsys.readouterr().out
    assert "4038 poses" in out and "8570 pairs" in out and "frame 256 x 256" in out


def test_broken_deepfashion_exits_2_and_caps_problems(tmp_path: Path, capsys) -> None:
    kps = np.full((18, 2), -1, np.float32)
    (tmp_path / "fasion-annotation-test.csv").write_text("name:keypoints_y:keypoints_x\n" + annotation_row("a.jpg", kps) + "\n")
    (tmp_path / "fasion-pairs-test.csv").write_text("from,to\n" + "".join(f"a.jpg,u{i}.jpg\n" for i in range(25)))
    assert main(["inspect", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "UNUSABLE, 25 problems" in captured.out and "... and 5 more" in captured.out
    assert "u0.jpg" in captured.out and "not usable" in captured.err


def test_unreadable_csv_and_unknown_folder(tmp_path: Path, capsys) -> None:
    (tmp_path / "fasion-annotation-test.csv").write_text("name:keypoints_y:keypoints_x\nbad row\n")
    (tmp_path / "fasion-pairs-test.csv").write_text("from,to\na.jpg,b.jpg\n")
    rep = inspect_path(tmp_path)
    assert not rep.usable and "line 2" in rep.problems[0] and "fasion-annotation-test.csv" in rep.problems[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["inspect", str(empty)]) == 2
    assert "no known dataset layout" in capsys.readouterr().out


def test_viton_sample_recognised(shared_data: Path) -> None:
    rep = inspect_path(shared_data / "viton_samples")
    assert rep.kind.startswith("VITON") and any(k == "pairs" for k, _ in rep.facts)
    hd = inspect_path(shared_data / "vitonhd_samples")
    assert hd.kind == "VITON-HD"


def test_format_report_aligns_facts() -> None:
    rep = Report(Path("x"), "kind", facts=[("a", "1"), ("longer", "2")])
    lines = format_report(rep).splitlines()
    assert lines[1].index("1") == lines[2].index("2")

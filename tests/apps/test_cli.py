import pytest

from clothflow.apps.cli import main


def _one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("clothflow: error:"), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["synth", "--out", "x", "--size", "256by176"], "HxW"),
        (["synth", "--out", "x", "--size", "256x"], "HxW"),
        (["synth", "--out", "x", "--pairs", "-3"], "must be positive"),
        (["synth", "--out", "x", "--pairs", "many"], "whole number"),
        (["synth"], "--out"),
        (["train", "--out", "r", "--set", "flow.nope=1"], "no option 'nope'"),
        (["train", "--out", "r", "--preset", "huge"], "unknown preset"),
        (["transfer", "--model", "nowhere", "--source", "a.png", "--source-parse", "b.png",
          "--target-pose", "c.json", "--out", "o.png"], "neither a model folder nor a shipped model"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_arguments_one_line(capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    assert words in _one_line_error(capsys, argv)


def test_unwritable_folder(capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    line = _one_line_error(capsys, ["synth", "--out", str(blocker / "sub"), "--pairs", "1"])
    assert "cannot write" in line and "file.txt" in line

"""Shipped models by name: `clothflow models`, from_pretrained("name"), and a clear error for a wrong name."""

import pytest
import torch

from clothflow.apps.cli import main
from clothflow.core import pretrained
from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.models.pipeline import ClothFlowPipeline


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    cfg = apply_overrides(preset("tiny", task="tryon"), ["layout.base_channels=4", "flow.base_channels=4",
                                                         "render.base_channels=4"])
    ClothFlowPipeline(cfg).save_pretrained(tmp_path / "tryon-small", dtype=torch.float16)
    (tmp_path / "tryon-small" / "card.md").write_text("# tryon-small: a small try-on model\n\n- data: none\n")
    (tmp_path / "not-a-model").mkdir()
    monkeypatch.setattr(pretrained, "SHIPPED_DIR", tmp_path)
    return tmp_path


def test_models_are_listed_and_loaded_by_name(shipped, capsys):
    assert main(["models"]) in (0, None)
    out = capsys.readouterr().out
    assert "tryon-small: a small try-on model" in out and "not-a-model" not in out
    assert main(["models", "tryon-small"]) in (0, None)
    assert "- data: none" in capsys.readouterr().out
    pipe = ClothFlowPipeline.from_pretrained("tryon-small")
    assert pipe.config.task == "tryon" and pipe.render.parameters().__next__().dtype == torch.float32


def test_a_wrong_name_lists_the_shipped_ones(shipped, capsys):
    code = main(["tryon", "--model", "no-such-model", "--person", "p.jpg", "--cloth", "c.jpg", "--out", "o.png"])
    err = capsys.readouterr().err
    assert code == 2 and "no-such-model" in err and "tryon-small" in err


def test_commands_without_model_take_the_shipped_default_or_say_what_to_give(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "SHIPPED_DIR", tmp_path / "none")
    pose = tmp_path / "pose.json"
    pose.write_text("[]")
    commands = {
        "transfer": ["transfer", "--source", "s.jpg", "--target-pose", str(pose), "--out", str(tmp_path / "o.png")],
        "tryon": ["export"],
        "inpaint": ["inpaint", "--synthetic", "0", "--erase", "upper", "--out", str(tmp_path / "i")],
    }
    for use, argv in commands.items():
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert pretrained.DEFAULT_MODELS[use] in err and "give --model" in err, err

    shipped = tmp_path / "pretrained"
    ClothFlowPipeline(preset("tiny")).save_pretrained(shipped / pretrained.DEFAULT_MODELS["transfer-synthetic"])
    monkeypatch.setattr(pretrained, "SHIPPED_DIR", shipped)
    report = tmp_path / "report"
    assert main(["evaluate", "--pairs", "4", "--out", str(report)]) in (0, None)
    assert (report / "metrics.json").is_file()

"""The save/load mixin: config.json carries the kind, and a folder of another kind says what it holds."""

import json
import stat

import pytest
import torch

from clothflow.apps.cli import main
from clothflow.core.errors import ClothflowError
from clothflow.core.pretrained import infer_kind, read_config, stored_kind
from clothflow.finet.config import FinetConfig
from clothflow.finet.models import FinetModel
from clothflow.models.pipeline import ClothFlowPipeline

FINET_TINY = FinetConfig(base_channels=4, depth=2, z_dim=4, encoder_channels=4)


@pytest.fixture
def clothflow_folder(tmp_path, tiny_cfg):
    pipe = ClothFlowPipeline(tiny_cfg)
    pipe.save_pretrained(tmp_path / "clothflow")
    return tmp_path / "clothflow", pipe


@pytest.fixture
def finet_folder(tmp_path):
    model = FinetModel(FINET_TINY)
    model.save_pretrained(tmp_path / "finet")
    return tmp_path / "finet", model


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_both_models_save_their_kind_and_load_back(clothflow_folder, finet_folder):
    cases = ((clothflow_folder, ClothFlowPipeline, "clothflow"), (finet_folder, FinetModel, "finet"))
    for (folder, model), cls, kind in cases:
        assert json.loads((folder / "config.json").read_text())["kind"] == kind
        assert stored_kind(folder) == kind
        loaded = cls.from_pretrained(folder)
        assert loaded.config == model.config and not loaded.training
        assert _same_weights(model, loaded)


def test_saved_files_are_readable_by_others(clothflow_folder):
    folder, _ = clothflow_folder
    for name in ("config.json", "model.safetensors"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o644, name
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]  # no temporaries


def test_a_folder_of_the_other_kind_says_what_it_holds(clothflow_folder, finet_folder):
    with pytest.raises(ClothflowError, match="holds a FiNet inpainting model.*clothflow inpaint --model"):
        ClothFlowPipeline.from_pretrained(finet_folder[0])
    with pytest.raises(ClothflowError, match="holds a ClothFlow pipeline.*clothflow transfer"):
        FinetModel.from_pretrained(clothflow_folder[0])


def test_the_command_line_says_it_in_one_line(clothflow_folder, finet_folder, tmp_path, capsys):
    argv = ["transfer", "--model", str(finet_folder[0]), "--source", "x.png", "--target-pose", "p.json", "--out",
            str(tmp_path / "o.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "holds a FiNet inpainting model" in err and str(finet_folder[0]) in err
    argv = ["inpaint", "--model", str(clothflow_folder[0]), "--synthetic", "0", "--erase", "upper", "--out",
            str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "holds a ClothFlow pipeline" in err


def test_folders_saved_before_kind_existed_still_load(clothflow_folder, finet_folder):
    for (folder, model), cls in ((clothflow_folder, ClothFlowPipeline), (finet_folder, FinetModel)):
        data = json.loads((folder / "config.json").read_text())
        del data["kind"]
        (folder / "config.json").write_text(json.dumps(data))
        assert _same_weights(model, cls.from_pretrained(folder))
    with pytest.raises(ClothflowError, match="holds a ClothFlow pipeline"):  # the kind is inferred for the check too
        FinetModel.from_pretrained(clothflow_folder[0])


def test_unknown_and_unreadable_configs(tmp_path):
    assert infer_kind({"something": 1}) is None and stored_kind(tmp_path) is None
    (tmp_path / "config.json").write_text(json.dumps({"something": 1}))
    with pytest.raises(ClothflowError, match="fits no known model"):
        read_config(tmp_path, "clothflow")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ClothflowError, match="unreadable model config"):
        read_config(tmp_path, "finet")
    assert stored_kind(tmp_path) is None
    with pytest.raises(ClothflowError, match="not a saved clothflow model"):  # no weights
        ClothFlowPipeline.from_pretrained(tmp_path)

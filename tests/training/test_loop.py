"""The shared loop and the training settings: run folder checks, logs, budget, stored train.json files."""

import json
import stat
import subprocess
import sys
from dataclasses import replace

import pytest

from clothflow.core.config import apply_overrides, from_dict
from clothflow.core.errors import ClothflowError
from clothflow.finet.config import FinetConfig, FinetTrainConfig
from clothflow.finet.models import FinetModel
from clothflow.training.settings import LoopConfig, TrainConfig, preset_training
from clothflow.training.stages import train

BASE = TrainConfig(stage="flow", steps=3, batch_size=2, num_pairs=4, checkpoint_every=2, log_every=2)


def test_run_folder_files_and_losses_log(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    train(run, tiny_cfg, BASE, progress=False)
    assert json.loads((run / "config.json").read_text())["kind"] == "clothflow"
    assert json.loads((run / "train.json").read_text())["steps"] == 3
    for name in ("config.json", "train.json", "checkpoint.safetensors", "model.safetensors"):
        assert stat.S_IMODE((run / name).stat().st_mode) == 0o644, name
    lines = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert [(x["stage"], x["step"]) for x in lines] == [("flow", 2), ("flow", 3)]  # every log_every, and the last
    assert {"total", "perceptual", "mask", "smooth", "seconds"} <= lines[0].keys()


def test_time_budget_stops_and_saves(tmp_path, tiny_cfg):
    run = tmp_path / "run"
    seen = []
    train(run, tiny_cfg, replace(BASE, stage="all", steps=50, minutes=1e-6), progress=False,
          on_step=lambda stage, step, losses: seen.append((stage, step)))
    assert seen == [("layout", 1), ("flow", 1), ("render", 1)]  # each stage stops after its first step
    assert (run / "model.safetensors").is_file()


def test_resume_checks_the_folder(tmp_path, tiny_cfg):
    with pytest.raises(ClothflowError, match="not a training run"):
        train(tmp_path / "empty", resume=True, progress=False)
    finet_run = tmp_path / "finet"
    FinetModel(FinetConfig(base_channels=4, depth=2, z_dim=4, encoder_channels=4)).save_pretrained(finet_run)
    (finet_run / "train.json").write_text(json.dumps({"steps": 1}))
    with pytest.raises(ClothflowError, match="holds a FiNet inpainting model"):
        train(finet_run, resume=True, progress=False)


def test_train_json_of_earlier_versions_loads():
    # TrainConfig as stored before per-stage rates, devices and bf16 existed
    old = {"stage": "all", "steps": 20, "batch_size": 4, "lr": 1e-4, "data": "synthetic", "num_pairs": 8, "seed": 3,
           "checkpoint_every": 5, "log_every": 1, "workers": 0, "minutes": 0.0,
           "loss": {"layout_class_weighting": False, "flow": {"perceptual": 1.0, "mask": 1.0, "smooth": 0.05},
                    "render": {"l1": 1.0, "perceptual": 1.0, "style": 0.0}, "vgg19": ""}}
    cfg = from_dict(TrainConfig, old)
    assert (cfg.steps, cfg.lr, cfg.seed, cfg.loss.flow.smooth, cfg.loss.render.style) == (20, 1e-4, 3, 0.05, 0.0)
    assert cfg.learning_rate("flow") == 1e-4 and cfg.device == "auto" and not cfg.bf16
    # FiNet's, stored before it shared the loop's fields (no log_every, workers, device)
    finet_old = {"steps": 400, "batch_size": 16, "lr": 2e-4, "num_items": 2000, "seed": 0, "kl_weight": 0.01,
                 "ssim_weight": 0.5, "checkpoint_every": 100, "minutes": 0.0}
    finet = FinetTrainConfig.from_dict(finet_old)
    assert isinstance(finet, LoopConfig) and (finet.lr, finet.log_every, finet.workers) == (2e-4, 25, 0)


def test_settings_keys_as_the_readme_documents():
    cfg = apply_overrides(TrainConfig(), ["lr=1e-4", "stage_lr.flow=4e-4", "loss.flow.smooth=0.05", "bf16=true",
                                          "workers=2"])
    assert (cfg.learning_rate("layout"), cfg.learning_rate("flow"), cfg.loss.flow.smooth) == (1e-4, 4e-4, 0.05)
    assert cfg.bf16 and cfg.workers == 2
    assert apply_overrides(TrainConfig(), preset_training("tiny")).learning_rate("render") == 3.2e-3
    assert preset_training("paper") == []
    with pytest.raises(ClothflowError, match="unknown preset"):
        preset_training("huge")


def test_the_loop_does_not_import_the_pipeline():
    code = ("import sys, clothflow.training.loop, clothflow.finet.train; "
            "assert 'clothflow.models.pipeline' not in sys.modules, 'pipeline imported'")
    subprocess.run([sys.executable, "-c", code], check=True)

"""End-to-end through the command line: synth -> train -> transfer, and the demo's outputs."""

import json

import cv2
import numpy as np
import torch

from clothflow.apps.cli import main
from clothflow.data.formats.keypoints import read_annotation_csv
from clothflow.apps.demo import DemoConfig, run_demo
from clothflow.data.datasets.synthetic import SyntheticPairs
from clothflow.evaluation.evaluate import evaluate
from clothflow.models.pipeline import ClothFlowPipeline

NARROW = ["--set", "layout.base_channels=8", "--set", "flow.base_channels=8", "--set", "render.base_channels=8"]


def test_synth_train_transfer_on_files(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["synth", "--out", str(data), "--pairs", "2", "--size", "64x44", "--seed", "3"]) == 0
    run = tmp_path / "run"
    argv = ["train", "--out", str(run), "--steps", "2", "--batch-size", "2", "--set", "train.num_pairs=4", *NARROW]
    assert main(argv) == 0
    assert (run / "model.safetensors").is_file()

    df = data / "deepfashion"
    pairs = (df / "fasion-resize-pairs-test.csv").read_text().splitlines()[1:]
    src_name, tgt_name = pairs[0].split(",")
    tgt_kps = read_annotation_csv(df / "fasion-resize-annotation-test.csv")[tgt_name]
    pose_file = tmp_path / "target_pose.json"
    pose_file.write_text(json.dumps(tgt_kps.tolist()))
    out = tmp_path / "out.png"
    stem = src_name.rsplit(".", 1)[0]
    argv = ["transfer", "--model", str(run), "--source", str(df / "images" / src_name),
            "--source-parse", str(df / "parsing" / f"{stem}.png"), "--target-pose", str(pose_file), "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    image = cv2.imread(str(out))
    assert image is not None and image.shape == (64, 44, 3)


def test_transfer_bad_files_name_the_file(tmp_path, capsys):
    model = tmp_path / "m"
    from clothflow.models.config import preset

    ClothFlowPipeline(preset("tiny")).save_pretrained(model)
    src = tmp_path / "person.jpg"
    src.write_text("this is not a jpeg")
    parse = tmp_path / "parse.png"
    cv2.imwrite(str(parse), np.zeros((64, 44), np.uint8))
    pose_file = tmp_path / "pose.json"
    pose_file.write_text(json.dumps({"people": []}))
    base = ["transfer", "--model", str(model), "--source-parse", str(parse), "--out", str(tmp_path / "o.png")]

    assert main(base + ["--source", str(src), "--target-pose", str(pose_file)]) == 2
    assert "person.jpg: not a readable image" in capsys.readouterr().err

    cv2.imwrite(str(src), np.zeros((64, 44, 3), np.uint8))
    assert main(base + ["--source", str(src), "--target-pose", str(pose_file)]) == 2
    assert "pose.json" in capsys.readouterr().err

    pose_file.write_text(json.dumps([[1, 2]] * 17))
    assert main(base + ["--source", str(src), "--target-pose", str(pose_file)]) == 2
    assert "18 [x, y]" in capsys.readouterr().err


def _figures(metrics: dict, path: str = "") -> dict[str, float]:
    """The numbers of a metrics dict, flattened (``warp_ssim.clothflow``), less the time and the config."""
    found = {}
    for key, value in metrics.items():
        if isinstance(value, dict) and key != "config":
            found.update(_figures(value, f"{path}{key}."))
        elif isinstance(value, (int, float)) and key != "seconds":
            found[f"{path}{key}"] = float(value)
    return found


def _differ(a: dict[str, float], b: dict[str, float]) -> list[str]:
    """The figures that differ by more than rounding."""
    assert a.keys() == b.keys() and a
    return [k for k in a if abs(a[k] - b[k]) > 1e-3 * max(1.0, abs(b[k]))]


def test_demo_writes_model_grid_and_metrics(tmp_path):
    cfg = DemoConfig(steps=2, batch_size=2, train_pairs=8, eval_pairs=4)
    metrics = run_demo(tmp_path, cfg, progress=False)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved == metrics
    for key in ("clothflow", "no_warp"):
        assert 0 <= saved["warp_ssim"][key] <= 1
    assert saved["flow_epe"]["zero_flow"] > 0 and saved["flow_epe"]["clothflow"] >= 0
    assert 0 <= saved["layout_miou"] <= 1 and saved["final_l1"] > 0 and saved["seconds"] > 0
    grid = cv2.imread(str(tmp_path / "results.png"))
    assert grid is not None and grid.shape[1] >= 6 * 44  # six columns
    pipe = ClothFlowPipeline.from_pretrained(tmp_path / "model")
    assert pipe.config.size == (64, 44)
    # the figures are the saved model's on held-out pairs (another seed than training's), and
    # not those of the untrained network it started from
    held_out = SyntheticPairs(num_pairs=cfg.eval_pairs, size=(64, 44), seed=cfg.seed + 1)
    again = _figures(evaluate(pipe, held_out)[0])
    assert not _differ(_figures(saved), again), _differ(_figures(saved), again)
    torch.manual_seed(cfg.seed)
    untrained = _figures(evaluate(ClothFlowPipeline(pipe.config).eval(), held_out)[0])
    assert _differ(again, untrained)
    on_training_pairs = _figures(evaluate(pipe, SyntheticPairs(num_pairs=cfg.eval_pairs, size=(64, 44), seed=cfg.seed))[0])
    assert _differ(again, on_training_pairs)
    trained = json.loads((tmp_path / "model" / "train.json").read_text())
    assert trained["stage_lr"] == {"layout": 3.2e-3, "flow": 4e-4, "render": 3.2e-3}  # the tiny preset's rates


def test_train_preset_brings_its_learning_rates(tmp_path):
    run = tmp_path / "fast"
    argv = ["train", "--preset", "fast", "--out", str(run), "--steps", "1", "--batch-size", "2",
            "--set", "size=64x44", "--set", "train.num_pairs=2", "--set", "train.stage_lr.render=5e-4"]
    assert main(argv) == 0
    stored = json.loads((run / "train.json").read_text())
    assert stored["lr"] == 2e-4
    assert stored["stage_lr"] == {"layout": 3.2e-3, "flow": 4e-4, "render": 5e-4}  # --set wins over the preset


def test_demo_runs_the_shipped_models_and_trains_only_when_asked(tmp_path, monkeypatch, capsys):
    """With synthetic models shipped (tiny stand-ins here), `demo` evaluates them: both tasks, grids at 256 px rows."""
    from clothflow.apps import demo
    from clothflow.core import pretrained
    from clothflow.models.config import preset

    shipped = tmp_path / "pretrained"
    names = {task: pretrained.DEFAULT_MODELS[use] for task, use in demo.DEMO_USES.items()}
    for task, name in names.items():
        ClothFlowPipeline(preset("tiny", task=task)).save_pretrained(shipped / name)
    monkeypatch.setattr(pretrained, "SHIPPED_DIR", shipped)
    out = tmp_path / "d"
    assert main(["demo", "--out", str(out), "--pairs", "4"]) == 0
    said = capsys.readouterr().out
    assert "transfer-synthetic-256" in said and "tryon-synthetic-256" in said
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["models"] == names and saved["pairs"] == 4 and saved["tryon"]["pairs"] == 4
    for m in (saved, saved["tryon"]):
        assert {"warp_ssim", "flow_epe", "layout_miou", "final_ssim", "final_l1"} <= set(m)
    for grid_png in ("results.png", "results_tryon.png"):
        grid = cv2.imread(str(out / grid_png))
        assert grid.shape[0] >= 256 * 4 and grid.shape[1] >= 6 * 176  # rows of 256 px pictures
    assert not (out / "model").exists()  # nothing trained

    assert main(["demo", "--out", str(out), "--steps", "2"]) == 2
    assert "for --train" in capsys.readouterr().err
    called = []
    monkeypatch.setattr(demo, "run_demo", lambda out, cfg: called.append(cfg) or {})
    monkeypatch.setattr(demo, "summary", lambda metrics, out: "")
    assert main(["demo", "--train", "--out", str(tmp_path / "t"), "--task", "tryon"]) == 0
    assert called[0].task == "tryon" and "from scratch" in capsys.readouterr().out

"""Training steps of every variant, save / load / resume, and the command line."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from clothflow.apps.cli import main
from clothflow.finet.config import FINET_VARIANTS, FinetConfig, FinetTrainConfig
from clothflow.finet.data import HELD_OUT_SEED, InpaintDataset, outfit_item
from clothflow.finet.models import FinetModel
from clothflow.finet.objective import batch_inputs
from clothflow.finet.train import train_inpaint

torch.set_num_threads(1)
TINY = dict(base_channels=4, depth=2, z_dim=4, encoder_channels=4)
TINY_SETS = [f"model.{k}={v}" for k, v in TINY.items()]


@pytest.fixture(scope="module")
def dataset():
    return InpaintDataset(4, size=(64, 44), seed=0)


@pytest.mark.parametrize("variant", FINET_VARIANTS)
def test_one_step_per_variant_saves_and_loads_identically(variant, dataset, tmp_path):
    losses = []
    model = train_inpaint(tmp_path, FinetConfig(variant=variant, **TINY), FinetTrainConfig(steps=2, batch_size=2, num_items=4),
                          dataset=dataset, on_step=lambda step, terms: losses.append(terms))
    assert len(losses) == 2 and all(np.isfinite(t["total"]) for t in losses)
    assert (losses[0]["kl_shape"] > 0) == (variant != "pix2pix_noise")
    loaded = FinetModel.from_pretrained(tmp_path)
    assert loaded.config == model.config
    x = batch_inputs({k: v[None] for k, v in dataset[0].items()})
    with torch.no_grad():
        a = model.sample(x, 1, torch.Generator().manual_seed(3))[0]
        b = loaded.sample(x, 1, torch.Generator().manual_seed(3))[0]
    assert torch.equal(a.image, b.image)


def _initial_weights(cfg: FinetConfig, train_cfg: FinetTrainConfig) -> dict[str, torch.Tensor]:
    """The weights a new run starts from: ``train_inpaint`` seeds the RNG with the run's seed, then builds the model."""
    torch.manual_seed(train_cfg.seed)
    return FinetModel(cfg).state_dict()


def _moved(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> float:
    """The share of the tensors that differ between two state dicts."""
    return sum(not torch.equal(before[k], after[k]) for k in after) / len(after)


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(dataset, tmp_path):
    cfg = FinetConfig(**TINY)
    straight = train_inpaint(tmp_path / "a", cfg, FinetTrainConfig(steps=3, batch_size=2, num_items=4), dataset=dataset)
    first = train_inpaint(tmp_path / "b", cfg, FinetTrainConfig(steps=1, batch_size=2, num_items=4), dataset=dataset)
    first = {k: v.clone() for k, v in first.state_dict().items()}
    resumed = train_inpaint(tmp_path / "b", train_cfg=FinetTrainConfig(steps=3, batch_size=2, num_items=4), resume=True, dataset=dataset)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name
    # the first step trained the seeded initial weights, and the resumed steps trained on from there
    moved = _moved(_initial_weights(cfg, FinetTrainConfig()), first), _moved(first, resumed.state_dict())
    assert min(moved) > 0.5, moved


def _not_dress_index() -> int:
    return next(i for i in range(50) if int(outfit_item(HELD_OUT_SEED, i, (64, 44))["region"]) != 2)


def test_cli_trains_and_writes_k_samples_and_a_grid(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--task", "inpaint", "--variant", "no_compat", "--steps", "1", "--batch-size", "2",
                 "--set", "train.num_items=2", *sum((["--set", s] for s in TINY_SETS), []), "--out", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["variant"] == "no_compat"
    out = tmp_path / "samples"
    assert main(["inpaint", "--model", str(run), "--synthetic", str(_not_dress_index()), "--erase", "upper",
                 "--samples", "3", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["grid.png", "sample_01.png", "sample_02.png", "sample_03.png"]
    assert Image.open(out / "sample_01.png").size == (44, 64)
    # the photo form: image, LIP parsing and keypoints written to files
    item = outfit_item(HELD_OUT_SEED, _not_dress_index(), (64, 44))
    img = ((item["image"].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    lip = np.array([0, 2, 13, 5, 6, 9, 14, 16, 18], np.uint8)[item["classes"].numpy()]  # a LIP id per class
    Image.fromarray(img).save(tmp_path / "p.png")
    Image.fromarray(lip).save(tmp_path / "p_parse.png")
    (tmp_path / "p.json").write_text(json.dumps(item["keypoints"].tolist()))
    out2 = tmp_path / "photo"
    assert main(["inpaint", "--model", str(run), "--image", str(tmp_path / "p.png"), "--parse", str(tmp_path / "p_parse.png"),
                 "--pose", str(tmp_path / "p.json"), "--erase", "lower", "--samples", "2", "--out", str(out2)]) == 0
    assert (out2 / "grid.png").is_file() and (out2 / "sample_02.png").is_file()
    capsys.readouterr()
    assert main(["inpaint", "--model", str(run), "--image", str(tmp_path / "missing.png"), "--parse", "x", "--pose", "y",
                 "--erase", "upper", "--out", str(out2)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing.png" in err and "not found" in err
    assert main(["inpaint", "--model", str(run), "--synthetic", "0", "--erase", "hat", "--out", str(out2)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot erase 'hat'" in err
    assert main(["inpaint", "--model", str(tmp_path), "--synthetic", "0", "--erase", "upper", "--out", str(out2)]) == 2
    assert "not a saved inpainting model" in capsys.readouterr().err


def test_interrupted_run_saves_and_resumes_to_the_same_weights(dataset, tmp_path):
    cfg, train_cfg = FinetConfig(**TINY), FinetTrainConfig(steps=3, batch_size=2, num_items=4, checkpoint_every=100)
    straight = train_inpaint(tmp_path / "a", cfg, train_cfg, dataset=dataset)

    def interrupt(step, terms):
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # Ctrl-C: the checkpoint and the model are saved
        train_inpaint(tmp_path / "b", cfg, train_cfg, dataset=dataset, on_step=interrupt)
    assert (tmp_path / "b" / "model.safetensors").is_file()
    interrupted = FinetModel.from_pretrained(tmp_path / "b").state_dict()
    resumed_steps = []
    resumed = train_inpaint(tmp_path / "b", resume=True, dataset=dataset, on_step=lambda s, t: resumed_steps.append(s))
    assert resumed_steps == [3]
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name
    # the 2 steps before Ctrl-C trained the seeded initial weights, the resumed step trained on
    moved = _moved(_initial_weights(cfg, train_cfg), interrupted), _moved(interrupted, resumed.state_dict())
    assert min(moved) > 0.5, moved
    lines = [json.loads(line) for line in (tmp_path / "a" / "losses.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] == 3 and "seconds" in lines[-1] and "kl_shape" in lines[-1]


NEW_RUN = ["train", "--task", "inpaint", "--steps", "1", "--batch-size", "2", "--set", "train.num_items=2",
           *sum((["--set", s] for s in TINY_SETS), [])]


@pytest.mark.parametrize("flags, named", [
    (["--preset", "paper"], "--preset"),
    (["--stage", "flow"], "--stage"),
    (["--data", "some/folder"], "--data"),
    (["--stage", "render", "--preset", "tiny"], "--preset and --stage"),
])
def test_clothflow_only_flags_are_refused(flags, named, tmp_path, capsys):
    assert main([*NEW_RUN, *flags, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    verb = "apply" if " and " in named else "applies"
    assert err.count("\n") == 0 and f"{named} {verb} only to ClothFlow" in err
    assert not (tmp_path / "run").exists()


def test_workers_are_used_and_a_run_resumes_without_naming_its_task(tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*NEW_RUN, "--workers", "1", "--data", "synthetic", "--out", str(run)]) == 0
    assert json.loads((run / "train.json").read_text())["workers"] == 1
    assert main(["train", "--resume", str(run), "--steps", "2", "--workers", "0"]) == 0
    assert "run resumed and finished" in capsys.readouterr().out
    stored = json.loads((run / "train.json").read_text())
    assert (stored["steps"], stored["workers"]) == (2, 0)
    assert main(["train", "--resume", str(run), "--variant", "no_compat"]) == 2
    assert "keeps its model config" in capsys.readouterr().err


@pytest.mark.slow
def test_two_processes_train_an_inpainting_run(tmp_path, capsys):
    run = tmp_path / "ddp"
    assert main([*NEW_RUN, "--steps", "2", "--nproc", "2", "--out", str(run)]) == 0
    assert "trained inpainting model saved" in capsys.readouterr().out
    lines = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2]  # rank 0 alone logs
    FinetModel.from_pretrained(run)
    seen = []
    train_inpaint(run, train_cfg=FinetTrainConfig.from_dict({**json.loads((run / "train.json").read_text()), "steps": 3}),
                  resume=True, on_step=lambda step, terms: seen.append(step))
    assert seen == [3]  # the 2-process checkpoint resumes in one process

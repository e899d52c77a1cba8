"""Training and scoring the human parser on real VITON parsings (skipped without the data)."""

import json
import subprocess

import numpy as np
import torch

from clothflow.core.ops.labels import LIP
from clothflow.data.datasets.viton import VitonDataset
from clothflow.evaluation.parsing import parsing_scores
from clothflow.models.parser import HumanParser, ParserConfig
from clothflow.training.checkpoint import load_checkpoint
from clothflow.training.parser import ParserTrainConfig, train_parser


class BrightnessRule:
    """No parser at all: bright pixels (mean over RGB above 0.5 in [-1, 1]) are background, the
    rest upper-clothes. On VITON's white backdrops this alone scores a background IoU of 0.82
    and a pixel accuracy of 0.69 on the test photos below, the face never."""

    config = ParserConfig()

    def eval(self) -> "BrightnessRule":
        return self

    def parse(self, image: torch.Tensor) -> torch.Tensor:
        return torch.where(image.mean(1) > 0.5, LIP["background"], LIP["upper-clothes"])


def test_a_few_steps_learn_and_resume(viton_root, tmp_path):
    cfg = ParserConfig(size=(64, 48), base_channels=8, depth=3)
    run = tmp_path / "run"
    tcfg = ParserTrainConfig(steps=30, batch_size=8, lr=5e-3, data=str(viton_root / "train"), checkpoint_every=10,
                             log_every=5)
    parser = train_parser(run, cfg, tcfg)
    test = torch.utils.data.Subset(VitonDataset(viton_root / "test", "test_clean.txt", size=(64, 48)), range(16))
    scores = parsing_scores(parser, test)
    rule = parsing_scores(BrightnessRule(), test)
    # after 30 steps the parser tells the white background and the garment from the rest
    assert scores["iou"]["background"] > 0.7 and scores["pixel_accuracy"] > 0.6, scores
    # and beats brightness alone, by 0.1, where brightness cannot tell: the top from the face
    for part in ("upper-clothes", "face"):
        assert scores["iou"][part] > rule["iou"][part] + 0.1, (part, scores["iou"], rule["iou"])
    losses = [json.loads(line)["ce"] for line in (run / "losses.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]
    done = subprocess.run(["clothflow", "train", "--resume", str(run), "--steps", "32"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(run / "checkpoint.safetensors", HumanParser(cfg))[0].step == 32
    names = (viton_root / "test_clean.txt").read_text().split()[:12]
    (tmp_path / "twelve.txt").write_text("\n".join(names))
    report = subprocess.run(["clothflow", "evaluate", "--model", str(run), "--data", str(viton_root / "test"),
                             "--pairs", str(tmp_path / "twelve.txt"), "--out", str(tmp_path / "eval")],
                            capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert saved["photos"] == 12 and 0 < saved["miou"] < 1 and np.isfinite(saved["iou"]["face"])

"""Training the human parser on a try-on folder's photos and parsings, through the shared loop.

The parser learns each person photo's LIP parsing (VITON's ``image-parse``, read with the
CIHP ids mapped to LIP) by per-pixel cross entropy. Mirror images, with left and right
swapped, double the set (``mirror``). A run folder is laid out as every run's
(:mod:`clothflow.training.loop`): ``config.json`` + ``model.safetensors`` of kind "parser",
``train.json``, ``checkpoint.safetensors``, ``losses.jsonl``, ``tb/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from clothflow.core.config import from_dict
from clothflow.core.errors import ClothflowError
from clothflow.models.parser import HumanParser, ParserConfig
from clothflow.training.checkpoint import TrainState, load_checkpoint
from clothflow.training.loop import Run, RunFolder, deadline_after, distributed_context, run_steps
from clothflow.training.settings import LoopConfig

STAGE = "parse"


@dataclass
class ParserTrainConfig(LoopConfig):
    """How the parser is trained: the :class:`LoopConfig` fields and these.

    Args:
        data: a try-on folder with parsings (VITON's ``train/``).
        pairs: its pair list (empty: the folder's own); only the person column is read.
        mirror: add the mirror image of every photo (left and right swapped).
        class_weighting: weigh each LIP id's cross entropy by its inverse frequency in the
            batch (at most 10 times), so that rare classes (dress, skirt, shoes) count.
        dice: weight of a soft Dice loss added to the cross entropy, averaged over the ids
            present in the batch: every present class counts alike, whatever its area, which
            is what the mean IoU rewards (0 turns it off).
    """

    steps: int = 4000
    batch_size: int = 8
    lr: float = 2e-3
    checkpoint_every: int = 100
    data: str = ""
    pairs: str = ""
    mirror: bool = True
    class_weighting: bool = False
    dice: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ParserTrainConfig":
        return from_dict(cls, data)


class _PhotoParsings(torch.utils.data.Dataset):
    """Person photos and their parsings from a try-on folder: ``{"person", "person_parse"}``."""

    def __init__(self, root: str | Path, pairs: str, size: tuple[int, int], mirror: bool) -> None:
        from clothflow.data.datasets.viton import VitonDataset

        self.pairs = VitonDataset(root, pairs or None, size=size, mode="paired", mirrored=mirror)
        self.pairs.require("person_parse")

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.pairs[index]
        return {"person": item["person"], "person_parse": item["person_parse"]}


def read_parser_run(run: str | Path) -> tuple[ParserConfig, ParserTrainConfig]:
    """The (model, train) configs stored in a parser run folder."""
    return RunFolder(run, HumanParser.kind).configs(True, ParserConfig, ParserTrainConfig)


def class_weights(target: torch.Tensor, num_labels: int, cap: float = 10.0) -> torch.Tensor:
    """Inverse frequencies of the ids in ``target``, normalised to 1 for a uniform batch, at most ``cap``.

    Example:
        >>> [round(w, 3) for w in class_weights(torch.tensor([0, 0, 0, 1]), 2).tolist()]
        [0.667, 2.0]
    """
    counts = torch.bincount(target.flatten(), minlength=num_labels).float()
    return (counts.sum() / (counts.clamp(min=1) * num_labels)).clamp(max=cap)


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice of the softmax against one-hot ``target``, averaged over the ids present.

    Example:
        >>> target = torch.tensor([[[0, 1], [1, 1]]])
        >>> sure = F.one_hot(target, 3).permute(0, 3, 1, 2).float() * 20
        >>> round(dice_loss(sure, target).item(), 4), round(dice_loss(-sure, target).item(), 2)
        (0.0, 1.0)
    """
    probs = logits.softmax(1)
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    overlap = (probs * onehot).sum((0, 2, 3))
    area = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    present = onehot.sum((0, 2, 3)) > 0
    return 1 - (2 * overlap[present] / area[present].clamp(min=1e-6)).mean()


def parse_loss(parser: HumanParser, batch: dict[str, torch.Tensor], class_weighting: bool = False,
               dice: float = 0.0) -> dict[str, torch.Tensor]:
    """Cross entropy of the predicted against the true LIP ids (plus ``dice`` x Dice), and the pixel accuracy."""
    logits = parser(batch["person"])
    target = batch["person_parse"].clamp(max=parser.config.num_labels - 1)
    weights = class_weights(target, parser.config.num_labels) if class_weighting else None
    ce = F.cross_entropy(logits, target, weight=weights)
    terms = {"ce": ce.detach(), "accuracy": (logits.argmax(1) == target).float().mean()}
    total = ce
    if dice > 0:
        soft_dice = dice_loss(logits, target)
        total = total + dice * soft_dice
        terms["dice"] = soft_dice.detach()
    return {"total": total, **terms}


def train_parser(
    run_dir: str | Path,
    model_cfg: ParserConfig | None = None,
    train_cfg: ParserTrainConfig | None = None,
    resume: bool = False,
    progress: bool = False,
) -> HumanParser:
    """Train (or resume) a parser run and return the trained parser (in eval mode).

    Raises:
        ClothflowError: no data folder, a folder without parsings, or a run folder problem.
    """
    folder = RunFolder(run_dir, HumanParser.kind)
    model_cfg, train_cfg = folder.configs(resume, ParserConfig, ParserTrainConfig, model_cfg, train_cfg)
    if not train_cfg.data:
        raise ClothflowError("the parser trains on a try-on folder with parsings: give --data (e.g. viton/train)")
    dataset = _PhotoParsings(train_cfg.data, train_cfg.pairs, model_cfg.size, train_cfg.mirror)
    with distributed_context(train_cfg.device, train_cfg.batch_size) as ctx:
        folder.write_configs(model_cfg, train_cfg, ctx)
        torch.manual_seed(train_cfg.seed)
        parser = HumanParser(model_cfg)
        state, optimizers = TrainState(stage=STAGE), {}
        if resume:
            state, optimizers = load_checkpoint(folder.checkpoint, parser)
        parser.to(ctx.device).train()
        optimizer = torch.optim.Adam(parser.parameters(), lr=train_cfg.lr, betas=(0.5, 0.999))
        run = Run(folder, ctx, progress, None)
        try:
            deadline = deadline_after(train_cfg.minutes * 60 if train_cfg.minutes > 0 else None)
            run_steps(run, STAGE, parser, optimizer, lambda batch: parse_loss(parser, batch, train_cfg.class_weighting, train_cfg.dice), dataset, train_cfg,
                      state, optimizers, deadline=deadline)
            run.save(parser, optimizers, state, pretrained=True)
        finally:
            run.close()
    return parser.eval()

"""Training of the inpainting model, with atomic checkpoints and exact resume.

A run folder holds ``config.json`` + ``model.safetensors`` (what
:meth:`FinetModel.from_pretrained` and ``clothflow inpaint --model`` load), ``train.json``,
``checkpoint.safetensors`` (weights, optimizer, step and RNG state, written atomically by
:mod:`clothflow.training.checkpoint`) and ``losses.jsonl`` (the loss terms every ``log_every`` steps).
Batches are drawn by step number, so an interrupted and resumed run ends with the weights of
an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Callable

import torch

from clothflow.training.checkpoint import TrainState, load_checkpoint, save_checkpoint
from clothflow.core.errors import ClothflowError
from clothflow.core.files import atomic_write_text
from clothflow.training.loop import StepBatchSampler
from clothflow.finet.config import FinetConfig, FinetTrainConfig
from clothflow.finet.data import InpaintDataset, collate
from clothflow.finet.models import FinetModel
from clothflow.finet.objective import training_losses

log = logging.getLogger("clothflow")
STAGE = "inpaint"
CHECKPOINT = "checkpoint.safetensors"
LOG_EVERY = 25


def _read_run(run: Path) -> tuple[FinetConfig, FinetTrainConfig]:
    for name in ("config.json", "train.json"):
        if not (run / name).is_file():
            raise ClothflowError(f"not an inpainting run (no {name}); start one with `clothflow train --task inpaint --out`", run)
    try:
        data = json.loads((run / "config.json").read_text())
        if data.get("kind") != "finet":
            raise ValueError("config.json is not an inpainting model config")
        return FinetConfig.from_dict(data), FinetTrainConfig.from_dict(json.loads((run / "train.json").read_text()))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise ClothflowError(f"unreadable run config: {exc}", run) from None


def train_inpaint(
    run_dir: str | Path,
    model_cfg: FinetConfig | None = None,
    train_cfg: FinetTrainConfig | None = None,
    resume: bool = False,
    dataset: InpaintDataset | None = None,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> FinetModel:
    """Train (or resume) an inpainting run and return the trained model (in eval mode).

    Args:
        run_dir: the run folder (created if needed).
        model_cfg, train_cfg: configs of a new run; on resume the model config is read from
            the run and a given ``train_cfg`` replaces the stored one (e.g. more steps).
        resume: continue from ``run_dir/checkpoint.safetensors``.
        dataset: the training set (default: ``InpaintDataset(train_cfg.num_items, size, seed)``);
            passing one lets several runs share its rendered items.
        on_step: called after every step with (step, loss terms).
    """
    run = Path(run_dir)
    if resume:
        model_cfg, stored = _read_run(run)
        train_cfg = train_cfg or stored
    else:
        if (run / CHECKPOINT).exists():
            raise ClothflowError("already holds a training run; use --resume to continue it or choose a new --out", run)
        model_cfg, train_cfg = model_cfg or FinetConfig(), train_cfg or FinetTrainConfig()
    try:
        run.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run / "config.json", model_cfg.to_json())
        atomic_write_text(run / "train.json", train_cfg.to_json())
    except OSError as exc:
        raise ClothflowError(f"cannot write the run folder ({exc.strerror})", run) from None
    torch.manual_seed(train_cfg.seed)
    model = FinetModel(model_cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, betas=(0.5, 0.999))
    state = TrainState(stage=STAGE)
    if resume:
        state, stored = load_checkpoint(run / CHECKPOINT, model)
        if STAGE in stored:
            optimizer.load_state_dict(stored[STAGE])
    if dataset is None:
        dataset = InpaintDataset(train_cfg.num_items, model_cfg.size, train_cfg.seed)
    _loop(model, optimizer, state, dataset, train_cfg, run, on_step)
    model.save_pretrained(run)
    return model.eval()


def _loop(model, optimizer, state: TrainState, dataset, cfg: FinetTrainConfig, run: Path, on_step) -> None:
    sampler = StepBatchSampler(len(dataset), cfg.batch_size, cfg.seed, state.step, cfg.steps)
    deadline = time.monotonic() + cfg.minutes * 60 if cfg.minutes > 0 else None
    ckpt = run / CHECKPOINT
    model.train()
    started = time.monotonic()
    try:
        for indices in sampler:
            batch = collate([dataset[i] for i in indices])
            optimizer.zero_grad(set_to_none=True)
            terms = training_losses(model, batch, cfg)
            terms["total"].backward()
            optimizer.step()
            state.step += 1
            scalars = {k: float(v.detach()) for k, v in terms.items()}
            if on_step is not None:
                on_step(state.step, scalars)
            if state.step % LOG_EVERY == 0 or state.step == cfg.steps:
                with open(run / "losses.jsonl", "a") as f:
                    f.write(json.dumps({"step": state.step, "seconds": round(time.monotonic() - started, 1), **scalars}) + "\n")
                log.info("inpaint step %d/%d: %s", state.step, cfg.steps, " ".join(f"{k} {v:.4f}" for k, v in scalars.items()))
            if state.step % cfg.checkpoint_every == 0:
                save_checkpoint(ckpt, model, {STAGE: optimizer.state_dict()}, state)
            if deadline is not None and time.monotonic() > deadline:
                log.info("inpaint: time budget reached at step %d", state.step)
                break
    except KeyboardInterrupt:
        save_checkpoint(ckpt, model, {STAGE: optimizer.state_dict()}, state)
        model.save_pretrained(run)
        raise
    save_checkpoint(ckpt, model, {STAGE: optimizer.state_dict()}, state)

"""Training of the inpainting model through the shared loop (:mod:`clothflow.training.loop`).

A run folder holds ``config.json`` + ``model.safetensors`` (what
:meth:`FinetModel.from_pretrained` and ``clothflow inpaint --model`` load), ``train.json``,
``checkpoint.safetensors`` (weights, optimizer, step and RNG state, written atomically),
``losses.jsonl`` (the loss terms every ``log_every`` steps) and ``tb/`` (TensorBoard).
Batches are drawn by step number, so an interrupted and resumed run ends with the weights of
an uninterrupted one; Ctrl-C saves, ``minutes`` bounds the run's time.

Under N data-parallel processes (``clothflow train --task inpaint --nproc N`` or torchrun)
the whole objective runs through DistributedDataParallel; each rank draws its own shard's
codes, so the weights equal one process's in distribution, not bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from torch import nn

from clothflow.finet.config import FinetConfig, FinetTrainConfig
from clothflow.finet.data import InpaintDataset, collate
from clothflow.finet.models import FinetModel
from clothflow.finet.objective import training_losses
from clothflow.training import distributed
from clothflow.training.checkpoint import TrainState, load_checkpoint
from clothflow.training.loop import Run, RunFolder, deadline_after, distributed_context, run_steps

STAGE = "inpaint"


def read_run(run: str | Path) -> tuple[FinetConfig, FinetTrainConfig]:
    """The (model, train) configs stored in an inpainting run folder.

    Raises:
        ClothflowError: the folder holds no run, another kind of model, or unreadable configs.
    """
    return RunFolder(run, FinetModel.kind).configs(True, FinetConfig, FinetTrainConfig)


class _Objective(nn.Module):
    """The training losses as a module, so that DistributedDataParallel sees the forward pass."""

    def __init__(self, model: FinetModel, cfg: FinetTrainConfig) -> None:
        super().__init__()
        self.model, self.cfg = model, cfg

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return training_losses(self.model, batch, self.cfg)


def train_inpaint(
    run_dir: str | Path,
    model_cfg: FinetConfig | None = None,
    train_cfg: FinetTrainConfig | None = None,
    resume: bool = False,
    dataset: InpaintDataset | None = None,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    progress: bool = False,
) -> FinetModel:
    """Train (or resume) an inpainting run and return the trained model (in eval mode).

    Args:
        run_dir: the run folder (created if needed).
        model_cfg, train_cfg: configs of a new run; on resume the model config is read from
            the run and a given ``train_cfg`` replaces the stored one (e.g. more steps).
        resume: continue from ``run_dir/checkpoint.safetensors``.
        dataset: the training set (default: ``InpaintDataset(train_cfg.num_items, size, seed)``);
            passing one lets several runs share its rendered items.
        on_step: called after every step with (step, loss terms averaged over ranks).
        progress: show a tqdm progress bar (rank 0).
    """
    folder = RunFolder(run_dir, FinetModel.kind)
    model_cfg, train_cfg = folder.configs(resume, FinetConfig, FinetTrainConfig, model_cfg, train_cfg)
    with distributed_context(train_cfg.device, train_cfg.batch_size) as ctx:
        folder.write_configs(model_cfg, train_cfg, ctx)
        torch.manual_seed(train_cfg.seed)  # same seed, same initial weights (on every rank)
        model = FinetModel(model_cfg)
        if dataset is None:
            dataset = InpaintDataset(train_cfg.num_items, model_cfg.size, train_cfg.seed)
        state, optimizers = TrainState(stage=STAGE), {}
        if resume:  # restores the RNG state too: nothing may draw from it between here and the first step
            state, optimizers = load_checkpoint(folder.checkpoint, model)
        model.to(ctx.device).train()
        distributed.broadcast_parameters(model, ctx)
        optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, betas=(0.5, 0.999))
        losses = _Objective(model, train_cfg)
        ddp = distributed.data_parallel(losses, ctx)  # None in one process
        objective = losses if ddp is None else ddp
        steps_seen = None if on_step is None else (lambda name, step, terms: on_step(step, terms))
        run = Run(folder, ctx, progress, steps_seen)
        try:
            deadline = deadline_after(train_cfg.minutes * 60 if train_cfg.minutes > 0 else None)
            run_steps(run, STAGE, model, optimizer, objective, dataset, train_cfg, state, optimizers,
                      deadline=deadline, collate_fn=collate)
            run.save(model, optimizers, state, pretrained=True)
        finally:
            run.close()
        distributed.barrier(ctx)  # the run folder is complete when any rank returns
    return model.eval()

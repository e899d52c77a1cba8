"""ClothFlow's training: each stage on its own, in order, through the shared loop.

:func:`train` trains (or resumes) a run folder (see :mod:`clothflow.training.loop`: atomic
checkpoints, exact resume, ``--minutes`` budget, Ctrl-C save, TensorBoard, data-parallel
processes). Each stage (:data:`clothflow.training.settings.STAGES`) trains its own
sub-network with its own Adam optimizer, whose state every checkpoint keeps, so a finished
stage continued with more steps goes on where it stopped. The flow stage and the renderer
see the ground-truth target layout, as in the paper; the renderer needs the flow stage
trained first.

Data-parallel: the trained stage is wrapped in DistributedDataParallel and, while its
objective runs, the pipeline's attribute of that stage resolves to the wrapper
(:func:`clothflow.training.distributed.routed_through`), so N processes end with the weights
one process would.

Example (two CPU processes on this machine)::

    distributed.spawn(train, 2, "runs/ddp", pipeline_cfg, train_cfg, progress=False)
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Callable

import torch

from clothflow.core.errors import ClothflowError
from clothflow.data.datasets import make_dataset
from clothflow.models.config import PipelineConfig
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.training import distributed
from clothflow.training.checkpoint import TrainState, load_checkpoint
from clothflow.training.losses import FeatureLoss
from clothflow.training.loop import Run, RunFolder, deadline_after, distributed_context, run_steps
from clothflow.training.objectives import OBJECTIVES, stage_module
from clothflow.training.settings import STAGES, TrainConfig

log = logging.getLogger(__name__)


def train(
    run_dir: str | Path,
    pipeline_cfg: PipelineConfig | None = None,
    train_cfg: TrainConfig | None = None,
    resume: bool = False,
    progress: bool = True,
    on_step: Callable[[str, int, dict], None] | None = None,
) -> ClothFlowPipeline:
    """Train (or resume) a run and return the trained pipeline (in eval mode).

    Args:
        run_dir: the run folder (created if needed).
        pipeline_cfg, train_cfg: configs for a new run; on resume they are read from the
            run, and a given ``train_cfg`` replaces the stored one (e.g. more steps).
        resume: continue from ``run_dir/checkpoint.safetensors``.
        progress: show tqdm progress bars (rank 0 only).
        on_step: called after every step with (stage, step, losses averaged over ranks),
            on every rank; tests use it.
    """
    folder = RunFolder(run_dir, ClothFlowPipeline.kind)
    pipeline_cfg, train_cfg = folder.configs(resume, PipelineConfig, TrainConfig, pipeline_cfg, train_cfg)
    with distributed_context(train_cfg.device, train_cfg.batch_size) as ctx:
        folder.write_configs(pipeline_cfg, train_cfg, ctx)
        flow = train_cfg.loss.flow.for_task(pipeline_cfg.task, synthetic=train_cfg.data == "synthetic")
        train_cfg = replace(train_cfg, loss=replace(train_cfg.loss, flow=flow))
        run = Run(folder, ctx, progress, on_step)
        try:
            return _train_stages(run, pipeline_cfg, train_cfg, resume)
        finally:
            run.close()


def _train_stages(run: Run, pipeline_cfg: PipelineConfig, train_cfg: TrainConfig, resume: bool) -> ClothFlowPipeline:
    ctx = run.ctx
    torch.manual_seed(train_cfg.seed)  # same seed, same initial weights (on every rank)
    pipe = ClothFlowPipeline(pipeline_cfg)
    run.log_images = partial(_log_images, pipe)
    state = TrainState(stage=train_cfg.stages()[0])
    optimizers: dict[str, dict] = {}  # each trained stage's Adam state, kept in every checkpoint
    if resume:
        state, optimizers = load_checkpoint(run.folder.checkpoint, pipe)
    elif train_cfg.init:
        copied, total = initialise_from(pipe, train_cfg.init)
        log.info("initialised %d of %d weight tensors from %s", copied, total, train_cfg.init)
    pipe.to(ctx.device)
    distributed.broadcast_parameters(pipe, ctx)
    features = FeatureLoss.create(train_cfg.loss.vgg19 or None).to(ctx.device)
    dataset = make_dataset(train_cfg.data, pipeline_cfg.size, train_cfg.num_pairs, train_cfg.seed, pipeline_cfg.task,
                           dense=pipeline_cfg.dense, pairs_file=train_cfg.pairs or None, mirrored=train_cfg.mirror,
                           subset=train_cfg.subset, all_views=train_cfg.all_views)
    started = time.monotonic()
    stages = [s for s in train_cfg.stages() if s in pipe.stages()]
    for stage in stages:
        if stage == "render" and pipe.flow is not None and "flow" not in state.completed:
            raise ClothflowError("the renderer is trained on the flow stage's warped cloth: train --stage flow first",
                                 run.folder.path)
        if state.stage != stage or stage in state.completed:
            done = state.stage_steps.get(stage, 0)
            if stage in state.completed and done >= train_cfg.steps:
                continue
            state = replace(state, stage=stage, step=done)
        deadline = _stage_deadline(train_cfg, stages, started, state.completed)
        _train_stage(run, pipe, stage, state, dataset, features, train_cfg, deadline, optimizers)
        if stage not in state.completed:
            state.completed.append(stage)
        state.stage_steps[stage] = state.step
        run.save(pipe, optimizers, state)
    run.save(pipe, optimizers, state, pretrained=True)
    distributed.barrier(ctx)  # the run folder is complete when any rank returns
    return pipe.eval()


def initialise_from(pipe: ClothFlowPipeline, model: str | Path) -> tuple[int, int]:
    """Copy into ``pipe`` every weight tensor of ``model`` (shipped name or folder) of the same name and shape.

    Returns:
        (tensors copied, tensors of ``pipe``).

    Raises:
        ClothflowError: ``model`` is not a saved ClothFlow model of ``pipe``'s task, or shares no
            tensor with ``pipe``.
    """
    from clothflow.core.pretrained import resolve_model

    pretrained = ClothFlowPipeline.from_pretrained(resolve_model(model))
    if pretrained.config.task != pipe.config.task:
        raise ClothflowError(f"train.init: this model was trained for {pretrained.config.task}, the run is "
                             f"{pipe.config.task}", model)
    source = pretrained.state_dict()
    own = pipe.state_dict()
    same = {k: v.to(own[k].dtype) for k, v in source.items() if k in own and own[k].shape == v.shape}
    if not same:
        raise ClothflowError("no weight of this model fits the one being trained (another task or size?)", model)
    pipe.load_state_dict(same, strict=False)
    return len(same), len(own)


def _stage_deadline(cfg: TrainConfig, stages: list[str], started: float, done: list[str]) -> float | None:
    """Deadline (time.monotonic) of the next stage under a --minutes budget: what is left, shared equally."""
    if cfg.minutes <= 0:
        return None
    remaining = [s for s in stages if s not in done]
    left = cfg.minutes * 60 - (time.monotonic() - started)
    return deadline_after(left / max(len(remaining), 1))


def _train_stage(run: Run, pipe: ClothFlowPipeline, stage: str, state: TrainState, dataset, features: FeatureLoss,
                 cfg: TrainConfig, deadline: float | None, optimizers: dict[str, dict]) -> None:
    """Train one stage's sub-network from ``state.step``, the rest of the pipeline in eval mode."""
    module = stage_module(pipe, stage)
    pipe.eval()
    module.train()
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.learning_rate(stage), betas=(0.5, 0.999))
    ddp = distributed.data_parallel(module, run.ctx)  # None in one process
    objective = OBJECTIVES[stage]

    def losses(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        with distributed.routed_through(pipe, stage, ddp):
            return objective(pipe, batch, features, cfg.loss)

    run_steps(run, stage, pipe, optimizer, losses, dataset, cfg, state, optimizers,
              seed=cfg.seed + STAGES.index(stage), deadline=deadline)
    module.eval()


@torch.no_grad()
def _log_images(pipe: ClothFlowPipeline, writer, stage: str, batch: dict, step: int) -> None:
    """A grid of the pipeline's results on the batch's first 4 pairs, under ``<stage>/results``."""
    from clothflow.evaluation.visualize import result_grid

    modes = {m: m.training for m in pipe.modules()}
    pipe.eval()
    small = {k: v[:4] for k, v in batch.items()}
    grid = result_grid(small, pipe.predict(small))  # H x W x 3 uint8
    writer.add_image(f"{stage}/results", grid, step, dataformats="HWC")
    for m, training in modes.items():  # the trained stage goes on in train mode
        m.training = training

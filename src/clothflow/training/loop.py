"""Training: each stage on its own, in order, with atomic checkpoints and exact resume.

A run folder holds ``config.json`` + ``model.safetensors`` (loadable with
``ClothFlowPipeline.from_pretrained``), ``train.json`` (how it is trained),
``checkpoint.safetensors`` (weights, optimizer, step, RNG) and ``tb/`` (TensorBoard).

Batches are drawn by step number (:class:`StepBatchSampler`), so a resumed run sees exactly
the batches an uninterrupted one would have, and ends with the same weights.

Data-parallel: under ``torchrun --nproc_per_node N`` (or ``clothflow train --nproc N``) each
rank takes its shard ``[rank::N]`` of every step's global batch (``batch_size`` stays the
global batch) and the trained stage runs under DistributedDataParallel, which averages the
gradients over ranks during ``backward``, so N processes end with the weights one process
would (see :mod:`clothflow.training.distributed`). Rank 0 alone writes the run folder, checkpoints,
TensorBoard logs and progress bars.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from clothflow.training.checkpoint import TrainState, load_checkpoint, save_checkpoint
from clothflow.training import distributed
from clothflow.models.config import PipelineConfig
from clothflow.core.config import from_dict
from clothflow.training.distributed import DistContext
from clothflow.core.errors import ClothflowError
from clothflow.core.files import atomic_write_text
from clothflow.training.losses import FeatureLoss
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.training.objectives import OBJECTIVES, STAGES, LossConfig, stage_module

log = logging.getLogger("clothflow")


@dataclass
class StageRates:
    """Adam learning rates of single stages; 0 means the run's ``lr``.

    Narrow networks take larger steps well: at widths 16 the ``tiny`` and ``fast`` presets train
    their layout and render U-Nets best at 16 times ``paper``'s rate (see
    :func:`clothflow.models.config.preset_training`).
    """

    layout: float = 0.0
    flow: float = 0.0
    render: float = 0.0


@dataclass
class TrainConfig:
    """How a run is trained.

    Args:
        stage: "layout", "flow", "render" or "all" (the three in order).
        steps: optimisation steps per stage.
        batch_size: pairs per step.
        lr: Adam learning rate (constant; betas 0.5, 0.999 as in pix2pix-style training).
        stage_lr: per-stage learning rates that replace ``lr`` where non-zero
            (``--set train.stage_lr.flow=4e-4``).
        data: "synthetic" (the embedded renderer) or a dataset folder.
        num_pairs: synthetic training pairs (drawn from ``seed``).
        seed: seed of the data and the batch order.
        checkpoint_every: steps between checkpoints.
        log_every: steps between TensorBoard scalars; images every 10 x that.
        workers: DataLoader worker processes per rank (0 = in the main process).
        device: "auto" (a GPU when CUDA is available, else the CPU), "cpu" or "cuda".
        bf16: bfloat16 autocast of the forward pass on GPUs (ignored on the CPU).
        minutes: wall-clock budget for the whole run (0 = none); a stage that runs out
            of time ends early, and the budget is shared in proportion to ``steps``.
        loss: the loss weights.
    """

    stage: str = "all"
    steps: int = 1000
    batch_size: int = 8
    lr: float = 2e-4
    stage_lr: StageRates = field(default_factory=StageRates)
    data: str = "synthetic"
    num_pairs: int = 2000
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    workers: int = 0
    device: str = "auto"
    bf16: bool = False
    minutes: float = 0.0
    loss: LossConfig = field(default_factory=LossConfig)

    def stages(self) -> tuple[str, ...]:
        if self.stage == "all":
            return STAGES
        if self.stage not in STAGES:
            raise ClothflowError(f"unknown stage {self.stage!r}; choose layout, flow, render or all")
        return (self.stage,)

    def learning_rate(self, stage: str) -> float:
        """The Adam learning rate ``stage`` trains with."""
        return getattr(self.stage_lr, stage) or self.lr


class StepBatchSampler(Sampler[list[int]]):
    """Batches drawn from the step number alone: batch t is the same whatever came before.

    With ``world_size`` > 1 each rank yields its shard ``[rank::world_size]`` of the global
    batch of ``batch_size`` indices.
    """

    def __init__(
        self, num_items: int, batch_size: int, seed: int, start: int, stop: int, rank: int = 0, world_size: int = 1
    ) -> None:
        self.num_items, self.batch_size, self.seed, self.start, self.stop = num_items, batch_size, seed, start, stop
        self.rank, self.world_size = rank, world_size

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.stop):
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
            indices = torch.randint(self.num_items, (self.batch_size,), generator=g).tolist()
            yield indices[self.rank :: self.world_size]

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)


def make_dataset(data: str, size: tuple[int, int], num_pairs: int, seed: int, task: str = "transfer") -> Dataset:
    """The training set named by ``data``, for ``task`` ("transfer" or "tryon").

    ``"synthetic"`` is the embedded renderer; a folder is read in the layout it holds
    (try-on: VITON, VITON-HD or the project's synthetic VITON output).
    """
    if data == "synthetic":
        from clothflow.data.datasets.synthetic import SyntheticPairs

        return SyntheticPairs(num_pairs=num_pairs, size=size, seed=seed, task=task)
    path = Path(data)
    if not path.exists():
        raise ClothflowError("dataset folder not found; use --data synthetic for the embedded renderer", path)
    if task == "tryon":
        from clothflow.data.datasets.viton import VitonDataset

        return VitonDataset(path, size=size)
    raise ClothflowError("training pose transfer on a dataset folder is not supported yet; use --data synthetic", path)


RUN_FILES = ("config.json", "train.json")


def _stage_budget(cfg: TrainConfig, stages: list[str], started: float, done: list[str]) -> float | None:
    """Deadline (time.monotonic) of the next stage under a --minutes budget, shared equally."""
    if cfg.minutes <= 0:
        return None
    remaining = [s for s in stages if s not in done]
    left = cfg.minutes * 60 - (time.monotonic() - started)
    return time.monotonic() + max(left, 0) / max(len(remaining), 1)


def train(
    run_dir: str | Path,
    pipeline_cfg: PipelineConfig | None = None,
    train_cfg: TrainConfig | None = None,
    resume: bool = False,
    progress: bool = True,
    on_step: Callable[[str, int, dict], None] | None = None,
) -> ClothFlowPipeline:
    """Train (or resume) a run and return the trained pipeline.

    Args:
        run_dir: the run folder (created if needed).
        pipeline_cfg, train_cfg: configs for a new run; on resume they are read from the
            run, and a given ``train_cfg`` replaces the stored one (e.g. more steps).
        resume: continue from ``run_dir/checkpoint.safetensors``.
        progress: show tqdm progress bars (rank 0 only).
        on_step: called after every step with (stage, step, losses averaged over ranks),
            on every rank; tests use it.
    """
    run = Path(run_dir)
    if resume:
        if not (run / "train.json").is_file():
            raise ClothflowError("not a training run (no train.json); start one with `clothflow train --out`", run)
        pipeline_cfg = PipelineConfig.from_dict(json.loads((run / "config.json").read_text()))
        if train_cfg is None:
            train_cfg = from_dict(TrainConfig, json.loads((run / "train.json").read_text()))
    else:
        if (run / "checkpoint.safetensors").exists():
            raise ClothflowError("already holds a training run; use --resume to continue it or choose a new --out", run)
        pipeline_cfg = pipeline_cfg or PipelineConfig()
        train_cfg = train_cfg or TrainConfig()
    ctx = distributed.setup(train_cfg.device)
    try:
        if train_cfg.batch_size % ctx.world_size:
            raise ClothflowError(
                f"batch_size {train_cfg.batch_size} does not divide into {ctx.world_size} processes; "
                "batch_size is the global batch, split equally over ranks"
            )
        distributed.barrier(ctx)  # every rank has checked the run folder before rank 0 writes to it
        if ctx.is_main:
            try:
                run.mkdir(parents=True, exist_ok=True)
                atomic_write_text(run / "config.json", pipeline_cfg.to_json())
                atomic_write_text(run / "train.json", json.dumps(asdict(train_cfg), indent=2))
            except OSError as exc:
                raise ClothflowError(f"cannot write the run folder ({exc.strerror})", run) from None
        return _train_stages(run, pipeline_cfg, train_cfg, resume, progress, on_step, ctx)
    finally:
        distributed.teardown(ctx)


def _train_stages(run, pipeline_cfg, train_cfg, resume, progress, on_step, ctx: DistContext) -> ClothFlowPipeline:
    torch.manual_seed(train_cfg.seed)  # same seed, same initial weights (on every rank)
    pipe = ClothFlowPipeline(pipeline_cfg)
    state = TrainState(stage=train_cfg.stages()[0])
    ckpt = run / "checkpoint.safetensors"
    optimizers: dict[str, dict] = {}  # each trained stage's Adam state, kept in every checkpoint
    if resume:
        state, optimizers = load_checkpoint(ckpt, pipe)
    pipe.to(ctx.device)
    distributed.broadcast_parameters(pipe, ctx)
    features = FeatureLoss.create(train_cfg.loss.vgg19 or None).to(ctx.device)
    dataset = make_dataset(train_cfg.data, pipeline_cfg.size, train_cfg.num_pairs, train_cfg.seed, pipeline_cfg.task)
    writer = _summary_writer(run / "tb") if ctx.is_main else None
    started = time.monotonic()
    try:
        stages = [s for s in train_cfg.stages() if s in pipe.stages()]
        for stage in stages:
            if stage == "render" and pipe.flow is not None and "flow" not in state.completed:
                raise ClothflowError(
                    "the renderer is trained on the flow stage's warped cloth: train --stage flow first", run
                )
            if state.stage != stage or stage in state.completed:
                done = state.stage_steps.get(stage, 0)
                if stage in state.completed and done >= train_cfg.steps:
                    continue
                state = replace(state, stage=stage, step=done)
            deadline = _stage_budget(train_cfg, stages, started, state.completed)
            _train_stage(
                pipe, stage, state, dataset, features, train_cfg, run, writer, deadline, progress, on_step,
                optimizers, ctx,
            )
            if stage not in state.completed:
                state.completed.append(stage)
            state.stage_steps[stage] = state.step
            if ctx.is_main:
                save_checkpoint(ckpt, pipe, optimizers, state)
    finally:
        if writer is not None:
            writer.close()
    if ctx.is_main:
        pipe.save_pretrained(run)
    distributed.barrier(ctx)  # the run folder is complete when any rank returns
    return pipe.eval()


def _train_stage(
    pipe, stage, state, dataset, features, cfg, run, writer, deadline, progress, on_step, optimizers: dict,
    ctx: DistContext,
) -> None:
    """Train one stage from ``state.step``; ``optimizers`` holds each stage's Adam state, this
    stage's is resumed from it (when present) and updated in it."""
    from tqdm import tqdm

    module = stage_module(pipe, stage)
    pipe.eval()
    module.train()
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.learning_rate(stage), betas=(0.5, 0.999))
    ckpt = run / "checkpoint.safetensors"
    if state.step == 0:  # a stage started afresh does not take a state left from an earlier start
        optimizers.pop(stage, None)
    if stage in optimizers:
        optimizer.load_state_dict(optimizers[stage])
        for group in optimizer.param_groups:  # the stored state brings its rate; a resumed run may set another
            group["lr"] = cfg.learning_rate(stage)

    def save() -> None:
        optimizers[stage] = optimizer.state_dict()
        save_checkpoint(ckpt, pipe, optimizers, state)
    ddp = distributed.data_parallel(module, ctx)  # None in one process
    sampler = StepBatchSampler(
        len(dataset), cfg.batch_size, cfg.seed + STAGES.index(stage), state.step, cfg.steps, ctx.rank, ctx.world_size
    )
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.workers, persistent_workers=False,
                        pin_memory=ctx.device.type == "cuda")
    objective = OBJECTIVES[pipe.config.task][stage]
    autocast = torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=cfg.bf16 and ctx.device.type == "cuda")
    show = progress and ctx.is_main
    bar = tqdm(total=cfg.steps, initial=state.step, desc=f"train {stage}", disable=not show, dynamic_ncols=True)
    try:
        for batch in loader:
            batch = {k: v.to(ctx.device, non_blocking=True) for k, v in batch.items()}
            optimizer.zero_grad(set_to_none=True)
            with autocast, distributed.routed_through(pipe, stage, ddp):
                terms = objective(pipe, batch, features, cfg.loss)
            terms["total"].backward()  # under DDP: the global batch's gradient on every rank
            optimizer.step()
            state.step += 1
            late = deadline is not None and time.monotonic() > deadline
            scalars, stop = distributed.average_scalars({k: float(v.detach()) for k, v in terms.items()}, ctx, late)
            bar.update(1)
            bar.set_postfix(loss=f"{scalars['total']:.4f}")
            if writer is not None and state.step % cfg.log_every == 0:
                for k, v in scalars.items():
                    writer.add_scalar(f"{stage}/{k}", v, state.step)
                if state.step % (cfg.log_every * 10) == 0:
                    _log_images(writer, pipe, stage, batch, state.step)
            if on_step is not None:
                on_step(stage, state.step, scalars)
            if ctx.is_main and state.step % cfg.checkpoint_every == 0:
                save()
            if stop:
                log.info("%s: time budget reached at step %d", stage, state.step)
                break
    except KeyboardInterrupt:
        if ctx.is_main:
            save()
            pipe.save_pretrained(run)
        raise
    finally:
        bar.close()
    module.eval()
    optimizers[stage] = optimizer.state_dict()  # on every rank: the caller's checkpoint holds it


def _summary_writer(path: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency; a broken install only loses the logs
        log.warning("tensorboard is not importable; training runs without TensorBoard logs")
        return None
    return SummaryWriter(str(path))


@torch.no_grad()
def _log_images(writer, pipe: ClothFlowPipeline, stage: str, batch: dict, step: int) -> None:
    from clothflow.evaluation.visualize import result_grid

    was_training = pipe.training
    pipe.eval()
    small = {k: v[:4] for k, v in batch.items()}
    grid = result_grid(small, pipe.predict(small))  # H x W x 3 uint8
    writer.add_image(f"{stage}/results", grid, step, dataformats="HWC")
    pipe.train(was_training)

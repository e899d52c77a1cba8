"""The one training loop: run folder, batches by step, exact resume, time budget, Ctrl-C, logs, DDP.

ClothFlow's stages (:mod:`clothflow.training.stages`) and FiNet (:mod:`clothflow.finet.train`)
train through it. A run folder (:class:`RunFolder`) holds ``config.json`` (the model's config,
with its ``kind``), ``train.json`` (how it is trained), ``checkpoint.safetensors`` (weights,
every optimizer's state, step and RNG state, written atomically by
:mod:`clothflow.training.checkpoint`), ``model.safetensors`` once trained or interrupted
(``config.json`` + ``model.safetensors`` are what ``from_pretrained`` loads), ``tb/``
(TensorBoard) and ``losses.jsonl`` (the losses every ``log_every`` steps).

:func:`run_steps` trains one optimizer from ``state.step`` to ``cfg.steps``. Batches are
drawn by step number (:class:`StepBatchSampler`), and nothing else draws from torch's global
RNG between steps, so a resumed run sees exactly the batches (and random draws) an
uninterrupted one would have, and ends with the same weights.

Data-parallel: under ``torchrun --nproc_per_node N`` (or ``clothflow train --nproc N``, see
:func:`clothflow.training.distributed.launch`) each rank takes its shard ``[rank::N]`` of every
step's global batch (``batch_size`` stays the global batch); the caller's objective runs the
model through DistributedDataParallel, which averages the gradients over ranks during
``backward``. Losses and the budget's stop are averaged over ranks, so all ranks stop at the
same step. Rank 0 alone writes the run folder, checkpoints, logs and progress bars.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from clothflow.core.config import from_dict
from clothflow.core.errors import ClothflowError
from clothflow.core.files import atomic_write_text
from clothflow.core.pretrained import KINDS, config_json, read_config
from clothflow.training import distributed
from clothflow.training.checkpoint import TrainState, save_checkpoint
from clothflow.training.distributed import DistContext
from clothflow.training.settings import LoopConfig

log = logging.getLogger("clothflow")

Objective = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


class StepBatchSampler(Sampler[list[int]]):
    """Batches drawn from the step number alone: batch t is the same whatever came before.

    With ``world_size`` > 1 each rank yields its shard ``[rank::world_size]`` of the global
    batch of ``batch_size`` indices.

    Example:
        >>> list(StepBatchSampler(10, 4, seed=0, start=2, stop=4)) == list(StepBatchSampler(10, 4, 0, 0, 4))[2:]
        True
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


class RunFolder:
    """A training run's folder, for one kind of model (a key of :data:`clothflow.core.pretrained.KINDS`).

    Args:
        path: the folder (created when the run starts).
        kind: "clothflow" or "finet"; ``config.json`` must hold this kind on resume.
    """

    def __init__(self, path: str | Path, kind: str) -> None:
        self.path, self.kind = Path(path), kind
        self.checkpoint = self.path / "checkpoint.safetensors"

    def configs(self, resume: bool, config_class: type, train_class: type, config: Any = None, train_cfg: Any = None):
        """The run's (model config, train config): read back on resume, else the given ones or defaults.

        On resume a given ``train_cfg`` replaces the stored one (e.g. more steps). Raises
        ClothflowError for a new run in a folder that already holds one, and for a resume of a
        folder that holds no run, another kind of model, or unreadable configs.
        """
        if not resume:
            if self.checkpoint.exists():
                raise ClothflowError("already holds a training run; use --resume to continue it or choose a new --out",
                                     self.path)
            config = config if config is not None else config_class()
            return config, train_cfg if train_cfg is not None else train_class()
        train_json = self.path / "train.json"
        if not train_json.is_file():
            raise ClothflowError(f"not a training run (no train.json); start one with {KINDS[self.kind].train}",
                                 self.path)
        data = read_config(self.path, self.kind)
        try:
            config = config_class.from_dict({k: v for k, v in data.items() if k != "kind"})
            if train_cfg is None:
                train_cfg = from_dict(train_class, json.loads(train_json.read_text()))
        except (json.JSONDecodeError, TypeError, ValueError, AttributeError) as exc:
            raise ClothflowError(f"unreadable run config: {exc}", self.path) from None
        return config, train_cfg

    def write_configs(self, config: Any, train_cfg: Any, ctx: DistContext) -> None:
        """Write ``config.json`` and ``train.json`` (rank 0, once every rank has checked the folder)."""
        distributed.barrier(ctx)
        if not ctx.is_main:
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path / "config.json", config_json(self.kind, config))
            atomic_write_text(self.path / "train.json", json.dumps(dataclasses.asdict(train_cfg), indent=2))
        except OSError as exc:
            raise ClothflowError(f"cannot write the run folder ({exc.strerror})", self.path) from None


@contextmanager
def distributed_context(device: str, batch_size: int) -> Iterator[DistContext]:
    """This process's place in the run (joining the process group torchrun describes), left on exit.

    Raises:
        ClothflowError: ``batch_size`` (the global batch) does not split equally over the ranks.
    """
    ctx = distributed.setup(device)
    try:
        if batch_size % ctx.world_size:
            raise ClothflowError(
                f"batch_size {batch_size} does not divide into {ctx.world_size} processes; "
                "batch_size is the global batch, split equally over ranks"
            )
        yield ctx
    finally:
        distributed.teardown(ctx)


@dataclass
class Run:
    """A run under way: its folder, this process's place, and where it reports.

    Attributes:
        folder: the run folder.
        ctx: this process's place (rank 0 writes).
        progress: show tqdm progress bars (rank 0).
        on_step: called after every step with (name, step, losses averaged over ranks), on
            every rank; tests use it.
        log_images: called as ``log_images(writer, name, batch, step)`` every ``10 * log_every``
            steps on rank 0, to add image summaries to TensorBoard.
    """

    folder: RunFolder
    ctx: DistContext
    progress: bool = False
    on_step: Callable[[str, int, dict[str, float]], None] | None = None
    log_images: Callable[[Any, str, dict, int], None] | None = None

    def __post_init__(self) -> None:
        self.writer = _summary_writer(self.folder.path / "tb") if self.ctx.is_main else None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def save(self, model: nn.Module, optimizers: dict[str, dict], state: TrainState, pretrained: bool = False) -> None:
        """Rank 0: write the checkpoint and, with ``pretrained``, the model (``model.safetensors``)."""
        if not self.ctx.is_main:
            return
        save_checkpoint(self.folder.checkpoint, model, optimizers, state)
        if pretrained:
            model.save_pretrained(self.folder.path)

    def report(self, name: str, step: int, scalars: dict[str, float], batch: dict, seconds: float,
               log_every: int) -> None:
        """Rank 0: losses to TensorBoard and ``losses.jsonl``; images every ``10 * log_every`` steps."""
        if not self.ctx.is_main:
            return
        if self.writer is not None:
            for k, v in scalars.items():
                self.writer.add_scalar(f"{name}/{k}", v, step)
            if self.log_images is not None and step % (log_every * 10) == 0:
                self.log_images(self.writer, name, batch, step)
        line = json.dumps({"stage": name, "step": step, "seconds": round(seconds, 1), **scalars})
        with open(self.folder.path / "losses.jsonl", "a") as f:
            f.write(line + "\n")


def deadline_after(seconds: float | None) -> float | None:
    """The ``time.monotonic()`` deadline ``seconds`` from now (None: no budget)."""
    return None if seconds is None else time.monotonic() + max(seconds, 0.0)


def run_steps(
    run: Run,
    name: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    objective: Objective,
    dataset: Dataset,
    cfg: LoopConfig,
    state: TrainState,
    optimizers: dict[str, dict],
    seed: int | None = None,
    deadline: float | None = None,
    collate_fn: Callable[[list], Any] | None = None,
) -> None:
    """Train ``optimizer`` from ``state.step`` to ``cfg.steps`` (or the deadline), checkpointing as it goes.

    Args:
        run: the run under way.
        name: what is trained ("flow", "inpaint"): the progress bar's and the logs' label and
            the key of this optimizer's state in ``optimizers``.
        model: the whole model, as checkpointed (and saved with ``save_pretrained`` on Ctrl-C).
        optimizer: over the parameters trained here, at the rate to train with; it resumes
            the state stored under ``optimizers[name]`` (keeping its own rate) when
            ``state.step`` > 0, and a run started afresh drops a stored one.
        objective: a batch (a dict of tensors, on the run's device, this rank's shard) ->
            losses, the optimised one under ``"total"``. Under DDP it runs the model through
            its DistributedDataParallel wrapper.
        dataset: the training set; ``cfg.batch_size`` items are drawn per step.
        cfg: steps, batch size, workers, logging and checkpoint intervals, bf16.
        state: where training stands; ``state.step`` is advanced.
        optimizers: every optimizer's state by name, all kept in each checkpoint; this one's
            is updated on return.
        seed: seed of the batch order (default ``cfg.seed``).
        deadline: ``time.monotonic()`` after which training stops (None: no budget).
        collate_fn: how items make a batch (default: stacking, as DataLoader does).

    Raises:
        KeyboardInterrupt: after saving the checkpoint and the model (rank 0).
    """
    from tqdm import tqdm

    ctx = run.ctx
    seed = cfg.seed if seed is None else seed
    if state.step == 0:  # a start afresh does not take a state left by an earlier start
        optimizers.pop(name, None)
    if name in optimizers:
        rates = [group["lr"] for group in optimizer.param_groups]
        optimizer.load_state_dict(optimizers[name])
        for group, lr in zip(optimizer.param_groups, rates):  # the stored rate gives way to this run's
            group["lr"] = lr

    def save(pretrained: bool = False) -> None:
        optimizers[name] = optimizer.state_dict()
        run.save(model, optimizers, state, pretrained)

    sampler = StepBatchSampler(len(dataset), cfg.batch_size, seed, state.step, cfg.steps, ctx.rank, ctx.world_size)
    # a generator of its own: creating the loader's iterator then takes nothing from the global RNG
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.workers, collate_fn=collate_fn,
                        pin_memory=ctx.device.type == "cuda", generator=torch.Generator().manual_seed(seed))
    autocast = torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=cfg.bf16 and ctx.device.type == "cuda")
    bar = tqdm(total=cfg.steps, initial=state.step, desc=f"train {name}", disable=not (run.progress and ctx.is_main),
               dynamic_ncols=True)
    started = time.monotonic()
    try:
        for batch in loader:
            batch = {k: v.to(ctx.device, non_blocking=True) for k, v in batch.items()}
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                terms = objective(batch)
            terms["total"].backward()  # under DDP: the global batch's gradient on every rank
            optimizer.step()
            state.step += 1
            late = deadline is not None and time.monotonic() > deadline
            scalars, stop = distributed.average_scalars({k: float(v.detach()) for k, v in terms.items()}, ctx, late)
            bar.update(1)
            bar.set_postfix(loss=f"{scalars['total']:.4f}")
            if state.step % cfg.log_every == 0 or state.step == cfg.steps or stop:
                run.report(name, state.step, scalars, batch, time.monotonic() - started, cfg.log_every)
            if run.on_step is not None:
                run.on_step(name, state.step, scalars)
            if state.step % cfg.checkpoint_every == 0:
                save()
            if stop:
                log.info("%s: time budget reached at step %d", name, state.step)
                break
    except KeyboardInterrupt:
        save(pretrained=True)
        raise
    finally:
        bar.close()
    optimizers[name] = optimizer.state_dict()  # on every rank: the caller's checkpoint holds it


def _summary_writer(path: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency; a broken install only loses the logs
        log.warning("tensorboard is not importable; training runs without TensorBoard logs")
        return None
    return SummaryWriter(str(path))

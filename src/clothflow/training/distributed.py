"""Data-parallel training helpers: process-group setup and teardown, DDP routing, scalar averaging.

Training runs in one process, or in N processes started by ``torchrun --nproc_per_node N -m
clothflow train ...`` or by :func:`spawn` (``clothflow train --nproc N``, through
:func:`launch`). Each process reads its rank from the environment torchrun sets (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); the backend is ``nccl`` on
GPUs and ``gloo`` on CPU.

How N processes stay equal to one: every rank draws the same global batch of a step
(:class:`clothflow.training.loop.StepBatchSampler`) and takes its shard
``indices[rank::world]``, the same interleaved slice :class:`torch.utils.data.DistributedSampler`
gives a rank. That sampler is not used because it orders an epoch as a whole: a run stopped
mid-epoch could not pick up at the exact batch it left, whereas batch t here depends on the
seed and t alone. The batch size must divide by the world size, so each rank's loss is a
mean over the same number of pairs, and the mean over ranks of those means is the global
batch's loss.

Gradients are averaged by :class:`~torch.nn.parallel.DistributedDataParallel`. For ClothFlow
(:mod:`clothflow.training.stages`) the stage being trained is wrapped (:func:`data_parallel`),
and while its objective runs (:func:`routed_through`) the pipeline's attribute of that stage
(``pipe.flow`` ...) resolves to the wrapper: the objectives call the pipeline's stage
methods, which call ``self.flow(...)``, so the forward passes through DDP and its reducer
all-reduces the gradients in buckets during ``backward``. The wrapper sits in the pipeline
instance's ``__dict__`` (found before :meth:`torch.nn.Module.__getattr__` looks in
``_modules``), so ``state_dict`` keys, checkpoints and everything run outside the objective
(image logging on rank 0 alone, saving) see the plain module. Every rank then applies the
same Adam step to the same weights. Losses that are not per-pair means (BatchNorm statistics
with ``norm="batch"``, in-batch class weighting of the layout loss) see the shard instead of
the global batch; the default configuration has neither. FiNet (:mod:`clothflow.finet.train`)
wraps its whole objective as a module instead; its codes are random draws, which N
processes make per shard, so its weights match one process's only in distribution.

Example (two CPU processes on this machine)::

    from clothflow.training.stages import train
    spawn(train, 2, "runs/ddp", pipeline_cfg, train_cfg, progress=False)
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from clothflow.core.errors import ClothflowError


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run.

    Attributes:
        rank: global rank (0 writes checkpoints, logs and progress bars).
        world_size: number of processes.
        local_rank: rank on this machine (picks the GPU).
        device: where this rank computes.
        owns_group: this context initialised the process group (and tears it down).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``"auto"`` -> this rank's GPU if CUDA is available, else the CPU; other names as given."""
    if name == "auto":
        return torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ClothflowError(f"device {name!r} asked for, but CUDA is not available")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def env_world_size() -> int:
    """``WORLD_SIZE`` of the environment (1 outside torchrun / :func:`spawn`)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Rank 0, or not distributed at all (from the environment; usable before :func:`setup`)."""
    return int(os.environ.get("RANK", "0")) == 0


def setup(device: str = "auto") -> DistContext:
    """Join the process group described by the environment (if any) and pick the device.

    Outside torchrun (no ``WORLD_SIZE`` > 1) this returns a single-process context and
    touches nothing. A process group initialised by the caller is reused, not owned.
    """
    world = env_world_size()
    if world <= 1:
        return DistContext(device=resolve_device(device))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", rank=rank, world_size=world)
    return DistContext(rank=rank, world_size=world, local_rank=local_rank, device=dev, owns_group=owns)


def teardown(ctx: DistContext) -> None:
    """Leave the process group if :func:`setup` created it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (no-op in one process)."""
    if ctx.distributed:
        dist.barrier()


def broadcast_parameters(module: torch.nn.Module, ctx: DistContext) -> None:
    """Copy rank 0's parameters and buffers to every rank (they should already agree)."""
    if not ctx.distributed:
        return
    with torch.no_grad():
        for t in [*module.parameters(), *module.buffers()]:
            dist.broadcast(t.data, src=0)


def data_parallel(module: nn.Module, ctx: DistContext) -> DistributedDataParallel | None:
    """``module`` wrapped in DistributedDataParallel, or None in one process.

    Building the wrapper is a collective (it copies rank 0's weights and buffers to every
    rank), so all ranks call it at the same point.
    """
    if not ctx.distributed:
        return None
    # this rank's GPU (resolve_device always names one: LOCAL_RANK's unless given); none on the CPU
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    # find_unused_parameters stays False: every parameter of every stage gets a gradient from
    # its objective (all tasks and ablation variants), so DDP needs no extra graph traversal.
    # A stage that left some out would fail loudly at the next step instead of training wrong.
    return DistributedDataParallel(module, device_ids=device_ids, find_unused_parameters=False)


@contextmanager
def routed_through(parent: nn.Module, name: str, wrapper: DistributedDataParallel | None) -> Iterator[None]:
    """Inside the block, ``parent.<name>`` is ``wrapper`` instead of the sub-module it wraps.

    The wrapper goes into the instance ``__dict__``, which attribute lookup reads before
    ``nn.Module.__getattr__`` reaches ``_modules``; ``_modules``, ``state_dict`` and
    ``parameters`` are untouched. Removed on leaving, also on an exception. ``wrapper`` None
    (one process) changes nothing.
    """
    if wrapper is None:
        yield
        return
    if parent._modules.get(name) is not wrapper.module:
        raise ValueError(f"the wrapper does not wrap the sub-module {name!r}")
    if name in parent.__dict__:
        raise RuntimeError(f"{name!r} is already routed through a wrapper")
    parent.__dict__[name] = wrapper
    try:
        yield
    finally:
        del parent.__dict__[name]


def average_scalars(values: dict[str, float], ctx: DistContext, stop: bool = False) -> tuple[dict[str, float], bool]:
    """Mean of each scalar over ranks, and whether any rank asked to stop.

    Every rank must pass the same keys. Returns the averaged dict and the combined stop flag
    (so all ranks leave a loop at the same step).
    """
    if not ctx.distributed:
        return values, stop
    keys = sorted(values)
    buf = torch.tensor([values[k] for k in keys] + [float(stop)], dtype=torch.float64)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    means = {k: float(v) / ctx.world_size for k, v in zip(keys, buf[:-1].tolist())}
    return {k: means[k] for k in values}, bool(buf[-1] > 0)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawned(local_rank: int, world: int, port: int, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    os.environ.update(
        RANK=str(local_rank), LOCAL_RANK=str(local_rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
    )
    if "OMP_NUM_THREADS" not in os.environ:  # share the cores, as torchrun does
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    fn(*args, **kwargs)


def spawn(fn: Callable[..., Any], nprocs: int, *args: Any, **kwargs: Any) -> None:
    """Run ``fn(*args, **kwargs)`` in ``nprocs`` processes on this machine, as torchrun would.

    Each process gets torchrun's environment variables (rendezvous on a free port of
    127.0.0.1) and calls ``fn``; ``fn`` must be importable (a module-level function). Returns
    when all have finished; an exception in any is raised here.
    """
    if nprocs < 1:
        raise ClothflowError(f"--nproc must be at least 1, got {nprocs}")
    if nprocs == 1:
        fn(*args, **kwargs)
        return
    import torch.multiprocessing as mp

    mp.start_processes(_spawned, args=(nprocs, free_port(), fn, args, kwargs), nprocs=nprocs, start_method="spawn")


def launch(fn: Callable[..., Any], nprocs: int, *args: Any, **kwargs: Any) -> bool:
    """Run ``fn(*args, **kwargs)`` in ``nprocs`` processes (:func:`spawn`), or in this one.

    Under torchrun (``WORLD_SIZE`` set) this process is already one rank: ``fn`` runs here.

    Returns:
        True in the process that should report (rank 0, or the launching process).
    """
    if nprocs > 1 and env_world_size() == 1:
        spawn(fn, nprocs, *args, **kwargs)
        return True
    fn(*args, **kwargs)
    return is_main_process()

"""The main job: ClothFlow on the embedded synthetic data, shown on held-out pairs.

``clothflow demo --out DIR`` runs the synthetic models shipped in the package
(``DEFAULT_MODELS`` "transfer" and "tryon-synthetic": pose transfer and try-on at full size) on held-out synthetic pairs and
writes ``DIR/results.png`` (pose transfer), ``DIR/results_tryon.png`` and ``DIR/metrics.json``
(pose transfer's metrics, try-on's under ``"tryon"``): :func:`run_shipped_demo`.

``clothflow demo --train`` (and ``demo`` in an installation without shipped models) renders
synthetic pairs, trains the tiny preset's three stages from scratch, evaluates on held-out
pairs and writes ``DIR/model/`` (a saved pipeline), ``DIR/results.png`` and
``DIR/metrics.json``: :func:`run_demo`.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.core.errors import ClothflowError
from clothflow.evaluation.evaluate import evaluate
from clothflow.core.files import atomic_write_text, writable_dir
from clothflow.training.settings import TrainConfig, preset_training
from clothflow.training.stages import train
from clothflow.core.images import save_png
from clothflow.evaluation.visualize import result_grid

log = logging.getLogger("clothflow")

DEMO_USES = {"transfer": "transfer-synthetic", "tryon": "tryon-synthetic"}  # task -> key of DEFAULT_MODELS
GRID_HEIGHT = 256  # rows of the shipped demo's result grids, in pixels


@dataclass
class DemoConfig:
    """The demo's budget.

    Args:
        steps: optimisation steps per stage (ignored when ``minutes`` is set).
        minutes: wall-clock training budget shared by the stages (0 = use ``steps``).
        batch_size: pairs per step.
        train_pairs: synthetic training pairs.
        eval_pairs: held-out synthetic pairs (another seed) for the metrics.
        seed: seed of everything.
        task: "transfer" (pose transfer) or "tryon" (virtual try-on).
    """

    steps: int = 500
    minutes: float = 0.0
    batch_size: int = 16
    train_pairs: int = 4000
    eval_pairs: int = 128
    seed: int = 0
    task: str = "transfer"


def run_demo(out: str | Path, cfg: DemoConfig = DemoConfig(), progress: bool = True) -> dict:
    """Train, evaluate and write the demo's outputs; returns the metrics."""
    from clothflow.data.datasets.synthetic import SyntheticPairs

    out = writable_dir(out)
    run = out / "model"
    if run.exists():
        log.info("replacing the previous demo model in %s", run)
        shutil.rmtree(run)
    started = time.monotonic()
    pipeline_cfg = preset("tiny", task=cfg.task)
    steps = cfg.steps if cfg.minutes <= 0 else 10**9
    train_cfg = TrainConfig(
        stage="all",
        steps=steps,
        batch_size=cfg.batch_size,
        num_pairs=cfg.train_pairs,
        seed=cfg.seed,
        minutes=cfg.minutes,
        checkpoint_every=100,
    )
    train_cfg = apply_overrides(train_cfg, preset_training("tiny"))
    pipe = train(run, pipeline_cfg, train_cfg, progress=progress)
    held_out = SyntheticPairs(num_pairs=cfg.eval_pairs, size=pipeline_cfg.size, seed=cfg.seed + 1, task=cfg.task)
    metrics, (batch, result) = evaluate(pipe, held_out)
    metrics["seconds"] = round(time.monotonic() - started, 1)
    metrics["config"] = {"task": cfg.task, "preset": "tiny", "steps_per_stage": cfg.steps, "minutes": cfg.minutes,
                         "batch_size": cfg.batch_size, "train_pairs": cfg.train_pairs, "seed": cfg.seed}
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    save_png(out / "results.png", result_grid(batch, result, max_rows=8))
    return metrics


def shipped_demo_models(tasks: tuple[str, ...] = ("transfer", "tryon")) -> dict[str, str]:
    """The shipped synthetic models of ``tasks`` installed here, by task (empty: none)."""
    from clothflow.core.pretrained import shipped_default

    found = {task: shipped_default(DEMO_USES[task]) for task in tasks}
    return {task: name for task, name in found.items() if name is not None}


def run_shipped_demo(out: str | Path, models: dict[str, str], eval_pairs: int = 128, seed: int = 0) -> dict:
    """Run shipped models on held-out synthetic pairs; write the grids and ``metrics.json``.

    Args:
        models: task -> shipped model name (or folder), e.g. :func:`shipped_demo_models`.
        eval_pairs: held-out pairs per task (rendered with seed ``seed + 1``, as ``run_demo``'s).

    Returns:
        The metrics: the first task's at the top level (pose transfer's when shipped), each
        other task's under its name; ``"models"`` names the models and ``"seconds"`` the time.
    """
    import torch

    from clothflow.data.datasets.synthetic import SyntheticPairs
    from clothflow.models.pipeline import ClothFlowPipeline

    if not models:
        raise ClothflowError("no shipped synthetic models to run; `clothflow demo --train` trains one")
    out = writable_dir(out)
    started = time.monotonic()
    metrics: dict = {}
    for i, (task, name) in enumerate(models.items()):
        pipe = ClothFlowPipeline.from_pretrained(name).eval()
        if pipe.config.task != task:
            raise ClothflowError(f"the shipped model {name} was trained for {pipe.config.task}, not {task}")
        held_out = SyntheticPairs(num_pairs=eval_pairs, size=pipe.config.size, seed=seed + 1, task=task)
        with torch.inference_mode():
            found, (batch, result) = evaluate(pipe, held_out)
        found["model"] = str(name)
        grid_png = out / ("results.png" if i == 0 else f"results_{task}.png")
        save_png(grid_png, _at_height(result_grid(batch, result, max_rows=8), pipe.config.size[0]))
        found["grid"] = grid_png.name
        if i == 0:
            metrics.update(found)
        else:
            metrics[task] = found
    metrics["models"] = dict(models)
    metrics["seconds"] = round(time.monotonic() - started, 1)
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def _at_height(grid_image, tile_height: int):
    """Scale a result grid so that each of its rows is :data:`GRID_HEIGHT` pixels tall."""
    import cv2

    if tile_height == GRID_HEIGHT:
        return grid_image
    scale = GRID_HEIGHT / tile_height
    size = (round(grid_image.shape[1] * scale), round(grid_image.shape[0] * scale))
    return cv2.resize(grid_image, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)


def summary(metrics: dict, out: Path) -> str:
    """A few human lines about the demo's result (either path)."""
    lines = [f"{metrics['seconds']:.0f} s in all"]
    tasks = [(metrics.get("config", {}).get("task", "transfer"), metrics)]
    if "models" in metrics:
        tasks = [(task, metrics if i == 0 else metrics[task]) for i, task in enumerate(metrics["models"])]
    for task, m in tasks:
        w, e = m["warp_ssim"], m["flow_epe"]
        lines += [
            f"{task}: {m.get('model', 'trained here')}, held-out pairs: {m['pairs']}",
            "  warp SSIM   " + "   ".join(f"{k} {v:.3f}" for k, v in w.items()),
            "  flow EPE    " + "   ".join(f"{k} {v:.2f} px" for k, v in e.items()),
            f"  layout mIoU {m['layout_miou']:.3f}   final SSIM {m['final_ssim']:.3f}   final L1 {m['final_l1']:.3f}",
        ]
    grids = "   ".join(f"grid: {out / m.get('grid', 'results.png')}" for _, m in tasks)
    model = "" if "models" in metrics else f"model: {out / 'model'}   "
    lines.append(f"{model}{grids}   metrics: {out / 'metrics.json'}")
    return "\n".join(lines)

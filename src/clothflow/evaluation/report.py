"""``clothflow evaluate``: a model scored as the field does, written as a report folder.

The report holds ``metrics.json`` (means), ``per_pair.csv`` (one row per pair),
``protocol.json`` (how the numbers were made: sizes, padding, SSIM settings, library
versions) and ``grid.png`` (the best and worst pairs by SSIM).
"""

from __future__ import annotations

import csv
import json
import platform
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Subset

from clothflow.evaluation import metrics
from clothflow.evaluation.deep_metrics import deep_metrics
from clothflow.evaluation.evaluate import Case, evaluate
from clothflow.core.files import atomic_write_text, writable_dir
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.core.images import save_png
from clothflow.evaluation.visualize import label_strip, result_grid


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("clothflow", "torch", "numpy", "scikit-image", "scipy", "opencv-python-headless"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def protocol(pipe: ClothFlowPipeline, bounding: bool, data_range) -> dict:
    h, w = pipe.config.size
    return {
        "image_size": [h, w],
        "resize": "inputs resized to the model size with cv2.INTER_AREA (images), nearest (labels, masks)",
        "quantisation": "outputs rounded to uint8 as when saved to PNG",
        "ssim": {
            "function": "skimage.metrics.structural_similarity",
            "gaussian_weights": True,
            "sigma": 1.5,
            "use_sample_covariance": False,
            "data_range": data_range,
            "channel_axis": -1,
            "padding": f"{(h - w) // 2} px white left, rest right, to a {h} x {h} square (PATN addBounding)"
            if bounding else "none",
        },
        "masked_ssim": "mean of the SSIM map over the target person (parsing != background)",
        "cloth_ssim": "mean of the SSIM map over the target's cloth region (try-on: the upper garment or dress)",
        "l1": "mean |x - y| of uint8 images mapped to [-1, 1] (PATN/pose-gan l1_score)",
        "flow": "end-point error in pixels over target cloth pixels visible in the source; % under 1 and 3 px",
        "versions": _versions(),
    }


def write_report(
    pipe: ClothFlowPipeline,
    dataset,
    out: str | Path,
    bounding: bool = False,
    data_range: float | str = 255.0,
    batch_size: int = 16,
    grid_rows: int = 4,
) -> dict:
    """Evaluate ``pipe`` on ``dataset`` and write the report folder; returns the metrics."""
    out = writable_dir(out)
    rows: list[dict] = []
    reals: list[torch.Tensor] = []
    fakes: list[torch.Tensor] = []

    def per_pair(batch: dict, case: Case) -> None:
        fake, real = case.result.image, case.target
        person = (case.target_classes != 0).unsqueeze(1)
        values = {
            "ssim": metrics.paper_ssim(real, fake, bounding=bounding, data_range=data_range),
            "masked_ssim": metrics.paper_masked_ssim(real, fake, person, data_range=data_range),
            "cloth_ssim": metrics.paper_masked_ssim(real, fake, case.cloth_mask > 0.5, data_range=data_range),
            "psnr": metrics.psnr(real, fake),
            "l1": metrics.paper_l1(real, fake),
        }
        if "flow" in batch:  # undefined (NaN) where no target cloth is visible in the source
            scored = batch["visible"] * case.cloth_mask
            acc = metrics.flow_accuracy(case.flows["clothflow"], batch["flow"], scored)
            empty = (scored.flatten(1).sum(1) == 0).numpy()
            values.update({f"flow_{k}": np.where(empty, np.nan, v.numpy()) for k, v in acc.items()})
        for i in range(fake.shape[0]):
            rows.append({"index": len(rows), **{k: float(v[i]) for k, v in values.items()}})
        reals.append(real.clone())
        fakes.append(fake.clone())

    summary, _ = evaluate(pipe, dataset, batch_size, on_batch=per_pair)
    keys = [k for k in rows[0] if k != "index"] if rows else []
    # means over the pairs where a metric is defined (PSNR is inf for identical images: left out)
    paper = {k: round(float(np.mean([r[k] for r in rows if np.isfinite(r[k])] or [np.nan])), 4) for k in keys}
    summary["paper"] = paper
    summary["deep"] = deep_metrics(torch.cat(reals), torch.cat(fakes), bounding=bounding) if rows else {}
    with open(out / "per_pair.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["index", *keys])
        writer.writeheader()
        writer.writerows({k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    atomic_write_text(out / "metrics.json", json.dumps(summary, indent=2, default=float))
    atomic_write_text(out / "protocol.json", json.dumps(protocol(pipe, bounding, data_range), indent=2))
    if rows:
        order = np.argsort([r["ssim"] for r in rows])
        picks = {"best": order[::-1][:grid_rows].tolist(), "worst": order[:grid_rows].tolist()}
        panels = []
        for name, idx in picks.items():
            subset = Subset(dataset, idx)
            batch = torch.utils.data.default_collate([subset[i] for i in range(len(subset))])
            with torch.inference_mode():
                panels.append(result_grid(batch, pipe.predict(batch), max_rows=grid_rows))
        caption = label_strip([f"best {grid_rows} (top) and worst {grid_rows} (bottom) pairs by SSIM"], panels[0].shape[1])
        save_png(out / "grid.png", np.concatenate([caption, *panels], axis=0))
    return summary

"""Batch inference over a dataset folder: one image per pair, a grid, and an honest report."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.core.images import save_png, to_uint8
from clothflow.evaluation.visualize import result_grid


def tryon_folder(
    pipe: ClothFlowPipeline,
    data: Path,
    out: Path,
    pairs_file: Path | None = None,
    skip_bad: bool = False,
    batch_size: int = 8,
) -> str:
    """Try on every pair of a VITON-layout folder; write ``<person>__<cloth>.png`` and ``grid.png``.

    Without ``skip_bad`` the first bad file stops the run with an error naming it; with it,
    bad pairs are left out up front and listed in the returned report (and ``skipped.txt``).

    Returns:
        A few lines for the user: counts, where the outputs are, what was skipped.
    """
    from clothflow.data.datasets.viton import VitonDataset

    dataset = VitonDataset(data, pairs_file=pairs_file, size=pipe.config.size, mode="unpaired", skip_bad=skip_bad)
    dataset.require("person_parse", "person_pose")
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    done = 0
    first = None
    with torch.inference_mode():
        for batch in tqdm(loader, desc="try-on", unit="batch"):
            result = pipe.predict(batch)
            if first is None:
                first = (batch, result)
            for i in range(result.image.shape[0]):
                pair = dataset.pairs[done + i]
                name = f"{Path(pair.person).stem}__{Path(pair.cloth).stem}.png"
                save_png(out / name, to_uint8(result.image[i]))
            done += result.image.shape[0]
    lines = [f"{done} pairs tried on; images in {out}"]
    if first is not None:
        save_png(out / "grid.png", result_grid(*first))
        lines.append(f"grid of the first pairs: {out / 'grid.png'}")
    if dataset.skipped:
        listing = "\n".join(f"  {where}: {why}" for where, why in dataset.skipped)
        (out / "skipped.txt").write_text(listing + "\n")
        lines.append(f"skipped {len(dataset.skipped)} bad pairs (also in {out / 'skipped.txt'}):\n{listing}")
    return "\n".join(lines)

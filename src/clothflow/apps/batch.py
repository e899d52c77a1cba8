"""Batch inference over a dataset folder: one image per pair, a grid, and an honest report."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.core.images import save_png
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

    A folder without a pair list pairs each person with their own garment (the paired setting).
    Each result is at its person photo's size, composed into the photo as for one pair
    (:func:`clothflow.apps.infer.compose_tryon`); the grid shows the network's outputs.
    Without ``skip_bad`` the first bad file stops the run with an error naming it; with it,
    bad pairs are left out up front and listed in the returned report (and ``skipped.txt``).

    Returns:
        A few lines for the user: counts, where the outputs are, what was skipped.
    """
    from clothflow.apps.infer import compose_tryon
    from clothflow.data.datasets.viton import VitonDataset
    from clothflow.data.formats.images import read_rgb
    from clothflow.data.formats.label_maps import read_mask

    from clothflow.data.datasets.viton_layout import find_layout, find_pairs_file

    listed = pairs_file is not None or find_pairs_file(find_layout(data), None) is not None
    mode = "unpaired" if listed else "paired"  # no pair list: each person in their own garment (VITON-HD's test/)
    dataset = VitonDataset(data, pairs_file=pairs_file, size=pipe.config.size, mode=mode, skip_bad=skip_bad)
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
                person, cloth = dataset.layout.person_files(pair.person), dataset.layout.cloth_files(pair.cloth)
                full = compose_tryon(result, batch["person_parse"], i, read_rgb(person["person"]),
                                     read_rgb(cloth["cloth"]), read_mask(cloth["cloth_mask"]))
                name = f"{Path(pair.person).stem}__{Path(pair.cloth).stem}.png"
                save_png(out / name, full)
            done += result.image.shape[0]
    lines = [f"{done} pairs tried on; images in {out}"]
    if not listed:
        lines.append(f"no pair list in {dataset.layout.root}: each person wears their own garment (the paired setting)")
    if first is not None:
        save_png(out / "grid.png", result_grid(*first))
        lines.append(f"grid of the first pairs: {out / 'grid.png'}")
    if dataset.skipped:
        listing = "\n".join(f"  {where}: {why}" for where, why in dataset.skipped)
        (out / "skipped.txt").write_text(listing + "\n")
        lines.append(f"skipped {len(dataset.skipped)} bad pairs (also in {out / 'skipped.txt'}):\n{listing}")
    return "\n".join(lines)

"""Pose transfer over a pair table: every selected row's result, at the target photo's size.

``clothflow transfer --pairs DIR/pairs.csv [--dataset D] [--split S] --out OUT`` writes
``OUT/<source stem>__<target stem>.png`` for every row (the names the published methods'
outputs have in ``DIR/<dataset>/peers/``), so that any method's folder can be scored against the
truth on the same pairs (:mod:`clothflow.evaluation.pose_pairs`).

The source's parsing and the target keypoints a row lacks are estimated first and kept in the
table's cache (:mod:`clothflow.estimate.pair_cache`). A bad table (missing photos, wrong
keypoint counts, an empty selection) stops before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from clothflow.core.images import save_png, to_uint8
from clothflow.core.files import writable_dir
from clothflow.data.formats.images import fit_to_size, read_rgb


@dataclass
class TableRun:
    """What :func:`transfer_table` did: the files written and the rows left out, with the reason."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (row, reason)
    estimated: int = 0


def transfer_table(pipe, table: str | Path, out: str | Path, dataset: str | None = None, split: str | None = None,
                   batch_size: int = 8, progress: bool = True) -> TableRun:
    """Run ``pipe`` on a pair table's rows and write each result at its target photo's size.

    Args:
        pipe: a pose-transfer pipeline (eager or ONNX Runtime).
        table: ``pairs.csv`` or its folder.
        out: the output folder.
        dataset, split: the rows to run (None: all).
        batch_size: pairs run together.
        progress: show a progress bar.

    Returns:
        A :class:`TableRun`.

    Raises:
        ClothflowError: a bad table (see :func:`~clothflow.data.formats.pose_pairs.read_pair_table`),
            before anything is written.
    """
    from tqdm import tqdm

    from clothflow.data.formats.images import place_in_frame
    from clothflow.data.datasets.pose_pairs import PosePairs
    from clothflow.data.formats.pose_pairs import default_cache, read_pair_table
    from clothflow.estimate.pair_cache import prepare_pair_photos

    rows = read_pair_table(table, dataset, split)
    report = prepare_pair_photos(rows, default_cache(table), progress=progress)
    pairs = PosePairs(table, pipe.config.size, f"{dataset or ''}/{split or ''}", source_pose=False)
    run = TableRun(estimated=report.estimated)
    kept = {(s, t) for _, s, t in pairs.pairs}
    run.skipped = [(f"line {r.line}: {r.output_name}", f"no pose found in {r.target.name}")
                   for r in rows if (r.source, r.target) not in kept]
    out = writable_dir(out)
    loader = DataLoader(range(len(pairs)), batch_size=batch_size)
    names = [(s, t) for _, s, t in pairs.pairs]
    for batch in tqdm(loader, desc="pairs", disable=not progress):
        items = [pairs[int(i)] for i in batch]
        stack = {k: torch.stack([it[k] for it in items]) for k in ("src_image", "src_parse", "tgt_pose")}
        with torch.inference_mode():
            images = pipe.transfer(stack["src_image"], stack["src_parse"], stack["tgt_pose"]).image
        for i, image in zip(batch.tolist(), images):
            source, target = names[i]
            frame = read_rgb(target).shape[:2]
            backdrop = fit_to_size(read_rgb(source), frame)
            path = out / f"{source.stem}__{target.stem}.png"
            save_png(path, place_in_frame(np.ascontiguousarray(to_uint8(image)), backdrop))
            run.written.append(path)
    return run

"""Scoring pose-transfer results on a pair table's rows, the published methods' beside ours.

A method's results are a folder of ``<source stem>__<target stem>.<png|jpg>`` (what
``clothflow transfer --pairs`` writes, and how the table's ``peers/`` folders are named), or
one of two built-ins: ``"source"`` (copying the source photo unchanged) and ``"peer"`` (each
row's published method, from the table's ``peer_output``). Scores are the papers' SSIM
(:func:`~clothflow.evaluation.metrics.paper_ssim`: scikit-image, Gaussian window, uint8) on the
photo's whole frame and on the centre crop of the model's aspect (DeepFashion's 256 x 176
columns 40:216 of 256 x 256), grouped by the row's published method, since each published
output exists on its own rows only.

Example:
    >>> crop_columns((256, 256)), crop_columns((128, 64))
    ((40, 216), (0, 64))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clothflow.core.errors import ClothflowError
from clothflow.data.formats.images import fit_to_size, read_rgb
from clothflow.data.formats.pose_pairs import PairRow
from clothflow.evaluation.metrics import paper_ssim

CROP_ASPECT = 176 / 256  # width / height of the DeepFashion pose-transfer crop
BUILTIN = ("source", "peer")


def crop_columns(hw: tuple[int, int], aspect: float = CROP_ASPECT) -> tuple[int, int]:
    """The centre columns [left, right) of an image of ``hw`` at ``aspect`` (all when narrower)."""
    h, w = hw
    width = int(round(h * aspect))
    if width >= w:
        return 0, w
    left = (w - width) // 2
    return left, left + width


def result_file(method: str | Path, row: PairRow) -> Path | None:
    """The file holding ``method``'s result for ``row`` (None: the peer method has none here)."""
    if str(method) == "source":
        return row.source
    if str(method) == "peer":
        return row.peer_output
    stem = f"{row.source.stem}__{row.target.stem}"
    for ext in (".png", ".jpg"):
        if (Path(method) / f"{stem}{ext}").is_file():
            return Path(method) / f"{stem}{ext}"
    raise ClothflowError(f"no result {stem}.png (or .jpg) for line {row.line} of the pair table", method)


@dataclass
class RowScore:
    """One row's scores: SSIM on the whole frame and on the centre crop."""

    row: PairRow
    ssim: float
    ssim_crop: float


def score_rows(method: str | Path, rows: list[PairRow]) -> list[RowScore]:
    """The SSIM of ``method``'s result against the target photo on every row it has a result for.

    A result of another size than the target is framed to it first (scaled to its height and
    centre-cropped or padded), as a 256 x 176 result is compared in a 256 x 256 frame.

    Raises:
        ClothflowError: a folder without a row's result, or an unreadable file (naming it).
    """
    scores = []
    for row in rows:
        path = result_file(method, row)
        if path is None:
            continue
        truth = read_rgb(row.target)
        fake = read_rgb(path)
        if fake.shape != truth.shape:
            fake = fit_to_size(fake, truth.shape[:2])
        left, right = crop_columns(truth.shape[:2])
        full = paper_ssim(truth[None], fake[None])[0]
        crop = paper_ssim(np.ascontiguousarray(truth[None, :, left:right]), np.ascontiguousarray(fake[None, :, left:right]))[0]
        scores.append(RowScore(row, float(full), float(crop)))
    return scores


def by_peer(scores: list[RowScore]) -> dict[str, tuple[float, float, int]]:
    """Mean (SSIM, crop SSIM, rows) per the rows' published method, and over ``"all"`` rows."""
    groups: dict[str, list[RowScore]] = {}
    for s in scores:
        groups.setdefault(s.row.peer or "-", []).append(s)
        groups.setdefault("all", []).append(s)
    return {k: (float(np.mean([s.ssim for s in v])), float(np.mean([s.ssim_crop for s in v])), len(v))
            for k, v in groups.items()}

"""Image grids people look at: results of the pipeline, side by side with the truth."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from clothflow.core.images import to_uint8
from clothflow.core.ops import labels, pose


def label_strip(names: list[str], cell_w: int, height: int = 18) -> np.ndarray:
    """A white header row with one caption centred over each column."""
    strip = np.full((height, cell_w * len(names), 3), 255, np.uint8)
    scale = 0.35 if cell_w < 120 else 0.45
    for i, name in enumerate(names):
        (tw, th), _ = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        x = i * cell_w + max((cell_w - tw) // 2, 1)
        cv2.putText(strip, name, (x, (height + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def grid(rows: list[list[np.ndarray]], names: list[str], min_cell_w: int = 88) -> np.ndarray:
    """Stack rows of equal-size H x W x 3 uint8 cells under a caption row.

    Small cells are enlarged (nearest neighbour) to at least ``min_cell_w`` pixels wide so
    that captions fit and pixels stay visible.
    """
    h, w = rows[0][0].shape[:2]
    scale = max(1, int(np.ceil(min_cell_w / w)))
    cells = [[cv2.resize(c, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST) for c in r] for r in rows]
    body = np.concatenate([np.concatenate(r, axis=1) for r in cells], axis=0)
    return np.concatenate([label_strip(names, w * scale), body], axis=0)


TRANSFER_COLUMNS = ["source", "target pose", "pred. layout", "warped cloth", "output", "ground truth"]
TRYON_COLUMNS = ["person", "garment", "pred. layout", "warped garment", "output", "ground truth"]


def result_grid(batch: dict[str, torch.Tensor], result, max_rows: int = 8) -> np.ndarray:
    """One row per pair, for either task.

    Pose transfer: source | target pose | predicted layout | warped cloth | output | ground truth.
    Try-on: person | garment | predicted layout | warped garment | output | ground truth (when known).
    """
    tryon = "person" in batch
    first = batch["person"] if tryon else batch["src_image"]
    truth = batch.get("target") if tryon else batch["tgt_image"]
    h, w = first.shape[-2:]
    rows = []
    blank = np.full((h, w, 3), 255, np.uint8)
    for i in range(min(first.shape[0], max_rows)):
        warped = result.flow.warped_cloth[i] * result.flow.warped_mask[i] + (1 - result.flow.warped_mask[i])
        if tryon:
            second = to_uint8(batch["cloth"][i] * batch["cloth_mask"][i] + (1 - batch["cloth_mask"][i]))
        else:
            second = pose.draw_skeleton(batch["tgt_pose"][i].cpu().numpy(), h, w, thickness=max(1, h // 64))
        rows.append(
            [
                to_uint8(first[i]),
                second,
                labels.colourise(result.layout[i].cpu().numpy()) if result.layout is not None else blank,
                to_uint8(warped),
                to_uint8(result.image[i]),
                to_uint8(truth[i]) if truth is not None else blank,
            ]
        )
    return grid(rows, TRYON_COLUMNS if tryon else TRANSFER_COLUMNS)

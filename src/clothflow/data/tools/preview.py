"""Looking at the synthetic data: flow colour wheel and a contact sheet of pairs.

Example:
    >>> import numpy as np
    >>> flow_to_colour(np.zeros((4, 3, 2), np.float32)).shape
    (4, 3, 3)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from clothflow.core.ops import labels
from clothflow.core.errors import ClothflowError
from clothflow.core.ops.warp import warp


def _colour_wheel() -> np.ndarray:
    """The Middlebury (Baker et al.) colour wheel: 55 x 3 float RGB in [0, 255]."""
    ry, yg, gc, cb, bm, mr = 15, 6, 4, 11, 13, 6
    segments = []
    for n, start, end in (
        (ry, (255, 0, 0), (255, 255, 0)), (yg, (255, 255, 0), (0, 255, 0)), (gc, (0, 255, 0), (0, 255, 255)),
        (cb, (0, 255, 255), (0, 0, 255)), (bm, (0, 0, 255), (255, 0, 255)), (mr, (255, 0, 255), (255, 0, 0)),
    ):
        t = np.arange(n, dtype=np.float64)[:, None] / n
        segments.append(np.asarray(start) * (1 - t) + np.asarray(end) * t)
    return np.concatenate(segments)


_WHEEL = _colour_wheel()


def flow_to_colour(flow: np.ndarray, max_norm: float | None = None) -> np.ndarray:
    """Visualise a flow field with the Middlebury colour wheel (hue = direction, saturation = length).

    Args:
        flow: H x W x 2 (dx, dy) pixels.
        max_norm: length shown fully saturated; default the field's largest length.

    Returns:
        H x W x 3 uint8 RGB; zero flow is white.
    """
    flow = np.nan_to_num(np.asarray(flow, np.float64))
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise ValueError(f"expected H x W x 2 flow, got shape {flow.shape}")
    dx, dy = flow[..., 0], flow[..., 1]
    rad = np.sqrt(dx**2 + dy**2)
    norm = max_norm if max_norm is not None else max(float(rad.max()), 1e-6)
    rad = np.clip(rad / norm, 0, 1)
    ncols = len(_WHEEL)
    a = np.arctan2(-dy, -dx) / np.pi  # in [-1, 1]
    fk = (a + 1) / 2 * (ncols - 1)
    k0 = np.floor(fk).astype(int)
    k1 = (k0 + 1) % ncols
    f = (fk - k0)[..., None]
    col = ((1 - f) * _WHEEL[k0] + f * _WHEEL[k1]) / 255.0
    col = 1 - rad[..., None] * (1 - col)
    return (col * 255).round().astype(np.uint8)


def _label(text: str, width: int, height: int) -> np.ndarray:
    tile = np.full((height, width, 3), 255, np.uint8)
    (w1, h1), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1)
    scale = min(0.55 * height / h1, 0.92 * width / w1, 0.7)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(tile, text, ((width - tw) // 2, (height + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def _warp_np(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    f = torch.from_numpy(flow).permute(2, 0, 1)[None].float()
    return warp(x, f)[0].permute(1, 2, 0).clamp(0, 255).round().byte().numpy()


COLUMNS = ("source", "target", "target parse", "true flow", "visible", "warped source")


def preview_row(src_image: np.ndarray, tgt_image: np.ndarray, tgt_parse: np.ndarray, flow: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """One contact-sheet row: the six panels of :data:`COLUMNS` side by side, H x 6W x 3 uint8."""
    vis = np.where(visible[..., None], 255, 40).astype(np.uint8).repeat(3, -1)
    warped = np.where(visible[..., None], _warp_np(src_image, flow), 0).astype(np.uint8)
    parse = labels.colourise(labels.to_groups(tgt_parse)).astype(np.uint8)
    colour = flow_to_colour(np.where(tgt_parse[..., None] > 0, flow, 0))
    panels = [src_image, tgt_image, parse, colour, vis, warped]
    sep = np.full((src_image.shape[0], 2, 3), 255, np.uint8)
    return np.concatenate([x for p in panels for x in (p, sep)][:-1], 1)


def contact_sheet(size: tuple[int, int] = (256, 176), seed: int = 0, n: int = 6, real_poses=None) -> np.ndarray:
    """Grid of ``n`` pairs (pose transfer, plus one try-on pair when n >= 3): H' x W' x 3 uint8 RGB.

    ``real_poses``: optional PoseSampler over real poses for the pose-transfer rows."""
    from clothflow.data.synth.renderer import make_transfer_pair, make_tryon_pair

    h, w = size
    rows = []
    header = np.concatenate([x for c in COLUMNS for x in (_label(c, w, max(h // 8, 16)), np.full((max(h // 8, 16), 2, 3), 255, np.uint8))][:-1], 1)
    rows.append(header)
    for i in range(n):
        if n >= 3 and i == n - 1:
            t = make_tryon_pair(seed, i, size)
            rows.append(preview_row(t.shop.image, t.target.image, t.target.parse, t.flow, t.visible))
        else:
            p = make_transfer_pair(seed, i, size, real_poses=real_poses)
            rows.append(preview_row(p.src.image, p.tgt.image, p.tgt.parse, p.flow, p.visible))
        rows.append(np.full((2, rows[-1].shape[1], 3), 255, np.uint8))
    return np.concatenate(rows[:-1], 0)


def write_preview(path: str | Path, size: tuple[int, int] = (256, 176), seed: int = 0, n: int = 6, poses=None) -> Path:
    """Write a contact sheet PNG of synthetic pairs.

    Columns: source | target | target parsing (model classes) | true flow (colour wheel) |
    visibility | source warped by the true flow (masked by visibility). With n >= 3 the last
    row is a try-on pair (in-shop garment as source).

    Args:
        path: output PNG file.
        size: (H, W) per panel.
        seed: dataset seed.
        n: number of rows.
        poses: a DeepFashion annotation CSV (or a PoseSampler) of real poses; None = random poses.

    Returns:
        The path written.

    Raises:
        ClothflowError: if the file cannot be written.
    """
    path = Path(path)
    from clothflow.data.datasets.deepfashion import real_pose_sampler

    sheet = contact_sheet(size, seed, n, None if poses is None else real_pose_sampler(poses))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    except (OSError, cv2.error) as exc:
        raise ClothflowError(f"cannot write preview ({exc})", path) from exc
    if not ok:
        raise ClothflowError("cannot write preview (is it a .png path in a writable folder?)", path)
    return path

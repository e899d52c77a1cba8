"""Dense backward warping from sparse landmark motion: a thin-plate spline on a coarse grid.

For each output pixel the map says where in the source image to sample (target -> source, as
every flow in the project). The spline interpolates the control points exactly (up to a small
regularisation, which keeps it defined when two targets meet), is evaluated on a grid every
``step`` pixels (finer over the face) and upsampled bilinearly: the displacement is smooth, so
the grid costs nothing visible and keeps the spline's cost nearly independent of the image size.

Example:
    >>> import numpy as np
    >>> src = np.array([[0, 0], [99, 0], [0, 99], [99, 99], [50, 50]], np.float64)
    >>> tgt = src.copy(); tgt[4] = (55, 50)             # the middle point moves 5 px right
    >>> map_x, map_y = backward_map(tgt, src, (100, 100), step=5)
    >>> round(float(map_x[50, 55]), 1), round(float(map_y[50, 55]), 1)   # samples the source there
    (50.0, 50.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import scipy.linalg


@dataclass(frozen=True)
class ThinPlateSpline:
    """A fitted 2-D thin-plate spline f: R^2 -> R^2, in coordinates divided by ``scale``.

    Attributes:
        centres: K x 2 control points (scaled).
        weights: K x 2 radial-basis weights.
        affine: 3 x 2 affine part (rows: 1, x, y).
        scale: the coordinate divisor (the image's longer side).
    """

    centres: np.ndarray
    weights: np.ndarray
    affine: np.ndarray
    scale: float


def _kernel(d2: np.ndarray) -> np.ndarray:
    """The TPS radial basis r^2 log r^2, from squared distances (0 at r = 0)."""
    return d2 * np.log(np.maximum(d2, 1e-20))


def fit_tps(points: np.ndarray, values: np.ndarray, scale: float, regularization: float = 1e-5) -> ThinPlateSpline:
    """Fit f(points[k]) ~ values[k].

    Args:
        points: K x 2 control points (pixels), K >= 3 and not all on a line.
        values: K x 2 values at them (pixels).
        scale: coordinates are divided by it (use the image's longer side) so that
            ``regularization`` means the same at every size.
        regularization: added to the kernel's diagonal; 0 interpolates exactly.

    Returns:
        The spline.
    """
    p = np.asarray(points, np.float64) / scale
    v = np.asarray(values, np.float64) / scale
    k = len(p)
    d2 = ((p[:, None, :] - p[None, :, :]) ** 2).sum(-1)
    a = np.zeros((k + 3, k + 3))
    a[:k, :k] = _kernel(d2) + regularization * np.eye(k)
    a[:k, k] = 1.0
    a[:k, k + 1 :] = p
    a[k, :k] = 1.0
    a[k + 1 :, :k] = p.T
    b = np.zeros((k + 3, 2))
    b[:k] = v
    sol = scipy.linalg.solve(a, b, assume_a="sym")  # symmetric indefinite (LDL^T)
    return ThinPlateSpline(centres=p, weights=sol[:k], affine=sol[k:], scale=float(scale))


def eval_tps(tps: ThinPlateSpline, points: np.ndarray) -> np.ndarray:
    """The spline at M x 2 points (pixels); returns M x 2 float64 pixels."""
    q = np.asarray(points, np.float64) / tps.scale
    c = tps.centres
    d2 = np.maximum((q**2).sum(1)[:, None] + (c**2).sum(1)[None, :] - 2.0 * q @ c.T, 0.0)
    out = _kernel(d2) @ tps.weights + tps.affine[0] + q @ tps.affine[1:]
    return out * tps.scale


def _grid_displacement(tps: ThinPlateSpline, box: tuple[int, int, int, int], step: int) -> np.ndarray:
    """Spline displacement on the pixels of ``box`` = (x0, y0, x1, y1) (exclusive ends), from a grid every ``step`` px.

    Returns:
        (y1 - y0) x (x1 - x0) x 2 float32 displacement (pixels).
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    nx = max(2, int(np.ceil((w - 1) / step)) + 1)
    ny = max(2, int(np.ceil((h - 1) / step)) + 1)
    gx, gy = np.meshgrid(np.linspace(x0, x1 - 1, nx), np.linspace(y0, y1 - 1, ny))
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    disp = (eval_tps(tps, grid) - grid).reshape(ny, nx, 2).astype(np.float32)
    # corner-aligned bilinear upsampling (cv2.resize would align pixel areas instead)
    ux, uy = np.meshgrid(np.linspace(0, nx - 1, w, dtype=np.float32), np.linspace(0, ny - 1, h, dtype=np.float32))
    return cv2.remap(disp, ux, uy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def backward_map(
    target: np.ndarray,
    source: np.ndarray,
    size: tuple[int, int],
    step: int = 8,
    regularization: float = 1e-5,
    fine_box: tuple[int, int, int, int] | None = None,
    fine_step: int | None = None,
    window: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sampling maps for :func:`cv2.remap` that carry ``source`` points onto ``target`` points.

    Args:
        target: K x 2 control points where they are in the output (pixels).
        source: K x 2 where the same points are in the source image.
        size: (H, W) of the output.
        step: grid spacing in pixels on which the spline is evaluated.
        regularization: see :func:`fit_tps`.
        fine_box: (x0, y0, x1, y1), exclusive ends: a region (the face) evaluated on a finer
            grid, every ``fine_step`` pixels; the rest of the image uses ``step``.
        fine_step: the fine grid's spacing.
        window: H x W float32 weights the displacement is multiplied by (e.g.
            :func:`ellipse_window`: 1 around the face, 0 far from it, so the background is
            exactly still); None keeps the spline's displacement everywhere.

    Returns:
        (map_x, map_y): H x W float32 source coordinates for every output pixel.
    """
    h, w = size
    tps = fit_tps(target, source, float(max(h, w)), regularization)
    disp = _grid_displacement(tps, (0, 0, w, h), step)
    if fine_box is not None and fine_step is not None:
        x0, y0, x1, y1 = fine_box
        disp[y0:y1, x0:x1] = _grid_displacement(tps, fine_box, fine_step)
    if window is not None:
        disp *= window[..., None]
    px, py = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return px + disp[..., 0], py + disp[..., 1]


def remap(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """``image`` (H x W x C or H x W, any dtype cv2 takes) sampled bilinearly at the maps; edges repeat."""
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def border_anchors(size: tuple[int, int], per_side: int = 4) -> np.ndarray:
    """Fixed points along the image border (M x 2 pixels), ``per_side`` segments per side."""
    h, w = size
    t = np.linspace(0.0, 1.0, per_side + 1)[:-1]
    top = np.stack([t * (w - 1), np.zeros_like(t)], 1)
    right = np.stack([np.full_like(t, w - 1), t * (h - 1)], 1)
    bottom = np.stack([(1 - t) * (w - 1), np.full_like(t, h - 1)], 1)
    left = np.stack([np.zeros_like(t), (1 - t) * (h - 1)], 1)
    return np.concatenate([top, right, bottom, left])


def face_ellipse(landmarks: np.ndarray, ids: tuple[int, ...], factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre and radii (x, y pixels) of the box around ``landmarks[ids]``, the radii times ``factor``."""
    pts = np.asarray(landmarks, np.float64)[list(ids)]
    return (pts.max(0) + pts.min(0)) / 2, (pts.max(0) - pts.min(0)) / 2 * factor


def ring_anchors(landmarks: np.ndarray, ids: tuple[int, ...], factor: float, count: int = 16) -> np.ndarray:
    """Fixed points on an ellipse ``factor`` times the landmarks' own extent, around their centre.

    They keep the warp local: the face moves, the background beyond the ring stays put.

    Args:
        landmarks: N x 2 pixels.
        ids: the landmarks whose extent sets the ellipse (the face oval).
        factor: ellipse radii over the half-extents.
        count: number of points.

    Returns:
        count x 2 pixels (they may fall outside the image; that is harmless).
    """
    centre, radii = face_ellipse(landmarks, ids, factor)
    ang = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return centre + np.stack([np.cos(ang), np.sin(ang)], 1) * radii


def ellipse_window(size: tuple[int, int], centre: np.ndarray, radii: np.ndarray, inner: float = 1.0, outer: float = 1.4) -> np.ndarray:
    """Weights 1 inside an ellipse, falling smoothly to 0 at ``outer`` times its radii.

    Args:
        size: (H, W).
        centre: (x, y) pixels.
        radii: (rx, ry) pixels.
        inner, outer: where the fall starts and ends, in multiples of the radii.

    Returns:
        H x W float32 in [0, 1].
    """
    h, w = size
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    r = np.sqrt(((xs - centre[0]) / radii[0]) ** 2 + ((ys - centre[1]) / radii[1]) ** 2)
    t = np.clip((outer - r) / (outer - inner), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)

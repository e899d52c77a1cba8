"""The face mesh as a surface: its triangles, drawn in depth order, and the texture maps they give.

Triangles are MediaPipe's own tesselation (``FACEMESH_TESSELATION``: 1,322 edges of the 468
mesh points), turned into triangles as the edges' 3-cliques, less the two that are not faces
(three edges that each border three cliques: they enclose the nose wings' inner fold), with
the three holes closed by strips from lid to lid and lip to lip: 898 triangles, the count of
MediaPipe's canonical face model. Why not a Delaunay triangulation of the portrait's points:
the tesselation is the same patch of skin on every face and in every view (the portrait, the
driver and the mirrored side all share it), it follows the face's relief (the nose's sides
are triangles of their own, so the nose can hide the cheek behind it), and it leaves the lids
and the lips as separate edges, so eyes shut and mouths open without tearing it; a Delaunay
triangulation of one photo's 2-D points bridges the nose's profile and changes with the view.

Drawing is the painter's algorithm: the triangles facing the camera (a positive signed area on
screen, as every one has in a face looking at the camera after :func:`orient`) are filled far
to near into a buffer of triangle ids with OpenCV, so the nearer surface wins (a turned nose
hides the cheek behind it). Each id then gives the affine map from the output's pixels to the
texture's (:func:`affine_maps`, :func:`texture_maps`), sampled with ``cv2.remap``. About 900
``cv2.fillConvexPoly`` calls and one remap: a few milliseconds at 256 x 256.

Example (a square of two triangles facing the camera, and one facing away, not drawn):
    >>> pts = np.array([[0, 0], [9, 0], [9, 9], [0, 9]], np.float64)
    >>> tris = np.array([[0, 1, 2], [0, 2, 3], [0, 2, 1]])
    >>> signed_areas(pts, tris).tolist()
    [81.0, 81.0, -81.0]
    >>> sorted(np.unique(rasterise(pts, np.zeros(4), tris, (10, 10))).tolist())
    [0, 1]
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

import cv2
import numpy as np

from clothflow.animate.face.fill import Box
from clothflow.animate.face.landmarks import EYES, INNER_LIP_LOWER, INNER_LIP_UPPER

_SHIFT = 4  # sub-pixel bits for cv2 drawing
NUM_MESH_POINTS = 468


def _strip(first: int, uppers: tuple[int, ...], lowers: tuple[int, ...], last: int) -> list[tuple[int, int, int]]:
    """Triangles closing an opening between two rows of points from one corner to the other."""
    tris = [(first, uppers[0], lowers[0])]
    for k in range(len(uppers) - 1):
        tris += [(uppers[k], uppers[k + 1], lowers[k]), (lowers[k], uppers[k + 1], lowers[k + 1])]
    return tris + [(uppers[-1], last, lowers[-1])]


def _orient_consistently(tris: list[tuple[int, int, int]]) -> np.ndarray:
    """The triangles reordered so that neighbours run their shared edge in opposite directions."""
    by_edge: dict[tuple[int, int], list[int]] = {}
    for t, tri in enumerate(tris):
        for k in range(3):
            by_edge.setdefault(tuple(sorted((tri[k], tri[(k + 1) % 3]))), []).append(t)
    out = [None] * len(tris)
    out[0] = tris[0]
    queue = deque([0])
    while queue:
        t = queue.popleft()
        a, b, c = out[t]
        for u, v in ((a, b), (b, c), (c, a)):
            for n in by_edge[tuple(sorted((u, v)))]:
                if out[n] is not None:
                    continue
                p, q, r = tris[n]
                runs = {(p, q), (q, r), (r, p)}
                out[n] = (p, r, q) if (u, v) in runs else (p, q, r)  # must run v -> u
                queue.append(n)
    if any(o is None for o in out):  # pragma: no cover - the tesselation is connected
        raise RuntimeError("the face-mesh tesselation is not one connected surface")
    return np.array(out, np.int32)


@lru_cache(maxsize=1)
def face_triangles() -> np.ndarray:
    """The face mesh's 898 triangles (T x 3 int32 landmark ids), consistently oriented.

    Needs mediapipe (the tesselation ships in its ``solutions`` package). The global
    orientation is arbitrary until :func:`orient` fixes it against one face's landmarks.
    """
    from clothflow.animate.face.landmarks import import_face_mesh

    import_face_mesh()  # a clear error without mediapipe
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    edges = sorted({tuple(sorted(e)) for e in FACEMESH_TESSELATION})
    near: dict[int, set[int]] = {}
    for a, b in edges:
        near.setdefault(a, set()).add(b)
        near.setdefault(b, set()).add(a)
    cliques = sorted({tuple(sorted((a, b, c))) for a, b in edges for c in near[a] & near[b]})
    uses: dict[tuple[int, int], int] = {}
    for a, b, c in cliques:
        for e in ((a, b), (a, c), (b, c)):
            uses[e] = uses.get(e, 0) + 1
    tris = [t for t in cliques if not all(uses[e] == 3 for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])))]
    for (outer, inner), pairs in EYES:
        tris += _strip(outer, tuple(u for u, _ in pairs), tuple(l for _, l in pairs), inner)
    tris += _strip(INNER_LIP_UPPER[0], INNER_LIP_UPPER[1:-1], INNER_LIP_LOWER[1:-1], INNER_LIP_UPPER[-1])
    return _orient_consistently(tris)


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Twice the signed area of each triangle on screen (T values): one sign is the side
    facing the camera, the other the side facing away (:func:`orient` makes the front positive)."""
    p = np.asarray(points, np.float64)[:, :2]
    a, b, c = p[triangles[:, 0]], p[triangles[:, 1]], p[triangles[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def orient(triangles: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``triangles`` flipped, if needed, so that most of them have a positive :func:`signed_areas`
    on ``landmarks`` (N x 2 or N x 3 of a face seen from the front or a little turned)."""
    if np.sum(signed_areas(landmarks, triangles) > 0) * 2 >= len(triangles):
        return np.asarray(triangles)
    return np.asarray(triangles)[:, [0, 2, 1]]


def draw_order(points: np.ndarray, depth: np.ndarray, triangles: np.ndarray, min_area: float = 1e-3) -> np.ndarray:
    """Ids of the triangles facing the camera, far to near (painter's order)."""
    front = np.flatnonzero(signed_areas(points, triangles) > min_area)
    z = np.asarray(depth, np.float64)[triangles[front]].mean(1)
    return front[np.argsort(-z, kind="stable")]


def rasterise(points: np.ndarray, depth: np.ndarray, triangles: np.ndarray, size: tuple[int, int],
              box: Box | None = None) -> np.ndarray:
    """A buffer of the id of the triangle seen at each pixel, -1 where none is.

    Args:
        points: N x 2 (or N x 3) screen positions of the mesh points (pixels).
        depth: N depths (larger is farther).
        triangles: T x 3 landmark ids, front faces with a positive :func:`signed_areas`.
        size: (H, W) of the image.
        box: draw only this part of it (the buffer is the box's size); None: the whole image.

    Returns:
        int32 ids, the box's (or the image's) size.
    """
    box = box or Box(0, 0, size[1], size[0])
    ids = np.full(box.size, -1, np.int32)
    pts = np.round((np.asarray(points, np.float64)[:, :2] - box.offset) * (1 << _SHIFT)).astype(np.int32)
    for t in draw_order(points, depth, triangles):
        cv2.fillConvexPoly(ids, pts[triangles[t]], int(t), cv2.LINE_8, _SHIFT)
    return ids


def affine_maps(dst: np.ndarray, src: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Per triangle, the affine map taking its ``dst`` corners onto its ``src`` corners.

    Args:
        dst: N x 2 (or more columns, the first two used) where the points are drawn.
        src: N x 2 where they are in the texture.
        triangles: T x 3 ids.

    Returns:
        T x 6 float64 (a, b, c, d, e, f): ``src = (a x + b y + c, d x + e y + f)``; degenerate
        triangles get the map of their first corner.
    """
    d = np.asarray(dst, np.float64)[:, :2][triangles]  # T x 3 x 2
    s = np.asarray(src, np.float64)[:, :2][triangles]
    m = np.concatenate([d, np.ones(d.shape[:2] + (1,))], 2)  # T x 3 x 3, rows (x, y, 1)
    det = np.linalg.det(m)
    ok = np.abs(det) > 1e-9
    coef = np.zeros((len(triangles), 3, 2))
    coef[ok] = np.linalg.solve(m[ok], s[ok])  # m @ coef = s
    coef[~ok, 2] = s[~ok, 0]
    return coef.transpose(0, 2, 1).reshape(-1, 6)


def texture_maps(ids: np.ndarray, affines: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """Sampling maps for ``cv2.remap`` from a triangle-id buffer (pixels without a triangle get -1)."""
    h, w = ids.shape
    ys, xs = np.mgrid[box.y0 : box.y0 + h, box.x0 : box.x0 + w].astype(np.float64)
    coef = affines[np.maximum(ids, 0)]
    map_x = coef[..., 0] * xs + coef[..., 1] * ys + coef[..., 2]
    map_y = coef[..., 3] * xs + coef[..., 4] * ys + coef[..., 5]
    empty = ids < 0
    map_x[empty] = map_y[empty] = -1.0
    return map_x.astype(np.float32), map_y.astype(np.float32)


def visible_fraction(points: np.ndarray, depth: np.ndarray, triangles: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """How much of each triangle a view shows (T values in [0, 1]): 0 when it faces away,
    else the share of its on-screen area not hidden by nearer triangles."""
    ids = rasterise(points, depth, triangles, size)
    seen = np.bincount(ids[ids >= 0], minlength=len(triangles)).astype(np.float64)
    area = np.maximum(signed_areas(points, triangles) / 2, 0.0)
    frac = np.where(area > 0, np.clip(seen / np.maximum(area, 1.0), 0.0, 1.0), 0.0)
    frac[(area > 0) & (area < 2.0)] = 1.0  # too small to count pixels: taken as seen
    return frac


def mesh_box(points: np.ndarray, size: tuple[int, int], margin: int = 2) -> Box:
    """The pixels around N x 2 points, grown by ``margin``, clipped to an (H, W) image."""
    h, w = size
    p = np.asarray(points, np.float64)[:, :2]
    lo = np.floor(p.min(0)).astype(int) - margin
    hi = np.ceil(p.max(0)).astype(int) + margin + 1
    return Box(int(np.clip(lo[0], 0, w - 1)), int(np.clip(lo[1], 0, h - 1)), int(np.clip(hi[0], 1, w)),
               int(np.clip(hi[1], 1, h)))


def render_mesh(texture: np.ndarray, uv: np.ndarray, vertices: np.ndarray, triangles: np.ndarray,
                background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The textured mesh drawn over ``background`` (no fill, no blending: a plain rigid render).

    Args:
        texture: H x W x 3 uint8 image the triangles take their pixels from.
        uv: N x 2 where the mesh points are in ``texture``.
        vertices: N x 3 where they are drawn (x, y pixels; z depth, larger is farther).
        triangles: T x 3 ids, front faces positive (:func:`orient`).
        background: H x W x 3 uint8 drawn on; None: black.

    Returns:
        (image, coverage): H x W x 3 uint8 and an H x W bool mask of the pixels the mesh covers.
    """
    h, w = texture.shape[:2] if background is None else background.shape[:2]
    v = np.asarray(vertices, np.float64)
    box = mesh_box(v[:NUM_MESH_POINTS], (h, w))
    ids = rasterise(v, v[:, 2], triangles, (h, w), box)
    map_x, map_y = texture_maps(ids, affine_maps(v, uv, triangles), box)
    out = np.zeros((h, w, 3), np.uint8) if background is None else background.copy()
    part = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    covered = np.zeros((h, w), bool)
    covered[box.slices] = ids >= 0
    out[box.slices][ids >= 0] = part[ids >= 0]
    return out, covered


def mirror_ids(landmarks: np.ndarray, flipped: np.ndarray, width: int) -> np.ndarray:
    """Each landmark's mirror twin across the face's symmetry plane, read off a mirrored photo.

    The face mesh run on the horizontally flipped photo puts its landmark ``i`` where the
    photo's twin of ``i`` is (the person's right eye corner of the flipped face is the
    photo's left one), so matching the flipped landmarks, flipped back, to the photo's own
    (an optimal one-to-one assignment on 3-D distance) pairs every point with its twin;
    points on the midline pair with themselves. It needs no symmetric template and works
    for a turned face too.

    Args:
        landmarks: N x 3 landmarks of the photo.
        flipped: N x 3 landmarks of the photo flipped left to right.
        width: the photo's width in pixels.

    Returns:
        N int64 ids: ``landmarks[out[i]]`` is the twin of ``landmarks[i]``.
    """
    from scipy.optimize import linear_sum_assignment

    lm = np.asarray(landmarks, np.float64)
    back = np.array(flipped, np.float64)
    back[:, 0] = width - back[:, 0]
    cost = np.linalg.norm(back[:, None, :] - lm[None, :, :], axis=2)  # cost[i, j]: twin of i at j
    rows, cols = linear_sum_assignment(cost)
    out = np.empty(len(lm), np.int64)
    out[rows] = cols
    return out

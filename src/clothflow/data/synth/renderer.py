"""Synthetic clothed people with exact correspondence: the project's built-in dataset.

A person (:class:`~clothflow.data.synth.identity.Identity`) in a pose
(:class:`~clothflow.data.synth.poses.Pose`) is drawn as textured surface parts
(:mod:`clothflow.data.synth.body`) in painter's order. Every drawn pixel knows its surface
part and (u, v), so the true flow between two renders of the same person (or from an in-shop
garment to the person wearing it) is the analytic forward map of the source pose at the
target's (u, v); it is exact for what is drawn.

Example:
    >>> pair = make_transfer_pair(seed=0, index=3, size=(64, 44))
    >>> pair.src.image.shape, pair.flow.shape, pair.visible.dtype
    ((64, 44, 3), (64, 44, 2), dtype('bool'))
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np

from clothflow.data.synth.body import (
    NUM_SURFACES,
    PART,
    PARTS,
    SKIRT_SPLIT,
    TOP_PARTS,
    PlacedPart,
    place_parts,
    shop_parts,
    shop_unit,
    surface_id,
)
from clothflow.data.synth.identity import Garment, Identity, sample_identity, sample_top
from clothflow.data.synth.poses import Pose, PoseSampler
from clothflow.data.synth.texture import (
    TEX,
    face_texture,
    garment_texture,
    hair_texture,
    shoe_texture,
    skin_texture,
)
from clothflow.core.errors import ClothflowError

DEFAULT_SIZE = (256, 176)
_HIDDEN_IN_BACK = (0, 14, 15)  # nose and eyes


@dataclass
class Render:
    """One drawn person.

    Attributes:
        image: H x W x 3 uint8 RGB.
        keypoints: 18 x 2 float32 (x, y) pixels, -1 when hidden (face in back view) or out of frame.
        parse: H x W uint8 LIP ids.
        iuv: H x W x 3 uint8 DensePose-style (I in 0..24, U * 255, V * 255).
        surface: H x W int16 surface id (0 background, 1 + 2 * part + back).
        uv: H x W x 2 float32 surface coordinates (u, v) in [0, 1] (0 on the background); exact
            inverse-map values, so outline pixels may lie up to about a pixel outside [0, 1].
        back: back view.
        identity: who is drawn.
        homographies: NUM_SURFACES x 3 x 3 forward maps (u, v) -> (x, y); NaN for undrawn parts.
    """

    image: np.ndarray
    keypoints: np.ndarray
    parse: np.ndarray
    iuv: np.ndarray
    surface: np.ndarray
    uv: np.ndarray
    back: bool
    identity: Identity
    homographies: np.ndarray


@dataclass
class ShopGarment:
    """An upper garment laid out flat on white (an in-shop product image).

    Attributes:
        image: H x W x 3 uint8 RGB.
        mask: H x W bool garment mask.
        surface, uv, homographies: as in :class:`Render` (front sides of the garment parts).
        garment: the garment drawn.
    """

    image: np.ndarray
    mask: np.ndarray
    surface: np.ndarray
    uv: np.ndarray
    homographies: np.ndarray
    garment: Garment


@dataclass
class TransferPair:
    """Pose-transfer sample: the same person in two poses, flow target -> source."""

    src: Render
    tgt: Render
    flow: np.ndarray
    visible: np.ndarray


@dataclass
class TryonPair:
    """Try-on sample: person wearing garment A, in-shop garment B, the same person wearing B.

    ``flow``/``visible`` go from ``target`` to ``shop`` pixels.
    """

    person: Render
    shop: ShopGarment
    target: Render
    flow: np.ndarray
    visible: np.ndarray


def _materials(ident: Identity) -> dict[tuple[str, bool], np.ndarray]:
    top = ident.top.material
    bottom = ident.bottom.material if ident.bottom is not None else top
    return {
        ("skin", False): skin_texture(ident.skin), ("skin", True): skin_texture(ident.skin),
        ("face", False): face_texture(ident.skin, ident.hair_colour), ("face", True): skin_texture(ident.skin),
        ("hair", False): hair_texture(ident.hair_colour), ("hair", True): hair_texture(ident.hair_colour),
        ("shoe", False): shoe_texture(ident.shoe_colour), ("shoe", True): shoe_texture(ident.shoe_colour),
        ("top", False): garment_texture(top, True), ("top", True): garment_texture(top, False),
        ("bottom", False): garment_texture(bottom, True), ("bottom", True): garment_texture(bottom, False),
    }


_U_SHADE = (0.8 + 0.2 * np.sin(np.pi * np.linspace(0.0, 1.0, TEX, dtype=np.float32)))[None, :, None]


@lru_cache(maxsize=64)
def _tables(ident: Identity) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-identity lookup tables: shaded texture atlas (float32) and surface id -> material, label, I (u < .5, u >= .5)."""
    mats = _materials(ident)
    keys = list(mats)
    atlas = np.stack([np.zeros((TEX, TEX, 3), np.float32)] + [mats[k] for k in keys])
    atlas *= _U_SHADE  # mild shading, a function of u only (so it moves with the cloth)
    mat = np.zeros(NUM_SURFACES, np.int64)
    label = np.zeros(NUM_SURFACES, np.uint8)
    dp_a = np.zeros(NUM_SURFACES, np.uint8)
    dress = ident.top.kind == "dress"
    for i, spec in enumerate(PARTS):
        key = "top" if dress and spec.name == "skirt" else spec.material
        lab = 6 if dress and (i in TOP_PARTS or spec.name == "skirt") else spec.label
        for back in (False, True):
            s = surface_id(i, back)
            mat[s] = 1 + keys.index((key, back))
            label[s] = lab
            dp_a[s] = spec.dp_back if back else spec.dp_front
    dp_b = dp_a.copy()
    dp_b[surface_id(PART["skirt"], False)], dp_b[surface_id(PART["skirt"], True)] = SKIRT_SPLIT
    for t in (atlas, mat, label, dp_a, dp_b):
        t.setflags(write=False)
    return atlas, mat, label, dp_a, dp_b


@lru_cache(maxsize=32)
def _background(size: tuple[int, int], colours: tuple[tuple[int, int, int], ...]) -> np.ndarray:
    """Vertical gradient between two colours: read-only H x W x 3 uint8 (copy before drawing)."""
    t = np.linspace(0.0, 1.0, size[0], dtype=np.float32)[:, None, None]
    a, b = np.asarray(colours[0], np.float32), np.asarray(colours[1], np.float32)
    img = np.repeat((a + (b - a) * t).round().astype(np.uint8), size[1], axis=1)
    img.setflags(write=False)
    return img


@lru_cache(maxsize=8)
def _pixel_coords(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Flattened pixel-centre coordinates (x, y), each H*W float32 (read-only, cached)."""
    ys, xs = np.divmod(np.arange(size[0] * size[1]), size[1])
    xs, ys = xs.astype(np.float32), ys.astype(np.float32)
    xs.setflags(write=False)
    ys.setflags(write=False)
    return xs, ys


def _rasterise(parts: list[PlacedPart], size: tuple[int, int], back: bool) -> tuple[np.ndarray, np.ndarray]:
    """Painter's algorithm over part outlines -> (H x W int16 surface ids, forward homographies)."""
    surface = np.zeros(size, np.int16)
    homs = np.full((NUM_SURFACES, 3, 3), np.nan)
    for p in parts:
        sid = surface_id(p.part, back)
        homs[surface_id(p.part, False)] = homs[surface_id(p.part, True)] = p.homography
        cv2.fillPoly(surface, [np.round(p.polygon * 16).astype(np.int32)], sid, cv2.LINE_8, 4)
    return surface, homs


def _map_points(coef: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply per-point homographies: coef N x 9 (row-major 3 x 3), points (a, b) -> mapped (x, y)."""
    w = coef[:, 6] * a + coef[:, 7] * b + coef[:, 8]
    return (coef[:, 0] * a + coef[:, 1] * b + coef[:, 2]) / w, (coef[:, 3] * a + coef[:, 4] * b + coef[:, 5]) / w


def _surface_uv(surface: np.ndarray, homs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v) of every foreground pixel by the inverse map of its part.

    Returns (N flat foreground indices, N surface ids, N x 2 float32 (u, v)). The (u, v) are
    exact inverse-map values, so outline pixels whose centre lies just outside the outline
    (rasterisation) may be a fraction of a pixel outside [0, 1]; texture and IUV clip them.
    """
    idx = np.flatnonzero(surface)
    s = surface.ravel()[idx]
    present = np.flatnonzero(np.bincount(s, minlength=NUM_SURFACES))
    inv = np.zeros((NUM_SURFACES, 9), np.float32)
    inv[present] = np.linalg.inv(homs[present]).reshape(-1, 9)
    xs, ys = _pixel_coords(surface.shape)
    u, v = _map_points(inv[s], xs[idx], ys[idx])
    return idx, s, np.stack([u, v], -1)


@lru_cache(maxsize=64)
def _filtered_atlas(ident: Identity, level: int) -> np.ndarray:
    """The uint8 texture atlas, blurred for drawing at 2**level texels per pixel (no aliasing when small)."""
    atlas = _tables(ident)[0]
    if level > 0:
        sigma = 0.6 * 2**level
        atlas = np.stack([cv2.GaussianBlur(t, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) for t in atlas])
    out = np.clip(atlas + 0.5, 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


def _shade(ident: Identity, s: np.ndarray, uv: np.ndarray, unit: float) -> np.ndarray:
    """Colour of N surface points: texture at (u, v) times a mild shading that depends on u only.

    ``unit`` (torso length in pixels) picks a pre-filtered texture so small renders do not alias.
    """
    level = int(np.clip(np.round(np.log2(TEX / max(unit, 1.0))), 0, 3))
    atlas = _filtered_atlas(ident, level)
    mat = _tables(ident)[1]
    uv = np.clip(uv, 0.0, 1.0)
    iu = (uv[:, 0] * (TEX - 1) + 0.5).astype(np.intp)
    iv = (uv[:, 1] * (TEX - 1) + 0.5).astype(np.intp)
    return atlas.reshape(-1, 3)[(mat[s] * TEX + iv) * TEX + iu]


def _draw(ident: Identity, parts: list[PlacedPart], size: tuple[int, int], back: bool, background: np.ndarray, unit: float):
    surface, homs = _rasterise(parts, size, back)
    idx, s, uv_fg = _surface_uv(surface, homs)
    image = background.copy()
    image.reshape(-1, 3)[idx] = _shade(ident, s, uv_fg, unit)
    uv = np.zeros(size + (2,), np.float32)
    uv.reshape(-1, 2)[idx] = uv_fg
    return image, surface, uv, homs, idx, s, uv_fg


def render(ident: Identity, pose: Pose, size: tuple[int, int] = DEFAULT_SIZE) -> Render:
    """Draw a person in a pose.

    Args:
        ident: who (proportions, colours, garments).
        pose: where (keypoints in pixels of ``size``), and the view.
        size: (H, W) of the image.

    Returns:
        A :class:`Render` (image, keypoints, LIP parse, IUV, surface coordinates).
    """
    size = (int(size[0]), int(size[1]))
    parts = place_parts(ident, pose)
    image, surface, uv, homs, idx, s, uv_fg = _draw(ident, parts, size, pose.back, _background(size, ident.background), pose.unit)
    _, _, label, dp_a, dp_b = _tables(ident)
    parse = label[surface]
    iuv = np.zeros(size + (3,), np.uint8)
    flat = iuv.reshape(-1, 3)
    flat[idx, 0] = np.where(uv_fg[:, 0] < 0.5, dp_a[s], dp_b[s])
    flat[idx, 1:] = (np.clip(uv_fg, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    kps = pose.keypoints.astype(np.float32).copy()
    out = (kps[:, 0] < 0) | (kps[:, 1] < 0) | (kps[:, 0] > size[1] - 1) | (kps[:, 1] > size[0] - 1)
    if pose.back:
        out[list(_HIDDEN_IN_BACK)] = True
    kps[out] = -1
    return Render(image, kps, parse, iuv, surface, uv, pose.back, ident, homs)


def render_shop_garment(ident: Identity, size: tuple[int, int] = DEFAULT_SIZE) -> ShopGarment:
    """Draw the person's upper garment flat on white, front side, as an in-shop product image.

    Args:
        ident: the person whose ``top`` is drawn.
        size: (H, W).

    Returns:
        A :class:`ShopGarment` sharing the garment's surface coordinates with its renders.
    """
    size = (int(size[0]), int(size[1]))
    white = _background(size, ((255, 255, 255), (255, 255, 255)))
    image, surface, uv, homs, _, _, _ = _draw(ident, shop_parts(ident.top, size), size, False, white, shop_unit(size))
    return ShopGarment(image, surface > 0, surface, uv, homs, ident.top)


def true_flow(src: Render | ShopGarment, tgt: Render) -> tuple[np.ndarray, np.ndarray]:
    """Ground-truth flow from a target render to a source render (or in-shop garment).

    For every target pixel on surface part s at (u, v), the source position is the source's
    map of part s at (u, v); flow = source xy - target xy. ``visible`` marks target pixels
    whose source position is in frame and whose nearest source pixel is drawn with the same
    surface (same part, same side), so not occluded; each part's map is one-to-one, so that
    pixel's (u, v) is within half a pixel of the target's. A part's front and back
    share one map (the flow between views is defined but not visible).

    Args:
        src: a :class:`Render` of the same identity, or a :class:`ShopGarment` of the target's top.
        tgt: the target :class:`Render`, same size as ``src``.

    Returns:
        (flow H x W x 2 float32 (dx, dy) target -> source, 0 on background;
         visible H x W bool, False on background).

    Raises:
        ClothflowError: different person / garment, or different sizes.
    """
    if isinstance(src, ShopGarment):
        if src.garment != tgt.identity.top:
            raise ClothflowError("true_flow: the in-shop garment is not the target's upper garment")
    elif src.identity != tgt.identity:
        raise ClothflowError("true_flow: source and target are different people or wear different garments")
    if src.surface.shape != tgt.surface.shape:
        raise ClothflowError(f"true_flow: sizes differ {src.surface.shape} vs {tgt.surface.shape}")
    h, w = tgt.surface.shape
    idx = np.flatnonzero(tgt.surface)
    s = tgt.surface.ravel()[idx]
    uv = tgt.uv.reshape(-1, 2)[idx]
    px, py = _pixel_coords((h, w))
    xs, ys = px[idx], py[idx]
    sx, sy = _map_points(src.homographies.reshape(-1, 9).astype(np.float32)[s], uv[:, 0], uv[:, 1])
    ok = np.isfinite(sx) & np.isfinite(sy)
    sx, sy = np.where(ok, sx, xs), np.where(ok, sy, ys)
    inside = ok & (sx > -0.5) & (sx < w - 0.5) & (sy > -0.5) & (sy < h - 0.5)
    near = np.clip(np.rint(sy).astype(np.intp), 0, h - 1) * w + np.clip(np.rint(sx).astype(np.intp), 0, w - 1)
    flow = np.zeros((h, w, 2), np.float32)
    fl = flow.reshape(-1, 2)
    fl[idx, 0] = sx - xs
    fl[idx, 1] = sy - ys
    visible = np.zeros((h, w), bool)
    visible.ravel()[idx] = inside & (src.surface.ravel()[near] == s)
    return flow, visible


def true_flow_shop(shop: ShopGarment, tgt: Render) -> tuple[np.ndarray, np.ndarray]:
    """Flow from a person wearing ``shop.garment`` to the in-shop image (see :func:`true_flow`)."""
    return true_flow(shop, tgt)


def make_transfer_pair(seed: int, index: int, size: tuple[int, int] = DEFAULT_SIZE, real_poses: PoseSampler | None = None) -> TransferPair:
    """Pose-transfer pair ``index`` of dataset ``seed``: one person, two poses, true flow.

    Deterministic in (seed, index): all randomness comes from ``np.random.default_rng([seed, index])``.

    Args:
        seed, index: which pair.
        size: (H, W).
        real_poses: optional sampler over real poses (:meth:`PoseSampler.from_keypoints`);
            only its keypoint bank is used, the draw comes from (seed, index).

    Returns:
        A :class:`TransferPair`.
    """
    rng = np.random.default_rng([seed, index])
    ident = sample_identity(rng)
    sampler = PoseSampler(rng) if real_poses is None else PoseSampler(rng, real=real_poses.real, frame_hw=real_poses.frame_hw)
    src_pose = sampler.sample(size, ident, back=None if real_poses is not None else bool(rng.random() < 0.25))
    keep_view = bool(rng.random() < 0.75)  # a quarter of the pairs turn around
    tgt_back = None if real_poses is not None else (src_pose.back if keep_view else not src_pose.back)
    src = render(ident, src_pose, size)
    tgt = render(ident, sampler.sample(size, ident, back=tgt_back), size)
    flow, visible = true_flow(src, tgt)
    return TransferPair(src, tgt, flow, visible)


def make_tryon_pair(seed: int, index: int, size: tuple[int, int] = DEFAULT_SIZE) -> TryonPair:
    """Try-on pair ``index`` of dataset ``seed``: person in shirt A, in-shop shirt B, person in B.

    Front views with calm arms (as in VITON). Deterministic in (seed, index).

    Returns:
        A :class:`TryonPair`; its flow maps ``target`` pixels to ``shop`` pixels.
    """
    rng = np.random.default_rng([seed, index, 1])
    ident = sample_identity(rng, allow_dress=False)
    other = replace(ident, top=sample_top(rng, allow_dress=False))
    pose = PoseSampler(rng).sample(size, ident, back=False, arm_range=0.6)
    person = render(ident, pose, size)
    target = render(other, pose, size)
    shop = render_shop_garment(other, size)
    flow, visible = true_flow(shop, target)
    return TryonPair(person, shop, target, flow, visible)

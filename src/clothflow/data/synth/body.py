"""Geometry of the synthetic renderer: the surface parts of a body and its garments.

Every part is a projective map ``H`` from its surface square (u, v) in [0, 1]^2 to image
pixels (x, y), plus an outline polygon in (u, v) (a rectangle, an ellipse, a rounded end...).
Bones become symmetric trapezoids from keypoint a to b (u across, v along), so each map is
a homography of a convex quad: exactly invertible, and the same (part, u, v) lands on the
same point of the cloth in every pose. :func:`place_parts` lists the parts of one person in
one pose in painter's order (back to front).

Example:
    >>> import numpy as np
    >>> from clothflow.data.synth.identity import sample_identity
    >>> from clothflow.data.synth.poses import PoseSampler
    >>> ident = sample_identity(np.random.default_rng(0))
    >>> parts = place_parts(ident, PoseSampler(0).sample((64, 44), ident))
    >>> parts[0].homography.shape
    (3, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from clothflow.data.synth.identity import Garment, Identity
from clothflow.data.synth.poses import Pose


@dataclass(frozen=True)
class PartSpec:
    """A kind of surface part: LIP label, DensePose I (front, back) and material key."""

    name: str
    label: int
    dp_front: int
    dp_back: int
    material: str


PARTS: tuple[PartSpec, ...] = (
    PartSpec("hair_back", 2, 0, 0, "hair"),
    PartSpec("hair_cap", 2, 0, 0, "hair"),
    PartSpec("head", 13, 23, 24, "face"),
    PartSpec("neck", 13, 23, 24, "skin"),
    PartSpec("r_upper_arm", 15, 16, 18, "skin"),
    PartSpec("r_forearm", 15, 20, 22, "skin"),
    PartSpec("r_hand", 15, 3, 3, "skin"),
    PartSpec("l_upper_arm", 14, 15, 17, "skin"),
    PartSpec("l_forearm", 14, 19, 21, "skin"),
    PartSpec("l_hand", 14, 4, 4, "skin"),
    PartSpec("r_thigh", 17, 7, 9, "skin"),
    PartSpec("r_shin", 17, 11, 13, "skin"),
    PartSpec("r_shoe", 19, 6, 6, "shoe"),
    PartSpec("l_thigh", 16, 8, 10, "skin"),
    PartSpec("l_shin", 16, 12, 14, "skin"),
    PartSpec("l_shoe", 18, 5, 5, "shoe"),
    PartSpec("top_torso", 5, 2, 1, "top"),
    PartSpec("r_sleeve_upper", 5, 16, 18, "top"),
    PartSpec("r_sleeve_lower", 5, 20, 22, "top"),
    PartSpec("l_sleeve_upper", 5, 15, 17, "top"),
    PartSpec("l_sleeve_lower", 5, 19, 21, "top"),
    PartSpec("skirt", 12, 7, 10, "bottom"),  # DensePose I splits at u = 0.5 (see SKIRT_SPLIT)
    PartSpec("r_trouser_upper", 9, 7, 9, "bottom"),
    PartSpec("r_trouser_lower", 9, 11, 13, "bottom"),
    PartSpec("l_trouser_upper", 9, 8, 10, "bottom"),
    PartSpec("l_trouser_lower", 9, 12, 14, "bottom"),
)
PART = {p.name: i for i, p in enumerate(PARTS)}
SKIRT_SPLIT = (8, 9)  # DensePose I of the skirt's u >= 0.5 half, front and back
TOP_PARTS = tuple(PART[n] for n in ("top_torso", "r_sleeve_upper", "r_sleeve_lower", "l_sleeve_upper", "l_sleeve_lower"))
NUM_SURFACES = 1 + 2 * len(PARTS)  # surface id 0 = background, 1 + 2 * part + back


def surface_id(part: int, back: bool) -> int:
    """Surface id of a part's front (back=False) or back side; 0 is the background."""
    return 1 + 2 * part + int(back)


def _arc(t0: float, t1: float, n: int, cu=0.5, cv=0.5, ru=0.5, rv=0.5) -> np.ndarray:
    t = np.linspace(t0, t1, n)
    return np.stack([cu + ru * np.cos(t), cv + rv * np.sin(t)], -1)


# Outlines in (u, v); v = 0 is the bone's start.
RECT = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
ELLIPSE = _arc(0, 2 * np.pi, 24)[:-1]
ROUND_END = np.concatenate([[[0, 0], [1, 0]], _arc(0, np.pi, 9, cv=0.5, rv=0.5)])
ROUND_TOP = np.concatenate([_arc(np.pi, 2 * np.pi, 9, cv=0.3, rv=0.3), [[1, 1], [0, 1]]])
CAP = np.concatenate([_arc(np.pi + 0.33, 2 * np.pi - 0.33, 12), [[0.7, 0.34], [0.5, 0.4], [0.3, 0.34]]])
COLLAR = np.array([[0, 0], [0.36, 0], [0.5, 0.09], [0.64, 0], [1, 0], [1, 1], [0, 1]], np.float64)
_UNIT = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)


@dataclass(frozen=True)
class PlacedPart:
    """One part placed in an image.

    Attributes:
        part: index into :data:`PARTS`.
        homography: 3 x 3 map (u, v, 1) -> (x, y, w) pixels.
        polygon: K x 2 outline in pixels (the part's pixels are those inside).
    """

    part: int
    homography: np.ndarray
    polygon: np.ndarray


def quad_homography(corners: np.ndarray) -> np.ndarray:
    """Homography of the unit square onto a quad (corners for uv (0,0), (1,0), (1,1), (0,1))."""
    return cv2.getPerspectiveTransform(_UNIT, corners.astype(np.float32)).astype(np.float64)


def apply_homography(h: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Map K x 2 points (u, v) through a 3 x 3 homography to K x 2 (x, y)."""
    p = uv @ h[:, :2].T + h[:, 2]
    return p[:, :2] / p[:, 2:3]


def bone_quad(a, b, wa: float, wb: float, ext_a: float = 0.0, ext_b: float = 0.0) -> np.ndarray:
    """Corners of a trapezoid along the bone a -> b, widths wa at a and wb at b, extended past the ends.

    Returns 4 x 2 corners in uv order (0,0), (1,0), (1,1), (0,1); u runs across the bone.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = b - a
    n = np.linalg.norm(d)
    d = d / n if n > 1e-6 else np.array([0.0, 1.0])
    perp = np.array([-d[1], d[0]])
    a, b = a - d * ext_a, b + d * ext_b
    return np.array([a + perp * wa / 2, a - perp * wa / 2, b - perp * wb / 2, b + perp * wb / 2])


def _part(name: str, corners: np.ndarray, outline: np.ndarray = RECT) -> PlacedPart:
    h = quad_homography(corners)
    return PlacedPart(PART[name], h, apply_homography(h, outline))


_HALF_TOP = _arc(np.pi, 2 * np.pi, 8, cv=0.0, rv=1.0)  # v = sin(t) in [-1, 0]
_HALF_BOTTOM = _arc(0, np.pi, 8, cv=0.0, rv=1.0)  # v in [0, 1]


def _capsule(ra: float, rb: float) -> np.ndarray:
    """Outline with half-elliptic ends of v-radius ra (at v = 0) and rb (at v = 1); 0 = square end."""
    top = _HALF_TOP * [1.0, ra] + [0.0, ra] if ra > 0 else RECT[:2]
    bottom = _HALF_BOTTOM * [1.0, rb] + [0.0, 1.0 - rb] if rb > 0 else RECT[2:]
    return np.concatenate([top, bottom])


def _limb(name: str, a, b, wa: float, wb: float, ext_a: float, ext_b: float, round_a: bool, round_b: bool) -> PlacedPart:
    """A bone segment; a rounded end reaches half its width past the joint, so bent joints have no gap."""
    if round_a:
        ext_a = max(ext_a, wa / 2)
    if round_b:
        ext_b = max(ext_b, wb / 2)
    total = max(float(np.linalg.norm(np.asarray(b, np.float64) - a)) + ext_a + ext_b, 1e-6)
    ra = min(wa / 2 / total, 0.5) if round_a else 0.0
    rb = min(wb / 2 / total, 0.5) if round_b else 0.0
    return _part(name, bone_quad(a, b, wa, wb, ext_a, ext_b), _capsule(ra, rb))


def _along(points: list[np.ndarray], dist: float) -> np.ndarray:
    """The point at arc length ``dist`` along a polyline (clamped to its end)."""
    for p, q in zip(points[:-1], points[1:]):
        seg = np.linalg.norm(q - p)
        if dist <= seg or q is points[-1]:
            return p + (q - p) * min(dist / max(seg, 1e-6), 1.0)
        dist -= seg
    return points[-1]


def _arm(side: str, k: np.ndarray, unit: float, ident: Identity) -> tuple[list[PlacedPart], list[PlacedPart]]:
    """(upper arm parts, forearm parts) of one arm, each back to front."""
    s, e, w = (k[2], k[3], k[4]) if side == "r" else (k[5], k[6], k[7])
    L, t = unit, ident.limb
    sleeves, loose = ident.top.sleeves, 1.0 + ident.top.looseness
    upper = [_limb(f"{side}_upper_arm", s, e, 0.2 * L * t, 0.16 * L * t, 0.06 * L, 0.0, True, True)]
    lower = [_limb(f"{side}_forearm", e, w, 0.15 * L * t, 0.12 * L * t, 0.0, 0.02 * L, True, False)]
    fd = (w - e) / max(np.linalg.norm(w - e), 1e-6)
    lower.append(_part(f"{side}_hand", bone_quad(w, w + fd * 0.2 * L, 0.12 * L * t, 0.13 * L * t, 0.02 * L), ROUND_END))
    if sleeves == "short":
        upper.append(_part(f"{side}_sleeve_upper", bone_quad(s, s + 0.55 * (e - s), 0.26 * L * t * loose, 0.23 * L * t * loose, 0.09 * L)))
    elif sleeves == "long":
        upper.append(_limb(f"{side}_sleeve_upper", s, e, 0.25 * L * t * loose, 0.2 * L * t * loose, 0.09 * L, 0.0, False, True))
        lower.insert(1, _limb(f"{side}_sleeve_lower", e, w, 0.2 * L * t * loose, 0.17 * L * t * loose, 0.0, 0.0, True, False))
    return upper, lower


def _legs(k: np.ndarray, unit: float, ident: Identity) -> tuple[list[PlacedPart], list[PlacedPart]]:
    """(bare legs and shoes, trouser pieces), back to front."""
    L, t = unit, ident.limb
    legs: list[PlacedPart] = []
    cloth: list[PlacedPart] = []
    bottom = ident.bottom
    for side, (h, kn, a) in (("r", (8, 9, 10)), ("l", (11, 12, 13))):
        hip, knee, ankle = k[h], k[kn], k[a]
        trousers = bottom is not None and bottom.kind == "trousers"
        if not trousers:
            legs.append(_limb(f"{side}_thigh", hip, knee, 0.3 * L * t, 0.2 * L * t, 0.1 * L, 0.0, False, True))
            legs.append(_limb(f"{side}_shin", knee, ankle, 0.19 * L * t, 0.13 * L * t, 0.0, 0.04 * L, True, False))
        sd = (ankle - knee) / max(np.linalg.norm(ankle - knee), 1e-6)
        legs.append(_part(f"{side}_shoe", bone_quad(ankle - sd * 0.03 * L, ankle + sd * 0.2 * L, 0.16 * L, 0.22 * L), ROUND_END))
        if bottom is not None and bottom.kind in ("trousers", "shorts"):
            loose = 1.0 + bottom.looseness
            end = knee if bottom.kind == "trousers" else hip + 0.7 * (knee - hip)
            full = bottom.kind == "trousers"
            cloth.append(_limb(f"{side}_trouser_upper", hip, end, 0.34 * L * t * loose, 0.24 * L * t * loose, 0.12 * L, 0.0, False, full))
            if full:
                cloth.append(_limb(f"{side}_trouser_lower", knee, ankle, 0.23 * L * t * loose, 0.19 * L * t * loose, 0.0, 0.0, True, False))
    return legs, cloth


def _skirt(k: np.ndarray, unit: float, ident: Identity, garment: Garment) -> PlacedPart:
    """A skirt (or a dress's lower half) hanging from the hips over both legs."""
    L = unit
    hip_c = (k[8] + k[11]) / 2
    axis = hip_c - k[1]
    axis = axis / max(np.linalg.norm(axis), 1e-6)
    reach = garment.length * ident.leg_len * L
    hem_r = _along([k[8], k[9], k[10]], reach)
    hem_l = _along([k[11], k[12], k[13]], reach)
    top_w = abs(np.dot(k[11] - k[8], [-axis[1], axis[0]])) + 0.45 * L * (1 + garment.looseness)
    bot_w = max(top_w * 1.3, abs(np.dot(hem_l - hem_r, [-axis[1], axis[0]])) + 0.4 * L)
    hem = (hem_r + hem_l) / 2
    return _part("skirt", bone_quad(hip_c - axis * 0.12 * L, hem, top_w, bot_w))


def _torso(k: np.ndarray, unit: float, garment: Garment) -> PlacedPart:
    """The upper garment's body piece from the neck to the hips (or the waist for a dress)."""
    L = unit
    hip_c = (k[8] + k[11]) / 2
    axis = hip_c - k[1]
    axis = axis / max(np.linalg.norm(axis), 1e-6)
    perp = np.array([-axis[1], axis[0]])
    loose = 1.0 + garment.looseness
    top_w = max(abs(np.dot(k[5] - k[2], perp)), 0.25 * L) + 0.2 * L * loose
    bot_w = max(abs(np.dot(k[11] - k[8], perp)), 0.2 * L) + 0.3 * L * loose
    length = 1.0 if garment.kind == "dress" else garment.length
    end = k[1] + (hip_c - k[1]) * length
    return _part("top_torso", bone_quad(k[1] - axis * 0.02 * L, end, top_w, bot_w), COLLAR)


def _head(k: np.ndarray, unit: float, ident: Identity, back: bool) -> tuple[list[PlacedPart], list[PlacedPart]]:
    """(parts behind the head including it, parts in front of it)."""
    L = unit * ident.head
    centre = (k[16] + k[17]) / 2
    up = centre - k[1]
    up = up / max(np.linalg.norm(up), 1e-6)
    head = _part("head", bone_quad(centre + up * 0.27 * L, centre - up * 0.25 * L, 0.36 * L, 0.36 * L), ELLIPSE)
    neck = _part("neck", bone_quad(centre - up * 0.12 * L, k[1] - up * 0.06 * unit, 0.17 * L, 0.18 * L))
    top = 0.45 if ident.hair == "bun" else 0.33
    if ident.hair == "long":
        hair = _part("hair_back", bone_quad(centre + up * 0.33 * L, k[1] - up * 0.45 * unit, 0.5 * L, 0.62 * L), ROUND_TOP)
    else:
        hair = _part("hair_back", bone_quad(centre + up * top * L, centre - up * 0.3 * L, 0.45 * L, 0.45 * L), ELLIPSE)
    if back:
        return [head, neck], [hair]
    cap = _part("hair_cap", bone_quad(centre + up * 0.3 * L, centre - up * 0.27 * L, 0.4 * L, 0.4 * L), CAP)
    return [hair, neck, head], [cap]


def _wrist_behind(k: np.ndarray, torso: PlacedPart, wrist: int) -> bool:
    """Whether a wrist lies inside the torso outline (its forearm crosses the body)."""
    return cv2.pointPolygonTest(torso.polygon.astype(np.float32), (float(k[wrist, 0]), float(k[wrist, 1])), False) >= 0


def place_parts(ident: Identity, pose: Pose) -> list[PlacedPart]:
    """All parts of a person in a pose, in painter's order (back to front).

    Front view: hair, legs, lower garment, torso, arms (in front of the torso), head, fringe.
    Back view: head, legs, lower garment, forearms that cross the body, torso, the rest of
    the arms, then the hair over the head. Missing garments are simply not drawn.

    Args:
        ident: the person.
        pose: the pose (keypoints in pixels, unit, view).

    Returns:
        List of :class:`PlacedPart`.
    """
    k = pose.keypoints.astype(np.float64)
    unit = pose.unit
    legs, trousers = _legs(k, unit, ident)
    lower: list[PlacedPart] = list(trousers)
    if ident.bottom is not None and ident.bottom.kind == "skirt":
        lower.append(_skirt(k, unit, ident, ident.bottom))
    torso = [_torso(k, unit, ident.top)]
    if ident.top.kind == "dress":
        torso.append(_skirt(k, unit, ident, ident.top))
    r_up, r_low = _arm("r", k, unit, ident)
    l_up, l_low = _arm("l", k, unit, ident)
    behind_head, front_head = _head(k, unit, ident, pose.back)
    if not pose.back:
        return behind_head[:1] + legs + lower + torso + r_up + r_low + l_up + l_low + behind_head[1:] + front_head
    hidden: list[PlacedPart] = []
    shown: list[PlacedPart] = []
    for up, low, wrist in ((r_up, r_low, 4), (l_up, l_low, 7)):
        (hidden if _wrist_behind(k, torso[0], wrist) else shown).extend(low)
        shown[:0] = up  # upper arms stay in front of the torso's sides
    return behind_head + legs + lower + hidden + torso + shown + front_head


def shop_unit(size: tuple[int, int]) -> float:
    """Torso length in pixels of the flat in-shop garment layout for an image of ``size``."""
    return min(0.36 * size[0], 0.5 * size[1])


def shop_parts(garment: Garment, size: tuple[int, int]) -> list[PlacedPart]:
    """The upper garment laid out flat, front side, for an in-shop image of ``size`` (H, W).

    The torso piece is centred with the sleeves pointing out and down; dresses add their
    skirt piece. Same parts and (u, v) as when worn, so flows between the two are known.
    """
    h, w = size
    L = shop_unit(size)
    neck = np.array([w / 2, 0.12 * h])
    sh = 0.38 * L
    k = np.zeros((18, 2))
    k[1] = neck
    k[2], k[5] = neck + [-sh, 0.05 * L], neck + [sh, 0.05 * L]
    k[8], k[11] = neck + [-0.22 * L, L], neck + [0.22 * L, L]
    k[9], k[12] = k[8] + [-0.05 * L, 0.85 * L], k[11] + [0.05 * L, 0.85 * L]
    k[10], k[13] = k[9] + [0, 0.8 * L], k[12] + [0, 0.8 * L]
    for s, e, wr, side in ((2, 3, 4, -1.0), (5, 6, 7, 1.0)):
        d = np.array([side * np.sin(np.deg2rad(28)), np.cos(np.deg2rad(28))])
        k[e] = k[s] + d * 0.6 * L
        k[wr] = k[e] + d * 0.5 * L
    ident = Identity(0.38, 0.22, 1.1, 1.5 if garment.kind == "dress" else 1.7, 1.0, 1.0, (0, 0, 0), (0, 0, 0), "short", (0, 0, 0), garment, None, ((255, 255, 255),) * 2)
    parts = [_torso(k, L, garment)]
    if garment.kind == "dress":
        parts.append(_skirt(k, L, ident, garment))
    for side in ("r", "l"):
        up, low = _arm(side, k, L, ident)
        parts += [p for p in up + low if p.part in TOP_PARTS]
    return parts

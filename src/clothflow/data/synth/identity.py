"""Who is drawn by the synthetic renderer: body proportions, skin, hair and garments.

All dataclasses here are frozen and hold only plain Python values, so two identities compare
equal exactly when they would be drawn the same way (``true_flow`` relies on that).

Example:
    >>> import numpy as np
    >>> ident = sample_identity(np.random.default_rng(0))
    >>> ident.top.kind in ("shirt", "dress")
    True
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

Colour = tuple[int, int, int]

PATTERNS: tuple[str, ...] = ("solid", "stripes", "checks", "dots", "gradient", "logo", "noise")
SLEEVES: tuple[str, ...] = ("none", "short", "long")
BOTTOMS: tuple[str, ...] = ("trousers", "shorts", "skirt")
HAIR_STYLES: tuple[str, ...] = ("short", "long", "bun")


@dataclass(frozen=True)
class Material:
    """A garment texture, a function of the garment's surface coordinates (u, v).

    Attributes:
        pattern: one of :data:`PATTERNS`.
        colour: main RGB colour.
        accent: second RGB colour (stripes, checks, dots, print).
        angle: pattern angle in degrees (stripes, checks).
        frequency: pattern repeats across one unit of u or v.
        glyph: character printed by the "logo" pattern.
        seed: seed of the "noise" pattern.
    """

    pattern: str
    colour: Colour
    accent: Colour
    angle: float = 0.0
    frequency: float = 4.0
    glyph: str = "A"
    seed: int = 0


@dataclass(frozen=True)
class Garment:
    """One garment piece of clothing.

    Attributes:
        kind: "shirt" or "dress" (upper garments), "trousers", "shorts" or "skirt" (lower).
        material: its texture.
        sleeves: "none", "short" or "long" (upper garments only).
        length: hem position as a fraction of the leg (skirts, dresses) or of the torso (tops).
        looseness: extra width as a fraction of the body width underneath.
    """

    kind: str
    material: Material
    sleeves: str = "none"
    length: float = 1.0
    looseness: float = 0.1


@dataclass(frozen=True)
class Identity:
    """A person: proportions, colours and clothes.

    Attributes:
        shoulder: half shoulder width, in torso lengths (neck to mid-hip).
        hip: half hip width, in torso lengths.
        arm_len, leg_len: arm and leg lengths, in torso lengths.
        limb: limb thickness factor (1 = average).
        head: head size factor.
        skin, hair_colour, shoe_colour: RGB colours.
        hair: hair style, one of :data:`HAIR_STYLES`.
        top: upper garment (shirt or dress).
        bottom: lower garment; None when ``top`` is a dress.
        background: two RGB colours of the vertical background gradient.
    """

    shoulder: float
    hip: float
    arm_len: float
    leg_len: float
    limb: float
    head: float
    skin: Colour
    hair_colour: Colour
    hair: str
    shoe_colour: Colour
    top: Garment
    bottom: Garment | None
    background: tuple[Colour, Colour]


_SKINS = np.array([[255, 224, 196], [241, 194, 157], [224, 172, 130], [198, 134, 96], [141, 85, 54], [92, 58, 40]])
_HAIRS = np.array([[30, 22, 18], [70, 45, 25], [120, 80, 40], [200, 160, 90], [150, 60, 30], [90, 90, 90]])


def _colour(rng: np.random.Generator, dark: bool = False) -> Colour:
    hsv = np.array([[[rng.integers(0, 180), rng.integers(60, 230), rng.integers(60 if dark else 110, 150 if dark else 250)]]], np.uint8)
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return tuple(int(c) for c in rgb)


def _jitter(rng: np.random.Generator, base: np.ndarray, amount: int = 12) -> Colour:
    return tuple(int(c) for c in np.clip(base + rng.integers(-amount, amount + 1, 3), 0, 255))


def sample_material(rng: np.random.Generator) -> Material:
    """Draw a random garment texture."""
    pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
    colour = _colour(rng)
    accent = _colour(rng, dark=bool(rng.random() < 0.5))
    return Material(
        pattern=pattern,
        colour=colour,
        accent=accent,
        angle=float(rng.choice([0.0, 90.0, 45.0, -45.0, float(rng.uniform(-60, 60))])),
        frequency=float(rng.uniform(3.0, 7.0)),
        glyph=chr(int(rng.choice(np.frombuffer(b"ABCDEFGHKMNPRSTXZ123457", np.uint8)))),
        seed=int(rng.integers(1 << 30)),
    )


def sample_top(rng: np.random.Generator, allow_dress: bool = True) -> Garment:
    """Draw a random upper garment (a shirt, or a dress when ``allow_dress``)."""
    if allow_dress and rng.random() < 0.25:
        return Garment("dress", sample_material(rng), SLEEVES[int(rng.integers(0, 2))], float(rng.uniform(0.45, 0.85)), float(rng.uniform(0.05, 0.2)))
    return Garment("shirt", sample_material(rng), SLEEVES[int(rng.integers(3))], float(rng.uniform(1.0, 1.15)), float(rng.uniform(0.05, 0.25)))


def sample_bottom(rng: np.random.Generator) -> Garment:
    """Draw a random lower garment (trousers, shorts or a skirt)."""
    kind = BOTTOMS[int(rng.choice(3, p=[0.5, 0.2, 0.3]))]
    material = sample_material(rng)
    if material.pattern == "logo":
        material = replace(material, pattern="solid")
    length = float(rng.uniform(0.4, 0.9)) if kind == "skirt" else 1.0
    return Garment(kind, material, "none", length, float(rng.uniform(0.05, 0.3)))


def sample_identity(rng: np.random.Generator, allow_dress: bool = True) -> Identity:
    """Draw a random person.

    Args:
        rng: the random generator (all randomness comes from it).
        allow_dress: whether the upper garment may be a dress (try-on pairs use shirts only).

    Returns:
        An :class:`Identity`.
    """
    top = sample_top(rng, allow_dress)
    bottom = None if top.kind == "dress" else sample_bottom(rng)
    bg_a = np.array(_colour(rng))
    bg = (_jitter(rng, (bg_a * 0.3 + 170).astype(int), 20), _jitter(rng, (bg_a * 0.3 + 140).astype(int), 20))
    return Identity(
        shoulder=float(rng.uniform(0.34, 0.44)),
        hip=float(rng.uniform(0.2, 0.28)),
        arm_len=float(rng.uniform(1.1, 1.25)),
        leg_len=float(rng.uniform(1.65, 1.85)),
        limb=float(rng.uniform(0.85, 1.2)),
        head=float(rng.uniform(0.9, 1.1)),
        skin=_jitter(rng, _SKINS[int(rng.integers(len(_SKINS)))]),
        hair_colour=_jitter(rng, _HAIRS[int(rng.integers(len(_HAIRS)))]),
        hair=HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))],
        shoe_colour=_colour(rng, dark=True),
        top=top,
        bottom=bottom,
        background=bg,
    )

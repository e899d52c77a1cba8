"""Outfit styles for the synthetic renderer: garments that go together, with a style label.

A :class:`Style` is a rule for a whole outfit: a palette of main colours, accent colours,
pattern families, sleeve lengths, lower-garment kinds and a dress probability. An outfit's
upper garment, lower garment and shoes are all drawn from one style, so "does this garment
match the rest of the outfit" has a ground truth: the style label of each garment.

The body (proportions, skin, hair, background) comes from
:func:`clothflow.data.synth.identity.sample_identity`, and the clothes then replace the
ones drawn there; the existing samplers are not changed.

Example:
    >>> import numpy as np
    >>> outfit = sample_outfit_identity(np.random.default_rng(0), style=1)
    >>> outfit.top_style, STYLES[outfit.top_style].name
    (1, 'beach')
    >>> outfit.identity.top.material.colour is not None
    True
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from clothflow.data.synth.identity import Colour, Garment, Identity, Material, sample_identity
from clothflow.core.errors import ClothflowError


@dataclass(frozen=True)
class Style:
    """A style rule shared by every garment of an outfit.

    Attributes:
        name: short name.
        palette: main garment colours (RGB); each garment takes one, jittered.
        accents: second colours of patterns (RGB).
        patterns: pattern families (see :data:`clothflow.data.synth.identity.PATTERNS`);
            "logo" is only used on upper garments.
        sleeves: sleeve lengths of upper garments.
        bottoms: kinds of lower garments ("trousers", "shorts", "skirt").
        dress_prob: probability that the upper garment is a dress (then no lower garment).
    """

    name: str
    palette: tuple[Colour, ...]
    accents: tuple[Colour, ...]
    patterns: tuple[str, ...]
    sleeves: tuple[str, ...]
    bottoms: tuple[str, ...]
    dress_prob: float


STYLES: tuple[Style, ...] = (
    Style("business", ((28, 38, 92), (62, 62, 68), (120, 130, 150)), ((235, 235, 235), (190, 190, 200)),
          ("solid", "stripes"), ("long",), ("trousers", "skirt"), 0.1),
    Style("beach", ((250, 210, 50), (30, 200, 200), (250, 120, 80)), ((255, 255, 255), (20, 90, 170)),
          ("solid", "dots"), ("none", "short"), ("shorts", "skirt"), 0.2),
    Style("street", ((20, 20, 20), (205, 25, 35), (110, 35, 150)), ((255, 230, 40), (240, 240, 240)),
          ("checks", "logo", "noise"), ("short", "long"), ("trousers", "shorts"), 0.0),
    Style("earth", ((110, 122, 45), (125, 78, 38), (205, 150, 40)), ((235, 220, 180), (70, 50, 30)),
          ("gradient", "noise", "stripes"), ("short", "long"), ("trousers", "skirt"), 0.15),
    Style("pastel", ((245, 170, 205), (190, 170, 235), (165, 210, 245)), ((255, 255, 255), (170, 235, 200)),
          ("solid", "dots", "gradient"), ("none", "short"), ("skirt", "shorts", "trousers"), 0.3),
)
STYLE_NAMES: tuple[str, ...] = tuple(s.name for s in STYLES)
NUM_STYLES = len(STYLES)


@dataclass(frozen=True)
class Outfit:
    """A person dressed in one style.

    Attributes:
        identity: the person, drawable by :func:`clothflow.data.synth.renderer.render`.
        top_style: style index (into :data:`STYLES`) of the upper garment or dress.
        bottom_style: style index of the lower garment; None when the top is a dress.
        shoe_style: style index of the shoes.
    """

    identity: Identity
    top_style: int
    bottom_style: int | None
    shoe_style: int


def _pick(rng: np.random.Generator, items: tuple) -> object:
    return items[int(rng.integers(len(items)))]


def _jitter(rng: np.random.Generator, colour: Colour, amount: int = 12) -> Colour:
    c = np.asarray(colour) + rng.integers(-amount, amount + 1, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


def style_material(
    rng: np.random.Generator, style: Style, lower: bool = False, avoid: Colour | None = None
) -> tuple[Material, Colour]:
    """Draw a garment texture under a style's rules; returns it and the palette colour taken.

    Args:
        rng: the random generator.
        style: the rules.
        lower: a lower garment (no "logo" print).
        avoid: a palette colour not to take when the palette offers another (so an outfit's
            two garments usually differ in colour).
    """
    patterns = tuple(p for p in style.patterns if not (lower and p == "logo")) or ("solid",)
    colours = tuple(c for c in style.palette if c != avoid) or style.palette
    base = _pick(rng, colours)
    return Material(
        pattern=str(_pick(rng, patterns)),
        colour=_jitter(rng, base),
        accent=_jitter(rng, _pick(rng, style.accents)),
        angle=float(_pick(rng, (0.0, 90.0, 45.0, -45.0))),
        frequency=float(rng.uniform(3.0, 6.0)),
        glyph=str(_pick(rng, tuple("ABKMRSTXZ"))),
        seed=int(rng.integers(1 << 30)),
    ), base


def sample_outfit_identity(rng: np.random.Generator, style: int | None = None, allow_dress: bool = True) -> Outfit:
    """Draw a person whose garments all follow one style.

    Deterministic in the generator's state: the same seed gives the same outfit and labels.

    Args:
        rng: the random generator (all randomness comes from it).
        style: index into :data:`STYLES`; None draws one uniformly.
        allow_dress: whether the upper garment may be a dress.

    Returns:
        An :class:`Outfit` (the person and a style label per garment).

    Raises:
        ClothflowError: ``style`` out of range.
    """
    if style is None:
        style = int(rng.integers(NUM_STYLES))
    if not 0 <= style < NUM_STYLES:
        raise ClothflowError(f"unknown outfit style {style}; expected 0..{NUM_STYLES - 1} ({', '.join(STYLE_NAMES)})")
    rule = STYLES[style]
    body = sample_identity(rng, allow_dress=False)
    dress = allow_dress and bool(rng.random() < rule.dress_prob)
    top_mat, top_base = style_material(rng, rule)
    if dress:
        top = Garment("dress", top_mat, str(_pick(rng, tuple(s for s in rule.sleeves if s != "long") or ("short",))),
                      float(rng.uniform(0.45, 0.85)), float(rng.uniform(0.05, 0.2)))
        bottom = None
    else:
        top = Garment("shirt", top_mat, str(_pick(rng, rule.sleeves)), float(rng.uniform(1.0, 1.15)), float(rng.uniform(0.05, 0.2)))
        kind = str(_pick(rng, rule.bottoms))
        bottom_mat, _ = style_material(rng, rule, lower=True, avoid=top_base)
        length = float(rng.uniform(0.4, 0.9)) if kind == "skirt" else 1.0
        bottom = Garment(kind, bottom_mat, "none", length, float(rng.uniform(0.05, 0.25)))
    shoes = tuple(int(v * 0.7) for v in _jitter(rng, _pick(rng, rule.palette)))
    ident = replace(body, top=top, bottom=bottom, shoe_colour=shoes)
    return Outfit(ident, style, None if dress else style, style)

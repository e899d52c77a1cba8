"""Textures of the synthetic renderer: small RGB images indexed by surface coordinates (u, v).

Each texture is a T x T x 3 float32 image (0..255) whose pixel (row, col) is the colour at
(v, u) = (row, col) / (T - 1). They are pure functions of their arguments and cached, so a
person's textures are made once and shared by all of their renders.

Example:
    >>> from clothflow.data.synth.identity import Material
    >>> tex = garment_texture(Material("stripes", (200, 0, 0), (0, 0, 200)), front=True)
    >>> tex.shape, tex.dtype
    ((64, 64, 3), dtype('float32'))
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import cv2
import numpy as np

from clothflow.data.synth.identity import Colour, Material

TEX = 64  # texture side in texels


@lru_cache(maxsize=8)
def _grid(t: int) -> tuple[np.ndarray, np.ndarray]:
    """Texel coordinates (u, v), each t x t float32 (read-only, cached)."""
    c = np.linspace(0.0, 1.0, t, dtype=np.float32)
    u, v = np.meshgrid(c, c)  # u along columns, v along rows
    u.setflags(write=False)
    v.setflags(write=False)
    return u, v


def _mix(a: Colour, b: Colour, w: np.ndarray) -> np.ndarray:
    """Blend colours per texel: w = 0 -> a, 1 -> b. Returns T x T x 3 float32."""
    a_, b_ = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a_ + (b_ - a_) * w[..., None]


def _soft(x: np.ndarray, sharp: float = 4.0) -> np.ndarray:
    """Smooth 0/1 step of a periodic signal in [-1, 1] (anti-aliased pattern edges)."""
    return np.clip(0.5 + sharp * x, 0.0, 1.0)


def _glyph(char: str, t: int) -> np.ndarray:
    """A letter drawn once with cv2.putText: t x t float32 coverage in [0, 1]."""
    canvas = np.zeros((t, t), np.uint8)
    scale = t / 28.0
    (tw, th), _ = cv2.getTextSize(char, cv2.FONT_HERSHEY_DUPLEX, scale, max(1, t // 24))
    cv2.putText(canvas, char, ((t - tw) // 2, (t + th) // 2), cv2.FONT_HERSHEY_DUPLEX, scale, 255, max(1, t // 24), cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


@lru_cache(maxsize=512)
def garment_texture(material: Material, front: bool, t: int = TEX) -> np.ndarray:
    """Texture of a garment side.

    Args:
        material: the garment's :class:`Material`.
        front: front side (a "logo" print only appears on the front).
        t: texture side.

    Returns:
        t x t x 3 float32 in [0, 255] (read-only, cached).
    """
    if not front:  # the back: a shade darker, without the print
        plain = replace(material, pattern="solid") if material.pattern == "logo" else material
        back = garment_texture(plain, True, t) * np.float32(0.92)
        back.setflags(write=False)
        return back
    u, v = _grid(t)
    ang = np.deg2rad(material.angle)
    along = u * np.cos(ang) + v * np.sin(ang)
    across = -u * np.sin(ang) + v * np.cos(ang)
    f = material.frequency
    p = material.pattern
    if p == "stripes":
        w = _soft(np.sin(2 * np.pi * f * across) - 0.2)
    elif p == "checks":
        w = 0.35 * _soft(np.sin(2 * np.pi * f * across)) + 0.35 * _soft(np.sin(2 * np.pi * f * along))
    elif p == "dots":
        cu = (along * f) % 1.0 - 0.5
        cv = (across * f) % 1.0 - 0.5
        w = _soft(0.3 - np.sqrt(cu**2 + cv**2), 20.0)
    elif p == "gradient":
        w = np.clip(0.5 + 0.8 * (across - 0.5), 0.0, 1.0)
    elif p == "noise":
        rng = np.random.default_rng(material.seed)
        small = rng.random((5, 5)).astype(np.float32)
        w = cv2.resize(small, (t, t), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    elif p == "logo":
        g = np.zeros((t, t), np.float32)
        half = t // 2
        g[t // 4 : t // 4 + half, t // 4 : t // 4 + half] = _glyph(material.glyph, half)
        w = g
    else:
        w = np.zeros((t, t), np.float32)
    tex = _mix(material.colour, material.accent, w.astype(np.float32))
    tex.setflags(write=False)
    return tex


@lru_cache(maxsize=512)
def skin_texture(skin: Colour, t: int = TEX) -> np.ndarray:
    """Plain skin: t x t x 3 float32."""
    tex = np.empty((t, t, 3), np.float32)
    tex[:] = skin
    tex.setflags(write=False)
    return tex


@lru_cache(maxsize=512)
def face_texture(skin: Colour, hair: Colour, t: int = TEX) -> np.ndarray:
    """A face in the head's (u, v) box: eyes, brows, nose shadow and mouth. t x t x 3 float32."""
    u, v = _grid(t)
    tex = np.array(skin_texture(skin, t))
    dark = np.asarray([40, 30, 30], np.float32)
    for cu in (0.33, 0.67):
        eye = ((u - cu) / 0.07) ** 2 + ((v - 0.47) / 0.045) ** 2 < 1
        tex[eye] = dark
        brow = (np.abs(u - cu) < 0.09) & (np.abs(v - 0.38) < 0.02)
        tex[brow] = np.asarray(hair, np.float32) * 0.8
    mouth = ((u - 0.5) / 0.12) ** 2 + ((v - 0.74) / 0.03) ** 2 < 1
    tex[mouth] = np.asarray([180, 60, 60], np.float32)
    nose = (np.abs(u - 0.5) < 0.03) & (v > 0.5) & (v < 0.62)
    tex[nose] *= 0.85
    tex.setflags(write=False)
    return tex


@lru_cache(maxsize=512)
def hair_texture(hair: Colour, t: int = TEX) -> np.ndarray:
    """Hair with soft strands along v. t x t x 3 float32."""
    u, v = _grid(t)
    w = 0.5 + 0.5 * np.sin(2 * np.pi * 9 * u + 2 * np.sin(3 * v))
    tex = np.asarray(hair, np.float32) * (0.85 + 0.25 * w[..., None])
    tex.setflags(write=False)
    return np.clip(tex, 0, 255)


@lru_cache(maxsize=512)
def shoe_texture(colour: Colour, t: int = TEX) -> np.ndarray:
    """Shoe with a light sole (v > 0.8). t x t x 3 float32."""
    u, v = _grid(t)
    tex = _mix(colour, (235, 235, 230), (v > 0.8).astype(np.float32))
    tex.setflags(write=False)
    return tex

"""Synthetic motion: walk cycles and arm waves of one person, and their true frames.

A motion is a periodic function of the phase ``2 pi t / period`` that gives joint angles in
the image plane and bone foreshortening (a leg swinging towards the camera looks shorter
in a front view). Poses are built in torso units from the person's own proportions and
placed with one scale and origin for the whole sequence (those of the person's rest pose),
so the figure bobs and sways inside a fixed frame. Rendering the poses with
:func:`clothflow.data.synth.renderer.render` gives the true frames; :func:`true_flow` between two
of them is the exact motion of what is drawn.

Nothing here draws from the random streams of :class:`~clothflow.data.synth.poses.PoseSampler`
or the pair datasets: the person of ``seed`` comes from its own stream.

Example:
    >>> seq = motion_sequence("walk", frames=4, size=(64, 44), seed=0)
    >>> len(seq.frames), seq.frames[0].image.shape, seq.keypoints().shape
    (4, (64, 44, 3), (4, 18, 2))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clothflow.data.synth.renderer import Render, render
from clothflow.data.synth.identity import Identity, sample_identity
from clothflow.data.synth.poses import TEMPLATE, Pose
from clothflow.core.errors import ClothflowError

MOTIONS: tuple[str, ...] = ("walk", "wave")
DEFAULT_PERIOD = {"walk": 24, "wave": 20}  # frames per cycle (about 1 s at 25 fps)
_MOTION_STREAM = 1009  # the identity of seed s is sample_identity(default_rng([s, 1009]))


def motion_identity(seed: int) -> Identity:
    """The person of motion ``seed`` (a stream of its own, deterministic)."""
    return sample_identity(np.random.default_rng([int(seed), _MOTION_STREAM]))


def _hang(start: np.ndarray, angle_deg: float, length: float, outward: float) -> np.ndarray:
    """End of a bone from ``start`` at ``angle_deg`` from straight down (+ = away from the body)."""
    r = np.deg2rad(angle_deg)
    return start + length * np.array([outward * np.sin(r), np.cos(r)])


def _skeleton(ident: Identity, arms: dict[str, tuple[float, float, float]], legs: dict[str, tuple[float, float, float, float]]) -> np.ndarray:
    """Build 18 x 2 torso-unit keypoints (neck at the origin, y down, front view).

    Args:
        arms: side -> (upper-arm angle, forearm angle, forearm foreshortening in (0, 1]).
        legs: side -> (thigh angle, thigh foreshortening, shin angle, shin foreshortening).
    """
    k = TEMPLATE.copy()
    k[2], k[5] = (-ident.shoulder, 0.05), (ident.shoulder, 0.05)
    k[8], k[11] = (-ident.hip, 1.0), (ident.hip, 1.0)
    for side, out, (s, e, w) in (("r", -1.0, (2, 3, 4)), ("l", 1.0, (5, 6, 7))):
        up, fore, shorten = arms[side]
        k[e] = _hang(k[s], up, 0.55 * ident.arm_len, out)
        k[w] = _hang(k[e], fore, 0.45 * ident.arm_len * shorten, out)
    for side, out, (h, kn, a) in (("r", -1.0, (8, 9, 10)), ("l", 1.0, (11, 12, 13))):
        thigh, t_short, shin, s_short = legs[side]
        k[kn] = _hang(k[h], thigh, 0.52 * ident.leg_len * t_short, out)
        k[a] = _hang(k[kn], shin, 0.48 * ident.leg_len * s_short, out)
    face = [0, 14, 15, 16, 17]
    k[face] = (k[face] - k[1]) * ident.head + k[1]
    return k


def _rotate(k: np.ndarray, centre: np.ndarray, deg: float) -> np.ndarray:
    r = np.deg2rad(deg)
    rot = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
    return (k - centre) @ rot.T + centre


def _rest(ident: Identity) -> np.ndarray:
    still_legs = {s: (3.0, 1.0, 2.0, 1.0) for s in "rl"}
    return _skeleton(ident, {s: (8.0, 4.0, 1.0) for s in "rl"}, still_legs)


def _walk(ident: Identity, phase: float) -> np.ndarray:
    """One walk-cycle pose: legs swing fore and aft (foreshortened), arms swing against them."""
    legs, arms = {}, {}
    for side, sign in (("r", 1.0), ("l", -1.0)):
        swing = 28.0 * sign * np.sin(phase)  # thigh angle towards (+) or away from the camera
        knee = 35.0 * max(0.0, np.sin(phase + sign * np.pi / 2 + np.pi / 3)) ** 2  # knee bend while lifting
        legs[side] = (3.0 + 2.0 * sign * np.sin(phase), np.cos(np.deg2rad(swing)), 2.0 + 0.3 * knee,
                      np.cos(np.deg2rad(swing - knee)))
        arm_swing = -sign * np.sin(phase)  # arms against the legs
        arms[side] = (10.0 + 9.0 * arm_swing, 10.0 + 22.0 * max(arm_swing, 0.0) + 6.0, 1.0 - 0.25 * max(arm_swing, 0.0))
    k = _skeleton(ident, arms, legs)
    hips = (k[8] + k[11]) / 2
    k = _rotate(k, hips, 2.0 * np.sin(phase))
    k[:, 1] -= 0.035 * np.cos(2 * phase)  # the body rises twice a cycle, at mid-stance
    k[:, 0] += 0.04 * np.sin(phase)  # and sways over the standing leg
    return k


def _wave(ident: Identity, phase: float) -> np.ndarray:
    """One arm-wave pose: the right arm raised, its forearm swinging side to side."""
    still_legs = {s: (3.0, 1.0, 2.0, 1.0) for s in "rl"}
    arms = {"r": (115.0 + 5.0 * np.sin(phase), 165.0 + 35.0 * np.sin(phase), 1.0), "l": (8.0, 4.0, 1.0)}
    k = _skeleton(ident, arms, still_legs)
    hips = (k[8] + k[11]) / 2
    return _rotate(k, hips, 2.5 * np.sin(phase + 0.5))


_MOTION_FN = {"walk": _walk, "wave": _wave}


@dataclass(frozen=True)
class Placement:
    """Torso units -> pixels for a whole sequence: ``pixels = units * unit + origin``."""

    unit: float
    origin: tuple[float, float]

    @classmethod
    def fit(cls, units: np.ndarray, size: tuple[int, int], fill: float = 0.86) -> "Placement":
        """Fit a rest pose (18 x 2 torso units) to ``fill`` of the image height, centred."""
        top = units[1, 1] - 0.66  # the crown sits about 0.66 torso units above the neck
        bottom = max(units[10, 1], units[13, 1]) + 0.2
        h, w = size
        unit = fill * h / (bottom - top)
        y0 = (h - (bottom - top) * unit) / 2 - top * unit
        return cls(float(unit), (w / 2.0, float(y0)))

    def pose(self, units: np.ndarray, back: bool = False) -> Pose:
        k = units * [-1.0, 1.0] if back else units
        return Pose((k * self.unit + self.origin).astype(np.float32), back, self.unit)


def motion_poses(kind: str, frames: int, size: tuple[int, int], ident: Identity, period: int | None = None) -> list[Pose]:
    """The poses of a motion, one per frame.

    Args:
        kind: "walk" or "wave" (:data:`MOTIONS`).
        frames: number of frames (>= 1).
        size: (H, W) of the images the poses are for.
        ident: the person (their proportions shape the skeleton).
        period: frames per cycle; default :data:`DEFAULT_PERIOD` of the kind. Frame ``t`` and
            ``t + period`` are the same pose.

    Returns:
        ``frames`` :class:`Pose` objects (front view), placed like :func:`rest_pose`.
    """
    if kind not in _MOTION_FN:
        raise ClothflowError(f"unknown synthetic motion {kind!r}; choose one of {', '.join(MOTIONS)}")
    if frames < 1:
        raise ClothflowError(f"a motion needs at least one frame, got {frames}")
    period = DEFAULT_PERIOD[kind] if period is None else int(period)
    if period < 2:
        raise ClothflowError(f"a motion period needs at least 2 frames, got {period}")
    place = Placement.fit(_rest(ident), size)
    fn = _MOTION_FN[kind]
    return [place.pose(fn(ident, 2 * np.pi * (t % period) / period)) for t in range(frames)]


def rest_pose(ident: Identity, size: tuple[int, int]) -> Pose:
    """The person standing still, arms down: the "photo" a motion starts from."""
    return Placement.fit(_rest(ident), size).pose(_rest(ident))


@dataclass
class MotionSequence:
    """A person at rest (the source photo) and the true frames of a motion.

    Attributes:
        kind: "walk" or "wave".
        identity: who is drawn.
        rest: the person standing still (same placement as the frames).
        frames: T renders, one per frame of the motion.
    """

    kind: str
    identity: Identity
    rest: Render
    frames: list[Render]

    def keypoints(self) -> np.ndarray:
        """T x 18 x 2 float32 keypoints of the frames (x, y) pixels, -1 where hidden."""
        return np.stack([f.keypoints for f in self.frames])


def motion_sequence(kind: str, frames: int, size: tuple[int, int] = (256, 176), seed: int = 0, period: int | None = None,
                    identity: Identity | None = None) -> MotionSequence:
    """Render a motion of the person of ``seed`` (or of ``identity``): rest frame and T true frames.

    Deterministic in its arguments.
    """
    ident = motion_identity(seed) if identity is None else identity
    size = (int(size[0]), int(size[1]))
    poses = motion_poses(kind, frames, size, ident, period)
    return MotionSequence(kind, ident, render(ident, rest_pose(ident, size), size), [render(ident, p, size) for p in poses])


__all__ = ["MOTIONS", "MotionSequence", "Placement", "motion_identity", "motion_poses", "motion_sequence", "rest_pose"]

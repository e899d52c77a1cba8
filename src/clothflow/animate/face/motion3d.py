"""Motion transfer with head turns: where the portrait's face goes in 3-D for one driving frame.

The driver's motion since its reference (first) frame is split as in mode 1
(:mod:`clothflow.animate.face.motion`), but in 3-D:

- the head's motion: a rigid fit (rotation, uniform scale, shift) of the driver's 3-D
  landmarks on points the jaw and lids leave still
  (:func:`~clothflow.animate.face.headpose.fit_rigid`);
- the expression: the driver's landmarks with that motion undone (the turn too, so a turned
  head does not read as a squeezed face), carried onto the portrait's landmarks by mode 1's
  :func:`~clothflow.animate.face.motion.transfer_motion` (eye openness as a ratio).

The rotation is carried into the portrait's picture (turned by the in-plane angle between
the two faces, so a driver filmed with a tilted camera turns the portrait about its own
axes), its yaw and pitch multiplied by a gain and clamped; the shift is taken at the
portrait's scale, as in mode 1.

Example (the driver turns 20 degrees and does nothing else; the portrait is twice the size):
    >>> import numpy as np
    >>> from clothflow.animate.face.headpose import RIGID, RigidMotion, euler_angles, rotation_matrix
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(0, 40, (478, 3)) + (200, 200, 0)
    >>> cur = RigidMotion(1.0, rotation_matrix(20, 0), ref[list(RIGID)].mean(0), np.zeros(3)).apply(ref)
    >>> turn = turn_motion(ref[:, :2] * 2, ref, cur, gain=1.0)
    >>> [round(abs(a), 1) for a in euler_angles(turn.rotation)], round(turn.scale, 3)
    ([20.0, 0.0, 0.0], 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from clothflow.animate.face.headpose import euler_angles, fit_rigid, rotation_matrix
from clothflow.animate.face.landmarks import STABLE
from clothflow.animate.face.motion import MotionConfig, fit_similarity, transfer_motion


@dataclass(frozen=True)
class Turn:
    """Where the portrait goes in one frame: ``rotation`` (3 x 3) about the face's centre, ``scale``,
    ``shift`` (x, y pixels) and ``expression`` (N x 2 landmarks in the portrait's own frame; None
    keeps the portrait's)."""

    rotation: np.ndarray
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    expression: np.ndarray | None = None


def limit_turn(rotation: np.ndarray, gain: float = 1.0,
               limits: tuple[float, float, float] = (90.0, 90.0, 180.0)) -> np.ndarray:
    """``rotation`` with its yaw and pitch multiplied by ``gain``, then all three angles
    clipped to ``limits`` (max |yaw|, |pitch|, |roll| in degrees)."""
    yaw, pitch, roll = euler_angles(rotation)
    yaw, pitch = yaw * gain, pitch * gain
    return rotation_matrix(*(float(np.clip(a, -m, m)) for a, m in zip((yaw, pitch, roll), limits)))


def turn_motion(
    source: np.ndarray,
    driving_ref: np.ndarray,
    driving: np.ndarray,
    motion: MotionConfig | None = None,
    gain: float = 1.0,
    limits: tuple[float, float, float] = (90.0, 90.0, 180.0),
) -> Turn:
    """The portrait's turn for one driving frame.

    Args:
        source: N x 2 landmarks of the portrait.
        driving_ref: N x 3 landmarks of the driving's reference (first) frame.
        driving: N x 3 landmarks of the current driving frame.
        motion: mode 1's motion options (``head_motion=False`` keeps the head still: no
            turn, no shift, the expression only).
        gain, limits: see :func:`limit_turn`.

    Returns:
        The rotation in the portrait's frame, the driver's scale, its shift at the portrait's
        scale, and the expression.
    """
    motion = motion or MotionConfig()
    src = np.asarray(source, np.float64)
    ref, cur = np.asarray(driving_ref, np.float64), np.asarray(driving, np.float64)
    head = fit_rigid(ref, cur)
    expression = transfer_motion(src, ref[:, :2], head.undo(cur)[:, :2], replace(motion, head_motion=False))
    if not motion.head_motion:
        return Turn(np.eye(3), expression=expression)
    to_src = fit_similarity(ref[list(STABLE), :2], src[list(STABLE), :2])
    plane = np.eye(3)
    plane[:2, :2] = to_src[:, :2] / np.sqrt(abs(np.linalg.det(to_src[:, :2])))  # the in-plane turn between the faces
    rotation = limit_turn(plane @ head.rotation @ plane.T, gain, limits)
    shift = to_src[:, :2] @ head.shift[:2]
    return Turn(rotation, head.scale, (float(shift[0]), float(shift[1])), expression)

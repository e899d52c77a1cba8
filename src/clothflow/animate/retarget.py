"""Driving keypoints -> the source's body: bone-length retargeting and One-Euro smoothing.

Retargeting (:class:`Retargeter`) keeps the *directions* of the driving person's bones and the
*lengths* of the source person's, walking the COCO-18 tree from the neck outwards
(:data:`clothflow.core.ops.pose.LIMBS` lists every bone after its parent). A bone that looks
shorter than in the driving's reference frame (a limb swinging towards the camera) stays
proportionally shorter. The neck moves by the driving neck's displacement from its reference
position, scaled by the ratio of torso lengths, so a driving person twice as big or standing
elsewhere in their frame moves the source by the same amount relative to its own size.

Smoothing (:class:`OneEuroFilter`, Casiez et al. CHI 2012) is a low-pass filter whose
cut-off rises with speed: strong smoothing of jitter when still, little lag when moving.
Each keypoint has its own state; a point that goes missing is held at its last value for
``hold_frames`` frames, then reported missing, and restarts fresh when it comes back.

Arrays are 18 x 2 float32 (x, y) pixels with -1 for a missing point, as everywhere.

Example:
    >>> import numpy as np
    >>> from clothflow.data.synth.poses import TEMPLATE
    >>> src = (TEMPLATE * 20 + [22, 12]).astype(np.float32)         # torso 20 px
    >>> drv = (TEMPLATE * 50 + [100, 40]).astype(np.float32)        # torso 50 px
    >>> rt = Retargeter(src, drv)
    >>> moved = drv + [10.0, 0.0]                                  # the driver steps 10 px right
    >>> np.round(rt(moved)[1] - src[1], 3).tolist()                # the source steps 4 px
    [4.0, 0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from clothflow.core.ops.pose import LIMBS, NUM_KEYPOINTS, visible
from clothflow.data.synth.poses import fill_missing
from clothflow.core.errors import ClothflowError

NECK = 1


def _torso(kps: np.ndarray) -> float | None:
    """Neck to mid-hip length of an 18 x 2 pose, or None when the neck or both hips are missing."""
    hips = [kps[i] for i in (8, 11) if visible(kps[i])]
    if not visible(kps[NECK]) or not hips:
        return None
    return float(np.linalg.norm(kps[NECK] - np.mean(hips, axis=0)))


def neck_of(kps: np.ndarray) -> np.ndarray | None:
    """The neck, or the shoulder midpoint when the neck is missing; None when neither exists."""
    if visible(kps[NECK]):
        return kps[NECK].astype(np.float64)
    if visible(kps[2]) and visible(kps[5]):
        return (kps[2].astype(np.float64) + kps[5]) / 2
    return None


@dataclass(frozen=True)
class RetargetConfig:
    """How driving keypoints are mapped to the source.

    Attributes:
        foreshortening: keep a driving bone's length change relative to its reference frame
            (a limb pointing at the camera looks shorter); False: always the source's length.
        follow_position: move the source with the driving neck; False: the neck stays put.
        max_stretch: cap on a bone's length relative to the source's (bad detections).
    """

    foreshortening: bool = True
    follow_position: bool = True
    max_stretch: float = 1.3


class Retargeter:
    """Map driving poses onto the source skeleton.

    Args:
        source: 18 x 2 source keypoints in output pixels (-1 missing; missing bones get the
            default skeleton's proportions from :func:`~clothflow.data.synth.poses.fill_missing`).
        reference: 18 x 2 driving keypoints of the frame where the driver stands as the source
            does (usually the first driving frame); its neck and torso define position and scale.
        config: options.

    Raises:
        ClothflowError: the source has fewer than 2 keypoints, or the reference has no neck
            (or shoulders) and no hip.
    """

    def __init__(self, source: np.ndarray, reference: np.ndarray, config: RetargetConfig = RetargetConfig()) -> None:
        source = np.asarray(source, np.float64)
        reference = np.asarray(reference, np.float64)
        if source.shape != (NUM_KEYPOINTS, 2) or reference.shape != (NUM_KEYPOINTS, 2):
            raise ClothflowError(f"poses must be 18 x 2, got {source.shape} and {reference.shape}")
        if visible(source).sum() < 2:
            raise ClothflowError("the source pose has fewer than 2 keypoints; the body is not in view")
        self.config = config
        self.source, _, self.source_unit = fill_missing(source)
        ref_neck, ref_unit = neck_of(reference), _torso(reference)
        if ref_neck is None or ref_unit is None or ref_unit < 1e-3:
            raise ClothflowError("the first driving pose needs the neck (or both shoulders) and a hip")
        self.ref_neck = ref_neck
        self.scale = self.source_unit / ref_unit
        self.source_len = {b: float(np.linalg.norm(self.source[b[1]] - self.source[b[0]])) for b in LIMBS}
        self.ref_len = {b: float(np.linalg.norm(reference[b[1]] - reference[b[0]])) if visible(reference[list(b)]).all() else None
                        for b in LIMBS}

    def bone_length(self, bone: tuple[int, int], driving_len: float) -> float:
        """Output length of ``bone`` when the driving shows it ``driving_len`` pixels long."""
        src = self.source_len[bone]
        ref = self.ref_len[bone]
        if not self.config.foreshortening or ref is None or ref < 1e-3:
            return src
        return src * min(driving_len / ref, self.config.max_stretch)

    def __call__(self, driving: np.ndarray) -> np.ndarray:
        """Retarget one driving pose.

        Args:
            driving: 18 x 2 driving keypoints in the driving frame (-1 missing).

        Returns:
            18 x 2 float32 in source pixels; missing where the driving point is missing, and all
            missing when neither the neck nor both shoulders are found.
        """
        drv = np.asarray(driving, np.float64)
        out = np.full((NUM_KEYPOINTS, 2), -1.0)
        neck = neck_of(drv)
        if neck is None:
            return out.astype(np.float32)
        out[NECK] = self.source[NECK] + (self.scale * (neck - self.ref_neck) if self.config.follow_position else 0.0)
        drv = drv.copy()
        drv[NECK] = neck
        for a, b in LIMBS:
            if not visible(drv[b]):
                continue
            if not visible(out[a]) or not visible(drv[a]):  # parent lost: place by the global scale
                out[b] = out[NECK] + self.scale * (drv[b] - neck)
                continue
            vec = drv[b] - drv[a]
            length = float(np.linalg.norm(vec))
            direction = vec / length if length > 1e-6 else (self.source[b] - self.source[a]) / max(self.source_len[(a, b)], 1e-6)
            out[b] = out[a] + direction * self.bone_length((a, b), length)
        out[(out < 0).any(-1)] = -1.0  # pushed out of the frame's top or left: missing, as the data contract says
        return out.astype(np.float32)


# ---- One-Euro filter ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OneEuroConfig:
    """One-Euro filter parameters.

    Attributes:
        min_cutoff: cut-off frequency (Hz) when still; lower = smoother, more lag.
        beta: how fast the cut-off rises with speed (per unit of ``scale`` per second).
        d_cutoff: cut-off (Hz) of the speed estimate.
        hold_frames: frames a missing point is held at its last value before it is reported missing.
    """

    min_cutoff: float = 1.5
    beta: float = 1.0
    d_cutoff: float = 1.0
    hold_frames: int = 5


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over 18 x 2 keypoint frames, with missing-point handling.

    Args:
        fps: frame rate of the sequence (the filter's time step is 1 / fps).
        config: the parameters.
        scale: a length unit (e.g. the torso in pixels); speeds are measured in it, so the same
            ``beta`` works at any image size.
    """

    def __init__(self, fps: float, config: OneEuroConfig = OneEuroConfig(), scale: float = 1.0) -> None:
        if fps <= 0 or scale <= 0:
            raise ValueError(f"fps and scale must be positive, got {fps} and {scale}")
        self.dt = 1.0 / fps
        self.config = config
        self.scale = float(scale)
        self.value = np.zeros((NUM_KEYPOINTS, 2))
        self.speed = np.zeros((NUM_KEYPOINTS, 2))
        self.alive = np.zeros(NUM_KEYPOINTS, bool)  # has a state
        self.missing_for = np.zeros(NUM_KEYPOINTS, int)

    def __call__(self, kps: np.ndarray) -> np.ndarray:
        """Filter one frame: 18 x 2 (-1 missing) -> 18 x 2 float32 (-1 missing)."""
        kps = np.asarray(kps, np.float64) / self.scale
        cfg = self.config
        seen = visible(kps)
        fresh = seen & ~self.alive
        self.value[fresh] = kps[fresh]
        self.speed[fresh] = 0.0
        track = seen & self.alive
        if track.any():
            raw_speed = (kps[track] - self.value[track]) / self.dt
            a_d = _alpha(cfg.d_cutoff, self.dt)
            self.speed[track] = a_d * raw_speed + (1 - a_d) * self.speed[track]
            cutoff = cfg.min_cutoff + cfg.beta * np.linalg.norm(self.speed[track], axis=-1, keepdims=True)
            tau = 1.0 / (2 * np.pi * cutoff)
            a = 1.0 / (1.0 + tau / self.dt)
            self.value[track] = a * kps[track] + (1 - a) * self.value[track]
        self.missing_for = np.where(seen, 0, self.missing_for + 1)
        self.alive = seen | (self.alive & (self.missing_for <= cfg.hold_frames))
        out = np.where(self.alive[:, None], self.value * self.scale, -1.0)
        return out.astype(np.float32)


def smooth_sequence(frames: np.ndarray, fps: float, config: OneEuroConfig = OneEuroConfig(), scale: float = 1.0) -> np.ndarray:
    """Run a fresh :class:`OneEuroFilter` over T x 18 x 2 frames; returns T x 18 x 2 float32."""
    filt = OneEuroFilter(fps, config, scale)
    return np.stack([filt(f) for f in np.asarray(frames)])


__all__ = ["OneEuroConfig", "OneEuroFilter", "RetargetConfig", "Retargeter", "neck_of", "smooth_sequence"]

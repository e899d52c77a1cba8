"""Animate one photo of a person: the pose-transfer pipeline driven frame by frame.

Per driving frame: retarget the pose to the source's skeleton, smooth it (One-Euro), then
run the three stages for the new pose. What does not change between frames is computed once
(:class:`SourceEncoding`): the source image and classes as tensors, its cloth and mask, its
layout one-hot and the flow network's source feature pyramid. Only the target side (the
pose heatmaps, the layout and the target pyramid) is computed per frame.

Temporal reuse (``AnimateConfig.temporal_reuse``) carries the previous frame over, moved
along with the body. Keypoints and bone midpoints present in both frames carry their motion;
spread over the image (a softmax over Gaussian distances, so every pixel follows the body part
nearest to it) they give a dense backward motion ``D`` (frame t -> t - 1, pixels) and its local
size ``m`` (torso lengths per frame). The previous frame's layout probabilities ``p``, flow ``F``
and image ``I`` are warped by ``D`` (:func:`motion_field`), and blended in with the weight
``g = reuse_strength * exp(-(m / still_motion)^2)``:

- ``p_t = g W(p_{t-1}, D) + (1 - g) p_t`` (no flicker of class edges),
- ``F_t = g (W(F_{t-1}, D) + D) + (1 - g) F_t`` (the cloth does not shimmer),
- ``I_t = g W(I_{t-1}, D) + (1 - g) I_t``.

Where the body moves fast (large ``m``) the keypoint motion is least trustworthy and the frame
is mostly the pipeline's own; ``motion_compensation=False`` blends without warping (reuse only
where the body is still).

Example:
    >>> import numpy as np, torch
    >>> from clothflow.models.config import preset
    >>> from clothflow.models.pipeline import ClothFlowPipeline
    >>> from clothflow.data.synth.motion import motion_sequence
    >>> pipe = ClothFlowPipeline(preset("tiny")).eval()
    >>> seq = motion_sequence("walk", frames=2, size=(64, 44))
    >>> src = encode_source(pipe, seq.rest.image, seq.rest.parse, seq.rest.keypoints)
    >>> frames = list(BodyAnimator(pipe, src, fps=25).run(seq.keypoints()))
    >>> len(frames), tuple(frames[0].image.shape)
    (2, (1, 3, 64, 44))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from clothflow.animate.retarget import OneEuroConfig, OneEuroFilter, RetargetConfig, Retargeter, neck_of
from clothflow.core.ops import labels
from clothflow.core.ops.pose import LIMBS, NUM_KEYPOINTS, visible
from clothflow.core.errors import ClothflowError
from clothflow.core.images import image_tensor
from clothflow.data.datasets.deepfashion import map_keypoints
from clothflow.data.formats.images import fit_to_size
from clothflow.models.flow import FlowNet, FlowOutput
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.core.ops.warp import warp


@dataclass(frozen=True)
class AnimateConfig:
    """Options of body animation.

    Attributes:
        temporal_reuse: carry the previous frame's layout, flow and image over (see the module
            notes); False: every frame on its own.
        reuse_strength: the largest weight of the previous frame (at zero motion), in [0, 1).
        still_motion: keypoint motion, in torso lengths per frame, at which the weight has
            fallen to 1/e of ``reuse_strength``.
        motion_compensation: warp the previous frame along the keypoint motion before blending.
        smooth: One-Euro smoothing of the retargeted keypoints.
        smoothing: the filter's parameters.
        retarget: how driving poses map to the source skeleton.
    """

    temporal_reuse: bool = True
    reuse_strength: float = 0.5
    still_motion: float = 0.1
    motion_compensation: bool = True
    smooth: bool = True
    smoothing: OneEuroConfig = field(default_factory=OneEuroConfig)
    retarget: RetargetConfig = field(default_factory=RetargetConfig)

    def __post_init__(self) -> None:
        if not 0.0 <= self.reuse_strength < 1.0:
            raise ValueError(f"reuse_strength must be in [0, 1), got {self.reuse_strength}")
        if self.still_motion <= 0:
            raise ValueError(f"still_motion must be positive, got {self.still_motion}")


@dataclass
class SourceEncoding:
    """What the pipeline needs of the source, computed once.

    Attributes:
        image: 1 x 3 x H x W in [-1, 1] at the model size.
        parse: 1 x H x W LIP ids at the model size.
        classes: 1 x H x W model classes.
        keypoints: 18 x 2 float32 source keypoints in model pixels (-1 missing).
        cloth, mask: 1 x 3 x H x W source cloth and 1 x 1 x H x W its mask.
        features: the flow network's source pyramid (fine -> coarse), or None when the
            variant has no :class:`FlowNet` to cache it for.
    """

    image: torch.Tensor
    parse: torch.Tensor
    classes: torch.Tensor
    keypoints: np.ndarray
    cloth: torch.Tensor
    mask: torch.Tensor
    features: list[torch.Tensor] | None


@dataclass
class AnimatedFrame:
    """One output frame.

    Attributes:
        image: 1 x 3 x H x W in [-1, 1].
        keypoints: 18 x 2 float32 pose it was rendered for (model pixels, -1 missing).
        flow: 1 x 2 x H x W flow to the source (pixels).
        stillness: 1 x 1 x H x W weight of the previous frame that was used (zeros without reuse).
    """

    image: torch.Tensor
    keypoints: np.ndarray
    flow: torch.Tensor
    stillness: torch.Tensor


@torch.inference_mode()
def encode_source(pipe: ClothFlowPipeline, image: np.ndarray, parse: np.ndarray, keypoints: np.ndarray) -> SourceEncoding:
    """Encode the source once.

    Args:
        pipe: a pose-transfer pipeline.
        image: H x W x 3 uint8 RGB source photo (any size; framed to the model's as in training:
            scaled to its height, centre-cropped or padded to its width).
        parse: H x W LIP ids of the photo.
        keypoints: 18 x 2 keypoints in photo pixels (-1 missing).

    Raises:
        ClothflowError: a try-on or dense pipeline (no target IUV while animating).
    """
    cfg = pipe.config
    if cfg.task != "transfer":
        raise ClothflowError("animation needs a pose-transfer model; this one was trained for try-on")
    if cfg.dense:
        raise ClothflowError("the dense variant needs DensePose maps of every target frame; animate with another model")
    size = cfg.size
    img = image_tensor(fit_to_size(np.asarray(image, np.uint8), size))[None]
    parse_t = torch.from_numpy(fit_to_size(np.asarray(parse, np.uint8), size, nearest=True, pad=0).astype(np.int64))[None]
    scaled = map_keypoints(np.asarray(keypoints, np.float32), image.shape[:2], size)
    x = pipe.encode(img, parse_t, torch.from_numpy(scaled)[None])
    feats = None
    if isinstance(pipe.flow, FlowNet):
        feats = pipe.flow.encode_source(x.cloth, x.cloth_mask, labels.one_hot(x.cloth_classes), x.src_extra)
    return SourceEncoding(img, parse_t, x.classes, scaled, x.cloth, x.cloth_mask, feats)


def body_motion(prev: np.ndarray, cur: np.ndarray, size: tuple[int, int], sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense body motion between two poses, from their keypoints.

    Keypoints and bone midpoints present in both poses carry their displacement; each pixel
    takes the Gaussian-weighted (``sigma`` pixels from the point in ``cur``) mean, normalised by
    a softmax, so far from the body it is the motion of the nearest part. A point present in
    only one pose counts as moving by ``10 * sigma`` (and does not move the field).

    Args:
        prev, cur: 18 x 2 poses (pixels, -1 missing) of frames t - 1 and t.
        size: (H, W).
        sigma: spread in pixels.

    Returns:
        (field 1 x 2 x H x W: backward displacement t -> t - 1 in pixels, zeros when no point is
        shared; size 1 x 1 x H x W: the weighted mean of the points' motion lengths, inf when no
        point is shared).

    Example:
        >>> import numpy as np
        >>> from clothflow.data.synth.poses import TEMPLATE
        >>> cur = (TEMPLATE * 12 + [22, 14]).astype(np.float32)
        >>> field, size = body_motion(cur - [2.0, 0.0], cur, (64, 44), sigma=3.0)
        >>> [round(v, 3) + 0.0 for v in field[0, :, 30, 20].tolist()], round(float(size.max()), 3)
        ([-2.0, 0.0], 2.0)
    """
    both = visible(prev) & visible(cur)
    pts, moves = [], []
    for k in range(NUM_KEYPOINTS):
        if both[k]:
            pts.append(cur[k])
            moves.append(prev[k] - cur[k])
        elif visible(prev[k]) != visible(cur[k]):
            pts.append(cur[k] if visible(cur[k]) else prev[k])
            moves.append(None)
    for a, b in LIMBS:
        if both[a] and both[b]:
            pts.append((cur[a] + cur[b]) / 2)
            moves.append((prev[a] + prev[b]) / 2 - (cur[a] + cur[b]) / 2)
    h, w = size
    if not any(m is not None for m in moves):
        return torch.zeros(1, 2, h, w), torch.full((1, 1, h, w), float("inf"))
    p = torch.tensor(np.asarray(pts, np.float32))
    d = torch.tensor(np.asarray([m if m is not None else (0.0, 0.0) for m in moves], np.float32))
    length = torch.tensor([float(np.linalg.norm(m)) if m is not None else 10.0 * sigma for m in moves])
    ys = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    d2 = (xs - p[:, 0, None, None]) ** 2 + (ys - p[:, 1, None, None]) ** 2  # P x H x W
    weights = torch.softmax(-d2 / (2 * sigma**2), dim=0)  # normalised per pixel, stable far from every point
    field = torch.einsum("phw,pc->chw", weights, d)[None]
    return field, (weights * length[:, None, None]).sum(0)[None, None]


class BodyAnimator:
    """Drive an encoded source with a sequence of poses.

    Args:
        pipe: the pose-transfer pipeline (eval mode).
        source: :func:`encode_source` of the photo.
        fps: frame rate of the driving sequence (for the One-Euro filter).
        config: options.
    """

    def __init__(self, pipe: ClothFlowPipeline, source: SourceEncoding, fps: float, config: AnimateConfig = AnimateConfig()) -> None:
        self.pipe = pipe
        self.source = source
        self.fps = float(fps)
        self.config = config
        self.size = tuple(pipe.config.size)
        self.retargeter: Retargeter | None = None
        self.filter: OneEuroFilter | None = None
        self.prev: dict[str, torch.Tensor | np.ndarray] | None = None
        self.src_onehot = labels.one_hot(source.classes)

    def pose_for(self, driving: np.ndarray) -> np.ndarray:
        """Retarget (and smooth) one driving pose; the source's own pose until a usable first frame."""
        if self.retargeter is None:
            if neck_of(driving) is None or not visible(np.asarray(driving)[[8, 11]]).any():
                return self.source.keypoints.copy()
            self.retargeter = Retargeter(self.source.keypoints, driving, self.config.retarget)
            self.filter = OneEuroFilter(self.fps, self.config.smoothing, scale=self.retargeter.source_unit)
        kps = self.retargeter(driving)
        return self.filter(kps) if self.config.smooth else kps

    def _reuse(self, kps: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight g 1 x 1 x H x W, backward motion D 1 x 2 x H x W) of the previous frame."""
        h, w = self.size
        if not self.config.temporal_reuse or self.prev is None:
            return torch.zeros(1, 1, h, w), torch.zeros(1, 2, h, w)
        unit = self.retargeter.source_unit if self.retargeter is not None else h / 4
        field, size = body_motion(self.prev["keypoints"], kps, self.size, sigma=0.25 * unit)
        g = self.config.reuse_strength * torch.exp(-((size / unit / self.config.still_motion) ** 2))
        return g, field if self.config.motion_compensation else torch.zeros_like(field)

    @torch.inference_mode()
    def step(self, driving: np.ndarray) -> AnimatedFrame:
        """Render the source in the pose of one driving frame (18 x 2, driving pixels, -1 missing)."""
        pipe, src = self.pipe, self.source
        kps = self.pose_for(np.asarray(driving, np.float32))
        g, motion = self._reuse(kps)
        reuse = self.prev is not None and self.config.temporal_reuse

        def carried(name: str) -> torch.Tensor:  # the previous frame's tensor, moved to this frame
            return warp(self.prev[name], motion, padding_mode="border")

        x = pipe.encode(src.image, src.parse, torch.from_numpy(kps)[None])
        classes, probs = None, None
        if pipe.layout is not None:
            probs = torch.softmax(pipe.predict_layout(x), 1)
            if reuse:
                probs = g * carried("probs") + (1 - g) * probs
            classes = probs.argmax(1)
        if src.features is not None:
            tgt = labels.one_hot(classes) if classes is not None else torch.zeros_like(self.src_onehot)
            net = pipe.flow
            flow = net.full_flow(net.refine(src.features, net.encode_target(tgt, x.tgt_extra)), self.size)
        else:
            flow = pipe.estimate_flow(x, classes).flow
        if reuse:
            flow = g * (carried("flow") + motion) + (1 - g) * flow
        moved = FlowOutput(flows=[flow], flow=flow, warped_cloth=warp(src.cloth, flow), warped_mask=warp(src.mask, flow))
        image = pipe.render_output(x, moved, classes).image
        if reuse:
            image = g * carried("image") + (1 - g) * image
        self.prev = {"keypoints": kps, "probs": probs, "flow": flow, "image": image}
        return AnimatedFrame(image=image, keypoints=kps, flow=flow, stillness=g)

    def run(self, poses: Iterable[np.ndarray]) -> Iterator[AnimatedFrame]:
        """:meth:`step` over a sequence of driving poses, lazily."""
        for driving in poses:
            yield self.step(driving)


__all__ = ["AnimateConfig", "AnimatedFrame", "BodyAnimator", "SourceEncoding", "body_motion", "encode_source"]

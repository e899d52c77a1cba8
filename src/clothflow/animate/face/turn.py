"""Animate one portrait with the face of a driving video, head turns included: face mode 2.

Mode 1 (:mod:`clothflow.animate.face.animator`) bends the photo in 2-D, so a head turned
well away from the photo's view stretches one cheek instead of showing the other side. Here
the portrait is lifted onto the face mesh's 3-D landmarks and turned as a surface:

1. The portrait's 3-D landmarks (:meth:`~clothflow.animate.face.landmarks.FaceLandmarker.landmarks3d`)
   are the mesh, the portrait its texture (every point's texture coordinate is where it is in
   the photo), MediaPipe's tesselation its triangles (:mod:`clothflow.animate.face.mesh` says
   why those and not a Delaunay triangulation).
2. The driver's head motion since its first frame is a rigid fit of its 3-D landmarks
   (rotation, scale and shift on points the jaw and lids leave still); what the fit leaves
   over, undone of the turn, is the expression, carried as mode 1 carries it (eye openness as
   a ratio, the mouth by its displacement; :mod:`clothflow.animate.face.motion3d`) and
   painted by mode 1 onto the portrait in its own frame (shut lids, an open mouth's
   interior): that picture is the frame's texture.
3. The mesh, turned by the driver's rotation about its own centre and moved and scaled as
   the driver's head is, is drawn far to near with per-triangle affine warps (the painter's
   algorithm on a triangle-id buffer, :func:`~clothflow.animate.face.mesh.rasterise`).
4. Where the portrait shows a part of the face badly or not at all (the far cheek and the
   nose's far side of a portrait that is itself turned), that part takes its twin's pixels
   across the face's symmetry plane, mirrored (:func:`~clothflow.animate.face.mesh.mirror_ids`;
   a frontal portrait keeps its own pixels everywhere, moles and lighting included).
5. The turned face is laid over the portrait with a feathered edge. Around it, hair, ears,
   neck and background are bent by a 2-D thin-plate spline, as mode 1 bends them, through
   the face outline and a ring of points around the head that turn with it (so the hair
   on the far side is pressed together and the near side's widens), fading to still beyond
   the anchor ring.

What it cannot do: turns far beyond the portrait's own view (yaw and pitch are clamped to
``max_yaw`` / ``max_pitch``; past about 40 degrees the far half of the face is gone and the
near side of the head is hair and ears the photo never showed, which the 2-D bend only
stretches), ears and hair turning as solids (they bend), lighting (the portrait's light
turns with the face), and everything mode 1 cannot (teeth, tongue, gaze, occlusions).

Example (a portrait turned by 20 degrees, no driver):
    >>> from skimage.data import astronaut
    >>> from clothflow.animate.face.headpose import rotation_matrix
    >>> portrait = astronaut()[:256, 96:352]
    >>> animator = TurnAnimator(portrait)
    >>> animator.render(rotation_matrix(20, 0)).shape
    (256, 256, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from clothflow.animate.face.animator import FaceAnimateConfig, FaceAnimator
from clothflow.animate.face.headpose import RIGID, RigidMotion
from clothflow.animate.face.landmarks import FACE_OVAL, FaceLandmarker, face_size
from clothflow.animate.face.mesh import (
    NUM_MESH_POINTS,
    affine_maps,
    face_triangles,
    mesh_box,
    mirror_ids,
    orient,
    rasterise,
    signed_areas,
    texture_maps,
    visible_fraction,
)
from clothflow.animate.face.motion3d import Turn, turn_motion
from clothflow.animate.face.stream import DrivenSession, drive
from clothflow.animate.face.warp import backward_map, remap
from clothflow.core.errors import ClothflowError


@dataclass(frozen=True)
class TurnConfig:
    """Options of face mode 2.

    Attributes:
        face: mode 1's options, used for the expression (motion, lids, mouth, the warp's
            grid and anchor ring), the smoothing and the frame rate.
        turn_gain: the driver's yaw and pitch are multiplied by this. The face mesh guesses
            too flat a depth for a turned face, so the rigid fit of two of its readings finds
            about 0.8 of a turn (a head rendered at 30 degrees yaw reads 24, at 20 degrees
            pitch 18, while its 2-D landmarks sit within 1.5 pixels of the rendered ones); 1.2
            turns the portrait about as far as the driver really turned.
        max_yaw, max_pitch, max_roll: the turn is clamped to these (degrees either way).
        mirror: take badly seen parts of the face from their mirror twins.
        feather: width of the face's blended edge, in face widths.
        head_ring: the ring of points that turns with the head around the face outline, in
            multiples of the outline's size (hair and ears follow it); 0 bends only through
            the outline.
    """

    face: FaceAnimateConfig = field(default_factory=FaceAnimateConfig)
    turn_gain: float = 1.2
    max_yaw: float = 40.0
    max_pitch: float = 25.0
    max_roll: float = 45.0
    mirror: bool = True
    feather: float = 0.03
    head_ring: float = 1.25

    def __post_init__(self) -> None:
        if not 0.0 <= self.turn_gain <= 2.0:
            raise ClothflowError(f"turn_gain must be in [0, 2], got {self.turn_gain}")
        for name in ("max_yaw", "max_pitch", "max_roll"):
            if not 0.0 <= getattr(self, name) <= 90.0:
                raise ClothflowError(f"{name} must be in [0, 90] degrees, got {getattr(self, name)}")
        if not 0.0 <= self.feather <= 0.5:
            raise ClothflowError(f"feather must be in [0, 0.5] face widths, got {self.feather}")
        inside = self.head_ring > 1.0 and (self.face.anchor_ring == 0 or self.head_ring < self.face.anchor_ring)
        if self.head_ring != 0 and not inside:
            raise ClothflowError(f"head_ring must be 0 (off), or above 1 and below the anchor ring, got {self.head_ring}")


def _feathered(covered: np.ndarray, width: float) -> np.ndarray:
    """A coverage mask (bool) as weights falling to 0 at its edge over about ``width`` pixels."""
    mask = covered.astype(np.float32)
    if width < 0.5:
        return mask
    r = max(1, int(round(width / 2)))
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return cv2.GaussianBlur(mask, (0, 0), width / 2.5)


class TurnAnimator:
    """The portrait-dependent part of face mode 2, computed once; :meth:`render` makes frames.

    Args:
        source: H x W x 3 uint8 RGB portrait (grey and RGBA are accepted too).
        config: options; defaults when None.
        source_name: the source's file name, for error messages.

    Raises:
        ClothflowError: the source is not an image, or no face is found in it.

    Attributes:
        source: the H x W x 3 uint8 source.
        landmarks: its N x 2 face landmarks (pixels), as mode 1's.
        landmarks3d: its N x 3 landmarks (pixels, z the face mesh's depth).
        mirror: each landmark's twin across the face's symmetry plane (N ids).
        mirror_weight: per triangle, how much of it is taken from its twin (0 its own pixels).
    """

    def __init__(self, source: np.ndarray, *, config: TurnConfig | None = None,
                 source_name: str | Path | None = None) -> None:
        self.config = config or TurnConfig()
        self.face = FaceAnimator(source, config=self.config.face, source_name=source_name)
        self.source = self.face.source
        self.size = self.face.size
        self.landmarks = self.face.landmarks
        with FaceLandmarker(static=True, min_confidence=self.config.face.min_confidence) as find:
            lm3 = find.landmarks3d(self.source)
            flipped = find.landmarks3d(np.ascontiguousarray(self.source[:, ::-1]))
        if lm3 is None:  # pragma: no cover - the same model found it a moment ago
            raise ClothflowError("no face found in the source image", source_name)
        self.landmarks3d = lm3.astype(np.float64)
        self.landmarks3d[:, :2] = self.landmarks
        n = len(self.landmarks3d)
        self.mirror = mirror_ids(self.landmarks3d, flipped, self.size[1]) if flipped is not None else np.arange(n)
        self.triangles = orient(face_triangles(), self.landmarks3d)
        self.face_width = face_size(self.landmarks)
        self._shown = self._shown_areas()
        self.mirror_weight = self._mirror_weights() if self.config.mirror else np.zeros(len(self.triangles))
        self._anchors, self._window = self.face._anchors, self.face._window  # the same ring and border
        self._head = self._head_points()

    def _shown_areas(self) -> np.ndarray:
        """Per triangle, its on-screen area in the portrait that is not hidden (pixels, 0 facing away)."""
        lm, tris = self.landmarks3d, self.triangles
        return np.maximum(signed_areas(lm, tris) / 2, 0.0) * visible_fraction(lm, lm[:, 2], tris, self.size)

    def _mirror_weights(self) -> np.ndarray:
        """Per triangle, the share taken from its twin: none while the portrait shows it at least
        0.6 as squarely as its twin (foreshortening and occlusion counted), all of it below 0.3."""
        lm, tris = self.landmarks3d, self.triangles
        e1, e2 = lm[tris[:, 1]] - lm[tris[:, 0]], lm[tris[:, 2]] - lm[tris[:, 0]]
        true = np.maximum(np.linalg.norm(np.cross(e1, e2), axis=1) / 2, 1e-6)
        quality = self._shown / true  # the cosine of the view angle, 0 when hidden
        per_point = np.zeros(NUM_MESH_POINTS)
        np.add.at(per_point, tris.ravel(), np.repeat(quality, 3))
        per_point /= np.maximum(np.bincount(tris.ravel(), minlength=NUM_MESH_POINTS), 1)
        own = per_point[tris].mean(1)
        twin = per_point[self.mirror[tris]].mean(1)
        ratio = own / np.maximum(twin, 1e-6)
        return np.clip((0.6 - ratio) / 0.3, 0.0, 1.0)

    def _head_points(self) -> np.ndarray:
        """3-D points on a ring around the face outline (K x 3): the outline grown ``head_ring``
        times about its centre, at the outline's own depth, so the band of hair and ears next
        to the face moves as the outline does and only the rest bends."""
        ring = self.config.head_ring
        if ring == 0:
            return np.zeros((0, 3))
        oval = self.landmarks3d[list(FACE_OVAL)]
        centre = oval[:, :2].mean(0)
        out = oval.copy()
        out[:, :2] = centre + (oval[:, :2] - centre) * ring
        return out

    def render(self, turn: Turn | np.ndarray, texture: np.ndarray | None = None) -> np.ndarray:
        """The portrait turned (and moved, and with the expression) as ``turn`` says.

        Args:
            turn: a :class:`Turn`, or a 3 x 3 rotation alone (no shift, no expression).
            texture: H x W x 3 uint8 drawn instead of the portrait (an edited copy of it whose
                landmarks are the portrait's, e.g. with eyes painted shut); None: the portrait,
                with ``turn.expression`` painted by mode 1.

        Returns:
            H x W x 3 uint8 RGB, the portrait's size.
        """
        if not isinstance(turn, Turn):
            turn = Turn(np.asarray(turn, np.float64))
        expr = self.landmarks if turn.expression is None else np.asarray(turn.expression, np.float64)
        if texture is None:
            texture = self.source if turn.expression is None else self.face.render(expr)
        points = np.column_stack([expr, self.landmarks3d[:, 2]])
        move = RigidMotion(turn.scale, np.asarray(turn.rotation, np.float64), points[list(RIGID)].mean(0),
                           np.array([turn.shift[0], turn.shift[1], 0.0]))
        verts = move.apply(points)
        oval = list(FACE_OVAL)
        # around the face: a 2-D bend through the outline and the ring that turns with the head
        ctrl_t = np.concatenate([verts[oval, :2], move.apply(self._head)[:, :2], self._anchors])
        ctrl_s = np.concatenate([expr[oval], self._head[:, :2], self._anchors])
        step = self.face.grid_step
        map_x, map_y = backward_map(ctrl_t, ctrl_s, self.size, 4 * step, self.config.face.regularization,
                                    window=self._window)
        out = remap(texture, map_x, map_y)
        # the face: the mesh, far to near
        box = mesh_box(verts[:NUM_MESH_POINTS], self.size, margin=2)
        ids = rasterise(verts, verts[:, 2], self.triangles, self.size, box)
        if not (ids >= 0).any():
            return out
        rows, cols = box.slices
        mx, my = texture_maps(ids, affine_maps(verts, expr, self.triangles), box)
        face = remap(texture, mx, my).astype(np.float32)
        if self.mirror_weight.max() > 0:
            weight = np.where(ids >= 0, self.mirror_weight[np.maximum(ids, 0)], 0.0).astype(np.float32)
            weight = cv2.GaussianBlur(weight, (0, 0), max(1.0, 0.04 * self.face_width))
            if weight.max() > 1e-3:
                tx, ty = texture_maps(ids, affine_maps(verts, expr[self.mirror], self.triangles), box)
                twin = remap(texture, tx, ty).astype(np.float32)
                # the twin's detail under this side's own light: its local mean scaled to the own pixels'
                sigma = max(2.0, 0.15 * self.face_width)
                gain = (cv2.GaussianBlur(face, (0, 0), sigma) + 1.0) / (cv2.GaussianBlur(twin, (0, 0), sigma) + 1.0)
                twin *= np.clip(gain, 0.85, 1.15)
                face += (twin - face) * weight[..., None]
        # stretched far beyond what the portrait shows (the near side of a turn): smoothed, so
        # the few pixels it comes from do not show as streaks
        stretch = np.maximum(signed_areas(verts, self.triangles) / 2, 0.0) / np.maximum(self._shown, 0.5)
        smooth = np.clip((stretch - 2.0) / 2.0, 0.0, 1.0)
        if smooth.max() > 0:
            weight = np.where(ids >= 0, smooth[np.maximum(ids, 0)], 0.0).astype(np.float32)
            sigma = max(1.0, 0.03 * self.face_width)
            weight = cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
            face += (cv2.GaussianBlur(face, (0, 0), sigma) - face) * weight
        alpha = _feathered(ids >= 0, self.config.feather * self.face_width)[..., None]
        part = out[rows, cols].astype(np.float32)
        out[rows, cols] = np.clip(part + (face - part) * alpha + 0.5, 0, 255).astype(np.uint8)
        return out


class TurnSession(DrivenSession):
    """One driving stream animating one portrait in face mode 2, a frame per :meth:`step`
    (the loop of :class:`~clothflow.animate.face.stream.DrivenSession`; this mode follows the
    driving's 3-D head motion, :func:`~clothflow.animate.face.motion3d.turn_motion`).

    Args:
        animator: the portrait, prepared once (only read, so it may be shared).
        driving_name: what drives it (e.g. "camera"), for error messages.

    Attributes:
        frames: driving frames seen so far.
        found: whether the last driving frame had a face.
        reference: the driving's first 3-D landmarks with a face (None until one is seen).
        turn: the last :class:`Turn` (the portrait as it is until a face is seen).
        closed: whether :meth:`close` was called.

    Example (driven by a clip made from the portrait itself):
        >>> from skimage.data import astronaut
        >>> from clothflow.animate.face.driving import synthetic_face_clip
        >>> portrait = astronaut()[:256, 96:352]
        >>> animator = TurnAnimator(portrait)
        >>> clip = synthetic_face_clip(portrait, animator.landmarks)
        >>> with TurnSession(animator) as session:
        ...     out = [session.step(frame) for frame in clip.frames[:2]]
        >>> out[0].shape, session.frames, session.found, session.closed
        ((256, 256, 3), 2, True, True)
    """

    def __init__(self, animator: TurnAnimator, driving_name: str | Path | None = None) -> None:
        cfg = animator.config.face
        super().__init__(animator, cfg.fps, cfg.smoothing, cfg.min_confidence, driving_name)
        self.turn = Turn(np.eye(3))

    def _landmarks(self, frame: np.ndarray) -> np.ndarray | None:
        return self._find.landmarks3d(frame)

    def _follow(self, found: np.ndarray) -> None:
        cfg = self.animator.config
        self.turn = turn_motion(self.animator.landmarks, self.reference, found, cfg.face.motion, cfg.turn_gain,
                                (cfg.max_yaw, cfg.max_pitch, cfg.max_roll))

    def _still(self) -> None:
        self.turn = Turn(np.eye(3))

    def _render(self) -> np.ndarray:
        return self.animator.render(self.turn)


def animate_turn(
    source: np.ndarray,
    driving: Iterable[np.ndarray],
    *,
    config: TurnConfig | None = None,
    source_name: str | Path | None = None,
    driving_name: str | Path | None = None,
) -> Iterator[np.ndarray]:
    """Animate ``source`` in face mode 2, one output frame per driving frame (as
    :func:`~clothflow.animate.face.animator.animate_face`: the source is checked now, the
    driving read lazily, a frame without a face repeats the last motion).

    Raises:
        ClothflowError: the source has no face (at call time); no driving frame has a face
            (after the last frame).
    """
    animator = TurnAnimator(source, config=config, source_name=source_name)
    return drive(lambda: TurnSession(animator, driving_name), driving)

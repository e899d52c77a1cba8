"""Face mode 2 (head turns) on a real portrait: scikit-image's astronaut, cropped to 384 x 384.

The turning driver is :func:`~clothflow.animate.face.driving.turning_face_clip`, which mode 2
itself renders; so before it is used, the face mesh checks it independently: each frame's
head reads at its true angle, and the face mesh finds the turned face's landmarks where a
plain 3-D rotation of the portrait's landmarks puts them. Every driving frame is held three
frames (the smoothing settles, as on a live camera) and the last output is judged. Poses are
read with the face mesh on driver and output alike, relative to each one's first frame.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.data import astronaut

from clothflow.animate.face.headpose import (
    IDENTITY,
    PAIRS,
    RIGID,
    RigidMotion,
    appearance_error,
    euler_angles,
    face_rotation,
    fit_rigid,
    head_pose,
    identity_error,
    relative_angles,
    rotation_matrix,
)
from clothflow.core.errors import ClothflowError

MEDIAPIPE_REASON = "face mode 2 needs the [pose] extra (mediapipe)"
HOLD = 3


def _needs_mediapipe() -> None:
    pytest.importorskip("mediapipe", reason=MEDIAPIPE_REASON)


# ---- geometry, without the landmark model --------------------------------------------------


def test_angles_round_trip_and_a_rigid_fit_finds_a_turn():
    for angles in ((30, 0, 0), (-35, 12, -4), (5, -20, 30)):
        assert np.allclose(euler_angles(rotation_matrix(*angles)), angles)
    rng = np.random.default_rng(0)
    face = rng.normal(0, 40, (478, 3))
    turned = RigidMotion(1.3, rotation_matrix(25, -10, 3), face[list(RIGID)].mean(0), np.array([4.0, -2.0, 0.0])).apply(face)
    fit = fit_rigid(face, turned)
    assert np.allclose(euler_angles(fit.rotation), (25, -10, 3)) and fit.scale == pytest.approx(1.3)
    assert np.allclose(fit.undo(turned), face)
    level = face @ face_rotation(face)  # turned to look at the camera
    assert np.allclose(head_pose(level), (0, 0, 0), atol=1e-6)
    assert np.allclose(head_pose(level @ rotation_matrix(-20, 15, 0).T), (-20, 15, 0), atol=1e-6)
    from clothflow.animate.face.motion3d import limit_turn

    assert np.allclose(euler_angles(limit_turn(rotation_matrix(20, -10, 5), 1.5)), (30, -15, 5))
    assert np.allclose(euler_angles(limit_turn(rotation_matrix(50, -30, 5), 1.0, (40, 25, 45))), (40, -25, 5))


def test_identity_error_is_zero_for_the_same_face_turned_and_not_for_another():
    rng = np.random.default_rng(1)
    face = rng.normal(0, 40, (478, 3))
    turned = face @ rotation_matrix(30, 10).T * 0.7
    assert identity_error(face, turned) < 1e-9
    assert identity_error(face, face, rotation=rotation_matrix(30, 10)) > 0.02  # not turned where it should be
    other = face + rng.normal(0, 6, face.shape)
    assert identity_error(face, other) > 0.05


# ---- the mesh ------------------------------------------------------------------------------


def test_the_mesh_is_one_oriented_surface_open_only_at_the_face_outline():
    _needs_mediapipe()
    from clothflow.animate.face.landmarks import FACE_OVAL
    from clothflow.animate.face.mesh import face_triangles

    tris = face_triangles()
    assert tris.shape == (898, 3)  # MediaPipe's canonical face model has 898 triangles
    runs: dict[tuple[int, int], int] = {}
    for a, b, c in tris:
        for u, v in ((a, b), (b, c), (c, a)):
            runs[u, v] = runs.get((u, v), 0) + 1
    assert max(runs.values()) == 1  # no edge run twice the same way: one consistent orientation
    border = {tuple(sorted(e)) for e in runs if (e[1], e[0]) not in runs}
    oval = {tuple(sorted((FACE_OVAL[k], FACE_OVAL[(k + 1) % len(FACE_OVAL)]))) for k in range(len(FACE_OVAL))}
    assert border == oval  # eyes and mouth closed over, the outline the only edge


@pytest.fixture(scope="module")
def portrait():
    return np.ascontiguousarray(astronaut()[:384, 32:416])


@pytest.fixture(scope="module")
def animator(portrait):
    _needs_mediapipe()
    from clothflow.animate.face.turn import TurnAnimator

    return TurnAnimator(portrait)


def test_mirror_twins_pair_the_named_symmetric_points(animator):
    twin = animator.mirror
    assert np.array_equal(twin[twin], np.arange(len(twin)))
    assert all(twin[r] == l for r, l in PAIRS)
    assert twin[4] == 4 and twin[152] == 152  # nose tip, chin: on the midline
    assert animator.mirror_weight.max() < 0.05  # a frontal portrait keeps its own pixels


# ---- the driving clip, checked independently ------------------------------------------------


@pytest.fixture(scope="module")
def clip(animator):
    from clothflow.animate.face.driving import turning_face_clip

    return turning_face_clip(animator.source, animator=animator, size=256)


def test_the_face_mesh_reads_the_clip_at_its_true_angles(clip):
    from clothflow.animate.face.landmarks import FaceLandmarker

    with FaceLandmarker() as find:
        found = [find.landmarks3d(f) for f in clip.frames]
    assert all(lm is not None for lm in found)
    read, true = relative_angles(found), np.array(clip.angles)
    assert np.abs(read - true).max() < 10.0
    turned = np.abs(true) >= 15
    assert np.all(np.sign(read[turned]) == np.sign(true[turned]))


def test_the_face_is_drawn_where_a_rigid_turn_of_its_landmarks_puts_it(animator):
    from clothflow.animate.face.landmarks import FaceLandmarker

    lm = animator.landmarks3d
    ids = list(IDENTITY)
    with FaceLandmarker() as find:
        for yaw, pitch in ((30, 0), (-30, 0), (0, 20), (0, -20)):
            turn = rotation_matrix(yaw, pitch)
            expected = RigidMotion(1.0, turn, lm[list(RIGID)].mean(0), np.zeros(3)).apply(lm)[ids, :2]
            seen = find(animator.render(turn))[ids]
            still = np.linalg.norm(lm[ids, :2] - expected, axis=1).mean()
            assert np.linalg.norm(seen - expected, axis=1).mean() < min(3.0, 0.5 * still), (yaw, pitch)


# ---- driving mode 1 and mode 2 ----------------------------------------------------------------


@pytest.fixture(scope="module")
def run(animator, clip, portrait):
    from clothflow.animate.face.animator import FaceSession
    from clothflow.animate.face.landmarks import FaceLandmarker
    from clothflow.animate.face.turn import TurnSession

    outputs = {}
    for name, session in (("mode 1", FaceSession(animator.face)), ("mode 2", TurnSession(animator))):
        with session:
            outputs[name] = [[session.step(f) for _ in range(HOLD)][-1] for f in clip.frames]
    with FaceLandmarker() as find:
        read = {k: [find.landmarks3d(f) for f in frames] for k, frames in
                (("driver", clip.frames), ("mode 1", outputs["mode 1"]), ("mode 2", outputs["mode 2"]))}
        source = find.landmarks3d(portrait).astype(np.float64)
    assert all(lm is not None for seq in read.values() for lm in seq), "the face mesh lost a face"
    read = {k: [lm.astype(np.float64) for lm in v] for k, v in read.items()}
    angles = {k: relative_angles(v) for k, v in read.items()}
    return {"outputs": outputs, "read": read, "angles": angles, "source": source}


def _frames(clip, event: str, yaw: float | None = None, pitch: float | None = None) -> list[int]:
    return [i for i, (e, (y, p)) in enumerate(zip(clip.events, clip.angles))
            if e == event and (yaw is None or abs(y) == yaw) and (pitch is None or abs(p) == pitch)]


def test_output_yaw_follows_the_driver(run, clip):
    drv, out = run["angles"]["driver"], run["angles"]["mode 2"]
    for i in _frames(clip, "turn"):
        assert abs(out[i, 0] - drv[i, 0]) < 10.0, f"frame {i}: driver {drv[i]}, output {out[i]}"
    for i in _frames(clip, "turn", yaw=30):
        assert abs(out[i, 0]) > 18.0 and np.sign(out[i, 0]) == np.sign(clip.angles[i][0])


def test_output_pitch_follows_the_driver(run, clip):
    drv, out = run["angles"]["driver"], run["angles"]["mode 2"]
    for i in _frames(clip, "tilt"):
        assert abs(out[i, 1] - drv[i, 1]) < 10.0, f"frame {i}: driver {drv[i]}, output {out[i]}"
    for i in _frames(clip, "tilt", pitch=20):
        assert abs(out[i, 1]) > 12.0 and np.sign(out[i, 1]) == np.sign(clip.angles[i][1])


def test_turned_faces_keep_the_portrait_better_than_mode_1(run, clip, portrait):
    """At 30-35 degrees mode 1 folds the far cheek: turned back onto the portrait's view its
    face differs from the portrait far more than mode 2's; the landmark geometry of mode 2's face is
    the portrait's turned to the driver's pose, unlike the portrait left as it is."""
    source, read, outputs = run["source"], run["read"], run["outputs"]
    turned = _frames(clip, "turn", yaw=30) + _frames(clip, "turn", yaw=35)
    error = {k: np.mean([appearance_error(portrait, source, outputs[k][i], read[k][i]) for i in turned])
             for k in ("mode 1", "mode 2")}
    assert error["mode 2"] < 0.85 * error["mode 1"], error
    for i in turned:
        pose = fit_rigid(read["driver"][0], read["driver"][i]).rotation
        assert identity_error(source, read["mode 2"][i], rotation=pose) < 0.6 * identity_error(source, source, rotation=pose)


def test_frames_have_the_portrait_size_and_the_background_stays(run, portrait, animator):
    from clothflow.animate.face.landmarks import FACE_OVAL
    from clothflow.animate.face.warp import ellipse_window, face_ellipse

    outputs = run["outputs"]["mode 2"]
    assert all(o.shape == portrait.shape and o.dtype == np.uint8 for o in outputs)
    assert np.abs(outputs[0].astype(np.int16) - portrait).mean() < 1.5  # the first frame is the portrait
    ring = animator.config.face.anchor_ring
    still = ellipse_window(portrait.shape[:2], *face_ellipse(animator.landmarks, FACE_OVAL, ring)) == 0
    assert still.mean() > 0.2
    for o in outputs:
        assert np.array_equal(o[still], portrait[still])


def test_eyes_shut_and_mouth_open_on_a_turned_head(run, clip):
    from clothflow.animate.face.landmarks import eye_aspect_ratio, mouth_open_ratio

    read = run["read"]["mode 2"]
    ear, mouth = eye_aspect_ratio(read[0][:, :2]).mean(), mouth_open_ratio(read[0][:, :2])
    for i in _frames(clip, "eyes_closed"):
        assert eye_aspect_ratio(read[i][:, :2]).max() < 0.5 * ear
    for i in _frames(clip, "mouth_open"):
        assert mouth_open_ratio(read[i][:, :2]) > 1.5 * mouth
    for i in _frames(clip, "turn"):
        assert eye_aspect_ratio(read[i][:, :2]).mean() > 0.7 * ear, f"frame {i}: eyes open while turning"


def test_expressions_without_turns_are_carried_as_mode_1_carries_them(animator, portrait):
    from clothflow.animate.face.driving import synthetic_face_clip
    from clothflow.animate.face.landmarks import FaceLandmarker, eye_aspect_ratio, mouth_open_ratio
    from clothflow.animate.face.turn import TurnSession

    made = synthetic_face_clip(portrait, animator.landmarks, size=256)
    with TurnSession(animator) as session:
        outputs = [[session.step(f) for _ in range(HOLD)][-1] for f in made.frames]
    with FaceLandmarker() as find:
        read = [find(o) for o in outputs]
    ear, mouth = eye_aspect_ratio(read[0]).mean(), mouth_open_ratio(read[0])
    for i, event in enumerate(made.events):
        if event == "eyes_closed":
            assert eye_aspect_ratio(read[i]).max() < 0.5 * ear, f"frame {i}"
        if event == "neutral":
            assert abs(eye_aspect_ratio(read[i]).mean() - ear) < 0.2 * ear, f"frame {i}"
    widest = max((i for i, e in enumerate(made.events) if e == "mouth_open"), key=lambda i: mouth_open_ratio(read[i]))
    assert mouth_open_ratio(read[widest]) > 1.5 * mouth


def test_a_session_repeats_the_last_turn_without_a_face_and_restarts(animator, clip):
    from clothflow.animate.face.turn import TurnSession

    turned = _frames(clip, "turn", yaw=30)[0]
    blank = np.full_like(clip.frames[0], 128)
    with TurnSession(animator, "camera") as session:
        session.step(clip.frames[0])
        out = [session.step(clip.frames[turned]) for _ in range(HOLD)][-1]
        assert session.found
        again = session.step(blank)
        assert not session.found
        np.testing.assert_array_equal(again, out)
        session.restart()
        assert session.reference is None
        session.step(clip.frames[turned])  # the turned face is the new reference: no turn
        assert np.allclose(session.turn.rotation, np.eye(3), atol=1e-6)
    assert session.closed
    with pytest.raises(ClothflowError, match="closed"):
        session.step(clip.frames[0])


def test_bad_options_and_faceless_inputs_are_clear_errors(portrait):
    _needs_mediapipe()
    from clothflow.animate.face.turn import TurnConfig, animate_turn

    with pytest.raises(ClothflowError, match="max_yaw"):
        TurnConfig(max_yaw=120)
    with pytest.raises(ClothflowError, match="head_ring"):
        TurnConfig(head_ring=3.0)
    blank = np.full((160, 160, 3), 90, np.uint8)
    with pytest.raises(ClothflowError, match=r"blank\.png: no face found in the source"):
        animate_turn(blank, [blank], source_name="blank.png")
    frames = animate_turn(portrait, [blank, blank], driving_name="empty.mp4")
    with pytest.raises(ClothflowError, match=r"empty\.mp4: no face found in any of the 2 driving frames"):
        list(frames)


def test_cli_face_mode_turn_round_trip_through_mp4(clip, portrait, tmp_path):
    import cv2

    from clothflow.animate.face.landmarks import FaceLandmarker
    from clothflow.apps.cli import main
    from clothflow.data.formats.video import read_video, write_video

    source = tmp_path / "portrait.png"
    cv2.imwrite(str(source), cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR))
    turned = _frames(clip, "turn", yaw=30)[0]
    driving = tmp_path / "driving.mp4"
    write_video(driving, [clip.frames[0]] * HOLD + [clip.frames[turned]] * HOLD, fps=12)
    out = tmp_path / "out.mp4"
    assert main(["animate", "--face-mode", "turn", "--source", str(source), "--driving", str(driving),
                 "--out", str(out)]) == 0
    made = read_video(out)
    assert len(made.frames) == 2 * HOLD and made.frames[0].shape == portrait.shape
    with FaceLandmarker() as find:
        first, last = find.landmarks3d(made.frames[0]), find.landmarks3d(made.frames[-1])
        drv = find.landmarks3d(clip.frames[0]), find.landmarks3d(clip.frames[turned])
    want = euler_angles(fit_rigid(*drv).rotation)[0]
    assert abs(euler_angles(fit_rigid(first, last).rotation)[0] - want) < 10 and want > 18

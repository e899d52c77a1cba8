"""Face animation on a real portrait (scikit-image's astronaut photo, shipped in its wheel).

The driving clip is made from the same photo by editing it directly (rigid nods, eyes painted
shut, a mouth pushed open; :mod:`clothflow.animate.face.driving`), framed at another position
and scale; the driving frames are checked with the landmark model before the output is judged
with it.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.data import astronaut

from clothflow.animate.face.animator import FaceAnimateConfig, animate_face
from clothflow.animate.face.driving import synthetic_face_clip
from clothflow.animate.face.landmarks import EYES, STABLE, FaceLandmarker, eye_aspect_ratio, mouth_open_ratio
from clothflow.animate.face.motion import MotionConfig, fit_similarity, transfer_motion
from clothflow.animate.face.warp import backward_map, ellipse_window, eval_tps, fit_tps
from clothflow.core.errors import ClothflowError

NOSE_TIP = 4
MEDIAPIPE_REASON = "face animation needs the [pose] extra (mediapipe)"


def _needs_mediapipe() -> None:
    pytest.importorskip("mediapipe", reason=MEDIAPIPE_REASON)


# ---- the geometry, without the landmark model ----------------------------------------------


def test_spline_interpolates_its_points_and_is_the_identity_when_nothing_moves():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 99, (30, 2))
    vals = pts + rng.normal(0, 3, pts.shape)
    tps = fit_tps(pts, vals, 100.0, regularization=0.0)
    np.testing.assert_allclose(eval_tps(tps, pts), vals, atol=1e-6)
    map_x, map_y = backward_map(pts, pts, (60, 100), step=7)
    gx, gy = np.meshgrid(np.arange(100), np.arange(60))
    assert np.abs(map_x - gx).max() < 1e-3 and np.abs(map_y - gy).max() < 1e-3


def test_window_keeps_the_face_and_stills_the_rest():
    win = ellipse_window((100, 100), np.array([50.0, 50.0]), np.array([20.0, 10.0]))
    assert win[50, 50] == 1.0 and win[50, 69] == 1.0  # inside the ellipse
    assert win[50, 79] == 0.0 and win[5, 5] == 0.0  # beyond 1.4 times its radii


def test_motion_is_carried_over_at_the_source_scale_whatever_the_driver_framing():
    rng = np.random.default_rng(1)
    source = rng.uniform(100, 300, (478, 2))
    ref = source @ np.array([[0.0, -0.5], [0.5, 0.0]]).T + (40, 7)  # rotated 90 degrees, half size
    assert np.allclose(fit_similarity(ref[list(STABLE)], source[list(STABLE)])[:, :2], [[0, 2], [-2, 0]])
    moved = ref + (0, 4)  # the driver's whole head 4 px down in their frame
    out = transfer_motion(source, ref, moved, MotionConfig(eye_ratio=False))
    np.testing.assert_allclose(out, source + (8, 0), atol=1e-9)  # 8 px along the source's own axis
    still = transfer_motion(source, ref, moved, MotionConfig(eye_ratio=False, head_motion=False))
    np.testing.assert_allclose(still, source, atol=1e-9)


def test_a_shut_driving_eye_shuts_the_source_eye_whatever_its_size():
    rng = np.random.default_rng(2)
    source = rng.uniform(100, 300, (478, 2))
    ref = source * 0.7
    shut = ref.copy()
    for (_, _), pairs in EYES:
        for upper, lower in pairs:
            shut[upper] = shut[lower] + (shut[upper] - shut[lower]) * 0.2  # a fifth of the gap left
    out = transfer_motion(source, ref, shut)
    for (_, _), pairs in EYES:
        for upper, lower in pairs:
            np.testing.assert_allclose(out[upper], out[lower], atol=1e-9)


# ---- a real portrait -----------------------------------------------------------------------


def _measure(finder: FaceLandmarker, frames: list[np.ndarray]) -> list[np.ndarray | None]:
    return [finder(f) for f in frames]


@pytest.fixture(scope="module")
def run():
    _needs_mediapipe()
    portrait = astronaut()
    with FaceLandmarker() as find:
        source_lm = find(portrait)
        assert source_lm is not None, "the landmark model finds no face in the astronaut photo"
        clip = synthetic_face_clip(portrait, source_lm, size=320)
        outputs = list(animate_face(portrait, clip.frames))
        return {
            "portrait": portrait,
            "source_lm": source_lm,
            "clip": clip,
            "driving_lm": _measure(find, clip.frames),
            "outputs": outputs,
            "output_lm": _measure(find, outputs),
        }


def _frames_of(run, event: str) -> list[int]:
    return [i for i, e in enumerate(run["clip"].events) if e == event]


def test_driving_clip_shows_closed_eyes_and_open_mouth(run):
    lms = run["driving_lm"]
    assert all(lm is not None for lm in lms), "the landmark model must find the face in every driving frame"
    open_ear = eye_aspect_ratio(lms[0]).mean()
    for i in _frames_of(run, "eyes_closed"):
        assert eye_aspect_ratio(lms[i]).max() < 0.5 * open_ear
    widest = max(_frames_of(run, "mouth_open"), key=lambda i: mouth_open_ratio(lms[i]))
    assert mouth_open_ratio(lms[widest]) > mouth_open_ratio(lms[0]) + 0.15


def test_output_has_a_face_in_every_frame_at_the_source_size(run):
    assert len(run["outputs"]) == len(run["clip"].frames)
    assert all(o.shape == run["portrait"].shape and o.dtype == np.uint8 for o in run["outputs"])
    assert all(lm is not None for lm in run["output_lm"])


def test_first_frame_is_the_source(run):
    diff = np.abs(run["outputs"][0].astype(np.int16) - run["portrait"].astype(np.int16))
    assert diff.mean() < 1.0


def test_closed_driving_eyes_close_the_output_eyes(run):
    source_ear = eye_aspect_ratio(run["source_lm"]).mean()
    out = run["output_lm"]
    for i in _frames_of(run, "eyes_closed"):
        assert eye_aspect_ratio(out[i]).max() < 0.5 * source_ear, f"frame {i}"
    for i in _frames_of(run, "neutral") + _frames_of(run, "nod"):
        assert abs(eye_aspect_ratio(out[i]).mean() - source_ear) < 0.2 * source_ear, f"frame {i}"


def test_open_driving_mouth_opens_the_output_mouth(run):
    source_ratio = mouth_open_ratio(run["source_lm"])
    drv, out = run["driving_lm"], run["output_lm"]
    widest = max(_frames_of(run, "mouth_open"), key=lambda i: mouth_open_ratio(drv[i]))
    assert mouth_open_ratio(out[widest]) > 1.5 * source_ratio
    for i in _frames_of(run, "neutral"):
        assert mouth_open_ratio(out[i]) < source_ratio + 0.05, f"frame {i}"


def test_head_motion_is_carried_over_at_the_source_scale(run):
    drv, out = run["driving_lm"], run["output_lm"]
    # the driver's face is smaller in its frame than the source's: motion scales with the faces
    scale = (np.ptp(run["source_lm"][:, 0])) / np.ptp(drv[0][:, 0])
    for i in _frames_of(run, "nod"):
        expected = (drv[i][NOSE_TIP] - drv[0][NOSE_TIP]) * scale
        moved = out[i][NOSE_TIP] - out[0][NOSE_TIP]
        assert np.linalg.norm(expected) > 3.0  # the nod is a real motion
        assert np.linalg.norm(moved - expected) < 0.3 * np.linalg.norm(expected) + 1.0, f"frame {i}"


def test_background_away_from_the_face_stays_still(run):
    portrait, outputs = run["portrait"].astype(np.int16), run["outputs"]
    for i in _frames_of(run, "nod"):
        out = outputs[i].astype(np.int16)
        # left of the flag and the lower right: far outside the anchor ring around the face
        for rows, cols in ((slice(300, 512), slice(0, 80)), (slice(350, 512), slice(420, 512))):
            assert np.abs(out[rows, cols] - portrait[rows, cols]).mean() < 2.0


def test_a_driving_frame_without_a_face_repeats_the_last_motion(run):
    frames = run["clip"].frames
    closed = _frames_of(run, "eyes_closed")[0]
    blank = np.full_like(frames[0], 128)
    outputs = list(animate_face(run["portrait"], [frames[0], frames[closed], blank, frames[0]]))
    assert len(outputs) == 4
    np.testing.assert_array_equal(outputs[2], outputs[1])
    assert np.abs(outputs[1].astype(np.int16) - outputs[0]).mean() > 0.1  # the closed eyes differ


def test_a_source_without_a_face_names_the_file():
    _needs_mediapipe()
    blank = np.full((160, 160, 3), 90, np.uint8)
    with pytest.raises(ClothflowError, match=r"blank\.png: no face found in the source"):
        animate_face(blank, [blank], source_name="blank.png")


def test_no_face_in_any_driving_frame_names_the_video(run):
    blank = np.full((96, 96, 3), 30, np.uint8)
    frames = animate_face(run["portrait"], [blank, blank], driving_name="empty.mp4")
    with pytest.raises(ClothflowError, match=r"empty\.mp4: no face found in any of the 2 driving frames"):
        list(frames)


def test_bad_driving_frame_and_config_are_clear_errors(run):
    with pytest.raises(ClothflowError, match="driving frame 0 must be 8-bit"):
        list(animate_face(run["portrait"], [np.zeros((64, 64, 3), np.float32)], driving_name="clip.mp4"))
    with pytest.raises(ClothflowError, match="lid_floor"):
        FaceAnimateConfig(lid_floor=1.5)


def test_cli_round_trip_through_mp4(run, tmp_path):
    import cv2

    from clothflow.apps.cli import main
    from clothflow.data.formats.video import read_video, write_video

    source = tmp_path / "portrait.png"
    cv2.imwrite(str(source), cv2.cvtColor(run["portrait"], cv2.COLOR_RGB2BGR))
    driving = tmp_path / "driving.mp4"
    frames = run["clip"].frames
    write_video(driving, frames, fps=12)
    out = tmp_path / "out.mp4"
    assert main(["animate", "--face", "--source", str(source), "--driving", str(driving), "--out", str(out)]) == 0
    clip = read_video(out)
    assert len(clip.frames) == len(frames)
    assert clip.frames[0].shape == run["portrait"].shape
    assert clip.fps == pytest.approx(12.0)
    closed = _frames_of(run, "eyes_closed")[0]
    with FaceLandmarker() as find:
        first, shut = find(clip.frames[0]), find(clip.frames[closed])
    assert first is not None and shut is not None
    assert eye_aspect_ratio(shut).max() < 0.5 * eye_aspect_ratio(first).mean()


def test_cli_without_a_face_in_the_source_exits_2(tmp_path, capsys):
    _needs_mediapipe()
    import cv2

    from clothflow.apps.cli import main

    source = tmp_path / "wall.png"
    cv2.imwrite(str(source), np.full((120, 120, 3), 200, np.uint8))
    driving = tmp_path / "d.mp4"
    from clothflow.data.formats.video import write_video

    write_video(driving, [np.full((64, 64, 3), 10, np.uint8)] * 2, fps=5)
    assert main(["animate", "--face", "--source", str(source), "--driving", str(driving), "--out", str(tmp_path / "o.mp4")]) == 2
    assert "wall.png: no face found in the source" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()

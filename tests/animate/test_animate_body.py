"""Body animation: retargeting, smoothing, synthetic motion, the animator and ``clothflow animate``."""

import json

import numpy as np
import pytest
import torch

from clothflow.animate.body import AnimateConfig, BodyAnimator, encode_source
from clothflow.animate.driving import open_driving, write_poses_json
from clothflow.animate.retarget import (
    OneEuroConfig,
    OneEuroFilter,
    RetargetConfig,
    Retargeter,
    smooth_sequence,
)
from clothflow.apps.cli import main
from clothflow.core.ops.pose import LIMBS
from clothflow.data.synth.motion import DEFAULT_PERIOD, motion_identity, motion_poses, motion_sequence
from clothflow.data.synth.poses import TEMPLATE
from clothflow.core.errors import ClothflowError
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.data.formats.video import read_video

SIZE = (64, 44)


def _bone_lengths(kps):
    return np.array([np.linalg.norm(kps[b] - kps[a]) for a, b in LIMBS])


def _rotate_about(kps, centre, idx, deg):
    r = np.deg2rad(deg)
    rot = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
    out = kps.copy()
    out[idx] = (kps[idx] - kps[centre]) @ rot.T + kps[centre]
    return out


def test_retarget_keeps_source_bone_lengths_and_maps_motion():
    source = (TEMPLATE * 20 + [22, 12]).astype(np.float32)  # torso 20 px
    long_arms = TEMPLATE.copy()
    long_arms[[3, 4, 6, 7]] = long_arms[[2, 2, 5, 5]] + 1.4 * (TEMPLATE[[3, 4, 6, 7]] - TEMPLATE[[2, 2, 5, 5]])
    reference = (long_arms * 50 + [100, 40]).astype(np.float32)  # torso 50 px, other proportions
    moved = _rotate_about(reference, 2, [3, 4], 40.0) + [10.0, -5.0]  # right arm raised 40 deg, body moved
    out = Retargeter(source, reference)(moved)
    # the source's bones, not the driver's
    np.testing.assert_allclose(_bone_lengths(out), _bone_lengths(source), atol=1e-3)
    assert not np.allclose(_bone_lengths(moved), _bone_lengths(out) * 2.5, atol=1.0)
    # the driver's motion: the neck moves 20/50 of (10, -5), the upper arm turns by 40 degrees
    np.testing.assert_allclose(out[1] - source[1], [4.0, -2.0], atol=1e-3)
    before, after = source[3] - source[2], out[3] - out[2]
    turn = np.degrees(np.arctan2(after[1], after[0]) - np.arctan2(before[1], before[0]))
    assert turn == pytest.approx(40.0, abs=0.01)


def test_retarget_one_person_walk_onto_another_matches_their_own_walk():
    a, b = motion_identity(0), motion_identity(1)
    walk_a = np.stack([p.keypoints for p in motion_poses("walk", 24, (256, 176), a)])
    walk_b = np.stack([p.keypoints for p in motion_poses("walk", 24, (128, 88), b)])  # another size too
    moved = np.linalg.norm(walk_a - walk_a[0], axis=-1).mean()
    errors = {}
    for fore in (True, False):
        rt = Retargeter(walk_a[0], walk_b[0], RetargetConfig(foreshortening=fore))
        errors[fore] = np.linalg.norm(np.stack([rt(k) for k in walk_b]) - walk_a, axis=-1).mean()
    assert moved > 3.0
    assert errors[True] < 0.25 * moved  # measured 0.93 px of 4.72 px
    assert errors[False] > 2 * errors[True]  # swinging legs look shorter; ignoring that costs


def test_one_euro_reduces_jitter_but_follows_a_step():
    rng = np.random.default_rng(0)
    truth = np.zeros((120, 18, 2)) + 30.0
    truth[60:, :, 0] += 20.0  # a step of 20 px at frame 60
    noisy = truth + rng.normal(0, 1.0, truth.shape)
    out = smooth_sequence(noisy, fps=25, scale=20.0)
    still_raw = np.abs(np.diff(noisy[10:60], axis=0)).mean()
    still_out = np.abs(np.diff(out[10:60], axis=0)).mean()
    assert still_out < 0.3 * still_raw
    assert np.abs(out[70:] - truth[70:]).mean() < 1.0  # caught up within 10 frames
    assert np.abs(out[45:60] - truth[45:60]).mean() < np.abs(noisy[45:60] - truth[45:60]).mean()


def test_one_euro_holds_missing_points_then_drops_and_restarts_them():
    filt = OneEuroFilter(fps=25, config=OneEuroConfig(hold_frames=2), scale=10.0)
    pts = np.full((18, 2), 5.0, np.float32)
    filt(pts)
    gone = pts.copy()
    gone[4] = -1
    assert filt(gone)[4].tolist() == [5.0, 5.0] and filt(gone)[4].tolist() == [5.0, 5.0]  # held two frames
    assert filt(gone)[4].tolist() == [-1.0, -1.0]  # then missing
    back = pts.copy()
    back[4] = (40.0, 41.0)
    assert filt(back)[4].tolist() == [40.0, 41.0]  # restarts at the new value, no drift from the old one


def test_synthetic_walk_is_deterministic_and_periodic():
    period = DEFAULT_PERIOD["walk"]
    a = motion_sequence("walk", period + 2, SIZE, seed=3)
    b = motion_sequence("walk", period + 2, SIZE, seed=3)
    for fa, fb in zip(a.frames, b.frames):
        np.testing.assert_array_equal(fa.image, fb.image)
    np.testing.assert_array_equal(a.frames[0].image, a.frames[period].image)
    np.testing.assert_array_equal(a.frames[1].keypoints, a.frames[period + 1].keypoints)
    swing = max(np.abs(f.keypoints - a.frames[0].keypoints).max() for f in a.frames[:period])
    assert swing > 2.0  # it does move within a cycle
    diffs = [np.abs(a.frames[t + 1].keypoints - a.frames[t].keypoints).max() for t in range(period)]
    assert max(diffs) < 2.5  # and smoothly (pixels per frame at 64 x 44)
    assert a.identity == a.rest.identity and a.identity != motion_sequence("walk", 1, SIZE, seed=4).identity


@pytest.fixture
def tiny_pipe(tiny_cfg):
    torch.manual_seed(0)
    return ClothFlowPipeline(tiny_cfg).eval()


def test_body_motion_follows_a_translation_and_flags_appearing_points():
    from clothflow.animate.body import body_motion

    cur = (TEMPLATE * 12 + [22, 14]).astype(np.float32)
    field, size = body_motion(cur + [1.5, -0.5], cur, SIZE, sigma=3.0)
    torch.testing.assert_close(field, torch.tensor([1.5, -0.5]).view(1, 2, 1, 1).expand(1, 2, *SIZE))
    assert float(size.min()) == pytest.approx(float(np.hypot(1.5, 0.5)), abs=1e-4)
    prev = cur.copy()
    prev[4] = -1  # the right wrist comes into view
    _, size = body_motion(prev, cur, SIZE, sigma=3.0)
    wx, wy = cur[4].round().astype(int)
    assert float(size[0, 0, wy, wx]) > 10.0 and float(size[0, 0, 2, 22]) < 1e-3


def test_cached_source_pyramid_gives_the_pipelines_flow(tiny_pipe):
    from clothflow.core.ops import labels

    seq = motion_sequence("walk", 3, SIZE, seed=2)
    src = encode_source(tiny_pipe, seq.rest.image, seq.rest.parse, seq.rest.keypoints)
    with torch.inference_mode():
        parse = torch.from_numpy(seq.rest.parse.astype(np.int64))[None]
        full = tiny_pipe.transfer(src.image, parse, torch.from_numpy(seq.frames[2].keypoints)[None])
        net = tiny_pipe.flow
        cached = net.full_flow(net.refine(src.features, net.encode_target(labels.one_hot(full.layout))), SIZE)
    torch.testing.assert_close(cached, full.flow.flow)
    assert float(full.flow.flow.abs().max()) > 0


def test_temporal_reuse_changes_the_frames_and_only_through_the_switch(tiny_pipe):
    seq = motion_sequence("wave", 5, SIZE, seed=0)
    src = encode_source(tiny_pipe, seq.rest.image, seq.rest.parse, seq.rest.keypoints)

    def run(cfg):
        return [f for f in BodyAnimator(tiny_pipe, src, 25, cfg).run(seq.keypoints())]

    on, off = run(AnimateConfig(temporal_reuse=True)), run(AnimateConfig(temporal_reuse=False))
    zero = run(AnimateConfig(temporal_reuse=True, reuse_strength=0.0))
    torch.testing.assert_close(on[0].image, off[0].image)  # nothing to reuse in the first frame
    assert max(float((a.image - b.image).abs().max()) for a, b in zip(on[1:], off[1:])) > 1e-3
    assert max(float(f.stillness.max()) for f in on[1:]) > 0.3  # the legs of a wave stand still
    for a, b in zip(zero, off):
        torch.testing.assert_close(a.image, b.image)


@pytest.fixture
def model_and_source(tmp_path, tiny_pipe):
    from PIL import Image

    from clothflow.data.formats.keypoints import openpose_dict

    tiny_pipe.save_pretrained(tmp_path / "model")
    rest = motion_sequence("walk", 1, (128, 88), seed=1).rest
    Image.fromarray(rest.image).save(tmp_path / "photo.png")
    Image.fromarray(rest.parse).save(tmp_path / "parse.png")
    (tmp_path / "pose.json").write_text(json.dumps(openpose_dict(rest.keypoints)))
    return tmp_path


def _animate(tmp, *extra):
    return main(["animate", "--model", str(tmp / "model"), "--source", str(tmp / "photo.png"), "--source-parse",
                 str(tmp / "parse.png"), "--source-pose", str(tmp / "pose.json"), "--out-height", "64", *extra])


def test_cli_writes_an_mp4_with_exactly_n_frames(model_and_source, capsys):
    out = model_and_source / "walk.mp4"
    assert _animate(model_and_source, "--driving", "synthetic:walk", "--frames", "7", "--out", str(out)) == 0
    clip = read_video(out)
    assert len(clip.frames) == 7 and clip.frames[0].shape == (64, 44, 3) and clip.fps == 25.0
    assert "wrote 7 frames" in capsys.readouterr().out


def test_poses_json_round_trip_drives_the_cli(model_and_source):
    poses = open_driving("synthetic:wave", frames=4)
    path = model_and_source / "poses.json"
    write_poses_json(path, np.stack(poses.poses), poses.frame_hw, fps=12)
    again = open_driving(path)
    np.testing.assert_allclose(np.stack(again.poses), np.stack(poses.poses), atol=0.01)
    out = model_and_source / "wave.mp4"
    assert _animate(model_and_source, "--driving", str(path), "--out", str(out)) == 0
    clip = read_video(out)
    assert len(clip.frames) == 4 and clip.fps == 12.0


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    return err


def test_bad_inputs_give_one_line_naming_the_file(model_and_source, capsys):
    tmp = model_and_source
    out = str(tmp / "x.mp4")
    missing = tmp / "nobody.jpg"
    assert main(["animate", "--model", str(tmp / "model"), "--source", str(missing), "--driving", "synthetic:walk",
                 "--out", out]) == 2
    assert str(missing) in _error_line(capsys)

    bad = tmp / "poses17.json"
    bad.write_text(json.dumps({"frame_size": [256, 176], "frames": [[[1.0, 2.0]] * 17]}))
    assert _animate(tmp, "--driving", str(bad), "--out", out) == 2
    line = _error_line(capsys)
    assert str(bad) in line and "17 points" in line

    text = tmp / "notes.mp4"
    text.write_text("this is not a video\n")
    assert _animate(tmp, "--driving", str(text), "--out", out) == 2
    line = _error_line(capsys)
    assert str(text) in line and "video" in line
    assert not (tmp / "x.mp4").exists()


def test_no_camera_and_face_with_synthetic_driving_say_so(model_and_source, capsys):
    tmp = model_and_source
    out = str(tmp / "x.mp4")
    assert _animate(tmp, "--camera", "99", "--out", out) == 2
    assert "no camera at index 99" in _error_line(capsys)
    assert main(["animate", "--face", "--source", str(tmp / "photo.png"), "--driving", "synthetic:walk", "--out", out]) == 2
    assert "synthetic driving is for bodies" in _error_line(capsys)
    assert _animate(tmp, "--driving", "synthetic:walk", "--camera", "0", "--out", out) == 2
    assert "either --driving" in _error_line(capsys)


def test_driving_errors_name_the_problem(tmp_path):
    with pytest.raises(ClothflowError, match="synthetic motion 'run'"):
        open_driving("synthetic:run", frames=2)
    with pytest.raises(ClothflowError, match="not found"):
        open_driving(tmp_path / "none.mp4")
    with pytest.raises(ClothflowError, match="no OpenPose"):
        open_driving(tmp_path)


def test_a_photo_without_hips_is_refused_for_a_walk(model_and_source, capsys):
    """A head-and-shoulders photo driven by a walk would come out as fragments: refused, saying why."""
    from clothflow.data.formats.keypoints import openpose_dict

    tmp = model_and_source
    rest = motion_sequence("walk", 1, (128, 88), seed=1).rest
    upper = rest.keypoints.copy()
    upper[[8, 9, 10, 11, 12, 13]] = -1
    (tmp / "pose.json").write_text(json.dumps(openpose_dict(upper)))
    out = tmp / "walk.mp4"
    assert _animate(tmp, "--driving", "synthetic:walk", "--frames", "3", "--out", str(out)) == 2
    line = _error_line(capsys)
    assert "shows no hips or legs" in line and "photo.png" in line and not out.exists()


def test_frames_are_written_in_the_photos_own_frame(model_and_source):
    """A square photo (the model is 64 x 44): the video is square, the sides the photo's own pixels."""
    from PIL import Image

    tmp = model_and_source
    photo = np.asarray(Image.open(tmp / "photo.png"))
    square = np.pad(photo, ((0, 0), (20, 20), (0, 0)), constant_values=250)
    Image.fromarray(square).save(tmp / "photo.png")
    parse = np.pad(np.asarray(Image.open(tmp / "parse.png")), ((0, 0), (20, 20)))
    Image.fromarray(parse).save(tmp / "parse.png")
    pose = json.loads((tmp / "pose.json").read_text())
    kps = np.asarray(pose["people"][0]["pose_keypoints"], np.float32).reshape(-1, 3)
    kps[kps[:, 2] > 0, 0] += 20
    pose["people"][0]["pose_keypoints"] = pose["people"][0]["pose_keypoints_2d"] = kps.ravel().tolist()
    (tmp / "pose.json").write_text(json.dumps(pose))
    out = tmp / "walk.mp4"
    assert _animate(tmp, "--driving", "synthetic:walk", "--frames", "2", "--out", str(out)) == 0
    frame = read_video(out).frames[0]
    assert frame.shape == (64, 64, 3)
    assert frame[:, :5].mean() > 235 and frame[:, -5:].mean() > 235  # the photo's padding, not the network's


def test_a_folder_of_real_frames_drives(shared_data):
    pytest.importorskip("mediapipe")
    driving = open_driving(shared_data / "driving_walk", frames=6)
    poses = np.stack(driving.poses)
    assert poses.shape == (6, 18, 2) and driving.frame_hw == (128, 64)
    assert (poses[:, [1, 8, 11]] >= 0).all()  # neck and hips found in every frame

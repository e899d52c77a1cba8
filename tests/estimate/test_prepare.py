"""`clothflow prepare`: landmark mapping (no mediapipe needed), the missing-extra error, and real
photos through MediaPipe (skipped without the [pose] extra or the shared DeepFashion photos)."""

from __future__ import annotations

import builtins
import json

import numpy as np
import pytest

from clothflow.core.ops.pose import KP
from clothflow.core.errors import ClothflowError
from clothflow.estimate.prepare import (
    facing_away,
    hide_face_in_back_view,
    import_mediapipe,
    landmarks_to_coco18,
    person_mask,
)

# MediaPipe Pose landmark ids used below.
NOSE, L_EYE, R_EYE, L_EAR, R_EAR = 0, 2, 5, 7, 8
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28


def _front_landmarks() -> np.ndarray:
    """33 x 3 landmarks of a person facing the camera: their left side is on the image's right."""
    lm = np.zeros((33, 3))
    lm[:, 2] = 0.99
    pts = {
        NOSE: (0.5, 0.1), L_EYE: (0.53, 0.08), R_EYE: (0.47, 0.08), L_EAR: (0.56, 0.09), R_EAR: (0.44, 0.09),
        L_SHOULDER: (0.7, 0.25), R_SHOULDER: (0.3, 0.25), L_ELBOW: (0.75, 0.4), R_ELBOW: (0.25, 0.4),
        L_WRIST: (0.78, 0.55), R_WRIST: (0.22, 0.55), L_HIP: (0.6, 0.55), R_HIP: (0.4, 0.55),
        L_KNEE: (0.6, 0.75), R_KNEE: (0.4, 0.75), L_ANKLE: (0.6, 0.95), R_ANKLE: (0.4, 0.95),
    }
    for i, (x, y) in pts.items():
        lm[i, :2] = (x, y)
    return lm


def test_mapping_sides_neck_and_pixels():
    kps, conf = landmarks_to_coco18(_front_landmarks(), (200, 100))
    assert kps.shape == (18, 2) and kps.dtype == np.float32
    # COCO-18 r_shoulder is the person's right shoulder = MediaPipe's "right" (12), image left here.
    np.testing.assert_allclose(kps[KP["r_shoulder"]], [30, 50], atol=1e-4)
    np.testing.assert_allclose(kps[KP["l_shoulder"]], [70, 50], atol=1e-4)
    np.testing.assert_allclose(kps[KP["r_wrist"]], [22, 110], atol=1e-4)
    np.testing.assert_allclose(kps[KP["l_hip"]], [60, 110], atol=1e-4)
    np.testing.assert_allclose(kps[KP["r_eye"]], [47, 16], atol=1e-4)
    np.testing.assert_allclose(kps[KP["l_ear"]], [56, 18], atol=1e-4)
    np.testing.assert_allclose(kps[KP["neck"]], [50, 50], atol=1e-4)  # shoulder midpoint
    assert (conf > 0.9).all()


def test_low_visibility_and_out_of_frame_points_are_missing():
    lm = _front_landmarks()
    lm[L_ELBOW, 2] = 0.3  # low visibility
    lm[R_SHOULDER, 2] = 0.2  # the neck needs both shoulders
    lm[R_ANKLE, 1] = 1.2  # below the frame
    kps, conf = landmarks_to_coco18(lm, (200, 100), min_visibility=0.5)
    for name in ("l_elbow", "r_shoulder", "neck", "r_ankle"):
        assert kps[KP[name]].tolist() == [-1, -1], name
        assert conf[KP[name]] == 0
    assert (kps[KP["l_shoulder"]] >= 0).all()
    # For the layout, points below a cropped frame are kept.
    beyond, _ = landmarks_to_coco18(lm, (200, 100), in_frame=False)
    np.testing.assert_allclose(beyond[KP["r_ankle"]], [40, 240], atol=1e-4)


def test_mapping_rejects_wrong_shape():
    with pytest.raises(ValueError, match="33 x 3"):
        landmarks_to_coco18(np.zeros((18, 3)), (10, 10))


def test_back_view_hides_face_points():
    front, _ = landmarks_to_coco18(_front_landmarks(), (200, 100))
    assert not facing_away(front)
    back_lm = _front_landmarks()
    back_lm[:, 0] = 1.0 - back_lm[:, 0]  # seen from behind: the person's left is on the image's left
    back, _ = landmarks_to_coco18(back_lm, (200, 100))
    assert facing_away(back)
    hidden = hide_face_in_back_view(back)
    for name in ("nose", "r_eye", "l_eye"):
        assert hidden[KP[name]].tolist() == [-1, -1]
    assert (hidden[KP["l_ear"]] >= 0).all() and (hidden[KP["neck"]] >= 0).all()
    np.testing.assert_array_equal(hide_face_in_back_view(front), front)


def test_person_mask_keeps_the_pose_models_person():
    selfie = np.zeros((100, 100), np.float32)
    selfie[10:90, 10:30] = 0.9  # the person the pose belongs to
    selfie[10:90, 60:80] = 0.9  # somebody else
    pose = np.zeros_like(selfie)
    pose[12:88, 12:28] = 0.8
    mask = person_mask(selfie, pose, reach=0.03)
    assert mask[50, 20] and not mask[50, 70]
    assert mask[11, 11]  # the selfie outline is kept near the pose model's mask
    assert person_mask(selfie, None)[50, 70]


def test_missing_extra_says_what_to_install(monkeypatch, tmp_path, capsys):
    real_import = builtins.__import__

    def no_mediapipe(name, *args, **kwargs):
        if name == "mediapipe" or name.startswith("mediapipe."):
            raise ModuleNotFoundError("No module named 'mediapipe'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mediapipe)
    with pytest.raises(ClothflowError) as info:
        import_mediapipe()
    msg = str(info.value)
    assert "pip install 'clothflow[pose]'" in msg and "mediapipe==0.10.21" in msg

    from clothflow.apps.cli import main

    import cv2

    cv2.imwrite(str(tmp_path / "x.png"), np.full((32, 24, 3), 128, np.uint8))
    assert main(["prepare", "--image", str(tmp_path / "x.png"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "clothflow[pose]" in err  # one line, not a traceback


def test_transfer_without_parse_needs_the_extra(monkeypatch, tmp_path, capsys):
    """transfer --source-parse is optional; without mediapipe the error names the extra."""
    import cv2

    from clothflow.apps.infer import transfer_files

    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), np.full((32, 24, 3), 128, np.uint8))
    monkeypatch.setattr("clothflow.estimate.prepare.import_mediapipe", _raise_missing)
    with pytest.raises(ClothflowError, match=r"clothflow\[pose\]"):
        transfer_files(None, photo, None, tmp_path / "pose.json")  # fails before the model is used


def _raise_missing():
    raise ClothflowError("the pose estimator (mediapipe) is not installed; pip install 'clothflow[pose]'")


# ---- real photos through MediaPipe -------------------------------------------------------------
PHOTOS = (
    "fashionWOMENBlouses_Shirtsid0000635004_1front",
    "fashionWOMENSkirtsid0000177102_1front",
    "fashionWOMENDressesid0000262902_3back",
)
# Measured IoU of the person mask with the *_sil.png silhouettes: 0.968, 0.978, 0.981.
MIN_IOU = 0.93


@pytest.fixture(scope="module")
def estimator():
    pytest.importorskip("mediapipe", reason="needs the [pose] extra: pip install -e '.[pose]'")
    from clothflow.estimate.prepare import PoseEstimator

    with PoseEstimator() as est:
        yield est


@pytest.mark.parametrize("stem", PHOTOS)
def test_prepare_real_photo(shared_data, estimator, tmp_path, stem):
    from clothflow.data.formats.keypoints import read_openpose_json
    from clothflow.data.formats.label_maps import read_label_map, read_mask
    from clothflow.estimate.prepare import prepare_files

    folder = shared_data / "deepfashion_images_iuv"
    if not (folder / f"{stem}.png").is_file():
        pytest.skip(f"{stem}.png not in {folder}")
    files = prepare_files(folder / f"{stem}.png", tmp_path, estimator=estimator)
    kps = read_openpose_json(files.keypoints)
    mask = read_mask(files.mask)
    parse = read_label_map(files.parse)
    assert mask.shape == parse.shape == (512, 348) and files.preview.is_file()
    np.testing.assert_allclose(kps, files.prepared.keypoints, atol=0.01)

    def y(name):
        assert (kps[KP[name]] >= 0).all(), f"{name} missing"
        return kps[KP[name]][1]

    # Hand-made expectations for these upright, full-torso studio photos.
    for side in ("r", "l"):
        assert y("neck") + 10 < y(f"{side}_hip") and y(f"{side}_shoulder") + 60 < y(f"{side}_hip")
        assert y(f"{side}_shoulder") < y(f"{side}_elbow") < y(f"{side}_wrist")
        assert y(f"{side}_ear") < y("neck")
    front = stem.endswith("front")
    if front:  # facing the camera: the person's right is on the image's left, the face is found
        assert kps[KP["r_shoulder"]][0] < kps[KP["l_shoulder"]][0]
        assert y("nose") + 40 < y("neck") and (kps[[KP["r_eye"], KP["l_eye"]]] >= 0).all()
    else:  # from behind: the person's right is on the image's right, no face points
        assert kps[KP["r_shoulder"]][0] > kps[KP["l_shoulder"]][0]
        assert (kps[[KP["nose"], KP["r_eye"], KP["l_eye"]]] == -1).all()
    present = (kps >= 0).all(1)
    xs, ys = np.rint(kps[present]).astype(int).T
    inside = mask[ys, xs].mean()
    assert inside >= 0.9, f"only {inside:.0%} of the keypoints are inside the person mask"
    sil = read_mask(folder / f"{stem}_sil.png")
    iou = (mask & sil).sum() / (mask | sil).sum()
    assert iou > MIN_IOU, f"person mask vs silhouette IoU {iou:.3f}"
    # The coarse parsing covers the person: head, upper body and arms are all there.
    assert ((parse > 0) == mask).mean() > 0.99
    labels = set(np.unique(parse).tolist())
    assert {5, 14, 15, 9}.issubset(labels) and labels & {2, 13}
    if not front:
        assert 13 not in labels  # back view: the head is hair
    on_head = parse[int(y("l_ear")), int(kps[KP["l_ear"]][0])]
    assert on_head in (2, 13)


def test_prepare_cli_with_user_parse(shared_data, estimator, tmp_path, capsys):
    from PIL import Image

    from clothflow.apps.cli import main

    photo = shared_data / "deepfashion_images_iuv" / f"{PHOTOS[0]}.png"
    if not photo.is_file():
        pytest.skip(f"{photo} not found")
    user = np.zeros((512, 348), np.uint8)
    user[100:400, 80:260] = 6  # a "dress" the coarse layout would never produce
    Image.fromarray(user, mode="L").save(tmp_path / "mine.png")
    assert main(["prepare", "--image", str(photo), "--out", str(tmp_path / "o"), "--parse", str(tmp_path / "mine.png")]) == 0
    written = np.asarray(Image.open(tmp_path / "o" / f"{PHOTOS[0]}_parse.png"))
    np.testing.assert_array_equal(written, user)
    data = json.loads((tmp_path / "o" / f"{PHOTOS[0]}_keypoints.json").read_text())
    assert len(data["people"][0]["pose_keypoints_2d"]) == 54
    assert "keypoints" in capsys.readouterr().out
    Image.fromarray(user[:100], mode="L").save(tmp_path / "small.png")
    assert main(["prepare", "--image", str(photo), "--out", str(tmp_path / "o"), "--parse", str(tmp_path / "small.png")]) == 2
    assert "100x348" in capsys.readouterr().err


def test_no_person_is_a_clear_error(estimator, tmp_path):
    from clothflow.estimate.prepare import prepare_image

    with pytest.raises(ClothflowError, match="no person found"):
        prepare_image(np.full((256, 176, 3), 200, np.uint8), estimator=estimator, path=tmp_path / "wall.png")

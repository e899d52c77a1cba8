"""Writing synthetic datasets to disk (DeepFashion and VITON layouts) and the preview sheet."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from clothflow.data.tools.preview import write_preview
from clothflow.data.synth.renderer import make_transfer_pair, make_tryon_pair
from clothflow.data.formats.keypoints import read_annotation_csv, read_openpose_json
from clothflow.data.tools.writers import write_dataset
from clothflow.core.errors import ClothflowError

SIZE = (64, 44)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("synth"), pairs=3, size=SIZE, seed=4, progress=False)


def test_deepfashion_layout_round_trips(written):
    df = written / "deepfashion"
    lines = (df / "fasion-resize-pairs-test.csv").read_text().splitlines()
    assert lines[0] == "from,to" and len(lines) == 4
    ann = read_annotation_csv(df / "fasion-resize-annotation-test.csv")
    assert len(ann) == 6
    for i, line in enumerate(lines[1:]):
        a, b = line.split(",")
        pair = make_transfer_pair(4, i, SIZE)
        for name, r in ((a, pair.src), (b, pair.tgt)):
            img = cv2.cvtColor(cv2.imread(str(df / "images" / name)), cv2.COLOR_BGR2RGB)
            assert np.array_equal(img, r.image)
            parse = cv2.imread(str(df / "parsing" / name), cv2.IMREAD_UNCHANGED)
            assert parse.ndim == 2 and np.array_equal(parse, r.parse)
            missing = r.keypoints[:, 0] < 0
            assert np.array_equal(ann[name][missing], np.full((missing.sum(), 2), -1.0))
            assert np.array_equal(ann[name][~missing], np.rint(r.keypoints[~missing]))
        npz = np.load(df / "flow" / f"{a[:-4]}__{b[:-4]}.npz")
        assert npz["flow"].shape == SIZE + (2,) and npz["flow"].dtype == np.float32
        assert npz["visible"].dtype == bool and np.array_equal(npz["flow"], pair.flow)


def test_viton_layout_round_trips(written):
    vt = written / "viton"
    lines = (vt / "test_pairs.txt").read_text().splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        person, cloth = line.split()
        stem = person[: -len("_0.jpg")]
        t = make_tryon_pair(4, i, SIZE)
        kps = read_openpose_json(vt / "openpose_json" / f"{stem}_0_keypoints.json")
        assert np.allclose(kps, t.person.keypoints, atol=1e-3)
        img = cv2.imread(str(vt / "image" / person))
        assert img.shape == SIZE + (3,)
        assert np.abs(cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(int) - t.person.image).mean() < 6  # JPEG q95
        mask = cv2.imread(str(vt / "cloth-mask" / cloth), cv2.IMREAD_UNCHANGED)
        assert mask.ndim == 2 and ((mask > 127) == t.shop.mask).mean() > 0.97
        assert (vt / "cloth" / cloth).exists() and (vt / "target" / person).exists()
        parse = cv2.imread(str(vt / "image-parse" / f"{stem}_0.png"), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(parse, t.person.parse)
        npz = np.load(vt / "flow" / f"{stem}_0__{stem}_1.npz")
        assert np.array_equal(npz["visible"], t.visible)


def test_openpose_json_has_both_keys_and_zeros_for_missing(written):
    import json

    path = next((written / "viton" / "openpose_json").iterdir())
    person = json.loads(path.read_text())["people"][0]
    assert person["pose_keypoints"] == person["pose_keypoints_2d"] and len(person["pose_keypoints_2d"]) == 54
    triples = np.asarray(person["pose_keypoints_2d"]).reshape(18, 3)
    assert ((triples[:, 2] == 0) == (triples[:, :2] == 0).all(1)).all()


def test_unwritable_output_folder_raises_naming_it(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ClothflowError, match="a-file"):
        write_dataset(blocker / "out", pairs=1, size=SIZE, seed=0, progress=False)


def test_preview_sheet(tmp_path):
    path = write_preview(tmp_path / "sheet.png", size=SIZE, seed=0, n=3)
    img = cv2.imread(str(path))
    assert img.shape[0] > 3 * SIZE[0] and img.shape[1] >= 6 * SIZE[1]
    assert img.std() > 20

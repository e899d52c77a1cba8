"""One reading of every parsing scheme (LIP, CIHP, CP-VTON+'s image-parse-new, VITON-HD's): LIP ids, neck = background.

The folder reader (:func:`clothflow.data.datasets.viton.load_person`) and the single-pair reader
(:func:`clothflow.data.formats.label_maps.read_label_map`, as ``tryon --parse`` calls it) must give
the same map, with the neck where the shipped parser puts it: background.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clothflow.core.errors import ClothflowError
from clothflow.core.ops.labels import LIP, NECK
from clothflow.data.datasets.viton import load_person
from clothflow.data.datasets.viton_layout import find_layout
from clothflow.data.formats.label_maps import decode_colour_parsing, detect_scheme, read_label_map

JUMPSUIT = 10  # LIP's id 10; CIHP's torso skin (the neck)
CIHP_SAMPLES = [("viton_samples", "image-parse"), ("viton_samples", "image-parse-new"), ("vitonhd_samples", "image-parse")]


def _stored(path: Path) -> np.ndarray:
    """The ids as the file stores them (colour parsings decoded to ids, no scheme applied)."""
    raw = np.asarray(Image.open(path))
    return decode_colour_parsing(raw) if raw.ndim == 3 else raw


def _folder_parse(root: Path, parse_dir: str, name: str) -> np.ndarray:
    """The parsing of person ``name`` as the folder reader reads it, at the file's size."""
    layout = find_layout(root)
    if layout.parse_dir.name != parse_dir:
        layout = type(layout)(**{**layout.__dict__, "parse_dir": root / parse_dir})
    return load_person(layout, name, None)["person_parse"].numpy()


@pytest.mark.parametrize("sample, parse_dir", CIHP_SAMPLES)
def test_cihp_neck_is_background_in_both_readers(shared_data, sample, parse_dir):
    root = shared_data / sample / "test"
    files = sorted((root / parse_dir).glob("*.png"))
    assert len(files) == 6
    for f in files:
        stored = _stored(f)
        neck = stored == JUMPSUIT
        assert neck.any() and detect_scheme(stored) == "cihp", f
        single = read_label_map(f)
        assert (single[neck] == NECK).all() and np.array_equal(single[~neck], stored[~neck])
        person = next(p.name for p in (root / "image").iterdir() if p.stem == f.stem)
        assert np.array_equal(_folder_parse(root, parse_dir, person), single), f


def test_lip_jumpsuit_stays_a_garment(viton_root):
    test = viton_root / "test"
    f = test / "image-parse" / "005175_0.png"  # LIP: 995 pixels of id 10, a garment fragment below the face
    stored = _stored(f)
    assert (stored == JUMPSUIT).sum() > 500 and detect_scheme(stored) == "lip"
    single = read_label_map(f)
    assert np.array_equal(single, stored)
    assert np.array_equal(_folder_parse(test, "image-parse", "005175_0.jpg"), single)


def test_lip_neck_scheme_reads_image_parse_new_as_image_parse(viton_root):
    test = viton_root / "test"
    for stem in ("000001_0", "005175_0"):
        new = test / "image-parse-new" / f"{stem}.png"
        stored = _stored(new)
        assert (stored == 20).sum() > 1000 and detect_scheme(stored) == "lip-neck"
        single = read_label_map(new)
        assert not (single == 20).any()
        assert np.array_equal(single, read_label_map(test / "image-parse" / f"{stem}.png"))  # measured: identical
        assert np.array_equal(_folder_parse(test, "image-parse-new", f"{stem}.jpg"), single)
    with pytest.raises(ClothflowError, match=r"000001_0.png.*label id 20"):
        read_label_map(test / "image-parse-new" / "000001_0.png", "lip")


def test_explicit_schemes_and_unknown_one(shared_data, tmp_path):
    f = shared_data / "viton_samples" / "test" / "image-parse-new" / "000001_0.png"
    assert (read_label_map(f, "lip") == JUMPSUIT).sum() > 1000  # read as LIP, 10 stays (a jumpsuit)
    assert np.array_equal(read_label_map(f, "cihp"), read_label_map(f))
    with pytest.raises(ClothflowError, match="unknown label scheme 'cihp2'"):
        read_label_map(f, "cihp2")
    ids = np.zeros((40, 30), np.uint8)
    ids[:10], ids[10:14], ids[14:] = LIP["face"], JUMPSUIT, LIP["upper-clothes"]
    Image.fromarray(ids, "L").save(tmp_path / "p.png")
    assert (read_label_map(tmp_path / "p.png") == JUMPSUIT).sum() == 0
    ids[10:14] = 0
    ids[30:] = JUMPSUIT  # far from the face: a LIP jumpsuit
    Image.fromarray(ids, "L").save(tmp_path / "p.png")
    assert (read_label_map(tmp_path / "p.png") == JUMPSUIT).sum() == 10 * 30


def test_cli_names_an_unknown_scheme(shared_data, tmp_path):
    test = shared_data / "viton_samples" / "test"
    run = subprocess.run(["clothflow", "tryon", "--person", str(test / "image" / "000001_0.jpg"), "--cloth",
                          str(test / "cloth" / "002447_1.jpg"), "--parse", str(test / "image-parse-new" / "000001_0.png"),
                          "--parse-scheme", "lipp", "--pose", str(test / "pose" / "000001_0_keypoints.json"),
                          "--out", str(tmp_path / "o.png")], capture_output=True, text=True)
    assert run.returncode == 2 and "unknown label scheme 'lipp'" in run.stderr and "Traceback" not in run.stderr

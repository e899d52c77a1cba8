"""Malformed annotation rows, pair lists, OpenPose JSON and image bytes always end in a
ClothflowError naming the file (never another exception); valid inputs still parse."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clothflow.data.formats.images import read_gray, read_rgb
from clothflow.data.formats.keypoints import (
    annotation_row,
    read_annotation_csv,
    read_keypoints,
    read_pairs_csv,
)
from clothflow.core.errors import ClothflowError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_DIR = Path(tempfile.mkdtemp(prefix="clothflow-fuzz-"))

numbers = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
                    st.booleans(), st.none())
json_values = st.recursive(numbers, lambda c: st.lists(c, max_size=20) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                           max_leaves=40)


coordinate = st.one_of(st.integers(-1, 300), st.integers(-1, 300), st.integers(-1, 300), st.integers(-1, 300),
                       st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30))
keypoint_lists = st.one_of(st.lists(coordinate, min_size=18, max_size=18), st.lists(numbers, max_size=20))


def _write(name: str, data: bytes | str) -> Path:
    path = _DIR / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


def _outcome(read, path: Path):
    """The reader's result, or None after checking the error names the file."""
    try:
        return read(path)
    except ClothflowError as exc:
        assert str(path) in str(exc)
        return None


def _coords(n: int):
    return st.lists(st.integers(-1, 1000), min_size=n, max_size=n)


@FUZZ
@given(name=st.text(min_size=1, max_size=15), ys=keypoint_lists, xs=keypoint_lists,
       sep=st.sampled_from([":", ": ", " : ", ";", ",", ""]), header=st.booleans(), junk=st.text(max_size=10))
def test_annotation_rows(name, ys, xs, sep, header, junk) -> None:
    row = f"{name}{sep}{json.dumps(ys, allow_nan=True)}{sep}{json.dumps(xs, allow_nan=True)}{junk}"
    text = ("name:keypoints_y:keypoints_x\n" if header else "") + row + "\n"
    path = _write("fasion-annotation-fuzz.csv", text)
    out = _outcome(read_annotation_csv, path)
    if out is not None:
        for kps in out.values():
            assert kps.shape == (18, 2) and np.isfinite(kps).all()


@FUZZ
@given(ys=keypoint_lists, xs=keypoint_lists)
def test_annotation_values(ys, xs) -> None:
    text = f"name:keypoints_y:keypoints_x\na.jpg: {json.dumps(ys, allow_nan=True)}: {json.dumps(xs, allow_nan=True)}\n"
    out = _outcome(read_annotation_csv, _write("fasion-annotation-values.csv", text))
    if out is not None:
        assert out["a.jpg"].shape == (18, 2) and np.isfinite(out["a.jpg"]).all() and out["a.jpg"].max() <= 1e5


@FUZZ
@given(ys=_coords(18), xs=_coords(18), name=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=":\n\r\x85\u2028\u2029\x0b\x0c\x1c\x1d\x1e"),
                                                     min_size=1, max_size=12).filter(str.strip),
       crlf=st.booleans(), spaces=st.booleans())
def test_valid_annotation_rows_parse(ys, xs, name, crlf, spaces) -> None:
    kps = np.stack([xs, ys], -1).astype(np.float32)
    row = annotation_row(name, kps)
    if not spaces:
        row = row.replace(" ", "")
        name = name.replace(" ", "")
    nl = "\r\n" if crlf else "\n"
    path = _write("ok-annotation.csv", "name:keypoints_y:keypoints_x:" + nl + nl + row + nl)
    out = read_annotation_csv(path)
    want = np.where((kps < 0).any(-1, keepdims=True), -1, kps)
    assert np.array_equal(out[name.strip()], want)


@FUZZ
@given(text=st.text(max_size=200))
def test_pairs_csv(text) -> None:
    out = _outcome(read_pairs_csv, _write("fuzz-pairs.csv", "from,to\n" + text))
    if out is not None:
        assert all(a and b for a, b in out)


@FUZZ
@given(value=json_values, key=st.sampled_from(["pose_keypoints", "pose_keypoints_2d", "x"]), wrap=st.booleans())
def test_openpose_json(value, key, wrap) -> None:
    data = {"people": [{key: value}]} if wrap else value
    out = _outcome(read_keypoints, _write("fuzz_keypoints.json", json.dumps(data, allow_nan=True)))
    if out is not None:
        assert out.shape == (18, 2) and np.isfinite(out).all()


@FUZZ
@given(flat=st.one_of(st.lists(coordinate, min_size=54, max_size=54), st.lists(coordinate, min_size=75, max_size=75),
                      st.lists(st.lists(coordinate, min_size=2, max_size=2), min_size=18, max_size=18)))
def test_openpose_values(flat) -> None:
    data = {"people": [{"pose_keypoints_2d": flat}]} if not isinstance(flat[0], list) else flat
    out = _outcome(read_keypoints, _write("values_keypoints.json", json.dumps(data, allow_nan=True)))
    if out is not None:
        assert out.shape == (18, 2) and np.isfinite(out).all() and out.max() <= 1e5


@FUZZ
@given(pts=st.lists(st.tuples(st.floats(0, 500), st.floats(0, 500), st.sampled_from([0.0, 0.5])), min_size=18, max_size=18),
       body25=st.booleans())
def test_valid_openpose_parses(pts, body25) -> None:
    flat = [v for p in pts for v in p] + ([1.0, 1.0, 1.0] * 6 if body25 else [])
    if body25:  # BODY_25 inserts mid-hip at index 8
        flat = flat[:24] + [1.0, 1.0, 1.0] + flat[24:]
    out = read_keypoints(_write("ok_keypoints.json", json.dumps({"people": [{"pose_keypoints_2d": flat}]})))
    assert out.shape == (18, 2)
    assert ((out[:, 0] >= 0) == (np.array([p[2] for p in pts]) > 0)).all()


_PNG = b"\x89PNG\r\n\x1a\n"


@FUZZ
@given(data=st.binary(max_size=300), prefix=st.sampled_from([b"", _PNG, b"\xff\xd8\xff\xe0", b"BM"]))
def test_garbage_images(data, prefix) -> None:
    from clothflow.apps.infer import read_image

    path = _write("fuzz.png", prefix + data)
    for reader in (read_image, read_rgb, read_gray):
        out = _outcome(reader, path)
        if out is not None:
            assert out.dtype == np.uint8


def test_valid_image_parses(tmp_path: Path) -> None:
    import cv2

    path = tmp_path / "ok.png"
    cv2.imwrite(str(path), np.full((4, 3, 3), 7, np.uint8))
    assert read_rgb(path).shape == (4, 3, 3) and read_gray(path).shape == (4, 3)


def test_garbage_image_in_dataset(tmp_path: Path) -> None:
    from clothflow.data.datasets.deepfashion import DeepFashionPairs

    kps = np.full((18, 2), 10, np.float32)
    (tmp_path / "images").mkdir()
    for n in ("a.png", "b.png"):
        (tmp_path / "images" / n).write_bytes(_PNG + b"garbage")
    (tmp_path / "x-annotation.csv").write_text("name:keypoints_y:keypoints_x\n" + annotation_row("a.png", kps) + "\n" + annotation_row("b.png", kps) + "\n")
    (tmp_path / "x-pairs.csv").write_text("from,to\na.png,b.png\n")
    with pytest.raises(ClothflowError, match="a.png"):
        DeepFashionPairs(tmp_path)[0]

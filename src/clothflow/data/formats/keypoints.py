"""Keypoint and pair-list file formats: DeepFashion CSVs and OpenPose JSON, read and written.

All keypoint readers return 18 x 2 float32 (x, y) in the file's pixel frame, -1 for missing
points, in the COCO-18 order of :mod:`clothflow.core.ops.pose`, and raise :class:`ClothflowError`
naming the file for anything malformed (never a bare ``ValueError`` or ``KeyError``).

Real copies of the DeepFashion CSVs differ in small ways; the readers accept: a UTF-8 byte
order mark, CRLF line ends, blank lines, spaces (or none) around ``:`` and ``,``, stray
trailing separators on the header line, and a leading pandas index column in pair lists.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pairs.csv"
    >>> _ = p.write_text("from,to\\r\\na.jpg,b.jpg\\r\\n\\r\\n")
    >>> read_pairs_csv(p)
    [('a.jpg', 'b.jpg')]
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from clothflow.core.ops.pose import NUM_KEYPOINTS
from clothflow.core.errors import ClothflowError

# BODY_25 indices of the COCO-18 points (BODY_25 adds mid-hip at 8 and feet after 18).
_BODY25_TO_COCO18 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
# Coordinates beyond this are not pixels of any real photo: treated as a malformed file.
MAX_COORD = 100_000.0

_ROW = re.compile(r"^(.*?)\s*:\s*(\[[^\]]*\])\s*:\s*(\[[^\]]*\])\s*:?\s*$")


def _read_lines(path: Path, what: str) -> list[str]:
    """Text lines of ``path`` (BOM stripped, any line ends), or a ClothflowError naming it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ClothflowError(f"cannot read {what} ({exc.strerror or exc})", path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ClothflowError(f"{what} is not UTF-8 text (byte {exc.start})", path) from None
    return text.splitlines()


def _number_list(text: str, path: Path, where: str) -> list[float]:
    """A JSON list of NUM_KEYPOINTS finite numbers (ints or floats), else a ClothflowError."""
    try:
        values = json.loads(text)
    except (ValueError, RecursionError):
        raise ClothflowError(f"{where}: {text[:40]!r} is not a JSON list of numbers", path) from None
    if not isinstance(values, list) or len(values) != NUM_KEYPOINTS:
        n = len(values) if isinstance(values, list) else "no"
        raise ClothflowError(f"{where}: expected {NUM_KEYPOINTS} values per list, got {n}", path)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v) > MAX_COORD:
            raise ClothflowError(f"{where}: {str(v)[:20]!r} is not a pixel coordinate", path)
    return [float(v) for v in values]


def _is_header(line: str, first: str) -> bool:
    return line.strip().lower().replace(" ", "").startswith(first)


def parse_annotation_lines(lines: list[str], path: Path) -> dict[str, np.ndarray]:
    """Parse the lines of a DeepFashion annotation CSV (see :func:`read_annotation_csv`).

    Args:
        lines: the file's lines, header included.
        path: the file, named in errors.

    Returns:
        name -> 18 x 2 float32 (x, y), -1 for missing.
    """
    out: dict[str, np.ndarray] = {}
    header_seen = False
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if not header_seen:
            header_seen = True
            if _is_header(line, "name:keypoints_y:keypoints_x"):
                continue
            if _is_header(line, "name:keypoints_x:keypoints_y"):
                raise ClothflowError("x-first column order is not supported; expected 'name:keypoints_y:keypoints_x'", path)
        m = _ROW.match(line.strip())
        if m is None or not m.group(1).strip():
            raise ClothflowError(f"line {n}: expected 'name: [y...]: [x...]', got {line.strip()[:60]!r}", path)
        ys = _number_list(m.group(2), path, f"line {n}")
        xs = _number_list(m.group(3), path, f"line {n}")
        xy = np.stack([np.asarray(xs, np.float32), np.asarray(ys, np.float32)], -1)
        xy[(xy < 0).any(-1)] = -1
        out[m.group(1).strip()] = xy
    if not header_seen:
        raise ClothflowError("empty annotation CSV (expected header 'name:keypoints_y:keypoints_x')", path)
    return out


def read_annotation_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Read a DeepFashion keypoint annotation CSV.

    Format: header ``name:keypoints_y:keypoints_x``, then rows ``name: [y...]: [x...]``
    (JSON lists of 18 numbers, -1 missing; y comes first). Tolerates a BOM, CRLF, blank
    lines, spacing, a trailing ``:`` and a missing header.

    Args:
        path: the CSV file.

    Returns:
        name -> 18 x 2 float32 (x, y), -1 for missing (a later duplicate name wins).

    Raises:
        ClothflowError: unreadable file or malformed row, naming the file and line.
    """
    path = Path(path)
    return parse_annotation_lines(_read_lines(path, "annotation CSV"), path)


def read_pairs_csv(path: str | Path) -> list[tuple[str, str]]:
    """Read a pose-transfer pair list (``from,to`` header, one ``source,target`` per line).

    Tolerates a BOM, CRLF, blank lines, spaces around names, a missing header and a leading
    index column (``,from,to`` written by pandas).

    Args:
        path: the CSV file.

    Returns:
        (source name, target name) in file order.

    Raises:
        ClothflowError: unreadable file, or a row without exactly two non-empty names.
    """
    path = Path(path)
    pairs: list[tuple[str, str]] = []
    index_col = False
    header_seen = False
    for n, line in enumerate(_read_lines(path, "pairs CSV"), start=1):
        if not line.strip():
            continue
        cells = [c.strip().strip('"') for c in line.split(",")]
        if not header_seen:
            header_seen = True
            low = [c.lower() for c in cells]
            if low[-2:] == ["from", "to"] and len(low) in (2, 3):
                index_col = len(low) == 3
                continue
        if index_col and len(cells) == 3:
            cells = cells[1:]
        if len(cells) != 2 or not all(cells):
            raise ClothflowError(f"line {n}: expected 'source,target', got {line.strip()[:60]!r}", path)
        pairs.append((cells[0], cells[1]))
    return pairs


def annotation_row(name: str, keypoints: np.ndarray) -> str:
    """One DeepFashion annotation row ``name: [y...]: [x...]`` (ints, -1 for missing)."""
    kps = np.asarray(keypoints, np.float64)
    missing = (kps < 0).any(-1)
    xy = np.where(missing[:, None], -1, np.rint(kps)).astype(int)
    return f"{name}: {json.dumps(xy[:, 1].tolist())}: {json.dumps(xy[:, 0].tolist())}"


def openpose_dict(keypoints: np.ndarray) -> dict:
    """OpenPose JSON for one person, COCO-18: x, y, c per point (0, 0, 0 when missing)."""
    kps = np.asarray(keypoints, np.float64)
    flat: list[float] = []
    for x, y in kps:
        flat += [0.0, 0.0, 0.0] if (x < 0 or y < 0) else [round(float(x), 3), round(float(y), 3), 1.0]
    return {"version": 1.3, "people": [{"pose_keypoints": flat, "pose_keypoints_2d": flat}]}


def _load_json(path: Path):
    lines = _read_lines(path, "keypoint file")
    try:
        return json.loads("\n".join(lines))
    except (ValueError, RecursionError) as exc:
        raise ClothflowError(f"not valid JSON ({str(exc)[:80]})", path) from None


def _finite_array(values, path: Path, what: str) -> np.ndarray:
    """``values`` as a float64 array of finite plain numbers, else a ClothflowError."""
    if not isinstance(values, list) or not values:
        raise ClothflowError(f"{what}: expected a non-empty list of numbers", path)
    flat = values if not isinstance(values[0], list) else [v for row in values for v in (row if isinstance(row, list) else [row])]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
        raise ClothflowError(f"{what}: expected numbers only", path)
    arr = np.asarray(flat, np.float64)
    if not np.isfinite(arr).all() or (np.abs(arr) > MAX_COORD).any():
        raise ClothflowError(f"{what}: values must be finite pixel coordinates", path)
    return arr


def openpose_keypoints(data, path: Path) -> np.ndarray:
    """The first person of parsed OpenPose JSON ``data`` (COCO-18 or BODY_25) as 18 x 2 (x, y).

    Args:
        data: the decoded JSON object.
        path: the file, named in errors.

    Returns:
        18 x 2 float32, -1 where the confidence is 0.
    """
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, list) or not people or not isinstance(people[0], dict):
        raise ClothflowError("not an OpenPose JSON with a person (no 'people' entry)", path)
    person = people[0]
    flat = person.get("pose_keypoints_2d", person.get("pose_keypoints"))
    if flat is None:
        raise ClothflowError("OpenPose person has no 'pose_keypoints_2d' / 'pose_keypoints'", path)
    pts = _finite_array(flat, path, "pose keypoints")
    if len(pts) % 3:
        raise ClothflowError(f"pose keypoints: {len(pts)} values is not a whole number of (x, y, c) triples", path)
    pts = pts.reshape(-1, 3)
    if len(pts) == 25:
        pts = pts[list(_BODY25_TO_COCO18)]
    if len(pts) != NUM_KEYPOINTS:
        raise ClothflowError(f"expected 18 or 25 keypoints, got {len(pts)}", path)
    out = pts[:, :2].astype(np.float32)
    out[(pts[:, 2] <= 0) | (out < 0).any(-1)] = -1
    return out


def read_openpose_json(path: str | Path) -> np.ndarray:
    """Read the first person of an OpenPose JSON (COCO-18 or BODY_25).

    Args:
        path: the JSON file.

    Returns:
        18 x 2 float32 (x, y), -1 where the confidence is 0.

    Raises:
        ClothflowError: unreadable file, no person, non-numeric or non-finite values, or an
            unknown keypoint count.
    """
    path = Path(path)
    return openpose_keypoints(_load_json(path), path)


def read_keypoints(path: str | Path) -> np.ndarray:
    """Keypoints from an OpenPose JSON (see :func:`read_openpose_json`) or a JSON list of 18 [x, y].

    Args:
        path: the JSON file.

    Returns:
        18 x 2 float32 (x, y), -1 for missing.

    Raises:
        ClothflowError: missing, unreadable or malformed file.
    """
    path = Path(path)
    if not path.is_file():
        raise ClothflowError("keypoint file not found", path)
    data = _load_json(path)
    if isinstance(data, dict):
        return openpose_keypoints(data, path)
    if not (isinstance(data, list) and len(data) == NUM_KEYPOINTS and all(isinstance(p, list) and len(p) == 2 for p in data)):
        raise ClothflowError("expected OpenPose JSON or a list of 18 [x, y] keypoints", path)
    kps = _finite_array(data, path, "keypoints").reshape(NUM_KEYPOINTS, 2).astype(np.float32)
    kps[(kps < 0).any(-1)] = -1
    return kps

"""Pose-transfer pair tables: ``pairs.csv`` with a row per (source, target) photo of one person.

The layout of a same-person pair folder (the real pairs with published methods' outputs)::

    DIR/pairs.csv                      dataset,split,person,source,target[,peer,peer_output]
    DIR/<dataset>/images/*.jpg         the photos (paths in the table are relative to DIR)
    DIR/<dataset>/keypoints.csv        name:keypoints_y:keypoints_x, 18 COCO points, image pixels
    DIR/<dataset>/peers/<peer>/<source stem>__<target stem>.jpg   another method's output

``peer`` and ``peer_output`` are optional; photos without a keypoint row get estimated ones.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "pairs.csv").write_text("dataset,split,person,source,target\\nshop,test,7,a.jpg,b.jpg\\n")
    >>> rows = read_pair_table(d / "pairs.csv", check_files=False)
    >>> rows[0].dataset, rows[0].source.name, rows[0].output_name
    ('shop', 'a.jpg', 'a__b.png')
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clothflow.core.errors import ClothflowError

REQUIRED_COLUMNS = ("dataset", "split", "person", "source", "target")
HEADER_COLUMNS = REQUIRED_COLUMNS + ("peer", "peer_output")  # the optional ones last
PAIR_TABLE_NAME = "pairs.csv"


@dataclass(frozen=True)
class PairRow:
    """One row of a pair table, its paths made absolute.

    Attributes:
        dataset, split, person: the row's dataset name, split and person id.
        source, target: the two photos.
        peer: the method whose output ``peer_output`` holds ("" when the table has none).
        peer_output: that output's file, or None.
        line: the row's line number in the table (for messages).
        root: the table's folder (the row's paths are relative to it).
    """

    dataset: str
    split: str
    person: str
    source: Path
    target: Path
    peer: str = ""
    peer_output: Path | None = None
    line: int = 0
    root: Path = Path(".")

    @property
    def output_name(self) -> str:
        """``<source stem>__<target stem>.png``: the file a result of this row is written to."""
        return f"{self.source.stem}__{self.target.stem}.png"


def is_pair_table(path: str | Path) -> bool:
    """Whether ``path`` (a CSV, or a folder holding ``pairs.csv``) starts with a pair table's header."""
    path = Path(path)
    if path.is_dir():
        path = path / PAIR_TABLE_NAME
    if not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError):
        return False
    return all(c in [h.strip() for h in header] for c in REQUIRED_COLUMNS)


def read_pair_table(path: str | Path, dataset: str | None = None, split: str | None = None,
                    check_files: bool = True) -> list[PairRow]:
    """The rows of a pair table, optionally only one dataset's and one split's.

    Args:
        path: the table (``pairs.csv``), or the folder holding it.
        dataset: keep only rows of this dataset (None: all).
        split: keep only rows of this split (None: all).
        check_files: require every selected row's source and target photo to exist.

    Returns:
        The selected rows, in file order.

    Raises:
        ClothflowError: naming the table: unreadable, a missing column, an empty cell, a photo
            that is not there, or nothing selected (saying which datasets and splits exist).
    """
    path = Path(path)
    if path.is_dir():
        path = path / PAIR_TABLE_NAME
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            records = list(csv.reader(f))
    except FileNotFoundError:
        raise ClothflowError("pair table not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClothflowError(f"cannot read the pair table ({type(exc).__name__})", path) from None
    if not records:
        raise ClothflowError("empty pair table (expected the header " + ",".join(REQUIRED_COLUMNS) + ")", path)
    header = [h.strip() for h in records[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ClothflowError(f"the header lacks column(s) {', '.join(missing)} (it has {','.join(header)})", path)
    col = {name: header.index(name) for name in header}
    root = path.parent
    rows: list[PairRow] = []
    for n, cells in enumerate(records[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise ClothflowError(f"line {n}: {len(cells)} cells where the header has {len(header)}", path)
        get = lambda name: cells[col[name]].strip() if name in col else ""  # noqa: E731
        empty = [c for c in REQUIRED_COLUMNS if not get(c)]
        if empty:
            raise ClothflowError(f"line {n}: empty {', '.join(empty)}", path)
        peer_file = get("peer_output")
        rows.append(PairRow(get("dataset"), get("split"), get("person"), root / get("source"), root / get("target"),
                            get("peer"), root / peer_file if peer_file else None, n, root))
    selected = [r for r in rows if (dataset is None or r.dataset == dataset) and (split is None or r.split == split)]
    if not selected:
        have = sorted({f"{r.dataset}/{r.split}" for r in rows})
        want = f"{dataset or '*'}/{split or '*'}"
        raise ClothflowError(f"no rows for {want}; the table has {', '.join(have) or 'no rows'}", path)
    if check_files:
        for r in selected:
            for p in (r.source, r.target):
                if not p.is_file():
                    raise ClothflowError(f"line {r.line}: photo {p.relative_to(root) if p.is_relative_to(root) else p} "
                                         "is missing", path)
    return selected


def same_person_pairs(rows: list[PairRow]) -> list[tuple[Path, Path]]:
    """Every ordered pair of two different photos of one person (by dataset and person id).

    Persons are taken within the given rows only, so a split's persons stay in that split.

    Example:
        >>> a, b, c = Path("a.jpg"), Path("b.jpg"), Path("c.jpg")
        >>> rows = [PairRow("d", "train", "1", a, b), PairRow("d", "train", "1", b, c)]
        >>> [(s.stem, t.stem) for s, t in same_person_pairs(rows)]
        [('a', 'b'), ('a', 'c'), ('b', 'a'), ('b', 'c'), ('c', 'a'), ('c', 'b')]
    """
    photos: dict[tuple[str, str], dict[Path, None]] = {}
    for r in rows:
        views = photos.setdefault((r.dataset, r.person), {})
        views.setdefault(r.source)
        views.setdefault(r.target)
    return [(s, t) for views in photos.values() for s in views for t in views if s != t]


def keypoint_table(root: Path, dataset: str) -> Path:
    """The keypoint CSV of a pair table's dataset: ``ROOT/<dataset>/keypoints.csv``."""
    return root / dataset / "keypoints.csv"


def default_cache(table: str | Path) -> Path:
    """Where what is estimated for a pair table's photos is kept (parsings, missing keypoints).

    ``$CLOTHFLOW_CACHE`` (default ``~/.cache/clothflow``) ``/pairs/<folder name>-<hash of its path>``:
    outside the dataset, which may be read-only, and one folder per dataset folder.
    """
    import hashlib
    import os

    table = Path(table).resolve()
    folder = table if table.is_dir() else table.parent
    base = Path(os.environ.get("CLOTHFLOW_CACHE") or Path.home() / ".cache" / "clothflow")
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:8]
    return base / "pairs" / f"{folder.name}-{digest}"


def cached_parsing(cache: Path, dataset: str, photo: Path) -> Path:
    """The cache file of a photo's parsing (LIP ids PNG)."""
    return cache / "parsing" / dataset / f"{photo.stem}.png"


def cached_keypoints(cache: Path, dataset: str) -> Path:
    """The cache file of a dataset's estimated keypoints (annotation CSV)."""
    return cache / "keypoints" / f"{dataset}.csv"


def no_pose_list(cache: Path, dataset: str) -> Path:
    """The cache file listing a dataset's photos where no pose could be found."""
    return cache / "no_pose" / f"{dataset}.txt"


def read_estimated(cache: Path, dataset: str) -> dict[str, np.ndarray]:
    """Keypoints estimated earlier for a dataset's photos (name -> 18 x 2), empty when none."""
    from clothflow.data.formats.keypoints import read_annotation_csv

    path = cached_keypoints(cache, dataset)
    return read_annotation_csv(path) if path.is_file() else {}


def photo_keypoints(root: Path, cache: Path, dataset: str) -> dict[str, np.ndarray]:
    """A dataset's keypoints by photo file name: the estimated ones, and the dataset's own CSV over them.

    Raises:
        ClothflowError: a row without 18 points, naming the file.
    """
    from clothflow.data.formats.keypoints import read_annotation_csv

    out: dict[str, np.ndarray] = {}
    for path in (cached_keypoints(cache, dataset), keypoint_table(root, dataset)):  # the dataset's own rows win
        if path.is_file():
            for name, kps in read_annotation_csv(path).items():
                if kps.shape != (18, 2):
                    raise ClothflowError(f"{name}: {kps.shape[0]} keypoints, expected 18", path)
                out[name] = kps
    return out

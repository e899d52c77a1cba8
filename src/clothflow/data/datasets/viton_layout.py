"""Try-on dataset folder layouts: recognising them, naming their files, reading pair lists.

Layouts (the folder that directly holds the sub-folders; a ``test/`` sub-folder or the
``viton/`` folder written by ``clothflow synth`` is entered automatically):

- ``"viton"`` (VITON as CP-VTON ships it): ``image/``, ``image-parse/`` (colour or ids) or
  ``image-parse-new/``, ``pose/*_keypoints.json`` (COCO-18), ``cloth/``, ``cloth-mask/``.
- ``"vitonhd"`` (VITON-HD, HR-VITON): ``image/``, ``image-parse-v3/`` or ``image-parse/``
  (palette PNG), ``openpose-json/`` or ``openpose_json/`` (BODY_25), ``cloth/``, ``cloth-mask/``.
- ``"synthetic-viton"`` (``clothflow synth``): the VITON names with ``openpose_json/`` and
  the unpaired ground truth ``target/``, ``target-parse/``, ``flow/``.
- ``"pfafn"`` (PF-AFN's test folder): ``test_img/``, ``test_clothes/``, ``test_edge/``,
  ``demo.txt``; no parsing and no pose.

Pair lists hold lines ``person.jpg cloth.jpg``; they sit in the layout folder or its parent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from clothflow.core.errors import ClothflowError

log = logging.getLogger(__name__)

LAYOUTS = ("viton", "vitonhd", "synthetic-viton", "pfafn")
# Pair lists looked for, in this order, when none is named.
PAIRS_FILES = ("test_pairs.txt", "test_samples_pair.txt", "test_pairs_same.txt", "train_pairs.txt", "demo.txt")
_PARSE_DIRS = {"viton": ("image-parse", "image-parse-new"), "vitonhd": ("image-parse-v3", "image-parse")}
_POSE_DIRS = ("openpose-json", "openpose_json")
_IMAGE_EXTS = (".jpg", ".png", ".jpeg")
# The parsing scheme of each layout (:mod:`clothflow.data.formats.label_maps`): VITON's folders
# hold LIP (``image-parse`` as CP-VTON ships it), CIHP (other copies) or CP-VTON+'s ids
# (``image-parse-new``), told apart file by file; VITON-HD's are CIHP's; synthetic output is LIP.
LAYOUT_SCHEMES = {"vitonhd": "cihp", "synthetic-viton": "lip", "pfafn": "lip"}


class Pair(NamedTuple):
    """One line of a pair list: file names (not paths) and where the line came from."""

    person: str
    cloth: str
    source: str  # "<pairs file>:<line number>", or "" for pairs made up from the folder

    def describe(self) -> str:
        """``"<file>:<line>: person cloth"``, for reports."""
        return f"{self.source}: {self.person} {self.cloth}" if self.source else f"{self.person} {self.cloth}"


def _first_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).is_dir()), None)


def resolve_root(root: str | Path) -> Path:
    """The folder that directly holds a layout's sub-folders.

    ``root`` itself when it holds ``image/`` or ``test_img/``; else ``root/test`` or
    ``root/viton`` when that does (logged).
    """
    root = Path(root)
    if any((root / d).is_dir() for d in ("image", "test_img")):
        return root
    for sub in ("test", "viton"):
        if any((root / sub / d).is_dir() for d in ("image", "test_img")):
            return root / sub
    return root


def detect_layout(root: str | Path) -> str | None:
    """Name the try-on layout of a folder.

    Args:
        root: dataset folder (or its parent with a ``test/`` or ``viton/`` sub-folder).

    Returns:
        "viton", "vitonhd", "synthetic-viton", "pfafn", or None when no layout matches.
    """
    root = resolve_root(root)
    if (root / "test_img").is_dir() and (root / "test_clothes").is_dir():
        return "pfafn"
    if not ((root / "image").is_dir() and (root / "cloth").is_dir()):
        return None
    if (root / "target").is_dir() and (root / "flow").is_dir():
        return "synthetic-viton"
    if (root / "pose").is_dir():
        return "viton"
    if _first_dir(root, _POSE_DIRS) is not None or (root / "image-parse-v3").is_dir():
        return "vitonhd"
    if (root / "image-parse").is_dir() or (root / "image-parse-new").is_dir():
        return "viton"
    return None


def _with_ext(folder: Path, stem: str, preferred: str) -> Path:
    """``folder/stem+ext`` for the first existing image extension, else with ``preferred``."""
    for ext in (preferred, *_IMAGE_EXTS):
        if (folder / f"{stem}{ext}").is_file():
            return folder / f"{stem}{ext}"
    return folder / f"{stem}{preferred}"


@dataclass(frozen=True)
class TryonLayout:
    """Where one layout keeps each input; all paths are absolute-or-as-given folder paths.

    Build it with :func:`find_layout`. ``parse_dir`` and ``pose_dir`` are None for PF-AFN;
    ``target_dir``, ``target_parse_dir``, ``flow_dir`` are set only for synthetic output.
    ``scheme`` is the parsings' label scheme (:data:`LAYOUT_SCHEMES`, "auto" when it varies).
    """

    kind: str
    root: Path
    image_dir: Path
    cloth_dir: Path
    mask_dir: Path
    parse_dir: Path | None
    pose_dir: Path | None
    scheme: str
    target_dir: Path | None = None
    target_parse_dir: Path | None = None
    flow_dir: Path | None = None

    @property
    def has_truth(self) -> bool:
        """Whether unpaired pairs come with ground truth (target image, parse, flow)."""
        return self.flow_dir is not None

    def person_files(self, name: str) -> dict[str, Path]:
        """Files of a person image name: ``person`` and, when the layout has them, ``person_parse``, ``person_pose``."""
        stem = Path(name).stem
        files = {"person": self.image_dir / name}
        if self.parse_dir is not None:
            files["person_parse"] = self.parse_dir / f"{stem}.png"
        if self.pose_dir is not None:
            files["person_pose"] = self.pose_dir / f"{stem}_keypoints.json"
        return files

    def cloth_files(self, name: str) -> dict[str, Path]:
        """Files of a cloth image name: ``cloth`` and ``cloth_mask``."""
        return {"cloth": self.cloth_dir / name, "cloth_mask": _with_ext(self.mask_dir, Path(name).stem, Path(name).suffix)}

    def truth_files(self, person: str, cloth: str) -> dict[str, Path]:
        """Ground truth of an unpaired synthetic pair: ``target``, ``target_parse``, ``flow``; {} without it."""
        if not self.has_truth:
            return {}
        stem = Path(person).stem
        return {
            "target": self.target_dir / person,
            "target_parse": self.target_parse_dir / f"{stem}.png",
            "flow": self.flow_dir / f"{stem}__{Path(cloth).stem}.npz",
        }

    def own_cloth(self, person: str) -> str:
        """Name of the in-shop image of the garment the person wears.

        VITON: ``000001_0.jpg`` -> ``000001_1.jpg``; VITON-HD and others: the same name.
        """
        p = Path(person)
        if p.stem.endswith("_0"):
            candidate = f"{p.stem[:-2]}_1{p.suffix}"
            if self.kind != "vitonhd" or (self.cloth_dir / candidate).is_file():
                return candidate
        return person


def find_layout(root: str | Path) -> TryonLayout:
    """Recognise a folder's layout and locate its sub-folders.

    Raises:
        ClothflowError: the folder is missing or holds no known layout.
    """
    given = Path(root)
    if not given.is_dir():
        raise ClothflowError("dataset folder not found", given)
    root = resolve_root(given)
    if root != given:
        log.info("using %s: it holds the dataset folders, %s does not", root, given)
    kind = detect_layout(root)
    if kind is None:
        raise ClothflowError(
            "not a try-on dataset: expected image/ and cloth/ with image-parse/ and pose/ (VITON), "
            "openpose-json/ (VITON-HD), or test_img/ and test_clothes/ (PF-AFN)",
            given,
        )
    if kind == "pfafn":
        return TryonLayout(kind, root, root / "test_img", root / "test_clothes", root / "test_edge", None, None, "lip")
    parse_names = _PARSE_DIRS.get(kind, ("image-parse",))
    parse_dir = _first_dir(root, parse_names) or root / parse_names[0]
    pose_names = ("pose",) if kind == "viton" else _POSE_DIRS
    pose_dir = _first_dir(root, pose_names) or root / pose_names[0]
    truth = (root / "target", root / "target-parse", root / "flow") if kind == "synthetic-viton" else (None, None, None)
    scheme = LAYOUT_SCHEMES.get(kind, "auto")
    return TryonLayout(kind, root, root / "image", root / "cloth", root / "cloth-mask", parse_dir, pose_dir, scheme, *truth)


def read_pairs(path: str | Path) -> list[Pair]:
    """Read a pair list: lines ``person.jpg cloth.jpg``; blank lines and ``#`` comments are skipped.

    A list of person names alone (one a line, as VITON's ``test_clean.txt``) is read too, with
    an empty cloth: it serves the paired setting, where each person wears their own garment.

    Raises:
        ClothflowError: unreadable file, or a line with other than two names (one, in a list of names).
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ClothflowError(f"cannot read pair list ({exc})", path) from None
    pairs = []
    width = None  # 2 for a pair list, 1 for a list of names; set by the first line
    for n, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        width = width or min(len(fields), 2)
        if len(fields) != width:
            want = "'person.jpg cloth.jpg'" if width == 2 else "one person name"
            raise ClothflowError(f"line {n}: expected {want}, got {line.strip()!r}", path)
        pairs.append(Pair(fields[0], fields[1] if width == 2 else "", f"{path}:{n}"))
    return pairs


def find_pairs_file(layout: TryonLayout, pairs_file: str | Path | None) -> Path | None:
    """Locate the pair list: a given path (as is, or in the layout folder or its parent), else a standard name.

    A split folder (``train/``, ``test/``) reads only its own lists: those named after it
    (``test_pairs.txt``, ``test_pairs_same.txt``, ...), in the folder first, then in its parent;
    never the other split's.

    Returns:
        The pair list, or None when none was given and none is found.

    Raises:
        ClothflowError: ``pairs_file`` was given and is found nowhere.
    """
    places = (layout.root, layout.root.parent)
    if pairs_file is not None:
        given = Path(pairs_file)
        for candidate in (given, *(p / given for p in places)):
            if candidate.is_file():
                return candidate
        raise ClothflowError(f"pair list not found (looked in {layout.root} and {layout.root.parent})", given)
    names = ("demo.txt",) if layout.kind == "pfafn" else PAIRS_FILES
    split = layout.root.name.lower()
    if split in ("train", "test"):  # a split reads its own list: train/ reads train_pairs.txt, never test_pairs.txt
        names = tuple(n for n in names if n.startswith(split + "_"))
    for place in places:
        for name in names:
            if (place / name).is_file():
                return place / name
    return None

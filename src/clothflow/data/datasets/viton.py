"""Real try-on datasets (VITON, VITON-HD, PF-AFN's test folder, synthetic VITON output) as tensor dicts.

Items follow the try-on contract of :class:`clothflow.data.datasets.synthetic.SyntheticPairs`:
``person`` (3 x H x W float32 in [-1, 1]), ``person_parse`` (H x W int64 LIP ids),
``person_pose`` (18 x 2 float32 pixels at the model size, -1 missing), ``cloth`` (3 x H x W),
``cloth_mask`` (1 x H x W float32 0/1); paired items add ``target`` and ``target_parse`` (the
person wears the cloth), synthetic unpaired items add ``target``, ``target_parse``, ``flow``
(2 x H x W, target -> cloth pixels) and ``visible`` (1 x H x W). Images are resized with area
interpolation (linear when enlarging), label maps, masks and flows with nearest neighbours,
keypoints and flow vectors are scaled.

Example (a VITON test folder; then a tiny synthetic one, as ``clothflow synth`` writes it):
    >>> ds = VitonDataset("data/viton/test", size=(256, 192), mode="paired")  # doctest: +SKIP
    >>> import tempfile
    >>> from clothflow.data.tools.writers import write_dataset
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = write_dataset(tmp, pairs=1, size=(64, 44), progress=False)
    ...     item = VitonDataset(root / "viton", size=(64, 44))[0]  # synthetic: unpaired, with the true flow
    >>> item["person"].shape, item["cloth_mask"].shape, item["flow"].shape
    (torch.Size([3, 64, 44]), torch.Size([1, 64, 44]), torch.Size([2, 64, 44]))
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from clothflow.data.formats.keypoints import read_openpose_json
from clothflow.data.formats.images import read_rgb
from clothflow.data.formats.label_maps import check_same_size, read_label_map, read_mask
from clothflow.core.ops.pose import scale_keypoints
from clothflow.core.images import image_tensor
from clothflow.data.datasets.augment import hflip_item
from clothflow.data.datasets.viton_layout import (
    Pair,
    TryonLayout,
    detect_layout,
    find_layout,
    find_pairs_file,
    read_pairs,
)
from clothflow.core.errors import ClothflowError

log = logging.getLogger(__name__)

MODES = ("paired", "unpaired")
Size = tuple[int, int]


def _resize(array: np.ndarray, size: Size | None, nearest: bool) -> np.ndarray:
    """Resize H x W (x C) to ``size`` (H, W); nearest for labels, area (or linear to enlarge) for images."""
    if size is None or tuple(array.shape[:2]) == tuple(size):
        return array
    if nearest:
        interp = cv2.INTER_NEAREST
    else:
        interp = cv2.INTER_AREA if size[0] <= array.shape[0] and size[1] <= array.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(array, (size[1], size[0]), interpolation=interp)


def load_person(layout: TryonLayout, name: str, size: Size | None) -> dict[str, torch.Tensor]:
    """Load a person image with its parsing and pose (those the layout has).

    Args:
        layout: the dataset layout.
        name: person image file name, e.g. ``000001_0.jpg``.
        size: (H, W) model size, or None for the file's size.

    Returns:
        ``person`` 3 x H x W float32 in [-1, 1]; ``person_parse`` H x W int64 LIP ids;
        ``person_pose`` 18 x 2 float32 pixels at the output size, -1 missing.

    Raises:
        ClothflowError: a missing, corrupt or mismatched file, named in the message.
    """
    files = layout.person_files(name)
    image = read_rgb(files["person"])
    hw = image.shape[:2]
    out_hw = tuple(size) if size is not None else hw
    out = {"person": image_tensor(_resize(image, size, nearest=False))}
    if "person_parse" in files:
        parse = read_label_map(files["person_parse"], layout.scheme)
        check_same_size(parse.shape, hw, files["person_parse"], files["person"])
        out["person_parse"] = torch.from_numpy(_resize(parse, size, nearest=True).astype(np.int64))
    if "person_pose" in files:
        kps = scale_keypoints(read_openpose_json(files["person_pose"]), hw, out_hw)
        out["person_pose"] = torch.from_numpy(kps.astype(np.float32))
    return out


def load_cloth(layout: TryonLayout, name: str, size: Size | None) -> dict[str, torch.Tensor]:
    """Load an in-shop garment and its mask (threshold 127).

    Returns:
        ``cloth`` 3 x H x W float32 in [-1, 1]; ``cloth_mask`` 1 x H x W float32 0/1.

    Raises:
        ClothflowError: a missing or corrupt file, or a mask of another size than its cloth.
    """
    files = layout.cloth_files(name)
    cloth = read_rgb(files["cloth"])
    mask = read_mask(files["cloth_mask"])
    check_same_size(mask.shape, cloth.shape, files["cloth_mask"], files["cloth"])
    mask = _resize(mask.astype(np.uint8), size, nearest=True)
    return {"cloth": image_tensor(_resize(cloth, size, nearest=False)), "cloth_mask": torch.from_numpy(mask)[None].float()}


def _read_flow(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise ClothflowError("file not found", path)
    try:
        with np.load(path) as data:
            flow, visible = data["flow"].astype(np.float32), data["visible"].astype(bool)
    except (OSError, ValueError, KeyError) as exc:
        raise ClothflowError(f"not a flow .npz with 'flow' and 'visible' ({exc})", path) from None
    if flow.ndim != 3 or flow.shape[2] != 2 or visible.shape != flow.shape[:2]:
        raise ClothflowError(f"expected flow H x W x 2 and visible H x W, got {flow.shape} and {visible.shape}", path)
    return flow, visible


def load_truth(layout: TryonLayout, person: str, cloth: str, size: Size | None) -> dict[str, torch.Tensor]:
    """Load the ground truth of an unpaired synthetic pair.

    Returns:
        ``target`` 3 x H x W, ``target_parse`` H x W int64, ``flow`` 2 x H x W float32 (target ->
        cloth pixels at the output size), ``visible`` 1 x H x W float32 0/1.

    Raises:
        ClothflowError: a missing, corrupt or mismatched file.
    """
    files = layout.truth_files(person, cloth)
    target = read_rgb(files["target"])
    parse = read_label_map(files["target_parse"], layout.scheme)
    check_same_size(parse.shape, target.shape, files["target_parse"], files["target"])
    flow, visible = _read_flow(files["flow"])
    check_same_size(flow.shape, target.shape, files["flow"], files["target"])
    if size is not None and tuple(size) != flow.shape[:2]:
        scale = np.array([size[1] / flow.shape[1], size[0] / flow.shape[0]], np.float32)
        flow = _resize(flow, size, nearest=True) * scale
        visible = _resize(visible.astype(np.uint8), size, nearest=True).astype(bool)
    return {
        "target": image_tensor(_resize(target, size, nearest=False)),
        "target_parse": torch.from_numpy(_resize(parse, size, nearest=True).astype(np.int64)),
        "flow": torch.from_numpy(np.ascontiguousarray(flow.transpose(2, 0, 1))),
        "visible": torch.from_numpy(visible)[None].float(),
    }


def pair_files(layout: TryonLayout, pair: Pair, truth: bool) -> dict[str, Path]:
    """Every file an item of ``pair`` reads, by role (``person``, ``person_parse``, ..., ``flow``)."""
    files = {**layout.person_files(pair.person), **layout.cloth_files(pair.cloth)}
    return {**files, **layout.truth_files(pair.person, pair.cloth)} if truth else files


def validate_pair(layout: TryonLayout, pair: Pair, truth: bool = False, deep: bool = True, cache: dict | None = None) -> str | None:
    """Check one pair; returns None when it loads, else the reason (a message naming the file).

    Args:
        layout: the dataset layout.
        pair: the pair (file names) to check.
        truth: also check the synthetic ground truth files.
        deep: decode every file (slow, finds corrupt files); False only checks they exist.
        cache: a dict shared across calls, so each person and cloth is decoded once.

    Returns:
        None, or the one-line reason the pair cannot be loaded.
    """
    for role, path in pair_files(layout, pair, truth).items():
        if not path.is_file():
            return str(ClothflowError(f"missing ({role} of {pair.describe()})", path))
    if not deep:
        return None
    cache = {} if cache is None else cache
    jobs = [("person", pair.person, lambda: load_person(layout, pair.person, None)),
            ("cloth", pair.cloth, lambda: load_cloth(layout, pair.cloth, None))]
    if truth:
        jobs.append(("truth", pair, lambda: load_truth(layout, pair.person, pair.cloth, None)))
    for kind, key, load in jobs:
        if (kind, key) not in cache:
            try:
                load()
                cache[(kind, key)] = None
            except ClothflowError as exc:
                cache[(kind, key)] = str(exc)
        if cache[(kind, key)] is not None:
            return cache[(kind, key)]
    return None


class _FolderPairs(Dataset):
    """Shared machinery: a layout, its pairs, up-front validation, item loading."""

    kinds: tuple[str, ...] = ()

    def __init__(self, root: str | Path, pairs_file: str | Path | None, size: Size, mode: str, skip_bad: bool) -> None:
        self.layout = find_layout(root)
        if self.layout.kind not in self.kinds:
            other = "PfafnDataset" if self.layout.kind == "pfafn" else "VitonDataset"
            raise ClothflowError(f"this is a {self.layout.kind} folder; load it with {other}", self.layout.root)
        self.size = (int(size[0]), int(size[1]))
        self.mode = mode
        self.truth = mode == "unpaired" and self.layout.has_truth
        self.pairs_file = find_pairs_file(self.layout, pairs_file)
        pairs = self._pairs()
        self.skipped: list[tuple[str, str]] = []
        if skip_bad:
            cache: dict = {}
            kept = []
            for pair in pairs:
                reason = validate_pair(self.layout, pair, self.truth, deep=True, cache=cache)
                if reason is None:
                    kept.append(pair)
                else:
                    self.skipped.append((pair.describe(), reason))
            if self.skipped:
                log.warning("skipped %d of %d pairs with bad files", len(self.skipped), len(pairs))
            pairs = kept
        else:
            for pair in pairs:
                reason = validate_pair(self.layout, pair, self.truth, deep=False)
                if reason is not None:
                    raise ClothflowError(reason + self._own_garment_hint(pair))
        self.pairs: list[Pair] = pairs
        self.keys = tuple(self._keys())

    def _own_garment_hint(self, pair: Pair) -> str:
        """What to do when the paired setting lacks a person's own garment (a list of unpaired samples)."""
        if self.mode != "paired" or (self.layout.cloth_dir / pair.cloth).is_file():
            return ""
        taken = f"the list {self.pairs_file}" if self.pairs_file is not None else "every person of image/"
        return (f"; the paired setting scores each person in their own garment, and {taken} names persons whose "
                f"garments are not in {self.layout.cloth_dir}: name a list of persons who have theirs (--pairs FILE)")

    def _pairs(self) -> list[Pair]:
        if self.pairs_file is not None:
            pairs = read_pairs(self.pairs_file)
        elif self.mode == "paired":
            names = sorted(p.name for p in self.layout.image_dir.iterdir() if p.is_file()) if self.layout.image_dir.is_dir() else []
            log.warning("no pair list in %s: each of its %d persons is paired with their own garment (the paired "
                        "setting)", self.layout.root, len(names))
            pairs = [Pair(n, n, "") for n in names]
        else:
            raise ClothflowError("no pair list (test_pairs.txt, ...) found; name one with pairs_file", self.layout.root)
        if self.mode == "paired":
            own = " (paired setting: the person's own garment)"
            pairs = [Pair(p.person, self.layout.own_cloth(p.person), p.source + own if p.source else "") for p in pairs]
        elif any(not p.cloth for p in pairs):
            raise ClothflowError("this list names persons only; use it in the paired setting (mode='paired')",
                                 self.pairs_file)
        return pairs

    def _keys(self) -> list[str]:
        keys = ["person", "cloth", "cloth_mask"]
        if self.layout.parse_dir is not None:
            keys[1:1] = ["person_parse", "person_pose"]
        if self.mode == "paired" and self.layout.parse_dir is not None:
            keys += ["target", "target_parse"]
        elif self.truth:
            keys += ["target", "target_parse", "flow", "visible"]
        return keys

    def _missing_reason(self, key: str) -> str:
        return f"{key} is not available: paired items have no flow, and real unpaired pairs have no ground truth; use mode='paired'"

    def require(self, *keys: str) -> None:
        """Raise unless every item will hold ``keys``.

        Raises:
            ClothflowError: naming the first missing input and how to get it.
        """
        for key in keys:
            if key not in self.keys:
                raise ClothflowError(self._missing_reason(key), self.layout.root)

    mirrored: bool = False  # items len(pairs) .. 2 len(pairs) - 1 are the mirror images

    def __len__(self) -> int:
        return len(self.pairs) * (2 if self.mirrored else 1)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index %= len(self)
        if index >= len(self.pairs):
            return hflip_item(self._item(index - len(self.pairs)))
        return self._item(index)

    def _item(self, index: int) -> dict[str, torch.Tensor]:
        pair = self.pairs[index]
        item = {**load_person(self.layout, pair.person, self.size), **load_cloth(self.layout, pair.cloth, self.size)}
        if self.truth:
            item.update(load_truth(self.layout, pair.person, pair.cloth, self.size))
        elif "target" in self.keys:
            item["target"], item["target_parse"] = item["person"], item["person_parse"]
        return {k: item[k] for k in self.keys}


class VitonDataset(_FolderPairs):
    """Try-on pairs from a VITON, VITON-HD or synthetic VITON folder (see :mod:`clothflow.data.datasets.viton_layout`).

    Args:
        root: the folder holding ``image/`` etc., or its parent with ``test/`` (or ``viton/``).
        pairs_file: pair list path or name (looked up as given, then in the folder and its
            parent); None looks for ``test_pairs.txt``, ``test_samples_pair.txt``, ... and, in
            paired mode, falls back to every image in ``image/``.
        size: (H, W) of the returned tensors.
        mode: "paired" (each person with the garment they wear: the pair list's cloth column is
            replaced by the person's own cloth; adds ``target``, ``target_parse`` = the person) or
            "unpaired" (the pair list as written; synthetic folders add their ground truth).
            None: "unpaired" for synthetic output (it has no paired garments), else "paired".
        skip_bad: decode every pair up front and drop the bad ones, listed in ``skipped`` as
            (pair line, reason); False only checks that the files exist, and items raise on
            bad content.
        mirrored: double the set with the mirror image of every pair (left and right
            swapped, :func:`~clothflow.data.datasets.augment.hflip_item`), as items
            ``len(pairs)`` and on; for training. Not with ground-truth flows.

    Raises:
        ClothflowError: unknown layout, missing pair list or file (when not skipping bad pairs).
    """

    kinds = ("viton", "vitonhd", "synthetic-viton")

    def __init__(
        self,
        root: str | Path,
        pairs_file: str | Path | None = None,
        size: Size = (256, 192),
        mode: str | None = None,
        skip_bad: bool = False,
        mirrored: bool = False,
    ) -> None:
        kind = detect_layout(root)
        if mode is None:
            mode = "unpaired" if kind == "synthetic-viton" else "paired"
        if mode not in MODES:
            raise ClothflowError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if mode == "paired" and kind == "synthetic-viton":
            raise ClothflowError(
                "synthetic output has no in-shop image of the garment each person wears; use mode='unpaired' "
                "(its target/ and flow/ hold the ground truth)",
                root,
            )
        super().__init__(root, pairs_file, size, mode, skip_bad)
        if mirrored and self.truth:
            raise ClothflowError("a synthetic VITON folder's pairs carry a ground-truth flow, which is not mirrored; "
                                 "train on it without --mirror", root)
        self.mirrored = mirrored


class PfafnDataset(_FolderPairs):
    """PF-AFN's test folder: ``test_img/`` persons, ``test_clothes/`` garments, ``test_edge/`` masks, ``demo.txt``.

    Items hold ``person``, ``cloth``, ``cloth_mask`` only: the layout has no parsing and no pose,
    so :meth:`require` raises for ``person_parse`` / ``person_pose`` with how to make them.

    Args:
        root: the folder holding ``test_img/`` etc.
        pairs_file: pair list; default ``demo.txt``.
        size: (H, W) of the returned tensors.
        skip_bad: as in :class:`VitonDataset`.
    """

    kinds = ("pfafn",)

    def __init__(self, root: str | Path, pairs_file: str | Path | None = None, size: Size = (256, 192), skip_bad: bool = False) -> None:
        super().__init__(root, pairs_file, size, "unpaired", skip_bad)

    def _missing_reason(self, key: str) -> str:
        first = f"test_img/{self.pairs[0].person}" if self.pairs else "the persons in test_img/"
        if key in ("person_parse", "person_pose"):
            return (
                f"no parsing or pose for {first}: PF-AFN's layout has none; run `clothflow prepare --image "
                f"{self.layout.image_dir / (self.pairs[0].person if self.pairs else '...')}` to make them, "
                "or use a VITON-layout folder"
            )
        return f"no {key} for {first}: PF-AFN's test layout holds only persons, clothes and cloth edges"


def _folder_problems(layout: TryonLayout) -> list[str]:
    folders = {"person images": layout.image_dir, "cloth images": layout.cloth_dir, "cloth masks": layout.mask_dir,
               "parsings": layout.parse_dir, "poses": layout.pose_dir, "targets": layout.target_dir,
               "target parsings": layout.target_parse_dir, "flows": layout.flow_dir}
    return [str(ClothflowError(f"missing folder of {what}", d)) for what, d in folders.items() if d is not None and not d.is_dir()]


def _images(folder: Path) -> list[str]:
    exts = (".jpg", ".jpeg", ".png")
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in exts) if folder.is_dir() else []


def check_layout(root: str | Path, deep: bool = True) -> list[str]:
    """List every problem of a try-on folder, for ``clothflow inspect``.

    Checks: the layout is recognised and its folders exist; every pair-list line names existing
    files (a VITON or VITON-HD folder without a list: every person's own garment exists); every person image has its parsing and pose and every cloth its mask; and with
    ``deep``, every file decodes and masks / parsings match their image's size.

    Args:
        root: dataset folder (or its parent with ``test/``).
        deep: decode every file (slow on a full dataset).

    Returns:
        One line per problem, each naming the file; empty when the folder is consistent.
    """
    try:
        layout = find_layout(root)
    except ClothflowError as exc:
        return [str(exc)]
    problems = _folder_problems(layout)
    try:
        pairs_file = find_pairs_file(layout, None)
        if pairs_file is not None:
            pairs = read_pairs(pairs_file)
        elif layout.kind in ("viton", "vitonhd"):  # no list: each person with their own garment (the paired setting)
            pairs = [Pair(n, layout.own_cloth(n), "") for n in _images(layout.image_dir)]
        else:
            pairs = []
            problems.append(str(ClothflowError("no pair list (test_pairs.txt, demo.txt, ...)", layout.root)))
    except ClothflowError as exc:
        problems.append(str(exc))
        pairs = []
    for pair in pairs:
        reason = validate_pair(layout, pair, layout.has_truth, deep=False)
        if reason is not None:
            problems.append(reason)
    persons, cloths = _images(layout.image_dir), _images(layout.cloth_dir)
    checks = [(n, layout.person_files(n), load_person) for n in persons]
    checks += [(n, layout.cloth_files(n), load_cloth) for n in cloths]
    for name, files, load in checks:
        missing = [str(ClothflowError(f"missing {role} of {name}", p)) for role, p in files.items() if not p.is_file()]
        problems += missing
        if deep and not missing:
            try:
                load(layout, name, None)
            except ClothflowError as exc:
                problems.append(str(exc))
    if deep and layout.has_truth:
        for pair in pairs:
            if all(p.is_file() for p in layout.truth_files(pair.person, pair.cloth).values()):
                try:
                    load_truth(layout, pair.person, pair.cloth, None)
                except ClothflowError as exc:
                    problems.append(str(exc))
    return list(dict.fromkeys(problems))

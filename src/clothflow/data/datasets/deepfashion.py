"""DeepFashion In-shop pose-transfer data: the PATN / GFLA / pose-gan / NTED splits.

Files of a split: an annotation CSV (``fasion-annotation-test.csv``, ``fasion-resize-...``
or ``fashion-`` spellings: ``name:keypoints_y:keypoints_x``), a pairs CSV (``from,to``), and
the images, named flat (``fashionWOMENTees_Tanksid0000508545_1front.jpg``) or as the raw
DeepFashion tree (``fashion/WOMEN/Tees_Tanks/id_00005085/45_1_front.jpg``).

Keypoint frames: 256 x 256 (pose-gan; the images padded 40 px left and right), 256 x 176
("resize": x - 40) or the high-res photos (1101 x 750). Every frame maps to an image of
another size by scaling to its height and centring horizontally (:func:`map_keypoints`).

Example:
    >>> flatten_name("fashion/WOMEN/Tees_Tanks/id_00005085/45_1_front.jpg")
    'fashionWOMENTees_Tanksid0000508545_1front.jpg'
    >>> raw_name("fashionWOMENTees_Tanksid0000508545_1front.jpg")
    'fashion/WOMEN/Tees_Tanks/id_00005085/45_1_front.jpg'
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from clothflow.core.ops.coarse_layout import coarse_layout, foreground_mask
from clothflow.data.formats.images import fit_flow, fit_to_size, read_gray, read_rgb
from clothflow.data.formats.keypoints import read_annotation_csv, read_pairs_csv
from clothflow.data.synth.poses import PoseSampler
from clothflow.core.ops.pose import visible
from clothflow.core.images import flow_tensors, image_tensor, iuv_tensor
from clothflow.core.errors import ClothflowError

log = logging.getLogger(__name__)

FRAME_POSEGAN = (256, 256)
FRAME_RESIZE = (256, 176)
FRAME_HIGHRES = (1101, 750)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

_FLAT = re.compile(r"^fashion(WOMEN|MEN)(.+?)id(\d{8})(\d+)_(\d+)([A-Za-z]+)(\.\w+)$")
_RAW_FILE = re.compile(r"^(\d+)_(\d+)_([A-Za-z]+)(\.\w+)$")


def flatten_name(raw: str) -> str:
    """A raw DeepFashion path -> the flat file name the pose-transfer splits use.

    ``fashion/WOMEN/Tees_Tanks/id_00005085/45_1_front.jpg`` ->
    ``fashionWOMENTees_Tanksid0000508545_1front.jpg``: ``fashion`` + gender + category (its
    underscores kept) + ``id`` + the 8 id digits + the file name with its second underscore
    removed. Any prefix before the gender folder (``img/``, ``./fashion/``) is ignored.
    Already-flat names are returned unchanged.

    Args:
        raw: the path, ``/`` or ``\\`` separated.

    Returns:
        The flat name.

    Raises:
        ClothflowError: a name in neither form.
    """
    parts = [p for p in re.split(r"[\\/]", raw.strip()) if p]
    if len(parts) == 1 and _FLAT.match(parts[0]):
        return parts[0]
    m = _RAW_FILE.match(parts[-1]) if len(parts) >= 4 else None
    if m is None or parts[-4] not in ("MEN", "WOMEN") or not re.fullmatch(r"id_\d{8}", parts[-2]):
        raise ClothflowError(f"not a DeepFashion image name: {raw!r}")
    gender, category, ident = parts[-4], parts[-3], parts[-2]
    return f"fashion{gender}{category}id{ident[3:]}{m.group(1)}_{m.group(2)}{m.group(3)}{m.group(4)}"


def raw_name(flat: str) -> str:
    """The inverse of :func:`flatten_name`: ``fashion/<gender>/<category>/id_<8 digits>/<file>``.

    Args:
        flat: a flat name such as ``fashionWOMENTees_Tanksid0000508545_1front.jpg``.

    Returns:
        The raw relative path, ``/`` separated.

    Raises:
        ClothflowError: not a flat DeepFashion name.
    """
    m = _FLAT.match(flat.strip())
    if m is None:
        raise ClothflowError(f"not a flat DeepFashion image name: {flat!r}")
    gender, category, ident, num, view_n, view, ext = m.groups()
    return f"fashion/{gender}/{category}/id_{ident}/{num}_{view_n}_{view}{ext}"


def canonical_name(name: str) -> str:
    """The flat name for a raw DeepFashion path; any other name unchanged (e.g. synthetic)."""
    if "/" in name or "\\" in name:
        try:
            return flatten_name(name)
        except ClothflowError:
            return name.replace("\\", "/")
    return name.strip()


# ---- frames --------------------------------------------------------------------------------
def detect_frame(poses: dict[str, np.ndarray], csv_name: str = "", image_hw: tuple[int, int] | None = None) -> tuple[tuple[int, int], str]:
    """Detect the (H, W) pixel frame of a split's keypoints.

    Rules, in order: a "resize" annotation file is in its images' pixels (256 x 176 without
    images); points beyond 256 px are in the high-res images' pixels (1101 x 750 without
    images); x beyond 176 is the 256 x 256 pose-gan frame; otherwise the images' pixels, or
    256 x 256 without images (the convention of files without "resize" in their name).

    Args:
        poses: name -> 18 x 2 (x, y), -1 missing.
        csv_name: the annotation file name.
        image_hw: the (H, W) of the split's images, when known.

    Returns:
        ((H, W), the reason, for the user).
    """
    kps = np.stack(list(poses.values())) if poses else np.full((1, 18, 2), -1.0)
    pts = kps[visible(kps)]
    max_x = float(pts[:, 0].max()) if len(pts) else 0.0
    max_y = float(pts[:, 1].max()) if len(pts) else 0.0
    if "resize" in csv_name.lower():
        return (image_hw or FRAME_RESIZE), "annotation file name says 'resize' (image pixels)"
    if max_x >= 256 or max_y >= 256:
        return (image_hw or FRAME_HIGHRES), f"keypoints up to ({max_x:.0f}, {max_y:.0f}): high-res frame (image pixels)"
    if max_x >= FRAME_RESIZE[1]:
        return FRAME_POSEGAN, f"x up to {max_x:.0f} (beyond 176): pose-gan 256 x 256 frame"
    if image_hw is not None:
        return image_hw, "keypoints within 256 x 176: taken as image pixels"
    return FRAME_POSEGAN, "no 'resize' in the file name: pose-gan 256 x 256 frame"


def frame_problem(frame: tuple[int, int], image_hw: tuple[int, int]) -> str | None:
    """Why keypoints in ``frame`` cannot belong to an image of ``image_hw`` (None if they can).

    A frame fits an image when, scaled to the image's height, it is as wide as the image
    (same aspect, 2 % tolerance) or up to 1.5 x wider (the image padded left and right, as
    256 x 176 photos in the 256 x 256 frame).
    """
    scaled_w = frame[1] * image_hw[0] / frame[0]
    if image_hw[1] * 0.98 - 1 <= scaled_w <= image_hw[1] * 1.5 + 1:
        return None
    return (f"keypoints are in a {frame[0]} x {frame[1]} frame but the images are "
            f"{image_hw[0]} x {image_hw[1]}; pass frame=(H, W) if the frame is wrong")


def map_keypoints(kps: np.ndarray, frame: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Keypoints in ``frame`` -> pixels of an image of ``size``: scale to height, centre in x.

    Args:
        kps: ... x 18 x 2 (x, y), -1 missing.
        frame: (H, W) of the keypoints' frame.
        size: (H, W) of the output image.

    Returns:
        float32, same shape; points missing or outside the image are -1.
    """
    kps = np.asarray(kps, np.float32)
    s = size[0] / frame[0]
    out = np.empty_like(kps)
    out[..., 0] = (kps[..., 0] - frame[1] / 2) * s + size[1] / 2
    out[..., 1] = kps[..., 1] * s
    inside = visible(kps) & (out[..., 0] >= 0) & (out[..., 0] < size[1]) & (out[..., 1] < size[0])
    out[~inside] = -1
    return out


# ---- splits --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Split:
    """A pose-transfer split: poses by (flat) image name, pairs, and the keypoint frame.

    Attributes:
        poses: name -> 18 x 2 float32 (x, y) in ``frame``, -1 missing.
        pairs: (source name, target name) list.
        frame: (H, W) of the keypoints.
        frame_reason: how the frame was chosen.
        annotation_csv, pairs_csv: the files read.
    """

    poses: dict[str, np.ndarray]
    pairs: list[tuple[str, str]]
    frame: tuple[int, int]
    frame_reason: str
    annotation_csv: Path
    pairs_csv: Path | None

    def unknown_names(self) -> list[str]:
        """Names used by pairs but absent from the annotation, in first-use order."""
        seen: dict[str, None] = {}
        for a, b in self.pairs:
            for n in (a, b):
                if n not in self.poses:
                    seen.setdefault(n)
        return list(seen)


def load_split(annotation_csv: str | Path, pairs_csv: str | Path | None = None, frame: tuple[int, int] | None = None,
               image_hw: tuple[int, int] | None = None) -> Split:
    """Read a split's annotation and pair list (no images needed); names made flat.

    Args:
        annotation_csv: the keypoint CSV.
        pairs_csv: the pair list; None = no pairs.
        frame: the keypoints' (H, W) frame if known; default detected (:func:`detect_frame`).
        image_hw: the images' (H, W), when known (helps detection).

    Returns:
        A :class:`Split`.

    Raises:
        ClothflowError: unreadable or malformed files, or keypoints outside a stated frame.
    """
    annotation_csv = Path(annotation_csv)
    poses = {canonical_name(k): v for k, v in read_annotation_csv(annotation_csv).items()}
    pairs = [] if pairs_csv is None else [(canonical_name(a), canonical_name(b)) for a, b in read_pairs_csv(pairs_csv)]
    if frame is not None:
        frame = (int(frame[0]), int(frame[1]))
        kps = np.stack(list(poses.values())) if poses else np.full((1, 18, 2), -1.0, np.float32)
        ok = visible(kps)
        outside = int((ok & ((kps[..., 0] >= frame[1]) | (kps[..., 1] >= frame[0]))).sum())
        if outside:
            raise ClothflowError(f"{outside} keypoints lie outside the stated {frame[0]} x {frame[1]} frame", annotation_csv)
        reason = "stated"
    else:
        frame, reason = detect_frame(poses, annotation_csv.name, image_hw)
    return Split(poses, pairs, frame, reason, annotation_csv, None if pairs_csv is None else Path(pairs_csv))


def find_split_files(root: str | Path) -> tuple[Path | None, Path | None]:
    """The annotation and pairs CSVs of a folder (test split preferred), or None each.

    Args:
        root: a dataset folder.

    Returns:
        (annotation CSV, pairs CSV).
    """
    root = Path(root)
    csvs = sorted(root.glob("*.csv")) if root.is_dir() else []
    ann = [p for p in csvs if "annotation" in p.name.lower()]
    pairs = [p for p in csvs if "pairs" in p.name.lower()]
    pick = lambda ps: (sorted(ps, key=lambda p: ("test" not in p.name.lower(), p.name)) or [None])[0]  # noqa: E731
    chosen_pairs = pick(pairs)
    split_word = "train" if chosen_pairs is not None and "train" in chosen_pairs.name.lower() else "test"
    same = [p for p in ann if split_word in p.name.lower()]
    return pick(same or ann), chosen_pairs


IMAGE_DIRS = ("images", "img", "test", "train", "fashion")


def index_images(root: str | Path, exclude: tuple[str, ...] = ("parsing", "flow", "samples_deform")) -> dict[str, Path]:
    """Image files under a dataset folder, keyed by flat name and by stem.

    Searches ``root/images``, ``root/img``, ``root/test``, ``root/train``, ``root/fashion``
    (recursively) and ``root`` itself; ``*_sil`` / ``*_iuv`` helper images are skipped.

    Args:
        root: the dataset folder.
        exclude: sub-folder names never searched.

    Returns:
        key -> path, keys both the flat file name and its stem (first found wins).
    """
    root = Path(root)
    found: dict[str, Path] = {}
    sources = [(root / d, True) for d in IMAGE_DIRS] + [(root, False)]
    for folder, recursive in sources:
        if not folder.is_dir():
            continue
        for p in sorted(folder.rglob("*") if recursive else folder.iterdir()):
            if p.suffix.lower() not in IMAGE_SUFFIXES or p.stem.endswith(("_sil", "_iuv")) or not p.is_file():
                continue
            if any(part in exclude for part in p.relative_to(root).parts[:-1]):
                continue
            name = canonical_name(p.relative_to(folder).as_posix()) if recursive else p.name
            found.setdefault(name, p)
            found.setdefault(Path(name).stem, p)
    return found


def lookup(images: dict[str, Path], name: str) -> Path | None:
    """The image file of a split name (exact flat name, else the same stem)."""
    return images.get(name) or images.get(Path(name).stem)


# ---- dataset -------------------------------------------------------------------------------
def _iuv_file(image: Path) -> Path:
    return image.with_name(f"{image.stem}_iuv.png")


class DeepFashionPairs(Dataset):
    """DeepFashion pose-transfer pairs as dicts of tensors (the :class:`SyntheticPairs` contract).

    Keys: ``src_image``, ``tgt_image`` (3 x H x W float32 in [-1, 1]), ``src_parse``,
    ``tgt_parse`` (H x W int64 LIP ids), ``src_pose``, ``tgt_pose`` (18 x 2 float32 pixels at
    ``size``, -1 missing); ``src_iuv``/``tgt_iuv`` when every image has a ``<stem>_iuv.png``;
    ``flow``/``visible`` when every pair has ``flow/<src>__<tgt>.npz`` (the synthetic layout).
    The keys are the same for every item.

    Parsing comes from ``parsing_dir`` (or ``root/parsing``): ``<image stem>.png`` LIP ids.
    Without it, a coarse layout is derived from the pose and a person mask (a ``<stem>_sil.png``
    silhouette when present, else background thresholding); see :mod:`coarse_layout` for its limits.

    Args:
        root: dataset folder (images in ``images/``, ``img/``, ``test/``, ``train/``, ``fashion/``
            or the folder itself; also a ``clothflow synth`` output's ``deepfashion/``).
        pairs_csv: pair list; default the folder's ``*pairs*.csv`` (test preferred).
        annotation_csv: keypoints; default the folder's ``*annotation*.csv``.
        size: (H, W) of the tensors.
        parsing_dir: folder of LIP-id PNGs named by image stem.
        frame: (H, W) frame of the keypoints; default detected.

    Raises:
        ClothflowError: missing CSVs or images, pairs naming unknown images, a keypoint frame
            that does not fit the images.
    """

    def __init__(self, root: str | Path, pairs_csv: str | Path | None = None, annotation_csv: str | Path | None = None,
                 size: tuple[int, int] = (256, 176), parsing_dir: str | Path | None = None,
                 frame: tuple[int, int] | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ClothflowError("dataset folder not found", self.root)
        found_ann, found_pairs = find_split_files(self.root)
        annotation_csv = annotation_csv or found_ann
        pairs_csv = pairs_csv or found_pairs
        if annotation_csv is None or pairs_csv is None:
            raise ClothflowError("no annotation CSV (*annotation*.csv) or pairs CSV (*pairs*.csv) here", self.root)
        self.images = index_images(self.root)
        if not self.images:
            raise ClothflowError(f"no images found (looked in {', '.join(IMAGE_DIRS)} and the folder itself)", self.root)
        self.size = (int(size[0]), int(size[1]))
        split = load_split(annotation_csv, pairs_csv, frame)
        first = lookup(self.images, split.pairs[0][0]) if split.pairs else None
        first_hw = read_rgb(first).shape[:2] if first is not None else None
        if frame is None and first_hw is not None:
            split = load_split(annotation_csv, pairs_csv, None, first_hw)
        self.split = split
        if not split.pairs:
            raise ClothflowError("the pair list is empty", pairs_csv)
        unknown = split.unknown_names()
        if unknown:
            raise ClothflowError(f"{len(unknown)} images named by the pairs have no keypoints in "
                                 f"{split.annotation_csv.name}, e.g. {unknown[0]}", pairs_csv)
        names = list(dict.fromkeys(n for pair in split.pairs for n in pair))
        missing = [n for n in names if lookup(self.images, n) is None]
        if missing:
            raise ClothflowError(f"{len(missing)} of {len(names)} images named by the pairs are missing, e.g. {missing[0]}", self.root)
        if first_hw is not None and (problem := frame_problem(split.frame, first_hw)):
            raise ClothflowError(problem, split.annotation_csv)
        self._check_image = first_hw
        parsing = Path(parsing_dir) if parsing_dir is not None else self.root / "parsing"
        self.parsing_dir = parsing if parsing.is_dir() else None
        if parsing_dir is not None and self.parsing_dir is None:
            raise ClothflowError("parsing folder not found", parsing_dir)
        self.with_iuv = all(_iuv_file(lookup(self.images, n)).is_file() for n in names)
        self.with_flow = all(self._flow_file(a, b).is_file() for a, b in split.pairs)
        self.parse_source = ("parsing maps from " + str(self.parsing_dir)) if self.parsing_dir else \
            "coarse layout from pose + person mask (silhouette *_sil.png where present, else background threshold)"
        log.info("DeepFashion %s: %d pairs, keypoint frame %d x %d (%s); %s", self.root, len(split.pairs),
                 *split.frame, split.frame_reason, self.parse_source)

    def _flow_file(self, src: str, tgt: str) -> Path:
        return self.root / "flow" / f"{Path(src).stem}__{Path(tgt).stem}.npz"

    def __len__(self) -> int:
        return len(self.split.pairs)

    def _person(self, prefix: str, name: str) -> dict[str, torch.Tensor]:
        path = lookup(self.images, name)
        image = read_rgb(path)
        if image.shape[:2] != self._check_image and (problem := frame_problem(self.split.frame, image.shape[:2])):
            raise ClothflowError(problem, path)
        kps = map_keypoints(self.split.poses[name], self.split.frame, self.size)
        img = fit_to_size(image, self.size)
        if self.parsing_dir is not None:
            parse = fit_to_size(read_gray(self.parsing_dir / f"{path.stem}.png"), self.size, nearest=True, pad=0)
        else:
            sil = path.with_name(f"{path.stem}_sil.png")
            mask = fit_to_size(read_gray(sil), self.size, nearest=True, pad=0) > 127 if sil.is_file() else foreground_mask(img, kps)
            parse = coarse_layout(kps, self.size, mask)
        out = {f"{prefix}_image": image_tensor(img), f"{prefix}_parse": torch.from_numpy(parse.astype(np.int64)),
               f"{prefix}_pose": torch.from_numpy(kps)}
        if self.with_iuv:
            out[f"{prefix}_iuv"] = iuv_tensor(fit_to_size(read_rgb(_iuv_file(path)), self.size, nearest=True, pad=0))
        return out

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} pairs")
        src, tgt = self.split.pairs[index]
        item = {**self._person("src", src), **self._person("tgt", tgt)}
        if self.with_flow:
            path = self._flow_file(src, tgt)
            try:
                with np.load(path) as z:
                    flow, vis = z["flow"], z["visible"]
            except (OSError, ValueError, KeyError, EOFError) as exc:
                raise ClothflowError(f"not a flow file with 'flow' and 'visible' ({type(exc).__name__})", path) from None
            if flow.ndim != 3 or flow.shape[-1] != 2 or vis.shape != flow.shape[:2]:
                raise ClothflowError(f"flow has shape {flow.shape}, visible {vis.shape}", path)
            item["flow"], item["visible"] = flow_tensors(*fit_flow(flow, vis, self.size))
        return item


def real_pose_sampler(poses: str | Path | PoseSampler, frame: tuple[int, int] | None = None) -> PoseSampler:
    """A :class:`PoseSampler` over the poses of a DeepFashion annotation CSV (frame detected).

    Args:
        poses: the annotation CSV (a sampler is returned unchanged).
        frame: (H, W) of its keypoints; default detected (:func:`detect_frame`).

    Returns:
        The sampler; poses with fewer than 3 keypoints are dropped.

    Raises:
        ClothflowError: unreadable CSV, or no usable pose (naming the file).
    """
    if isinstance(poses, PoseSampler):
        return poses
    split = load_split(poses, None, frame)
    log.info("real poses: %d from %s, keypoint frame %d x %d (%s)", len(split.poses), split.annotation_csv.name,
             *split.frame, split.frame_reason)
    if not split.poses:
        raise ClothflowError("the annotation CSV has no poses", poses)
    try:
        return PoseSampler.from_keypoints(np.stack(list(split.poses.values())), split.frame)
    except ClothflowError as exc:
        raise ClothflowError(str(exc), poses) from None

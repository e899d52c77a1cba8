"""``clothflow inspect PATH``: recognise a dataset folder and list what is in it and what is wrong.

Recognised: DeepFashion pose transfer (real, keypoints-only, or the synthetic ``deepfashion/``
written by ``clothflow synth``), pose pair tables (``pairs.csv`` by dataset and split), the try-on layouts VITON, VITON-HD, PF-AFN and synthetic VITON
(through :mod:`clothflow.data.datasets.viton` when it is installed), the synthetic output root (holding
``deepfashion/`` and ``viton/``), and a single annotation or pairs CSV.

Example:
    >>> report = inspect_path("no/such/folder")
    >>> report.usable, report.problems[0].endswith("not found")
    (False, True)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clothflow.data.datasets.deepfashion import (
    detect_frame,
    find_split_files,
    frame_problem,
    index_images,
    load_split,
    lookup,
)
from clothflow.data.formats.images import ImageFileError, read_header
from clothflow.data.formats.keypoints import read_annotation_csv, read_pairs_csv
from clothflow.data.formats.pose_pairs import is_pair_table
from clothflow.core.ops.pose import visible
from clothflow.core.errors import ClothflowError

MAX_SIZE_CHECKS = 5000  # image headers read per folder (sizes, corrupt files)


@dataclass
class Report:
    """What ``inspect`` found in one folder.

    Attributes:
        path: the folder or file inspected.
        kind: the layout recognised, in words ("unknown" when none).
        facts: (label, value) lines: counts, sizes, keypoint frame.
        problems: every missing or inconsistent file, one line each, naming the file.
        usable: False when a dataset cannot be loaded from it.
        parts: sub-reports (the synthetic output root has two).
    """

    path: Path
    kind: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    usable: bool = True
    parts: list["Report"] = field(default_factory=list)

    def all_usable(self) -> bool:
        """This report and every part usable."""
        return self.usable and all(p.all_usable() for p in self.parts)


def _tryon_functions():
    """(detect_layout, check_layout) of the try-on module, or None when it is not available."""
    try:
        from clothflow.data.datasets.viton import check_layout, detect_layout
    except ImportError:
        return None
    return detect_layout, check_layout


def _image_sizes(paths: list[Path]) -> tuple[Counter, list[str]]:
    """Counter of (H, W) over image headers, and a problem line per file the image reader refuses."""
    sizes: Counter = Counter()
    bad: list[str] = []
    for p in paths[:MAX_SIZE_CHECKS]:
        try:
            header = read_header(p)
        except ImageFileError as exc:  # refused the way every reader of the package refuses it
            bad.append(str(exc))
            continue
        sizes[(header.height, header.width)] += 1
    return sizes, bad


def _sizes_text(sizes: Counter, total: int) -> str:
    if not sizes:
        return "-"
    text = ", ".join(f"{h} x {w} ({n})" if len(sizes) > 1 else f"{h} x {w}" for (h, w), n in sizes.most_common(3))
    more = " ..." if len(sizes) > 3 else ""
    checked = f" [first {MAX_SIZE_CHECKS} checked]" if total > MAX_SIZE_CHECKS else ""
    return text + more + checked


def inspect_deepfashion(root: Path, annotation_csv: Path | None = None, pairs_csv: Path | None = None) -> Report:
    """Inspect a DeepFashion pose-transfer folder (or just its CSVs).

    Args:
        root: the folder.
        annotation_csv, pairs_csv: the files to use; default found in ``root``.

    Returns:
        A :class:`Report`; unusable when a CSV is unreadable, there are no pairs, pairs name
        images without keypoints, or images exist but some named by the pairs are missing.
    """
    found_ann, found_pairs = find_split_files(root)
    ann, pairs_file = annotation_csv or found_ann, pairs_csv or found_pairs
    synthetic = (root / "flow").is_dir() and (root / "images").is_dir()
    rep = Report(root, "DeepFashion pose transfer" + (" (synthetic, clothflow synth)" if synthetic else ""))
    images = index_images(root)
    files = sorted(set(images.values()))
    if ann is None:
        rep.problems.append(str(ClothflowError("no annotation CSV (*annotation*.csv)", root)))
    if pairs_file is None:
        rep.problems.append(str(ClothflowError("no pairs CSV (*pairs*.csv)", root)))
    sizes, bad = _image_sizes(files)
    rep.problems += bad
    image_hw = sizes.most_common(1)[0][0] if sizes else None
    if ann is None or pairs_file is None:
        rep.usable = False
        rep.facts.append(("images", f"{len(files)}  {_sizes_text(sizes, len(files))}"))
        return rep
    try:
        split = load_split(ann, pairs_file, None, image_hw)
    except ClothflowError as exc:
        rep.problems.insert(0, str(exc))
        rep.usable = False
        return rep
    kps = np.stack(list(split.poses.values())) if split.poses else np.zeros((0, 18, 2))
    empty = int((visible(kps).sum(-1) == 0).sum()) if len(kps) else 0
    names = list(dict.fromkeys(n for pair in split.pairs for n in pair))
    rep.facts += [
        ("annotation", f"{ann.name}: {len(split.poses)} poses" + (f" ({empty} without keypoints)" if empty else "")),
        ("pairs", f"{pairs_file.name}: {len(split.pairs)} pairs of {len(names)} images"),
        ("images", f"{len(files)}  {_sizes_text(sizes, len(files))}" if files else "none (keypoints only: usable by synth --poses)"),
        ("keypoints", f"frame {split.frame[0]} x {split.frame[1]} ({split.frame_reason})"),
    ]
    if not split.pairs:
        rep.problems.append(str(ClothflowError("the pair list is empty", pairs_file)))
    for name in split.unknown_names():
        rep.problems.append(str(ClothflowError(f"pair names {name}, which has no keypoints in {ann.name}", pairs_file)))
    if files:
        rep.problems += [str(ClothflowError(f"image of {n} is missing", root)) for n in names if lookup(images, n) is None]
        for hw in sizes:
            if problem := frame_problem(split.frame, hw):
                rep.problems.append(str(ClothflowError(problem, ann)))
        parsing = root / "parsing"
        if parsing.is_dir():
            have = {n for n in names if lookup(images, n) is not None and (parsing / f"{lookup(images, n).stem}.png").is_file()}
            rep.facts.append(("parsing", f"{len(list(parsing.glob('*.png')))} maps in parsing/"))
            rep.problems += [str(ClothflowError(f"no parsing map for {n}", parsing)) for n in names if n not in have]
        else:
            rep.facts.append(("parsing", "none: a coarse layout from pose + person mask will be used"))
        if (root / "flow").is_dir():
            flows = [(a, b) for a, b in split.pairs if (root / "flow" / f"{Path(a).stem}__{Path(b).stem}.npz").is_file()]
            rep.facts.append(("flow", f"{len(flows)} of {len(split.pairs)} pairs have ground-truth flow"))
    rep.usable = not rep.problems
    return rep


def inspect_tryon(root: Path, kind: str, check_layout) -> Report:
    """Inspect a try-on folder with the try-on module's ``check_layout``."""
    names = {"viton": "VITON (CP-VTON layout)", "vitonhd": "VITON-HD", "pfafn": "PF-AFN test folder",
             "synthetic-viton": "VITON (synthetic, clothflow synth)"}
    rep = Report(root, names.get(kind, kind))
    try:
        from clothflow.data.datasets.viton_layout import find_layout, find_pairs_file, read_pairs

        layout = find_layout(root)
        imgs = [p for p in sorted(layout.image_dir.iterdir()) if p.is_file()] if layout.image_dir.is_dir() else []
        cloths = [p for p in layout.cloth_dir.iterdir() if p.is_file()] if layout.cloth_dir.is_dir() else []
        poses = len(list(layout.pose_dir.glob("*.json"))) if layout.pose_dir is not None and layout.pose_dir.is_dir() else 0
        pairs_file = find_pairs_file(layout, None)
        pairs = read_pairs(pairs_file) if pairs_file is not None else []
        sizes, _ = _image_sizes(imgs)
        rep.facts += [("pairs", f"{pairs_file.name if pairs_file else '-'}: {len(pairs)} pairs"),
                      ("images", f"{len(imgs)} persons, {len(cloths)} garments  {_sizes_text(sizes, len(imgs))}"),
                      ("poses", f"{poses} OpenPose JSON files")]
        if pairs and kind in ("viton", "vitonhd"):  # what evaluate (the paired setting) can score
            own = sum((layout.cloth_dir / layout.own_cloth(p.person)).is_file() for p in pairs)
            rep.facts.append(("paired", f"{own} of {len(pairs)} persons have their own garment in cloth/ "
                                        "(evaluate scores each person in it)"))
        if not pairs:
            rep.usable = False
    except ImportError:
        pass
    except ClothflowError as exc:
        rep.problems.append(str(exc))
        rep.usable = False
    rep.problems += [p for p in check_layout(root) if p not in rep.problems]
    rep.usable = rep.usable and not rep.problems
    return rep


def inspect_pair_table(root: Path) -> Report:
    """Inspect a pose pair table folder (``pairs.csv`` with dataset,split,person,source,target)."""
    from clothflow.data.formats.pose_pairs import (cached_parsing, default_cache, keypoint_table, read_estimated,
                                                   read_pair_table)

    rep = Report(root, "pose pair table (pairs.csv: same-person pairs by dataset and split)")
    try:
        rows = read_pair_table(root, check_files=False)
    except ClothflowError as exc:
        return Report(root, rep.kind, problems=[str(exc)], usable=False)
    cache = default_cache(root)
    for dataset in dict.fromkeys(r.dataset for r in rows):
        mine = [r for r in rows if r.dataset == dataset]
        photos = list(dict.fromkeys(p for r in mine for p in (r.source, r.target)))
        splits = Counter(r.split for r in mine)
        peers = Counter(r.peer for r in mine if r.peer)
        sizes, bad = _image_sizes([p for p in photos if p.is_file()])
        rep.problems += bad + [f"{root / 'pairs.csv'}: line {r.line}: photo {p.name} is missing"
                               for r in mine for p in (r.source, r.target) if not p.is_file()]
        rep.problems += [f"{root / 'pairs.csv'}: line {r.line}: {r.peer} output {r.peer_output.name} is missing"
                         for r in mine if r.peer_output is not None and not r.peer_output.is_file()]
        table = keypoint_table(root, dataset)
        try:
            given = read_annotation_csv(table) if table.is_file() else {}
        except ClothflowError as exc:
            rep.problems.append(str(exc))
            given = {}
        estimated = read_estimated(cache, dataset)
        lacking = [p for p in photos if p.name not in given]
        parsed = sum(cached_parsing(cache, dataset, p).is_file() for p in photos)
        rep.facts += [
            (dataset, ", ".join(f"{n} {split} pairs" for split, n in splits.items())
             + f"; {len({r.person for r in mine})} persons, {len(photos)} photos  {_sizes_text(sizes, len(photos))}"),
            (f"{dataset} keypoints", f"{len(photos) - len(lacking)} photos in {table.name if table.is_file() else '(none)'}"
             + (f"; {len(lacking)} without ({sum(p.name in estimated for p in lacking)} estimated in the cache)"
                if lacking else "")),
            (f"{dataset} parsings", f"{parsed} of {len(photos)} in the cache {cache}"),
        ]
        if peers:
            rep.facts.append((f"{dataset} published", ", ".join(f"{k} {n}" for k, n in peers.items())))
    rep.usable = not rep.problems
    return rep


def inspect_path(path: str | Path) -> Report:
    """Recognise and inspect a dataset folder or CSV file.

    Args:
        path: a folder (any supported layout) or a DeepFashion annotation / pairs CSV.

    Returns:
        A :class:`Report` (with ``parts`` for the synthetic output root).
    """
    path = Path(path)
    if path.is_file() and is_pair_table(path):
        return inspect_pair_table(path.parent)
    if path.is_file() and path.suffix.lower() == ".csv":
        return _inspect_csv(path)
    if not path.is_dir():
        return Report(path, "unknown", problems=[str(ClothflowError("not found", path))], usable=False)
    if (path / "deepfashion").is_dir() and (path / "viton").is_dir():
        rep = Report(path, "clothflow synthetic output (deepfashion/ + viton/)")
        rep.parts = [inspect_path(path / "deepfashion"), inspect_path(path / "viton")]
        return rep
    if is_pair_table(path):
        return inspect_pair_table(path)
    tryon = _tryon_functions()
    ann, pairs = find_split_files(path)
    if ann is not None or pairs is not None:
        return inspect_deepfashion(path)
    kind = tryon[0](path) if tryon is not None else None
    if kind is not None:
        return inspect_tryon(path, kind, tryon[1])
    hint = "" if tryon is not None else " (VITON support is not installed)"
    return Report(path, "unknown", problems=[str(ClothflowError(
        "no known dataset layout: expected DeepFashion CSVs (*annotation*.csv, *pairs*.csv), VITON / VITON-HD / "
        f"PF-AFN folders, or a clothflow synth output{hint}", path))], usable=False)


def _inspect_csv(path: Path) -> Report:
    """Report on one annotation or pairs CSV."""
    is_pairs = "pair" in path.name.lower()
    rep = Report(path, "DeepFashion pairs CSV" if is_pairs else "DeepFashion annotation CSV")
    try:
        if is_pairs:
            pairs = read_pairs_csv(path)
            rep.facts.append(("pairs", f"{len(pairs)} pairs of {len({n for p in pairs for n in p})} images"))
            rep.usable = bool(pairs)
            if not pairs:
                rep.problems.append(str(ClothflowError("the pair list is empty", path)))
        else:
            poses = read_annotation_csv(path)
            frame, reason = detect_frame(poses, path.name)
            rep.facts += [("poses", str(len(poses))), ("keypoints", f"frame {frame[0]} x {frame[1]} ({reason})")]
    except ClothflowError as exc:
        rep.problems.append(str(exc))
        rep.usable = False
    return rep


def format_report(report: Report, max_problems: int = 20, indent: str = "") -> str:
    """A readable report: a title line, aligned facts, then the problems (capped).

    Args:
        report: from :func:`inspect_path`.
        max_problems: problems listed before "... and N more".
        indent: prefix of every line (for parts).

    Returns:
        The text, without a trailing newline.
    """
    lines = [f"{indent}{report.path}: {report.kind}"]
    width = max([len(k) for k, _ in report.facts] + [6])
    lines += [f"{indent}  {k.ljust(width)}  {v}" for k, v in report.facts]
    for part in report.parts:
        lines.append(format_report(part, max_problems, indent + "  "))
    if report.problems:
        lines.append(f"{indent}  {'status'.ljust(width)}  {'UNUSABLE' if not report.usable else 'usable'}, "
                     f"{len(report.problems)} problem{'s' if len(report.problems) != 1 else ''}:")
        lines += [f"{indent}    - {p}" for p in report.problems[:max_problems]]
        if len(report.problems) > max_problems:
            lines.append(f"{indent}    ... and {len(report.problems) - max_problems} more")
    elif not report.parts:
        lines.append(f"{indent}  {'status'.ljust(width)}  {'usable' if report.usable else 'UNUSABLE'}")
    return "\n".join(lines)

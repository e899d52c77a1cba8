"""What a pair table's photos lack, estimated once and kept: parsings and missing keypoints.

A pair table (:mod:`clothflow.data.formats.pose_pairs`) brings photos and, for most of them,
keypoints. Pose transfer also reads the source's parsing, and the target's keypoints. This
module makes them for every photo of the selected rows and keeps them in a cache folder
(:func:`~clothflow.data.formats.pose_pairs.default_cache`), which
:class:`~clothflow.data.datasets.pose_pairs.PosePairs` reads::

    CACHE/parsing/<dataset>/<photo stem>.png   LIP ids by the shipped human parser
    CACHE/keypoints/<dataset>.csv              keypoints estimated for photos without a row
    CACHE/no_pose/<dataset>.txt                photos where no pose could be found

Photos already in the cache are not estimated again; photos where no pose was found are looked
at again on every run (the list says which they were last time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clothflow.core.files import atomic_write_text
from clothflow.estimate.photo import FROM_PARSING, person_pose
from clothflow.data.formats.images import read_gray, read_rgb
from clothflow.data.formats.keypoints import annotation_row, read_annotation_csv
from clothflow.data.formats.pose_pairs import (PairRow, cached_keypoints, cached_parsing, keypoint_table, no_pose_list,
                                               read_estimated)


@dataclass
class CacheReport:
    """What :func:`prepare_pair_photos` did: counts (``from_parsing``: of the estimated keypoints,
    those read off the parsing, the estimator having found no one), and the photos with no pose."""

    photos: int = 0
    parsed: int = 0
    estimated: int = 0
    from_parsing: int = 0
    no_pose: list[Path] = field(default_factory=list)


def prepare_pair_photos(rows: list[PairRow], cache: Path, parser=None, keypoints: bool = True,
                        progress: bool = False) -> CacheReport:
    """Parse every photo of ``rows`` and estimate the keypoints missing from its dataset's CSV.

    Args:
        rows: the selected pair-table rows.
        cache: the cache folder (created).
        parser: a :class:`~clothflow.models.parser.HumanParser`; None: the shipped one (no
            parsings are made when none ships).
        keypoints: estimate missing keypoints (needs the ``[pose]`` extra).
        progress: show a progress bar.

    Returns:
        A :class:`CacheReport`.

    Raises:
        ClothflowError: an unreadable photo or keypoint CSV (naming it); keypoints to estimate
            without the ``[pose]`` extra.
    """
    from tqdm import tqdm

    from clothflow.core.images import save_png
    from clothflow.estimate.parsing import load_parser, parse_framed

    parser = parser if parser is not None else load_parser()
    report = CacheReport()
    by_dataset: dict[str, dict[Path, None]] = {}
    for r in rows:
        by_dataset.setdefault(r.dataset, {}).update(dict.fromkeys((r.source, r.target)))
    estimator = None
    try:
        for dataset, photos in by_dataset.items():
            table = keypoint_table(rows[0].root, dataset)
            given = read_annotation_csv(table) if table.is_file() else {}
            estimated = read_estimated(cache, dataset)
            failed: set[str] = set()  # looked at again every time: a better estimator may find them
            new_rows = []
            for photo in tqdm(list(photos), desc=f"{dataset} photos", disable=not progress):
                report.photos += 1
                parse_file = cached_parsing(cache, dataset, photo)
                need_parse = parser is not None and not parse_file.is_file()
                need_pose = keypoints and photo.name not in given and photo.name not in estimated
                if not (need_parse or need_pose):
                    continue
                image = read_rgb(photo)
                parse = None
                if need_parse:
                    parse = parse_framed(parser, image)
                    parse_file.parent.mkdir(parents=True, exist_ok=True)
                    save_png(parse_file, parse)
                    report.parsed += 1
                if need_pose:
                    if estimator is None:
                        from clothflow.estimate.prepare import PoseEstimator

                        estimator = PoseEstimator(masks=False)
                    if parse is None and parse_file.is_file():
                        parse = read_gray(parse_file)
                    kps, how = person_pose(image, parse, estimator)
                    report.from_parsing += how == FROM_PARSING
                    if kps is None:
                        failed.add(photo.name)
                    else:
                        estimated[photo.name] = kps
                        new_rows.append(photo.name)
                        report.estimated += 1
            if new_rows:
                path = cached_keypoints(cache, dataset)
                path.parent.mkdir(parents=True, exist_ok=True)
                lines = ["name:keypoints_y:keypoints_x"] + [annotation_row(n, k) for n, k in estimated.items()]
                atomic_write_text(path, "\n".join(lines) + "\n")
            listed = no_pose_list(cache, dataset)
            if failed:
                listed.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(listed, "\n".join(sorted(failed)) + "\n")
            elif listed.is_file():
                listed.unlink()
            report.no_pose += [p for p in photos if p.name in failed]
    finally:
        if estimator is not None:
            estimator.close()
    return report


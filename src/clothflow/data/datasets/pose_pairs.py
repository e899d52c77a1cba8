"""Same-person pose pairs from a pair table (``pairs.csv``), as dicts of tensors.

The table's layout is in :mod:`clothflow.data.formats.pose_pairs`. Keypoints come from the
dataset's ``keypoints.csv`` (in each photo's own pixels), else from the cache of estimated
ones; parsings from the cache (:mod:`clothflow.estimate.pair_cache` makes both), else the
coarse layout drawn from the pose. Photos are framed to the model's size as the field does
(scaled to the height, centre-cropped or padded: a 256 x 256 DeepFashion photo gives its
columns 40:216 at 256 x 176).

Items follow the :class:`~clothflow.data.datasets.synthetic.SyntheticPairs` pose-transfer
contract: ``src_image``, ``tgt_image`` (3 x H x W in [-1, 1]), ``src_parse``, ``tgt_parse``
(H x W LIP ids), ``src_pose``, ``tgt_pose`` (18 x 2 pixels at ``size``, -1 missing).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from clothflow.core.errors import ClothflowError
from clothflow.core.images import image_tensor
from clothflow.core.ops.coarse_layout import coarse_layout, foreground_mask
from clothflow.core.ops.pose import NUM_KEYPOINTS, visible
from clothflow.data.datasets.augment import hflip_item
from clothflow.data.datasets.deepfashion import map_keypoints
from clothflow.data.formats.images import fit_to_size, read_gray, read_rgb
from clothflow.data.formats.pose_pairs import (cached_parsing, default_cache, photo_keypoints, read_pair_table,
                                               same_person_pairs)

log = logging.getLogger(__name__)


def parse_subset(subset: str) -> tuple[str | None, str | None]:
    """``"DATASET/SPLIT"`` -> (dataset, split); empty parts mean all (``"deepfashion"``, ``"/test"``).

    Example:
        >>> parse_subset("deepfashion/train"), parse_subset(""), parse_subset("market")
        (('deepfashion', 'train'), (None, None), ('market', None))
    """
    dataset, _, split = subset.partition("/")
    return dataset or None, split or None


class PosePairs(Dataset):
    """The pairs of a pair table (one dataset's split, or all), optionally every two views.

    Args:
        table: ``pairs.csv`` or its folder.
        size: (H, W) of the tensors.
        subset: ``"DATASET/SPLIT"`` (:func:`parse_subset`); "" = every row.
        all_views: every ordered pair of two photos of one person in the subset, not only the
            table's pairs (more training pairs; persons stay in their split).
        mirrored: add each pair's mirror image (left and right swapped).
        cache: the folder of estimated parsings and keypoints; default
            :func:`~clothflow.data.formats.pose_pairs.default_cache`.
        source_pose: keep only pairs whose source has keypoints too (training reads them);
            False keeps every pair whose target has them (inference needs only the target
            pose), the source's points then all missing.

    Raises:
        ClothflowError: see :func:`~clothflow.data.formats.pose_pairs.read_pair_table`; no pair
            with keypoints for both photos.
    """

    def __init__(self, table: str | Path, size: tuple[int, int], subset: str = "", all_views: bool = False,
                 mirrored: bool = False, cache: str | Path | None = None, source_pose: bool = True) -> None:
        dataset, split = parse_subset(subset)
        self.rows = read_pair_table(table, dataset, split)
        self.size = (int(size[0]), int(size[1]))
        self.cache = Path(cache) if cache is not None else default_cache(table)
        self.mirrored = mirrored
        self.keypoints = self._keypoints()
        named = {(r.dataset, p): None for r in self.rows for p in (r.source, r.target)}
        dataset_of = {p: d for d, p in named}
        pairs = same_person_pairs(self.rows) if all_views else [(r.source, r.target) for r in self.rows]
        self.pairs = [(dataset_of[s], s, t) for s, t in pairs if (dataset_of[t], t.name) in self.keypoints
                      and (not source_pose or (dataset_of[s], s.name) in self.keypoints)]
        if not self.pairs:
            raise ClothflowError(f"no pair of {subset or 'the table'} has keypoints for both photos "
                                 "(estimate them: clothflow transfer --pairs ... or train prepares them)",
                                 self.rows[0].root / "pairs.csv")
        dropped = len(pairs) - len(self.pairs)
        parsed = sum(cached_parsing(self.cache, d, p).is_file() for d, p in named)
        log.info("pair table %s: %d pairs (%s%s), %d dropped without keypoints; parsings for %d of %d photos "
                 "(the rest: coarse layout from the pose)", subset or "all", len(self.pairs),
                 "every two views" if all_views else "the table's pairs", ", mirrored too" if mirrored else "",
                 dropped, parsed, len(named))

    def _keypoints(self) -> dict[tuple[str, str], np.ndarray]:
        out: dict[tuple[str, str], np.ndarray] = {}
        for dataset in dict.fromkeys(r.dataset for r in self.rows):
            for name, kps in photo_keypoints(self.rows[0].root, self.cache, dataset).items():
                if visible(kps).sum() >= 2:
                    out[(dataset, name)] = kps
        return out

    def __len__(self) -> int:
        return len(self.pairs) * (2 if self.mirrored else 1)

    def person(self, dataset: str, photo: Path) -> dict[str, np.ndarray]:
        """One photo framed to ``size``: image (uint8), parse (LIP ids) and pose (pixels at ``size``)."""
        image = read_rgb(photo)
        kps = self.keypoints.get((dataset, photo.name), np.full((NUM_KEYPOINTS, 2), -1.0, np.float32))
        pose = map_keypoints(kps, image.shape[:2], self.size)
        framed = fit_to_size(image, self.size)
        parse_file = cached_parsing(self.cache, dataset, photo)
        if parse_file.is_file():
            parse = fit_to_size(read_gray(parse_file), self.size, nearest=True, pad=0)
        else:
            parse = coarse_layout(pose, self.size, foreground_mask(framed, pose))
        return {"image": framed, "parse": parse, "pose": pose}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} pairs")
        index %= len(self)
        dataset, src, tgt = self.pairs[index % len(self.pairs)]
        item: dict[str, torch.Tensor] = {}
        for prefix, photo in (("src", src), ("tgt", tgt)):
            p = self.person(dataset, photo)
            item[f"{prefix}_image"] = image_tensor(p["image"])
            item[f"{prefix}_parse"] = torch.from_numpy(p["parse"].astype(np.int64))
            item[f"{prefix}_pose"] = torch.from_numpy(p["pose"])
        return hflip_item(item) if index >= len(self.pairs) else item

"""Torch dataset views of the synthetic renderer (the data contract the models train on).

Every item is rendered on the fly from (seed, index), so the dataset is random-access,
reproducible, and needs no coordination between DataLoader workers.

Example:
    >>> ds = SyntheticPairs(4, size=(64, 44), seed=0)
    >>> item = ds[0]
    >>> item["src_image"].shape, item["flow"].shape, item["src_parse"].dtype
    (torch.Size([3, 64, 44]), torch.Size([2, 64, 44]), torch.int64)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from clothflow.core.errors import ClothflowError
from clothflow.core.images import flow_tensors, image_tensor, iuv_tensor
from clothflow.data.synth.renderer import Render, make_transfer_pair, make_tryon_pair

TASKS = ("transfer", "tryon")


def _person(prefix: str, r: Render, with_iuv: bool = True) -> dict[str, torch.Tensor]:
    out = {
        f"{prefix}_image" if prefix in ("src", "tgt") else prefix: image_tensor(r.image),
        f"{prefix}_parse": torch.from_numpy(r.parse.astype(np.int64)),
        f"{prefix}_pose": torch.from_numpy(r.keypoints.astype(np.float32)),
    }
    if with_iuv:
        out[f"{prefix}_iuv"] = iuv_tensor(r.iuv)
    return out


class SyntheticPairs(Dataset):
    """Synthetic pose-transfer or try-on pairs as dicts of tensors.

    Keys, task "transfer": ``src_image``, ``tgt_image`` (3 x H x W float32 in [-1, 1]),
    ``src_parse``, ``tgt_parse`` (H x W int64 LIP ids), ``src_pose``, ``tgt_pose`` (18 x 2
    float32 pixels, -1 missing), ``src_iuv``, ``tgt_iuv`` (3 x H x W float32 in [0, 1]:
    I / 24, U, V), ``flow`` (2 x H x W float32, target -> source pixels), ``visible``
    (1 x H x W float32 0/1).

    Keys, task "tryon": ``person`` (3 x H x W), ``person_parse``, ``person_pose``, ``cloth``
    (3 x H x W in-shop garment), ``cloth_mask`` (1 x H x W float32 0/1), ``target``
    (3 x H x W, the person wearing ``cloth``), ``target_parse``, ``flow`` (2 x H x W, target ->
    cloth pixels), ``visible`` (1 x H x W).

    Args:
        num_pairs: dataset length.
        size: (H, W) of the images.
        seed: dataset seed; item i is pair (seed, i).
        task: "transfer" or "tryon".
        poses: a DeepFashion annotation CSV: pose-transfer pairs are then rendered in its real
            poses (keypoint frame detected).
    """

    def __init__(
        self,
        num_pairs: int,
        size: tuple[int, int] = (256, 176),
        seed: int = 0,
        task: str = "transfer",
        poses: str | Path | None = None,
    ) -> None:
        if task not in TASKS:
            raise ClothflowError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
        if num_pairs < 0:
            raise ClothflowError(f"num_pairs must be >= 0, got {num_pairs}")
        self.num_pairs = int(num_pairs)
        self.size = (int(size[0]), int(size[1]))
        self.seed = int(seed)
        self.task = task
        self.real_poses = None
        if poses is not None:  # pose-transfer pairs in real poses (a DeepFashion annotation CSV)
            from clothflow.data.datasets.deepfashion import real_pose_sampler

            self.real_poses = real_pose_sampler(poses)

    def __len__(self) -> int:
        return self.num_pairs

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -self.num_pairs <= index < self.num_pairs:
            raise IndexError(f"index {index} out of range for {self.num_pairs} pairs")
        index %= self.num_pairs
        if self.task == "transfer":
            p = make_transfer_pair(self.seed, index, self.size, real_poses=self.real_poses)
            flow, visible = flow_tensors(p.flow, p.visible)
            return {**_person("src", p.src), **_person("tgt", p.tgt), "flow": flow, "visible": visible}
        t = make_tryon_pair(self.seed, index, self.size)
        flow, visible = flow_tensors(t.flow, t.visible)
        return {
            **_person("person", t.person, with_iuv=False),
            "cloth": image_tensor(t.shop.image),
            "cloth_mask": torch.from_numpy(t.shop.mask)[None].float(),
            "target": image_tensor(t.target.image),
            "target_parse": torch.from_numpy(t.target.parse.astype(np.int64)),
            "flow": flow,
            "visible": visible,
        }

"""Image conversions of the data contract: tensors from arrays, one to_uint8, save_png."""

import cv2
import numpy as np
import pytest
import torch

from clothflow.core.errors import ClothflowError
from clothflow.core.images import (
    flow_tensors,
    image_tensor,
    iuv_tensor,
    label_tensor,
    mask_tensor,
    resized_image_tensor,
    save_png,
    to_uint8,
)


def test_image_round_trip_and_to_uint8_for_one_image_or_a_batch():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    t = image_tensor(rgb)
    assert t.shape == (3, 5, 4) and t.dtype == torch.float32 and t.min() >= -1 and t.max() <= 1
    assert np.array_equal(to_uint8(t), rgb)
    batch = torch.stack([t, -t])
    out = to_uint8(batch)
    assert out.shape == (2, 5, 4, 3) and np.array_equal(out[0], rgb)
    assert to_uint8(torch.full((3, 1, 1), 7.0)).tolist() == [[[255, 255, 255]]]  # clipped
    with pytest.raises(ValueError, match="3 x H x W"):
        to_uint8(torch.zeros(1, 1, 4, 4))


def test_iuv_and_flow_tensors():
    iuv = np.zeros((2, 3, 3), np.uint8)
    iuv[..., 0], iuv[..., 1] = 24, 255
    t = iuv_tensor(iuv)
    assert t.shape == (3, 2, 3) and torch.all(t[0] == 1) and torch.all(t[1] == 1) and torch.all(t[2] == 0)
    flow = np.zeros((2, 3, 2), np.float32)
    flow[..., 0] = 1.5
    f, v = flow_tensors(flow, np.eye(2, 3, dtype=bool))
    assert f.shape == (2, 2, 3) and float(f[0, 1, 2]) == 1.5 and float(f[1].abs().sum()) == 0
    assert v.shape == (1, 2, 3) and v.dtype == torch.float32 and float(v.sum()) == 2


def test_resized_forms_have_the_model_size_and_a_batch_dimension():
    rgb = np.full((40, 20, 3), 255, np.uint8)
    rgb[:20] = 0  # top half black
    img = resized_image_tensor(rgb, (8, 4))
    assert img.shape == (1, 3, 8, 4) and float(img[0, :, :4].max()) == -1 and float(img[0, :, 4:].min()) == 1
    labels = np.zeros((40, 20), np.uint8)
    labels[:, 10:] = 5
    lab = label_tensor(labels, (8, 4))
    assert lab.shape == (1, 8, 4) and lab.dtype == torch.int64 and set(lab.unique().tolist()) == {0, 5}
    mask = mask_tensor(labels > 0, (8, 4))
    assert mask.shape == (1, 1, 8, 4) and float(mask.sum()) == 16


def test_save_png_writes_rgb_and_names_a_bad_path(tmp_path):
    img = np.zeros((3, 2, 3), np.uint8)
    img[..., 0] = 200  # red
    save_png(tmp_path / "a.png", img)
    assert cv2.imread(str(tmp_path / "a.png"))[0, 0].tolist() == [0, 0, 200]  # BGR on disk
    with pytest.raises(ClothflowError, match="no_dir"):
        save_png(tmp_path / "no_dir" / "a.png", img)

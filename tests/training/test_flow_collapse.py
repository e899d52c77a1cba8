"""The flow stage on real try-on pairs keeps the garment in the frame (skipped without VITON).

With the try-on flow trained at a mask weight of 1, the garment is thrown out of the frame
within a few dozen steps (warped mask empty); the try-on default (10) places it.
"""

import torch
from torch.utils.data import DataLoader, Subset

from clothflow.core.config import apply_overrides
from clothflow.data.datasets.viton import VitonDataset
from clothflow.models.config import preset
from clothflow.training.settings import TrainConfig, preset_training
from clothflow.training.stages import train

SIZE = (128, 96)


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / (a | b).sum().clamp(min=1))


def flow_mask_iou(viton_root, tmp_path, extra: list[str]) -> tuple[float, float]:
    """(IoU of the warped garment mask, IoU of the unwarped one) with the person's garment region."""
    cfg = apply_overrides(preset("fast", task="tryon"), [f"size={SIZE[0]}x{SIZE[1]}"])
    train_cfg = apply_overrides(
        TrainConfig(stage="flow", steps=40, batch_size=4, data=str(viton_root / "train"), checkpoint_every=10**6,
                    log_every=10**6),
        preset_training("fast") + extra,
    )
    pipe = train(tmp_path / "run", cfg, train_cfg, progress=False)
    test = Subset(VitonDataset(viton_root / "test", "test_clean.txt", size=SIZE), range(24))
    batch = next(iter(DataLoader(test, batch_size=24)))
    with torch.inference_mode():
        x, truth = pipe.encode_batch(batch), pipe.task.truth(batch)
        region = pipe.task.cloth_region(truth.classes)
        warped = pipe.estimate_flow(x, truth.classes).warped_mask
    return _iou(warped, region), _iou(x.cloth_mask, region)


def test_real_flow_training_places_the_garment(viton_root, tmp_path):
    warped, unwarped = flow_mask_iou(viton_root, tmp_path, [])
    assert warped > unwarped + 0.1, (warped, unwarped)


def test_mask_weight_one_collapses(viton_root, tmp_path):
    warped, unwarped = flow_mask_iou(viton_root, tmp_path, ["loss.flow.mask=1"])
    assert warped < unwarped, (warped, unwarped)

"""Scoring a human parser: IoU of every LIP class against the dataset's parsings.

The mean IoU is taken over the classes present in the ground truth (a class the parser
predicts but no photo has counts against the classes it eats into, not as a class of its own).

Example:
    >>> import torch
    >>> truth = torch.tensor([[[0, 5, 5, 13]]])
    >>> scores = parsing_scores_from_confusion(confusion(torch.tensor([[[0, 5, 13, 13]]]), truth, 20))
    >>> scores["miou"], scores["iou"]["upper-clothes"], scores["iou"]["face"]
    (0.6667, 0.5, 0.5)
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from clothflow.core.ops.labels import LIP_LABELS
from clothflow.evaluation.metrics import confusion
from clothflow.models.parser import HumanParser


def parsing_scores_from_confusion(conf: torch.Tensor) -> dict:
    """Per-class IoU (classes present in the truth), their mean, and the pixel accuracy."""
    conf = conf.double()
    inter = conf.diag()
    union = conf.sum(0) + conf.sum(1) - inter
    present = conf.sum(1) > 0
    iou = {LIP_LABELS.get(i, str(i)): round(float(inter[i] / union[i]), 4) for i in range(len(conf)) if present[i]}
    return {
        "miou": round(float((inter[present] / union[present]).mean()), 4),
        "pixel_accuracy": round(float(inter.sum() / conf.sum()), 4),
        "iou": iou,
    }


@torch.inference_mode()
def parsing_scores(parser: HumanParser, dataset: Dataset, batch_size: int = 16) -> dict:
    """Score ``parser`` on a dataset of ``person`` photos and their ``person_parse`` LIP ids.

    Returns:
        ``{"miou", "pixel_accuracy", "iou": {class name: IoU}, "photos"}``.
    """
    parser.eval()
    labels = parser.config.num_labels
    conf = torch.zeros(labels, labels, dtype=torch.long)
    photos = 0
    for batch in DataLoader(dataset, batch_size=batch_size):
        pred = parser.parse(batch["person"])
        conf += confusion(pred, batch["person_parse"].clamp(max=labels - 1), labels)
        photos += pred.shape[0]
    return {**parsing_scores_from_confusion(conf), "photos": photos}

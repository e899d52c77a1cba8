"""int8 ONNX models: static quantisation of an exported pipeline's convolutions.

:func:`quantize_onnx` rewrites a float32 file written by :func:`clothflow.deploy.onnx_export.export_onnx`
into ONNX Runtime's QDQ format (``QuantizeLinear``/``DequantizeLinear`` around every Conv:
int8 weights per output channel, uint8 activations) with activation ranges calibrated on
inputs the model will see: by default held-out pairs from the synthetic renderer for the
model's task (:func:`synthetic_calibration`); a model trained on real photos is calibrated on
pairs of its own dataset (:func:`dataset_calibration`, ``clothflow export --int8 --calibration DIR``). Warping (``GridSample``), normalisation and the
heads stay float32. The result loads in :class:`clothflow.deploy.onnx_export.OnnxPipeline` like any export.

Weights use 7 of their 8 bits (``reduce_range``): on x86 CPUs without VNNI, ONNX Runtime's
uint8 x int8 kernels add pairs of products in 16 bits, which saturate with full-range
weights; on such a CPU (AVX2 only) the full-range model's output correlated 0.46 with the
float one in the export test, against 0.73 with 7-bit weights.

Example:
    >>> from clothflow.models.config import preset
    >>> batches = synthetic_calibration(preset("tiny"), pairs=4, batch_size=2)
    >>> len(batches), sorted(batches[0])
    (2, ['src_image', 'src_parse', 'tgt_pose'])
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from clothflow.models.config import PipelineConfig
from clothflow.core.errors import ClothflowError
from clothflow.core.files import atomic_path
from clothflow.deploy.onnx_export import INSTALL_HINT, METADATA_KEY, input_names, resolve_onnx

CALIBRATION_SEED = 20_000  # held out from training (seed 0..) and evaluation (10_000..) sets


def synthetic_calibration(config: PipelineConfig, pairs: int = 32, batch_size: int = 8) -> list[dict[str, np.ndarray]]:
    """Calibration feeds for ``config``'s task: synthetic pairs as the ONNX inputs it takes.

    Returns:
        ``ceil(pairs / batch_size)`` dicts from input name to array (N x ... as exported).
    """
    from clothflow.data.datasets.synthetic import SyntheticPairs

    dataset = SyntheticPairs(num_pairs=pairs, size=config.size, seed=CALIBRATION_SEED, task=config.task)
    return dataset_calibration(config, dataset, pairs, batch_size)


def dataset_calibration(config: PipelineConfig, dataset, pairs: int = 32, batch_size: int = 8) -> list[dict[str, np.ndarray]]:
    """Calibration feeds from ``dataset`` (items with the task's input keys, at ``config.size``).

    The pairs are spread evenly over the dataset (the first ones of a sorted list are often
    alike). Returns ``ceil(pairs / batch_size)`` dicts from input name to array.
    """
    pairs = min(pairs, len(dataset))
    if pairs < 1:
        raise ClothflowError("no pairs to calibrate the int8 model on")
    picks = np.linspace(0, len(dataset) - 1, pairs).round().astype(int)
    names = input_names(config)
    feeds = []
    for start in range(0, pairs, batch_size):
        items = [dataset[int(i)] for i in picks[start : start + batch_size]]
        feeds.append({k: torch.stack([item[k] for item in items]).numpy() for k in names})
    return feeds


def quantize_onnx(model: str | Path, out: str | Path, feeds: list[dict[str, np.ndarray]] | None = None) -> Path:
    """Write an int8 (QDQ) copy of an exported pipeline, calibrated on ``feeds``.

    Args:
        model: a float32 ``.onnx`` file from ``clothflow export`` (or a folder holding one).
        out: the int8 ``.onnx`` file to write (atomically).
        feeds: calibration inputs (see :func:`synthetic_calibration`); default: 32 synthetic
            pairs of the model's task and size.

    Returns:
        The path written.
    """
    try:
        import onnx
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        raise ClothflowError(f"int8 quantisation needs onnx and onnxruntime; {INSTALL_HINT}") from None
    import json

    source = resolve_onnx(model)
    meta = {p.key: p.value for p in onnx.load(str(source), load_external_data=False).metadata_props}
    if METADATA_KEY not in meta:
        raise ClothflowError("this ONNX file was not written by `clothflow export` (no config)", source)
    if feeds is None:
        feeds = synthetic_calibration(PipelineConfig.from_dict(json.loads(meta[METADATA_KEY])))

    class _Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantized = Path(tmp) / "int8.onnx"
        quantize_static(
            str(prepared), str(quantized), _Feeds(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
        )
        result = onnx.load(str(quantized))
        kept = {p.key for p in result.metadata_props}
        for key, value in meta.items():  # the pipeline config travels with the model
            if key not in kept:
                entry = result.metadata_props.add()
                entry.key, entry.value = key, value
        with atomic_path(out) as partial:
            onnx.save(result, str(partial))
    return out

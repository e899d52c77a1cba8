"""ONNX export of the whole pipeline, and an ONNX Runtime pipeline with the same call shape.

:func:`export_onnx` writes one self-contained ``.onnx`` file holding all three stages
(layout, cascaded flow with its ``GridSample`` warps, rendering) and the input encodings
(LIP grouping, pose heatmaps, the try-on agnostic person). The batch dimension is dynamic
unless asked otherwise. The pipeline's :class:`~clothflow.models.config.PipelineConfig` is stored
in the model's metadata (key ``clothflow.models.config``), so :class:`OnnxPipeline` knows the task
and image size without the run folder.

Inputs (by task) and outputs of the exported graph:

=============  ==========================================================================
transfer       ``src_image`` N x 3 x H x W float32 in [-1, 1], ``src_parse`` N x H x W int64
               LIP ids, ``tgt_pose`` N x 18 x 2 float32 pixels (-1 missing)
tryon          ``person``, ``person_parse``, ``person_pose`` (as above), ``cloth``
               N x 3 x H x W, ``cloth_mask`` N x 1 x H x W float32 in {0, 1}
outputs        ``image`` N x 3 x H x W, ``layout`` N x H x W int64 (argmax classes),
               ``layout_logits`` N x C x H x W, ``flow`` N x 2 x H x W, ``warped_cloth``,
               ``warped_mask``, and ``flows.0`` .. ``flows.{L-1}`` (per-level, coarse -> fine)
=============  ==========================================================================

Ablation variants export too: the dense variant adds the inputs ``src_iuv`` and ``tgt_iuv``
(N x 3 x H x W), and a variant without a layout stage has no ``layout`` / ``layout_logits``.

The exporter is PyTorch's ``torch.export``-based one (``dynamo=True``, needs ``onnxscript``);
the TorchScript exporter is deprecated since PyTorch 2.9. It emits opset 18 natively
(``GridSample`` exists from opset 16; down-conversion to 17 fails on ``Pad``), so 18 is the
default and the lowest opset offered.

Example (the export takes about 10 s, so the doctest run skips it; tests/deploy runs it):
    >>> from clothflow.models.config import preset
    >>> from clothflow.models.pipeline import ClothFlowPipeline
    >>> pipe = ClothFlowPipeline(preset("tiny")).eval()
    >>> input_names(pipe.config)
    ('src_image', 'src_parse', 'tgt_pose')
    >>> path = export_onnx(pipe, "model.onnx")  # doctest: +SKIP
    >>> OnnxPipeline(path, threads=2).transfer(*example_inputs(pipe.config)).image.shape  # doctest: +SKIP
    torch.Size([1, 3, 64, 44])
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from clothflow.models.config import PipelineConfig
from clothflow.core.errors import ClothflowError
from clothflow.core.files import atomic_path
from clothflow.core.quiet import library_logs_silenced
from clothflow.deploy.torch_compile import compile_pipeline
from clothflow.models.flow import FlowOutput
from clothflow.models.pipeline import ClothFlowPipeline, PipelineOutput

log = logging.getLogger("clothflow")

ONNX_NAME = "model.onnx"
METADATA_KEY = "clothflow.models.config"
DEFAULT_OPSET = 18
INSTALL_HINT = "install the ONNX extra: pip install 'clothflow[onnx]'"


def input_names(config: PipelineConfig) -> tuple[str, ...]:
    """Names (and order) of the exported graph's inputs for this config (its task's inputs)."""
    return config.make_task().input_names()


def flatten_result(r: PipelineOutput) -> dict[str, torch.Tensor]:
    """A result as named tensors, in the exported graph's output order (None fields left out)."""
    named = {"image": r.image, "layout": r.layout, "layout_logits": r.layout_logits, "flow": r.flow.flow,
             "warped_cloth": r.flow.warped_cloth, "warped_mask": r.flow.warped_mask,
             "composition_mask": r.composition_mask}
    named.update({f"flows.{i}": f for i, f in enumerate(r.flow.flows)})
    return {k: v for k, v in named.items() if v is not None}


class ExportWrapper(nn.Module):
    """The pipeline's task as a module of tensors in, a flat tuple of tensors out.

    Args:
        pipe: the pipeline (its ``config.task`` picks transfer or try-on).
    """

    def __init__(self, pipe: ClothFlowPipeline) -> None:
        super().__init__()
        self.pipe = pipe

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(flatten_result(self.pipe(*inputs)).values())


def example_inputs(config: PipelineConfig, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random valid inputs of the config's task and size (used for tracing and tests).

    Returns:
        The task's inputs in the order of :func:`input_names`.
    """
    return config.make_task().example_inputs(config.size, batch, seed)


def export_onnx(
    pipe: ClothFlowPipeline,
    path: str | Path,
    opset: int = DEFAULT_OPSET,
    batch_dynamic: bool = True,
) -> Path:
    """Export the pipeline (its configured task) to one ONNX file, written atomically.

    Args:
        pipe: the pipeline; it is put in eval mode.
        path: the ``.onnx`` file to write (a folder gets ``model.onnx`` inside).
        opset: ONNX opset, >= 18.
        batch_dynamic: export a dynamic batch dimension (else the file runs batch 1 only).

    Returns:
        The path written.

    Raises:
        ClothflowError: onnxscript is not installed, or the opset is too old.
    """
    try:
        import onnxscript  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise ClothflowError(f"ONNX export needs onnx and onnxscript; {INSTALL_HINT}") from None
    if pipe.config.warp == "tps":  # the TPS solve calls torch.linalg.solve: no ONNX operator
        raise ClothflowError("the TPS ablation cannot be exported to ONNX (its solver has no ONNX operator)")
    if opset < DEFAULT_OPSET:
        raise ClothflowError(f"opset {opset} is not supported; use {DEFAULT_OPSET} or newer")
    path = Path(path)
    if path.is_dir():
        path = path / ONNX_NAME
    pipe = pipe.eval()
    device = next(pipe.parameters()).device
    inputs = tuple(t.to(device) for t in example_inputs(pipe.config, batch=1))
    with torch.no_grad():
        out_names = list(flatten_result(pipe(*inputs)))
    # forward(*inputs): one variadic argument, so the spec is a 1-tuple holding one entry per input
    dynamic = (tuple({0: torch.export.Dim.DYNAMIC} for _ in inputs),) if batch_dynamic else None
    with warnings.catch_warnings(), torch.no_grad(), library_logs_silenced():
        warnings.simplefilter("ignore")  # the exporter's FutureWarnings are not the user's business
        program = torch.onnx.export(
            ExportWrapper(pipe), inputs, dynamo=True, opset_version=opset, input_names=list(input_names(pipe.config)),
            output_names=out_names, dynamic_shapes=dynamic, verbose=False, optimize=True,
        )
    program.model.metadata_props[METADATA_KEY] = pipe.config.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        program.save(str(tmp), external_data=False)
    return path


def resolve_onnx(model: str | Path) -> Path:
    """The ``.onnx`` file named by ``model``: the file itself, or ``model.onnx`` in a run folder."""
    model = Path(model)
    path = model / ONNX_NAME if model.is_dir() else model
    if not path.is_file():
        raise ClothflowError(
            f"no ONNX model here; write one with `clothflow export --model RUN` (looked for {path.name})", path
        )
    return path


class OnnxPipeline:
    """An exported pipeline run with ONNX Runtime, called like :class:`ClothFlowPipeline`.

    ``transfer``, ``tryon`` and ``predict`` take torch tensors (or numpy arrays) and return a
    :class:`~clothflow.models.pipeline.PipelineOutput` of CPU torch tensors, so code written
    for the torch pipeline (``infer.transfer_files``, ``batch.tryon_folder``) runs on it.

    Args:
        path: an ``.onnx`` file written by :func:`export_onnx`, or a folder holding ``model.onnx``.
        threads: intra-op threads of ONNX Runtime (None = its default, all cores).

    Attributes:
        config: the :class:`PipelineConfig` the model was exported with.
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ClothflowError(f"the ONNX backend needs onnxruntime; {INSTALL_HINT}") from None
        self.path = resolve_onnx(path)
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ClothflowError(f"not a loadable ONNX model ({exc})", self.path) from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in meta:
            raise ClothflowError("this ONNX file was not written by `clothflow export` (no config)", self.path)
        self.config = PipelineConfig.from_dict(json.loads(meta[METADATA_KEY]))
        self.output_names = [o.name for o in self.session.get_outputs()]

    def _run(self, inputs: Sequence[torch.Tensor | np.ndarray]) -> PipelineOutput:
        task = self.config.make_task()
        task.check(tuple(torch.as_tensor(x) for x in inputs), self.config.size)
        feed = {}
        for name, x in zip(task.input_names(), inputs):
            arr = x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)
            feed[name] = np.ascontiguousarray(arr, dtype=np.int64 if name in task.int_inputs else np.float32)
        outs = dict(zip(self.output_names, (torch.from_numpy(o) for o in self.session.run(None, feed))))
        levels = [outs[k] for k in sorted((k for k in outs if k.startswith("flows.")), key=lambda k: int(k[6:]))]
        flow = FlowOutput(flows=levels, flow=outs["flow"], warped_cloth=outs["warped_cloth"],
                          warped_mask=outs["warped_mask"])
        return PipelineOutput(image=outs["image"], layout_logits=outs.get("layout_logits"), layout=outs.get("layout"),
                              flow=flow, composition_mask=outs.get("composition_mask"))

    def transfer(self, src_image, src_parse, tgt_pose, src_iuv=None, tgt_iuv=None) -> PipelineOutput:
        """Pose transfer; arguments as :meth:`ClothFlowPipeline.transfer`."""
        if self.config.task != "transfer":
            raise ValueError("this model was exported for try-on; use .tryon(...)")
        iuv = tuple(t for t in (src_iuv, tgt_iuv) if t is not None) if self.config.dense else ()  # checked by the task
        return self._run((src_image, src_parse, tgt_pose, *iuv))

    def tryon(self, person, person_parse, person_pose, cloth, cloth_mask) -> PipelineOutput:
        """Virtual try-on; arguments as :meth:`ClothFlowPipeline.tryon`."""
        if self.config.task != "tryon":
            raise ValueError("this model was exported for pose transfer; use .transfer(...)")
        return self._run((person, person_parse, person_pose, cloth, cloth_mask))

    def __call__(self, *inputs) -> PipelineOutput:
        """The configured task on its inputs (:func:`input_names` order)."""
        return self._run(inputs)

    def predict(self, batch: dict[str, torch.Tensor]) -> PipelineOutput:
        """Run the task on a dataset batch (the same keys as :meth:`ClothFlowPipeline.predict`)."""
        return self._run(self.config.make_task().batch_inputs(batch))

    def eval(self) -> "OnnxPipeline":
        """No-op, for code written for torch modules."""
        return self


def load_inference_pipeline(
    model: str | Path, backend: str = "torch", threads: int | None = None
) -> ClothFlowPipeline | OnnxPipeline:
    """Load a model for inference with the ``torch``, ``compile`` or ``onnx`` backend.

    Args:
        model: a run / saved model folder; with ``onnx`` also an ``.onnx`` file.
        backend: "torch" (:meth:`ClothFlowPipeline.from_pretrained`), "compile" (the same,
            then :func:`clothflow.deploy.torch_compile.compile_pipeline`: faster after a first call that
            compiles) or "onnx" (:class:`OnnxPipeline`).
        threads: ONNX Runtime intra-op threads (None = default); ignored by the torch backends.
    """
    if backend == "onnx":
        return OnnxPipeline(model, threads=threads)
    if backend not in ("torch", "compile"):
        raise ClothflowError(f"unknown backend {backend!r}; choose torch, compile or onnx")
    pipe = ClothFlowPipeline.from_pretrained(model)
    if backend == "compile":
        compile_pipeline(pipe)
    return pipe

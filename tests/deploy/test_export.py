"""ONNX export: ONNX Runtime matches PyTorch on the whole pipeline, at another batch size."""

import os
import stat
from pathlib import Path

import pytest
import torch

pytest.importorskip("onnxscript", reason="onnxscript not installed (pip install 'clothflow[onnx]')")
pytest.importorskip("onnxruntime", reason="onnxruntime not installed (pip install 'clothflow[onnx]')")

from clothflow.core.config import apply_overrides
from clothflow.models.config import preset  # noqa: E402
from clothflow.core.errors import ClothflowError  # noqa: E402
from clothflow.deploy.onnx_export import OnnxPipeline, example_inputs, export_onnx, load_inference_pipeline  # noqa: E402
from clothflow.models.pipeline import ClothFlowPipeline  # noqa: E402

TOL = 1e-4
NARROW = ["layout.base_channels=8", "flow.base_channels=8", "render.base_channels=8"]
# Two levels of everything still has every kind of op (and the cascade); the exporter's tracing
# time grows with the number of ops.
SHALLOW = NARROW + ["layout.depth=2", "render.depth=2", "flow.num_levels=2"]


def _trained_like(cfg, flow_std: float = 0.05) -> ClothFlowPipeline:
    """A pipeline with non-trivial weights (the flow head starts near zero; perturb it)."""
    torch.manual_seed(0)
    pipe = ClothFlowPipeline(cfg).eval()
    with torch.no_grad():
        for est in pipe.flow.estimators:
            est.out.weight.normal_(0, flow_std)
    return pipe


@pytest.mark.slow
@pytest.mark.parametrize("task, sets", [("transfer", []),
                                        ("tryon", ["layout.scale=2", "render.scale=2"])])  # the fast preset's half-resolution U-Nets
def test_onnx_matches_torch_with_dynamic_batch(tmp_path, task, sets):
    cfg = apply_overrides(preset("tiny", task=task), SHALLOW + sets)
    pipe = _trained_like(cfg, flow_std=0.1)  # two levels add up less flow than four
    path = export_onnx(pipe, tmp_path / "model.onnx")  # traced at batch 1
    onnx_pipe = OnnxPipeline(path, threads=1)
    assert onnx_pipe.config == pipe.config

    batch = example_inputs(cfg, batch=3, seed=1)
    with torch.inference_mode():
        want = pipe(*batch)
    got = onnx_pipe(*batch)
    assert got.image.shape == (3, 3, *cfg.size)
    assert (got.image - want.image).abs().max() <= TOL
    assert (got.flow.flow - want.flow.flow).abs().max() <= TOL
    assert (got.flow.warped_cloth - want.flow.warped_cloth).abs().max() <= TOL
    assert want.flow.flow.abs().max() > 0.1  # the flow (and so the GridSample warp) is not trivial
    assert got.layout.dtype == torch.int64
    assert (got.layout != want.layout).float().mean() < 1e-3  # argmax of near-ties may flip
    for a, b in zip(got.flow.flows, want.flow.flows, strict=True):
        assert (a - b).abs().max() <= TOL

    keys = ("src_image", "src_parse", "tgt_pose") if task == "transfer" else (
        "person", "person_parse", "person_pose", "cloth", "cloth_mask")
    by_dict = onnx_pipe.predict(dict(zip(keys, batch)))
    assert torch.equal(by_dict.image, got.image)
    with pytest.raises(ValueError, match="must be"):
        onnx_pipe(*(x[..., :-1] if x.dim() == 4 else x for x in batch))


def test_missing_onnx_file_is_a_clear_error(tmp_path):
    with pytest.raises(ClothflowError, match="clothflow export"):
        load_inference_pipeline(tmp_path, backend="onnx")
    with pytest.raises(ClothflowError, match="unknown backend"):
        load_inference_pipeline(tmp_path, backend="tensorrt")


@pytest.mark.slow
def test_cli_export_and_onnx_backend_match_torch(tmp_path, capsys):
    import cv2

    from clothflow.apps.cli import main
    from clothflow.data.tools.writers import write_dataset

    model = tmp_path / "model"
    _trained_like(apply_overrides(preset("tiny", task="tryon"), NARROW)).save_pretrained(model)
    old_umask = os.umask(0o002)  # a shared group's umask: the file follows it, as anything the user writes
    try:
        assert main(["export", "--model", str(model)]) == 0, capsys.readouterr().err
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((model / "model.onnx").stat().st_mode) == 0o664
    write_dataset(tmp_path / "synth", pairs=2, size=(64, 44), seed=2, progress=False)
    viton = tmp_path / "synth" / "viton"
    for backend in ("torch", "onnx"):
        argv = ["tryon", "--model", str(model), "--data", str(viton), "--out", str(tmp_path / backend),
                "--backend", backend]
        assert main(argv) == 0, capsys.readouterr().err
    names = sorted(p.name for p in (tmp_path / "torch").glob("*__*.png"))
    assert len(names) == 2
    for name in names:
        a, b = (cv2.imread(str(tmp_path / backend / name)).astype(int) for backend in ("torch", "onnx"))
        assert abs(a - b).max() <= 1, name  # identical up to rounding to uint8
    capsys.readouterr()
    assert main(["transfer", "--model", str(model), "--backend", "onnx", "--source", "a.png", "--source-parse",
                 "b.png", "--target-pose", "c.json", "--out", str(tmp_path / "o.png")]) == 2


@pytest.mark.slow
def test_int8_export_is_quantised_and_close_to_float(tmp_path, capsys):
    import onnx

    from clothflow.apps.cli import main
    from clothflow.deploy.quantize import synthetic_calibration

    cfg = apply_overrides(preset("tiny"), NARROW)
    model = tmp_path / "model"
    _trained_like(cfg).save_pretrained(model)
    assert main(["export", "--model", str(model), "--int8"]) == 0, capsys.readouterr().err
    float_pipe, int8_pipe = OnnxPipeline(model / "model.onnx", threads=1), OnnxPipeline(model / "model.int8.onnx", threads=1)
    assert int8_pipe.config == float_pipe.config  # the config travels with the quantised file
    ops = [n.op_type for n in onnx.load(str(model / "model.int8.onnx")).graph.node]
    float_convs = sum(n.op_type == "Conv" for n in onnx.load(str(model / "model.onnx")).graph.node)
    assert ops.count("DequantizeLinear") >= float_convs  # every conv's weights (and inputs) are int8
    batch = synthetic_calibration(cfg, pairs=4, batch_size=4)[0]  # the same seed as calibration, other pairs unused
    want, got = float_pipe.predict(batch), int8_pipe.predict(batch)
    assert (got.image - want.image).abs().max() > 0  # it is not the float model
    # Untrained weights calibrate poorly (a trained model: benchmarks/int8_quality.py),
    # but the flow stays within 10% of its magnitude and the image follows the float one.
    assert (got.flow.flow - want.flow.flow).abs().mean() < 0.1 * want.flow.flow.abs().mean()
    assert torch.corrcoef(torch.stack([got.image.flatten(), want.image.flatten()]))[0, 1] > 0.6


def test_int8_calibrates_on_a_dataset_folder(tmp_path, capsys, monkeypatch):
    """``export --int8 --calibration DIR`` feeds the quantiser pairs of that folder, spread over it."""
    from clothflow.apps.cli import main
    from clothflow.deploy import quantize

    data = tmp_path / "data"
    assert main(["synth", "--out", str(data), "--pairs", "6", "--size", "64x44", "--seed", "5"]) == 0
    model = tmp_path / "model"
    _trained_like(apply_overrides(preset("tiny"), NARROW)).save_pretrained(model)
    seen = []

    def fake_quantize(path, out, feeds=None):
        seen.append(feeds)
        return Path(out)

    monkeypatch.setattr(quantize, "quantize_onnx", fake_quantize)
    assert main(["export", "--model", str(model), "--calibration", str(data / "deepfashion")]) == 2
    assert "--calibration goes with --int8" in capsys.readouterr().err
    assert main(["export", "--model", str(model), "--int8", "--calibration", str(data / "deepfashion")]) == 0, \
        capsys.readouterr().err
    feeds = seen[0]
    assert feeds is not None and sum(f["src_image"].shape[0] for f in feeds) == 6  # all of the folder's pairs
    assert feeds[0]["src_image"].shape[1:] == (3, 64, 44)

"""Side-by-side inference backends: eager vs torch.compile vs ONNX Runtime (``inference.py --compare``).

Every configuration (preset, backend, threads, batch) runs in its own subprocess, so its peak
memory is its own: the peak resident set during the run minus the resident set after imports
and input creation (Linux: the peak is reset through ``/proc/self/clear_refs`` and read as
``VmHWM``; elsewhere ``getrusage`` maxrss, which also counts import-time peaks); for
``compile`` it includes compilation. The machine's peak is measured by the same worker right
after its timing: a 2048^3 float32 matmul and a large 3 x 3 convolution in PyTorch at the same
thread count; "% peak" is the pipeline's FLOPs per second (``torch.utils.flop_counter`` on the
eager model) over the faster of the two, so on a shared machine both sides see the same load.
``onnx-int8`` is the ONNX export quantised by :mod:`clothflow.deploy.quantize` (its "% peak" counts the
float FLOPs against the float32 peak: a speed-up figure, not an efficiency).

Run directly only as a worker: ``python benchmarks/backends.py --worker '{...}'``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

BACKENDS = ("eager", "compile", "onnx", "onnx-int8")
GRAD_MODES = ("no_grad", "inference_mode")


@dataclass
class Spec:
    """One measured configuration."""

    preset: str
    backend: str
    threads: int
    batch: int
    repeats: int = 3
    sets: list[str] = field(default_factory=list)
    onnx: str = ""
    onnx_int8: str = ""
    grad_mode: str = "inference_mode"


def _status_mb(field_name: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _reset_peak() -> float:
    """Current RSS in MB, with the peak-RSS counter reset to it where the OS allows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        current = _status_mb("VmRSS")
        if current is not None:
            return current
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mb() -> float:
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_ms(fn, repeats: int, warmup: bool = True) -> float:
    if warmup:
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def run_worker(spec: Spec) -> dict:
    """Time one configuration in this process; returns ms/image and the peak RSS delta."""
    from clothflow.core.config import apply_overrides
    from clothflow.models.config import preset
    from clothflow.deploy.onnx_export import OnnxPipeline, example_inputs
    from clothflow.deploy.torch_compile import compile_pipeline
    from clothflow.models.pipeline import ClothFlowPipeline

    torch.set_num_threads(spec.threads)
    cfg = apply_overrides(preset(spec.preset), spec.sets)
    inputs = example_inputs(cfg, spec.batch)
    base = _reset_peak()
    if spec.backend in ("onnx", "onnx-int8"):
        pipe = OnnxPipeline(spec.onnx if spec.backend == "onnx" else spec.onnx_int8, threads=spec.threads)
        fn = lambda: pipe(*inputs)  # noqa: E731
    else:
        torch.manual_seed(0)
        model = ClothFlowPipeline(cfg).eval()
        if spec.backend == "compile":
            compile_pipeline(model)
        mode = torch.inference_mode if spec.grad_mode == "inference_mode" else torch.no_grad

        def fn():
            with mode():
                return model(*inputs)

    started = time.perf_counter()
    fn()  # first call: compilation for "compile"
    first_s = time.perf_counter() - started
    ms = best_ms(fn, spec.repeats, warmup=spec.backend == "compile") / spec.batch
    peak_mb = _peak_mb() - base
    # the machine's peak right after, in the same process: the ratio holds on a shared machine
    return {**asdict(spec), "ms_per_image": ms, "first_call_s": first_s, "peak_mb": peak_mb,
            "machine": machine_peak(spec.threads)}


def machine_peak(threads: int) -> dict:
    """Achieved GFLOP/s of a large float32 matmul and a large 3 x 3 convolution."""
    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    mm_flops = 2 * 2048**3
    x, w = torch.randn(8, 64, 128, 128), torch.randn(64, 64, 3, 3)
    conv_flops = 2 * 8 * 64 * 128 * 128 * 64 * 9
    with torch.inference_mode():
        mm = best_ms(lambda: a @ b, 10)  # best of 10: the cores may be shared
        conv = best_ms(lambda: torch.nn.functional.conv2d(x, w, padding=1), 10)
    return {"threads": threads, "matmul_gflops": mm_flops / mm / 1e6, "conv_gflops": conv_flops / conv / 1e6}


def count_flops(fn) -> int:
    """FLOPs of one call of ``fn`` (``torch.utils.flop_counter``)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def flops_per_image(preset_name: str, sets: list[str]) -> float:
    """FLOPs of one image through the eager pipeline (``torch.utils.flop_counter``)."""
    from clothflow.core.config import apply_overrides
    from clothflow.models.config import preset
    from clothflow.deploy.onnx_export import example_inputs
    from clothflow.models.pipeline import ClothFlowPipeline

    cfg = apply_overrides(preset(preset_name), sets)
    pipe = ClothFlowPipeline(cfg).eval()
    with torch.inference_mode():
        return float(count_flops(lambda: pipe(*example_inputs(cfg, 1))))


def _subprocess(payload: dict) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(payload)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1], **payload}
    return json.loads(lines[-1])


def _export(preset_name: str, sets: list[str], folder: Path) -> str:
    from clothflow.core.config import apply_overrides
    from clothflow.models.config import preset
    from clothflow.deploy.onnx_export import export_onnx
    from clothflow.models.pipeline import ClothFlowPipeline

    torch.manual_seed(0)
    pipe = ClothFlowPipeline(apply_overrides(preset(preset_name), sets)).eval()
    return str(export_onnx(pipe, folder / f"{preset_name}.onnx"))


def _quantize(onnx: str) -> str:
    from clothflow.deploy.quantize import quantize_onnx

    return str(quantize_onnx(onnx, Path(onnx).with_suffix(".int8.onnx")))


def compare(presets: list[str], backends: list[str], threads: list[int], batches: list[int], repeats: int,
            sets: list[str], grad_modes: bool) -> None:
    """Print the side-by-side table (and, optionally, eager under ``no_grad`` vs ``inference_mode``)."""
    peaks = {t: _subprocess({"peak": t}) for t in threads}
    for t, p in peaks.items():
        print(f"machine peak, {t} thread(s): matmul {p['matmul_gflops']:.1f} GFLOP/s, "
              f"3x3 conv {p['conv_gflops']:.1f} GFLOP/s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in presets:
            flops = flops_per_image(name, sets)
            onnx = _export(name, sets, Path(tmp)) if {"onnx", "onnx-int8"} & set(backends) else ""
            onnx_int8 = _quantize(onnx) if "onnx-int8" in backends else ""
            print(f"\npreset {name}: {flops / 1e9:.2f} GFLOP/image, best of {repeats}", flush=True)
            print(f"{'backend':>9} {'threads':>7} {'batch':>5} {'ms/image':>9} {'GFLOP/s':>8} {'% peak':>7} "
                  f"{'peak MB':>8} {'1st call s':>10} {'peak GFLOP/s':>12}", flush=True)
            for backend in backends:
                for t in threads:
                    for n in batches:
                        spec = Spec(name, backend, t, n, repeats, sets, onnx, onnx_int8)
                        r = _subprocess({"spec": asdict(spec)})
                        if "error" in r:
                            print(f"{backend:>9} {t:>7} {n:>5}  failed: {r['error']}", flush=True)
                            continue
                        rate = flops / (r["ms_per_image"] / 1000) / 1e9
                        peak = max(r["machine"]["matmul_gflops"], r["machine"]["conv_gflops"])
                        print(f"{backend:>9} {t:>7} {n:>5} {r['ms_per_image']:>9.1f} {rate:>8.1f} "
                              f"{100 * rate / peak:>6.1f}% {r['peak_mb']:>8.0f} {r['first_call_s']:>10.1f} {peak:>12.1f}",
                              flush=True)
            if grad_modes:
                print(f"\neager grad modes, preset {name}, {max(threads)} threads:", flush=True)
                for n in batches:
                    for mode in GRAD_MODES:
                        spec = Spec(name, "eager", max(threads), n, repeats, sets, grad_mode=mode)
                        r = _subprocess({"spec": asdict(spec)})
                        ms = r.get("ms_per_image", float("nan"))
                        print(f"  batch {n}: {mode:>14} {ms:>8.1f} ms/image", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark worker (see inference.py --compare)")
    parser.add_argument("--worker", required=True, help="JSON: {'spec': {...}} or {'peak': threads}")
    payload = json.loads(parser.parse_args().worker)
    result = machine_peak(payload["peak"]) if "peak" in payload else run_worker(Spec(**payload["spec"]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

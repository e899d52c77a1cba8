"""Put a trained model into the package: ``src/clothflow/pretrained/NAME/`` (config, weights, card).

    python scripts/ship_model.py RUN NAME --title "..." --data "..." --licence "..." \
        [--metrics report/metrics.json ...] [--float16] [--note "..."]

The weights are stored as float16 with ``--float16``; the script measures what that changes
(the mean and largest difference of the outputs on a few random inputs; a layout class that
flips makes the largest one large, so score the shipped model too) and writes it on the card.
The card also records the run's steps per stage and training time (from its checkpoint and
``losses.jsonl``), the machine, and every metrics file given.

``check.json`` beside the card holds what ``clothflow evaluate`` gives the shipped model on 16
pairs (``--check-data``: ``synthetic``, or a dataset folder given as ``viton:test`` for the
VITON test folder, with ``--check-pairs`` naming its list; the first 16 entries are used), so
that ``tests/apps/test_shipped_cards.py`` can check the shipped weights still score the same.
For a model shipped without one, ``python scripts/ship_model.py NAME --check-only --check-data ...``
writes it (and the card's check section) from the shipped weights, leaving them as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import torch

from clothflow.core.pretrained import SHIPPED_DIR, stored_kind
from clothflow.training.checkpoint import load_checkpoint


def _model_class(kind: str):
    if kind == "parser":
        from clothflow.models.parser import HumanParser

        return HumanParser
    if kind == "finet":
        from clothflow.finet.models import FinetModel

        return FinetModel
    from clothflow.models.pipeline import ClothFlowPipeline

    return ClothFlowPipeline


def _outputs(model, kind: str) -> torch.Tensor:
    torch.manual_seed(0)
    with torch.inference_mode():
        if kind == "parser":
            return model(torch.rand(2, 3, *model.config.size) * 2 - 1)
        if kind == "clothflow":
            return model(*model.task.example_inputs(model.config.size, batch=2)).image
        if kind == "finet":
            from clothflow.finet.infer import inpaint, synthetic_batch

            return inpaint(model, synthetic_batch(0, "upper", model.config.size), samples=2, seed=0)[1].image
    raise SystemExit(f"no output check for kind {kind}")


def _training(run: Path, model) -> dict:
    info: dict = {}
    ckpt = run / "checkpoint.safetensors"
    if ckpt.is_file():
        state, _ = load_checkpoint(ckpt, model)
        info["steps"] = dict(state.stage_steps) or {state.stage: state.step}
    log = run / "losses.jsonl"
    if log.is_file():  # "seconds" counts from the start of each sitting: a drop starts a new one
        done: dict[str, float] = {}
        last: dict[str, float] = {}
        for line in log.read_text().splitlines():
            row = json.loads(line)
            stage, seconds = row["stage"], row.get("seconds", 0.0)
            if seconds < last.get(stage, 0.0):
                done[stage] = done.get(stage, 0.0) + last[stage]
            last[stage] = seconds
        info["minutes"] = {k: round((done.get(k, 0.0) + v) / 60, 1) for k, v in last.items()}
    train_json = run / "train.json"
    if train_json.is_file():
        info["train"] = json.loads(train_json.read_text())
    return info


def _cpu() -> str:
    """The CPU's model name and the cores this process may use."""
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return f"{name}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores"


CHECK_PAIRS = 16
CHECK_KEYS = ("ssim", "psnr", "l1", "cloth_ssim", "miou", "warp_ssim", "flow_epe", "final_ssim", "diversity")


def evaluate_argv(model: Path, check: dict, viton: Path | None, out: Path) -> list[str]:
    """The ``clothflow evaluate`` command line of a check (its pairs written to ``out/pairs.txt``)."""
    argv = ["evaluate", "--model", str(model), "--out", str(out / "report")]
    if check["data"] == "synthetic":
        return argv + ["--pairs", str(check["pairs"]), "--seed", str(check["seed"])]
    out.mkdir(parents=True, exist_ok=True)
    (out / "pairs.txt").write_text("".join(line + "\n" for line in check["pairs"]))
    return argv + ["--data", str(viton / check["data"].split(":", 1)[1]), "--pairs", str(out / "pairs.txt")]


def read_check(report: Path) -> dict:
    """The checked figures of an evaluate report: the papers' metrics, or a parser's mIoU."""
    saved = json.loads((report / "metrics.json").read_text())
    found = {**saved, **saved.get("paper", {})}
    return {k: found[k] for k in CHECK_KEYS if k in found}


# The figures a card quotes from a check. SSIM is scikit-image's on uint8 (the papers' protocol)
# except FiNet's, the project's SSIM over the erased box as in its table. check.json keeps every
# CHECK_KEYS figure for the test, the training metric final_ssim included.
CHECK_TEXT = {"ssim": "SSIM (scikit-image protocol)", "psnr": "PSNR", "l1": "L1", "cloth_ssim": "SSIM of the garment region",
              "miou": "mean IoU", "flow_epe": "flow EPE (px)", "diversity": "diversity"}
FINET_SSIM = "SSIM in the erased box (the project's SSIM, as in FiNet's table)"


def check_text(metrics: dict, kind: str = "clothflow") -> str:
    """The card's line for a check's figures, e.g. ``SSIM (scikit-image protocol) 0.7938, PSNR 21.0018``."""
    labels = {**CHECK_TEXT, "ssim": FINET_SSIM} if kind == "finet" else CHECK_TEXT
    return ", ".join(f"{label} {metrics[key]}" for key, label in labels.items() if key in metrics)


def _check(model: Path, data: str, pairs: str | None, viton: Path | None) -> dict:
    import tempfile

    from clothflow.apps.cli import main as cli

    if data == "synthetic":
        check = {"data": data, "pairs": CHECK_PAIRS, "seed": 10_000}
    else:
        listed = (viton / pairs).read_text().splitlines()
        check = {"data": data, "pairs": [line.strip() for line in listed if line.strip()][:CHECK_PAIRS]}
    with tempfile.TemporaryDirectory() as tmp:
        if cli(evaluate_argv(model, check, viton, Path(tmp))) not in (0, None):
            raise SystemExit("the check's evaluate failed")
        check["metrics"] = read_check(Path(tmp) / "report")
    return check


def _write_check(out: Path, args) -> list[str]:
    """Write ``out/check.json`` from the shipped weights; the card's lines that report it."""
    check = _check(out, args.check_data, args.check_pairs, args.viton)
    (out / "check.json").write_text(json.dumps(check, indent=1) + "\n")
    return ["", f"## check: `clothflow evaluate` on {CHECK_PAIRS} pairs (check.json)", "",
            f"{check_text(check['metrics'], stored_kind(out))}; `tests/apps/test_shipped_cards.py` scores them again."]


def _check_only(args) -> None:
    """``--check-only``: check.json and the card's check section of an already shipped model."""
    out = SHIPPED_DIR / args.name
    card = out / "card.md"
    if not card.is_file() or not args.check_data:
        raise SystemExit(f"--check-only needs a shipped model with a card ({card}) and --check-data")
    lines = card.read_text().rstrip("\n").split("\n")
    heading = next((i for i, line in enumerate(lines) if line.startswith("## check: ")), None)
    if heading is not None:  # the section runs to the next heading
        end = next((i for i in range(heading + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines = lines[: heading - 1] + lines[end:]
    card.write_text("\n".join(lines + _write_check(out, args)) + "\n")
    print(f"wrote {out / 'check.json'}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, nargs="?")
    ap.add_argument("name")
    ap.add_argument("--title", help="the card's title (required unless --check-only)")
    ap.add_argument("--data", help="what it was trained on (required unless --check-only)")
    ap.add_argument("--licence", help="required unless --check-only")
    ap.add_argument("--metrics", type=Path, nargs="*", default=[], help="metrics JSON files to put on the card")
    ap.add_argument("--note", action="append", default=[])
    ap.add_argument("--float16", action="store_true")
    ap.add_argument("--check-data", help="synthetic, or viton:test (the VITON test folder, see --viton)")
    ap.add_argument("--check-pairs", help="the pair list of --check-data (first 16 entries used)")
    ap.add_argument("--viton", type=Path, help="the extracted viton/ folder (for viton:test)")
    ap.add_argument("--check-only", action="store_true",
                    help="only write check.json and the card's check section of the model shipped as NAME (no RUN)")
    args = ap.parse_args(argv)
    if args.check_only:
        return _check_only(args)
    missing = [flag for flag, value in (("RUN", args.run), ("--title", args.title), ("--data", args.data),
                                        ("--licence", args.licence)) if value is None]
    if missing:
        ap.error(f"{', '.join(missing)} needed (except with --check-only)")
    kind = stored_kind(args.run)
    cls = _model_class(kind)
    model = cls.from_pretrained(args.run)
    out = SHIPPED_DIR / args.name
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out, dtype=torch.float16 if args.float16 else None)
    shipped = cls.from_pretrained(out)
    diff = (_outputs(model, kind) - _outputs(shipped, kind)).abs()
    change, mean_change = float(diff.max()), float(diff.mean())
    training = _training(args.run, cls(model.config))
    size_mb = (out / "model.safetensors").stat().st_size / 2**20
    lines = [f"# {args.name}: {args.title}", "", f"- kind: {kind}", f"- data: {args.data}",
             f"- licence of the weights: {args.licence}",
             f"- weights: {size_mb:.1f} MB, {'float16' if args.float16 else 'float32'} storage "
             f"(output change against float32 on random inputs: mean {mean_change:.2e}, largest {change:.2e})",
             f"- training: steps {training.get('steps')}, minutes {training.get('minutes')}",
             f"- machine: {_cpu()}, torch {torch.__version__}", ""]
    for note in args.note:
        lines.append(f"- {note}")
    for path in args.metrics:  # named by the file alone: where it was kept while shipping is no one's business
        lines += ["", f"## metrics: {path.name}", "", "```json", path.read_text().strip(), "```"]
    if "train" in training:
        lines += ["", "## train.json", "", "```json", json.dumps(training["train"], indent=1), "```"]
    if args.check_data:
        lines += _write_check(out, args)
    (out / "card.md").write_text("\n".join(lines) + "\n")
    print(f"shipped {args.run} as {out} ({size_mb:.1f} MB, output change mean {mean_change:.2e}, max {change:.2e})")


if __name__ == "__main__":
    sys.exit(main())

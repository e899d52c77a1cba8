"""Pose transfer on real same-person pairs: ours beside the published methods, on the same rows.

Every method is scored on the pair table's rows of one dataset and split by the papers' SSIM
(clothflow.evaluation.pose_pairs): on the photo's whole frame and on the 256 x 176 centre crop,
in columns by the published method whose output the rows carry (PG2, Deformable GAN, VUNET).
Models are run with `clothflow transfer --pairs` (written to OUT/<name>/, reused when there);
result folders of other methods are scored as they are.

    python benchmarks/pose_transfer_real.py --data ../shared/data/pose_transfer_real --split test \
        --models synthetic=transfer-synthetic-256 ours=transfer-deepfashion-256 --out OUT
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from blas_threads import from_argv

from_argv("--threads", default="2")

from clothflow.core.errors import ClothflowError  # noqa: E402
from clothflow.data.formats.pose_pairs import read_pair_table  # noqa: E402
from clothflow.evaluation.pose_pairs import by_peer, score_rows  # noqa: E402

PEERS = {"pg2": "PG2", "deform": "Deformable GAN", "vunet": "VUNET"}
NOT_COMPUTED = ("IS", "FID", "LPIPS")  # their published Inception / AlexNet weights cannot be fetched here


def _named(values: list[str], what: str) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, target = v.partition("=")
        if not sep or not name or not target:
            raise SystemExit(f"{what} takes NAME=VALUE, not {v!r}")
        out[name] = target
    return out


def run_model(model: str, data: Path, dataset: str, split: str, out: Path) -> float:
    """Run `clothflow transfer --pairs` unless its folder is complete; seconds taken (0 when reused)."""
    from clothflow.apps.transfer_pairs import transfer_table
    from clothflow.deploy.onnx_export import load_inference_pipeline

    rows = read_pair_table(data, dataset, split)
    if out.is_dir() and all((out / r.output_name).is_file() for r in rows):
        return 0.0
    started = time.perf_counter()
    transfer_table(load_inference_pipeline(model, "torch"), data, out, dataset, split, progress=False)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="the pair-table folder (pairs.csv)")
    p.add_argument("--dataset", default="deepfashion")
    p.add_argument("--split", default="test")
    p.add_argument("--models", nargs="*", default=[], metavar="NAME=MODEL", help="models to run (name or folder)")
    p.add_argument("--results", nargs="*", default=[], metavar="NAME=FOLDER", help="result folders to score")
    p.add_argument("--out", type=Path, required=True, help="where the models' results and table.json go")
    p.add_argument("--threads", type=int, default=2, help="BLAS threads")
    args = p.parse_args(argv)
    rows = read_pair_table(args.data, args.dataset, args.split)
    methods: dict[str, str] = {"copy source": "source", "published method": "peer"}
    for name, model in _named(args.models, "--models").items():
        folder = args.out / name
        seconds = run_model(model, args.data, args.dataset, args.split, folder)
        print(f"{name}: {model} -> {folder}" + (f" ({seconds:.0f} s)" if seconds else " (reused)"), file=sys.stderr)
        methods[name] = str(folder)
    methods.update(_named(args.results, "--results"))
    table = {}
    for name, method in methods.items():
        try:
            table[name] = by_peer(score_rows(method, rows))
        except ClothflowError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
    peers = [k for k in PEERS if any(r.peer == k for r in rows)]
    head = "| method | " + " | ".join(f"{PEERS[k]} rows ({table['copy source'][k][2]})" for k in peers)
    print(f"\n{args.dataset} {args.split}: SSIM on the whole frame / on the 256 x 176 centre crop\n")
    print(head + " | all rows | " + " | ".join(NOT_COMPUTED) + " |")
    print("|---" * (len(peers) + 2 + len(NOT_COMPUTED)) + "|")
    for name, groups in table.items():
        cells = [f"{groups[k][0]:.3f} / {groups[k][1]:.3f}" if k in groups else "" for k in peers]
        whole = "" if name == "published method" else f"{groups['all'][0]:.3f} / {groups['all'][1]:.3f}"
        print(f"| {name} | " + " | ".join(cells) + f" | {whole} | " + " | ".join("not computed" for _ in NOT_COMPUTED) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.json").write_text(json.dumps({"dataset": args.dataset, "split": args.split, "table": table}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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

import numpy as np  # noqa: E402

from clothflow.core.errors import ClothflowError  # noqa: E402
from clothflow.core.images import save_png  # noqa: E402
from clothflow.data.formats.images import fit_to_size, read_rgb  # noqa: E402
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


def figure(rows, method: str, count: int, height: int = 192) -> np.ndarray:
    """Rows of [source | target pose | the method | the published method | truth], ``count`` pairs
    taken in turn from each published method's rows (every k-th, so not hand-picked)."""
    import cv2

    from clothflow.core.ops.pose import draw_skeleton
    from clothflow.data.formats.pose_pairs import default_cache, photo_keypoints
    from clothflow.evaluation.pose_pairs import result_file

    dataset = rows[0].dataset
    poses = photo_keypoints(rows[0].root, default_cache(rows[0].root), dataset)
    by_peer = {}
    for r in rows:
        by_peer.setdefault(r.peer, []).append(r)
    picked = []
    while len(picked) < count and any(by_peer.values()):
        for peer, group in by_peer.items():
            if group and len(picked) < count:
                step = max(len(rows) // count, 1)
                picked.append(group.pop(min(step, len(group) - 1) if len(group) > 1 else 0))
    fit = lambda img: cv2.resize(img, (round(img.shape[1] * height / img.shape[0]), height),  # noqa: E731
                                 interpolation=cv2.INTER_AREA)
    lines = []
    for r in picked:
        truth = read_rgb(r.target)
        kps = poses.get(r.target.name)
        sk = np.zeros_like(truth) if kps is None else draw_skeleton(kps, *truth.shape[:2], 3)
        pose = np.where(sk.any(-1, keepdims=True), sk, 255).astype(np.uint8)
        cells = [read_rgb(r.source), pose, read_rgb(result_file(method, r)), read_rgb(r.peer_output), truth]
        lines.append(np.concatenate([fit(fit_to_size(c, truth.shape[:2])) for c in cells], 1))
    return np.concatenate(lines, 0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="the pair-table folder (pairs.csv)")
    p.add_argument("--dataset", default="deepfashion")
    p.add_argument("--split", default="test")
    p.add_argument("--models", nargs="*", default=[], metavar="NAME=MODEL", help="models to run (name or folder)")
    p.add_argument("--results", nargs="*", default=[], metavar="NAME=FOLDER", help="result folders to score")
    p.add_argument("--out", type=Path, required=True, help="where the models' results and table.json go")
    p.add_argument("--threads", type=int, default=2, help="BLAS threads")
    p.add_argument("--figure", type=Path, help="write a figure: source | target pose | FIGURE_METHOD | published | truth")
    p.add_argument("--figure-method", default="ours", help="the method the figure shows (a name of --models)")
    p.add_argument("--figure-rows", type=int, default=8, help="test pairs in the figure (spread over the peers)")
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
    print(f"\n{args.dataset} {args.split}: SSIM on the photo's whole frame / on its centre crop at the 256 x 176 "
          "aspect (DeepFashion: columns 40:216; a narrower photo: the whole frame)\n")
    print(head + " | all rows | " + " | ".join(NOT_COMPUTED) + " |")
    print("|---" * (len(peers) + 2 + len(NOT_COMPUTED)) + "|")
    for name, groups in table.items():
        cells = [f"{groups[k][0]:.3f} / {groups[k][1]:.3f}" if k in groups else "" for k in peers]
        whole = "" if name == "published method" else f"{groups['all'][0]:.3f} / {groups['all'][1]:.3f}"
        print(f"| {name} | " + " | ".join(cells) + f" | {whole} | " + " | ".join("not computed" for _ in NOT_COMPUTED) + " |")
    if args.figure is not None:
        save_png(args.figure, figure(rows, methods[args.figure_method], args.figure_rows))
        print(f"wrote {args.figure}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.json").write_text(json.dumps({"dataset": args.dataset, "split": args.split, "table": table}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

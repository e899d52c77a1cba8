"""FiNet variants on held-out synthetic outfits: compatibility, diversity and fidelity.

Trains every variant (64 x 44, a short budget, one shared training set), trains a style
classifier on true garments, and scores each model on held-out outfits (seed 10,000):

    python benchmarks/finet_table.py --out runs/finet_table

Writes ``results.json``, ``table.md``, ``samples.png`` (the ``finet`` model's samples),
``variants.png`` (one input, every variant) and ``tryon.png`` (``finet`` filling a person with
another outfit's encoded upper garment) into ``--out``; ``--docs DIR`` copies the figures
there as ``finet_samples.png``, ``finet_variants.png`` and ``finet_tryon.png``. ``--reuse`` loads variants
already trained in ``--out`` instead of training them again (e.g. after two processes
trained two halves with ``--variants``). ``--score NAME=MODEL ...`` scores saved models instead
(shipped names or folders, all of one size; the classifier and held-out outfits at that size):

    python benchmarks/finet_table.py --out runs/finet_shipped --score finet=finet-synthetic-128
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from clothflow.finet.config import FINET_VARIANTS, FinetConfig, FinetTrainConfig
from clothflow.finet.data import HELD_OUT_SEED, InpaintDataset, collate
from clothflow.finet.evaluate import classifier_accuracy, score_model, train_style_classifier
from clothflow.finet.infer import sample_grid, tryon
from clothflow.finet.models import FinetModel
from clothflow.finet.objective import batch_inputs
from clothflow.finet.train import train_inpaint
from clothflow.core.images import save_png, to_uint8
from clothflow.evaluation.visualize import grid


def _figures(models: dict[str, FinetModel], held_out: InpaintDataset, out: Path, rows: int, samples: int) -> None:
    picks = [i for i in range(len(held_out)) if int(held_out[i]["region"]) != 2][:rows]
    if "finet" in models:
        b = collate([held_out[i] for i in picks])
        outs = models["finet"].sample(batch_inputs(b), samples, torch.Generator().manual_seed(1))
        parts = [sample_grid(b, outs, row=r, truth=True) for r in range(len(picks))]
        save_png(out / "samples.png", np.concatenate([p if r == 0 else p[18:] for r, p in enumerate(parts)], 0))
    if "finet" in models:  # try-on: the upper garment of another outfit, encoded, fills the person
        uppers = [i for i in range(len(held_out)) if int(held_out[i]["region"]) == 0][:rows]
        b = collate([held_out[i] for i in uppers])
        donor = {k: v.roll(1, 0) for k, v in b.items()}
        res = tryon(models["finet"], b, donor["image"], donor["garment"])
        cells = [[to_uint8(b["image"][r] * (1 - b["mask"][r]) + 0.6 * b["mask"][r]),
                  to_uint8(donor["image"][r] * donor["garment"][r] + (1 - donor["garment"][r])),
                  to_uint8(res.image[r]), to_uint8(b["image"][r])] for r in range(len(uppers))]
        save_png(out / "tryon.png", grid(cells, ["person", "garment", "try-on", "original"]))
    b = collate([held_out[picks[0]]])
    cells, x = [], batch_inputs(b)
    for name, model in models.items():
        outs = model.sample(x, samples, torch.Generator().manual_seed(1))
        cells.append([to_uint8(b["image"][0] * (1 - b["mask"][0]) + 0.6 * b["mask"][0])] + [to_uint8(o.image[0]) for o in outs])
    img = grid(cells, ["input"] + [f"sample {k + 1}" for k in range(samples)])
    save_png(out / "variants.png", img)
    (out / "variants.txt").write_text("rows: " + ", ".join(models) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/finet_table"))
    ap.add_argument("--variants", nargs="+", default=list(FINET_VARIANTS), choices=FINET_VARIANTS)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--items", type=int, default=2000, help="training outfits")
    ap.add_argument("--eval-items", type=int, default=128, help="held-out outfits")
    ap.add_argument("--samples", type=int, default=5, help="samples K per held-out input")
    ap.add_argument("--classifier-steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="load variants already trained in --out")
    ap.add_argument("--train-only", action="store_true", help="train the variants, score nothing")
    ap.add_argument("--score", nargs="+", metavar="NAME=MODEL", help="score saved models (shipped names or folders) "
                    "instead of training the variants")
    ap.add_argument("--docs", type=Path, help="copy the figures here (finet_samples.png, finet_variants.png, finet_tryon.png)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    models, seconds = {}, {}
    for name, _, model in (item.partition("=") for item in args.score or []):
        models[name] = FinetModel.from_pretrained(model or name)
        seconds[name] = float("nan")
    sizes = {tuple(m.config.size) for m in models.values()} or {(64, 44)}
    if len(sizes) > 1:
        raise SystemExit(f"--score: the models have different sizes {sorted(sizes)}; score each size on its own")
    size = sizes.pop()
    train_set = InpaintDataset(args.items, size, seed=0)
    for variant in [] if args.score else args.variants:
        run = args.out / variant
        if args.reuse and (run / "model.safetensors").is_file():
            models[variant] = FinetModel.from_pretrained(run)
            log = (run / "losses.jsonl").read_text().splitlines()
            seconds[variant] = json.loads(log[-1])["seconds"] if log else float("nan")
            continue
        if run.exists():
            shutil.rmtree(run)
        started = time.monotonic()
        models[variant] = train_inpaint(run, FinetConfig(variant=variant),
                                        FinetTrainConfig(steps=args.steps, batch_size=args.batch_size, num_items=args.items),
                                        dataset=train_set)
        seconds[variant] = round(time.monotonic() - started, 1)
        print(f"{variant}: trained in {seconds[variant]} s", flush=True)
    if args.train_only:
        return
    held_out = InpaintDataset(args.eval_items, size, seed=HELD_OUT_SEED)
    started = time.monotonic()
    clf = train_style_classifier(train_set, steps=args.classifier_steps)
    acc = classifier_accuracy(clf, held_out)
    print(f"style classifier: held-out accuracy {acc:.3f} ({time.monotonic() - started:.0f} s)", flush=True)
    results = {"classifier_accuracy": acc, "args": {k: str(v) for k, v in vars(args).items()}, "variants": {}}
    lines = ["| variant | compatibility (style match) | diversity (pairwise L1, K=%d) | SSIM (encoded) | L1 (encoded) | train s |" % args.samples,
             "|---|---|---|---|---|---|"]
    for variant, model in models.items():
        s = score_model(model, clf, held_out, samples=args.samples)
        results["variants"][variant] = {**asdict(s), "train_seconds": seconds[variant]}
        lines.append(f"| {variant} | {s.compatibility:.3f} | {s.diversity:.4f} | {s.ssim:.3f} | {s.l1:.3f} | {seconds[variant]:.0f} |"
                     .replace("| nan |", "| - |"))
        print(lines[-1], flush=True)
    table = "\n".join(lines) + f"\n\nStyle classifier, held-out accuracy on true garments: {acc:.3f} (chance 0.2).\n"
    (args.out / "table.md").write_text(table)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    with torch.no_grad():
        _figures(models, held_out, args.out, rows=4, samples=4)
    if args.docs is not None:
        args.docs.mkdir(parents=True, exist_ok=True)
        for src, dst in (("samples.png", "finet_samples.png"), ("variants.png", "finet_variants.png"), ("tryon.png", "finet_tryon.png")):
            if (args.out / src).is_file():
                shutil.copy(args.out / src, args.docs / dst)
    print(table)


if __name__ == "__main__":
    main()

"""The README's small figure of real try-on: test persons never seen in training, each in another's garment.

    python benchmarks/viton_figure.py --model tryon-viton-256 --data ~/.cache/viton/viton \
        --out docs/viton_tryon.png [--pairs 4] [--shift 7]

Persons are the first ``--pairs`` of ``test_clean.txt``; each wears the garment of the person
``--shift`` places further down the list. Columns: person, garment, result; the dataset is
credited under the grid. VITON's licence allows this one small figure of test pairs (with the
credit) in the project, and no other image made from the data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from clothflow.core.images import to_uint8
from clothflow.data.datasets.viton import VitonDataset
from clothflow.evaluation.visualize import grid, label_strip
from clothflow.models.pipeline import ClothFlowPipeline


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tryon-viton-256")
    ap.add_argument("--data", type=Path, required=True, help="the extracted viton/ folder")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--shift", type=int, default=7)
    args = ap.parse_args(argv)
    pipe = ClothFlowPipeline.from_pretrained(args.model)
    names = (args.data / "test_clean.txt").read_text().split()
    pairs = [(names[i], names[(i + args.shift) % len(names)].replace("_0.jpg", "_1.jpg")) for i in range(args.pairs)]
    listing = args.out.with_suffix(".pairs.txt")
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("".join(f"{p} {c}\n" for p, c in pairs))
    ds = VitonDataset(args.data / "test", listing, size=pipe.config.size, mode="unpaired")
    batch = torch.utils.data.default_collate([ds[i] for i in range(len(ds))])
    listing.unlink()
    with torch.inference_mode():
        result = pipe.predict(batch)
    rows = [[to_uint8(batch["person"][i]), to_uint8(batch["cloth"][i]), to_uint8(result.image[i])]
            for i in range(len(ds))]
    image = grid(rows, ["person", "garment", "result"])
    credit = label_strip(["VITON test persons (Han et al., CVPR 2018), unseen in training"], image.shape[1])
    Image.fromarray(np.concatenate([image, credit], 0)).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

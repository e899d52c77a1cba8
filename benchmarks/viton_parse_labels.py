"""What VITON's parsings call a dress, a coat or a skirt: whole garments or fragments?

    python benchmarks/viton_parse_labels.py --data ~/.cache/viton/viton [--split test --pairs test_clean.txt]

VITON's ``image-parse`` maps were made by a human parser, not drawn by people. For each
garment class this prints how many photos have it, and how much of the garment it covers
there: its share of the upper garment (upper clothes + dress + coat) for dress and coat, of
the lower garment (pants + skirt + dress) for pants and skirt. A class that labels whole
garments covers most of its garment on most photos; a class that labels fragments (a
patch of a top called "dress") covers a little of it. A parser scored against fragments is
scored on reproducing another parser's mistakes, which bounds the IoU it can reach there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from clothflow.core.ops.labels import LIP, LIP_LABELS
from clothflow.data.formats.label_maps import read_label_map

UPPER = (LIP["upper-clothes"], LIP["dress"], LIP["coat"])
LOWER = (LIP["pants"], LIP["skirt"], LIP["dress"])
CLASSES = {LIP["dress"]: UPPER, LIP["coat"]: UPPER, LIP["pants"]: LOWER, LIP["skirt"]: LOWER}


def shares(parse_dir: Path, names: list[str]) -> dict[int, list[float]]:
    """Per class: its share of its garment on every photo that has it."""
    out: dict[int, list[float]] = {c: [] for c in CLASSES}
    for name in names:
        ids = read_label_map(parse_dir / (Path(name).stem + ".png"))  # as the VITON loader reads it
        for c, garment in CLASSES.items():
            n = int((ids == c).sum())
            if n:
                out[c].append(n / int(np.isin(ids, garment).sum()))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="the extracted viton/ folder")
    ap.add_argument("--split", default="test")
    ap.add_argument("--pairs", default="test_clean.txt", help="pair list one level above the split (person column)")
    args = ap.parse_args(argv)
    lines = (args.data / args.pairs).read_text().split("\n")
    names = list(dict.fromkeys(line.split()[0] for line in lines if line.strip()))
    found = shares(args.data / args.split / "image-parse", names)
    print(f"{len(names)} photos of {args.split} ({args.pairs})")
    print(f"{'class':10s} {'photos':>7s} {'median share':>13s} {'share > 1/2':>12s}")
    for c, values in found.items():
        v = np.asarray(values)
        if len(v):
            print(f"{LIP_LABELS[c]:10s} {len(v):7d} {np.median(v):13.3f} {(v > 0.5).mean():12.1%}")


if __name__ == "__main__":
    sys.exit(main())

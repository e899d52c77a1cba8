"""Try-on at the photo's own size: how sharp the result is, and how much of the photo it keeps.

    python benchmarks/tryon_full_size.py --data ../shared/data/vitonhd_samples [--model tryon-viton-256]

For every person of a VITON-HD folder (1024 x 768 photos), dressed in the next garment of the
folder, this compares two results at the photo's size: the network's 256 x 192 image simply
upsized (bilinear), and the composed result of the engine (:func:`clothflow.apps.infer.tryon_arrays`:
the photo kept where nothing changes, the full-resolution garment warped by the upsampled flow).
Sharpness is the mean gradient magnitude (Sobel, grey levels 0-255) and the variance of the
Laplacian, over the new garment region (the predicted layout's garment, upsized) and over the
face (the folder's parsing); the photo's own face is printed for reference. The kept region is
where the composition's weight of the network is 0: its share of the photo, and the largest
difference there between result and photo (0 means the photo's pixels, exactly).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from clothflow.apps.infer import tryon_arrays
from clothflow.core.images import label_tensor, to_uint8
from clothflow.core.ops import labels
from clothflow.core.ops.agnostic import garment_mask
from clothflow.core.ops.compose import changed_region, upsample
from clothflow.core.ops.labels import LIP
from clothflow.data.datasets.viton_layout import find_layout
from clothflow.data.formats.images import read_rgb
from clothflow.data.formats.keypoints import read_openpose_json
from clothflow.data.formats.label_maps import read_label_map, read_mask
from clothflow.models.pipeline import ClothFlowPipeline


def sharpness(image: np.ndarray, region: np.ndarray) -> tuple[float, float]:
    """(mean gradient magnitude, variance of the Laplacian) of an H x W x 3 uint8 image over a bool region."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    gx, gy = cv2.Sobel(grey, cv2.CV_64F, 1, 0), cv2.Sobel(grey, cv2.CV_64F, 0, 1)
    lap = cv2.Laplacian(grey, cv2.CV_64F)
    return float(np.hypot(gx, gy)[region].mean()), float(lap[region].var())


def measure(pipe: ClothFlowPipeline, layout, person: str, cloth: str) -> dict[str, float]:
    """The figures of one pair (see the module doc)."""
    pfiles, cfiles = layout.person_files(person), layout.cloth_files(cloth)
    photo = read_rgb(pfiles["person"])
    parse = read_label_map(pfiles["person_parse"], layout.scheme)
    kps = read_openpose_json(pfiles["person_pose"])
    result = tryon_arrays(pipe, photo, parse, kps, read_rgb(cfiles["cloth"]), read_mask(cfiles["cloth_mask"]))
    out, size = result.output, photo.shape[:2]
    upsized = cv2.resize(to_uint8(out.image[0]), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    garment = upsample(garment_mask(out.layout), size)[0, 0].numpy() > 0.5
    face = parse == LIP["face"]
    region = changed_region(labels.to_groups(label_tensor(parse, pipe.config.size)), out.layout)
    kept = upsample(region, size)[0, 0].numpy() == 0
    figures = {"kept share": float(kept.mean()),
               "kept max diff": float(np.abs(result.image.astype(int) - photo.astype(int))[kept].max(initial=0))}
    for name, image in (("composed", result.image), ("upsized", upsized), ("photo", photo)):
        for where, mask in (("garment", garment), ("face", face)):
            if name == "photo" and where == "garment":
                continue
            grad, lap = sharpness(image, mask)
            figures[f"{name} {where} gradient"], figures[f"{name} {where} laplacian var"] = grad, lap
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a VITON-HD folder (or its parent with test/)")
    parser.add_argument("--model", default="tryon-viton-256", help="a try-on model folder or shipped name")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = ClothFlowPipeline.from_pretrained(args.model).eval()
    layout = find_layout(args.data)
    persons = sorted(p.name for p in layout.image_dir.iterdir())
    cloths = sorted(p.name for p in layout.cloth_dir.iterdir())
    rows = [measure(pipe, layout, p, cloths[(i + 1) % len(cloths)]) for i, p in enumerate(persons)]
    size = read_rgb(layout.image_dir / persons[0]).shape[:2]
    print(f"{len(rows)} pairs of {layout.root}, photos {size[0]} x {size[1]}, network {pipe.config.size[0]} x "
          f"{pipe.config.size[1]} ({args.model}); mean over the pairs:")
    for key in rows[0]:
        values = [r[key] for r in rows]
        print(f"  {key:32s} {np.mean(values):10.4f}   (min {np.min(values):.4f}, max {np.max(values):.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

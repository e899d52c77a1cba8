"""Command line of fashion inpainting: ``clothflow inpaint`` and ``clothflow train --task inpaint``.

``clothflow inpaint --model RUN --erase upper|lower|dress [--samples K] --out DIR`` with either
``--image IMG --parse PARSE.png --pose KEYPOINTS.json`` (a photo, its LIP parsing and its
keypoints) or ``--synthetic INDEX`` (an embedded held-out synthetic outfit).

Try-on: ``--garment IMG [--garment-mask MASK.png]`` (an in-shop photo on white) or
``--garment-synthetic INDEX`` fills the region with that garment instead of samples and
writes ``tryon.png`` and ``grid.png`` (see :mod:`clothflow.finet.garment`).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from clothflow.core.errors import ClothflowError
from clothflow.finet.names import FINET_VARIANTS, GARMENT_REGIONS


def _nonnegative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def add_inpaint_parser(sub) -> None:
    """Add the ``inpaint`` sub-command to an argparse sub-parser group."""
    p = sub.add_parser("inpaint", help="fashion inpainting (FiNet): fill an erased garment with K compatible samples")
    p.add_argument("--model", type=Path, help="an inpainting run (clothflow train --task inpaint) or a shipped "
                   "model's name (default: the shipped FiNet model)")
    p.add_argument("--image", type=Path, help="a person photo (needs --parse and --pose)")
    p.add_argument("--parse", type=Path, help="its parsing map (LIP ids PNG), same size as the photo")
    p.add_argument("--pose", type=Path, help="its keypoints (OpenPose JSON or a JSON list of 18 [x, y])")
    p.add_argument("--synthetic", type=_nonnegative, metavar="INDEX", help="use held-out synthetic outfit INDEX instead of a photo")
    p.add_argument("--erase", required=True, help=f"the garment to erase and fill: {', '.join(GARMENT_REGIONS)}")
    p.add_argument("--samples", type=int, default=4, help="how many samples K (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples")
    p.add_argument("--garment", type=Path, help="try-on: an in-shop garment photo on a white background (--samples is ignored)")
    p.add_argument("--garment-mask", type=Path, help="its mask (> 127 = garment; default: the photo's non-white pixels)")
    p.add_argument("--garment-synthetic", type=_nonnegative, metavar="INDEX",
                   help="try-on: the same garment region of held-out synthetic outfit INDEX")
    p.add_argument("--out", type=Path, required=True, help="folder for sample_01.png ... and grid.png (tryon.png with a garment)")
    p.set_defaults(func=run_inpaint)


def run_inpaint(args) -> None:
    from clothflow.finet.infer import file_batch, inpaint, synthetic_batch, tryon, write_samples
    from clothflow.finet.inputs import region_index
    from clothflow.finet.models import FinetModel

    region_index(args.erase)  # a bad --erase fails before anything is loaded
    garment = args.garment is not None or args.garment_synthetic is not None
    if args.garment is not None and args.garment_synthetic is not None:
        raise ClothflowError("inpaint: give --garment IMG or --garment-synthetic INDEX, not both")
    if args.garment_mask is not None and args.garment is None:
        raise ClothflowError("inpaint: --garment-mask goes with --garment IMG")
    for path in (args.garment, args.garment_mask):
        if path is not None and not path.is_file():
            raise ClothflowError("file not found", path)
    if not garment and args.samples < 1:
        raise ClothflowError(f"inpaint: --samples must be >= 1, got {args.samples}")
    if (args.image is None) == (args.synthetic is None):
        raise ClothflowError("inpaint: give --image IMG (with --parse and --pose) or --synthetic INDEX")
    if args.image is not None:
        if not args.image.is_file():
            raise ClothflowError("image not found", args.image)
        if args.parse is None or args.pose is None:
            raise ClothflowError("inpaint: a photo needs its parsing (--parse PARSE.png) and keypoints (--pose KEYPOINTS.json)")
        for path in (args.parse, args.pose):
            if not path.is_file():
                raise ClothflowError("file not found", path)
    from clothflow.core.pretrained import default_model

    model = FinetModel.from_pretrained(default_model(args.model, "inpaint"))
    size = model.config.size
    if args.image is not None:
        batch = file_batch(args.image, args.parse, args.pose, args.erase, size)
    else:
        batch = synthetic_batch(args.synthetic, args.erase, size)
    if garment:
        from clothflow.finet.garment import target_garment, write_tryon_result

        garment_image, garment_mask = target_garment(batch, args.garment, args.garment_mask, args.garment_synthetic)
        output = tryon(model, batch, garment_image, garment_mask)
        paths = write_tryon_result(args.out, batch, garment_image, garment_mask, output)
        print(f"wrote {paths[0]} and {paths[1]}")
        return
    outputs = inpaint(model, batch, args.samples, args.seed)
    paths = write_samples(args.out, batch, outputs, truth=args.synthetic is not None)
    print(f"wrote {len(outputs)} samples and {paths[-1]}")


def run_train_inpaint(args) -> None:
    """``clothflow train --task inpaint``, and ``clothflow train --resume`` of an inpainting run.

    Takes --variant, --steps, --batch-size, --minutes, --seed, --workers, --nproc, --set model.* /
    train.* and --out / --resume; refuses ClothFlow's --preset, --stage and --data (but ``synthetic``).
    """
    from clothflow.core.config import apply_overrides
    from clothflow.core.files import writable_dir
    from clothflow.finet.config import FinetConfig, FinetTrainConfig
    from clothflow.finet.train import read_run, train_inpaint
    from clothflow.training.distributed import launch

    if (args.out is None) == (args.resume is None):
        raise ClothflowError("train: give either --out RUN (a new run) or --resume RUN")
    clothflow_only = [flag for flag, value in (("--preset", args.preset), ("--stage", args.stage)) if value is not None]
    if args.data not in (None, "synthetic"):
        clothflow_only.append("--data")
    if clothflow_only:
        raise ClothflowError(f"train --task inpaint: {' and '.join(clothflow_only)} {'applies' if len(clothflow_only) == 1 else 'apply'} only to ClothFlow; "
                             "FiNet trains its networks together on synthetic outfits (--set train.num_items=N)")
    flags = {"steps": args.steps, "batch_size": args.batch_size, "minutes": args.minutes, "seed": args.seed,
             "workers": args.workers}
    flag_sets = [f"{k}={v}" for k, v in flags.items() if v is not None]
    model_sets = [s[len("model."):] for s in args.set if s.startswith("model.")]
    train_sets = [s[len("train."):] for s in args.set if s.startswith("train.")]
    if len(model_sets) + len(train_sets) != len(args.set):
        raise ClothflowError("train --task inpaint: --set takes model.FIELD=VALUE or train.FIELD=VALUE")
    if args.resume is not None:
        if model_sets or args.variant is not None:
            raise ClothflowError("train: a resumed run keeps its model config (--variant, --set model.*); "
                                 "only training options can change")
        _, stored = read_run(args.resume)
        train_cfg = apply_overrides(stored, flag_sets + train_sets)
        if launch(train_inpaint, args.nproc, args.resume, train_cfg=train_cfg, resume=True, progress=True):
            print(f"run resumed and finished: {args.resume}")
        return
    variant = "finet" if args.variant in (None, "full") else args.variant
    if variant not in FINET_VARIANTS:
        raise ClothflowError(f"unknown inpainting variant {variant!r}; choose one of: {', '.join(FINET_VARIANTS)}")
    model_cfg = apply_overrides(replace(FinetConfig(), variant=variant), model_sets)
    train_cfg = apply_overrides(FinetTrainConfig(), flag_sets + train_sets)
    if launch(train_inpaint, args.nproc, writable_dir(args.out), model_cfg, train_cfg, progress=True):
        print(f"trained inpainting model saved in {args.out} (use it with clothflow inpaint --model {args.out})")

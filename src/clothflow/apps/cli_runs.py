"""The ``clothflow train`` and ``clothflow evaluate`` commands: training runs of every kind, and scoring them.

Errors in user input raise :class:`~clothflow.core.errors.ClothflowError` (one line, exit status 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clothflow.core.arguments import positive_int
from clothflow.core.errors import ClothflowError
from clothflow.core.files import writable_dir


# ---- train -------------------------------------------------------------------------------
def add_train_parser(sub) -> None:
    p = sub.add_parser("train", help="train the stages of ClothFlow, or FiNet (--task inpaint)")
    p.add_argument("--stage", choices=["layout", "flow", "render", "all"], help="the stage to train (default all)")
    p.add_argument("--data", help="'synthetic' (default) or a dataset folder: DeepFashion "
                   "(pose transfer), VITON / VITON-HD (try-on), or a `clothflow synth --out` folder")
    p.add_argument("--task", choices=["transfer", "tryon", "inpaint", "parse"],
                   help="pose transfer (default), try-on, inpaint (FiNet fashion inpainting), or parse (the human "
                   "parser, on a try-on folder's parsings); a resumed run keeps its own")
    p.add_argument("--preset", help="model preset: tiny (64x44, the default), paper (256x176) or fast (256x176, "
                   "for CPU inference); it brings its own training settings, e.g. fast's learning rates")
    p.add_argument("--variant", help="the paper's ablations: full (default), no_layout, no_flow, tps, "
                   "no_cascade, no_style, dense; with --task inpaint: finet (default), no_two_stage, no_compat, "
                   "pix2pix_noise")
    p.add_argument("--pairs", metavar="FILE", help="a try-on folder's pair list (default: the folder's own, e.g. "
                   "train/ -> train_pairs.txt)")
    p.add_argument("--mirror", action="store_true", default=None,
                   help="also train on the mirror image of every folder pair (left and right swapped)")
    p.add_argument("--steps", type=positive_int, help="steps per stage")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--minutes", type=float, help="wall-clock budget for the run")
    p.add_argument("--workers", type=int, help="DataLoader worker processes")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", type=Path, help="new run folder")
    p.add_argument("--resume", type=Path, metavar="RUN", help="continue a run from its last checkpoint")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override any config field, e.g. flow.num_levels=3 or train.loss.flow.smooth=0.1",
    )
    p.add_argument("--nproc", type=positive_int, default=1,
                   help="data-parallel processes on this machine (as torchrun --nproc_per_node N -m clothflow train)")
    p.set_defaults(func=_run_train)


def _run_train(args) -> None:
    from clothflow.core.pretrained import stored_kind

    if (args.out is None) == (args.resume is None):
        raise ClothflowError("train: give either --out RUN (a new run) or --resume RUN")
    if args.task == "inpaint" or (args.task is None and args.resume is not None and stored_kind(args.resume) == "finet"):
        from clothflow.finet.cli import run_train_inpaint

        return run_train_inpaint(args)
    if args.task == "parse" or (args.task is None and args.resume is not None and stored_kind(args.resume) == "parser"):
        return _run_train_parse(args)
    from clothflow.core.config import apply_overrides
    from clothflow.models.config import PipelineConfig, preset
    from clothflow.models.variants import apply_variant
    from clothflow.training.distributed import launch
    from clothflow.training.loop import RunFolder
    from clothflow.training.settings import TrainConfig, preset_training, variant_training
    from clothflow.training.stages import train

    pipe_sets = [s for s in args.set if not s.startswith("train.")]
    train_sets = [s[len("train."):] for s in args.set if s.startswith("train.")]
    flags = {"steps": args.steps, "batch_size": args.batch_size, "minutes": args.minutes,
             "workers": args.workers, "seed": args.seed, "stage": args.stage, "data": args.data,
             "pairs": getattr(args, "pairs", None), "mirror": getattr(args, "mirror", None)}
    flag_sets = [f"{k}={v}" for k, v in flags.items() if v is not None]
    if args.resume is not None:
        if pipe_sets or args.preset is not None or args.variant is not None:
            raise ClothflowError("train: a resumed run keeps its model config (--preset, --variant and --set "
                                 "without train.); only training options can change")
        pipeline_cfg, train_cfg = RunFolder(args.resume, "clothflow").configs(True, PipelineConfig, TrainConfig)
        if args.task is not None and args.task != pipeline_cfg.task:
            raise ClothflowError(f"this run trains the {pipeline_cfg.task} task; a resumed run keeps its task",
                                 args.resume)
        train_cfg = apply_overrides(train_cfg, flag_sets + train_sets)
        if launch(train, args.nproc, args.resume, train_cfg=train_cfg, resume=True):
            print(f"run resumed and finished: {args.resume}")
        return
    preset_name, variant = args.preset or "tiny", args.variant or "full"
    pipeline_cfg = apply_variant(variant, preset(preset_name, task=args.task or "transfer"))
    pipeline_cfg = apply_overrides(pipeline_cfg, pipe_sets)
    train_sets = variant_training(variant) + preset_training(preset_name) + flag_sets + train_sets
    train_cfg = apply_overrides(TrainConfig(), train_sets)
    writable_dir(args.out)
    if pipeline_cfg.task == "transfer":
        prepare_pair_table(train_cfg.data, train_cfg.subset)
    if launch(train, args.nproc, args.out, pipeline_cfg, train_cfg):
        print(f"trained pipeline saved in {args.out} (load it with --model {args.out})")


def _run_train_parse(args) -> None:
    from clothflow.core.config import apply_overrides
    from clothflow.models.parser import ParserConfig
    from clothflow.training.parser import ParserTrainConfig, read_parser_run, train_parser

    refused = [flag for flag, value in (("--preset", args.preset), ("--variant", args.variant), ("--stage", args.stage))
               if value is not None]
    if refused or args.nproc > 1:
        raise ClothflowError(f"train --task parse: {', '.join(refused) or '--nproc'} does not apply to the parser")
    pipe_sets = [s for s in args.set if not s.startswith("train.")]
    train_sets = [s[len("train."):] for s in args.set if s.startswith("train.")]
    flags = {"steps": args.steps, "batch_size": args.batch_size, "minutes": args.minutes, "workers": args.workers,
             "seed": args.seed, "data": args.data, "pairs": args.pairs, "mirror": args.mirror}
    train_sets = [f"{k}={v}" for k, v in flags.items() if v is not None] + train_sets
    if args.resume is not None:
        if pipe_sets:
            raise ClothflowError("train: a resumed run keeps its model config; only train.* options can change")
        _, train_cfg = read_parser_run(args.resume)
        train_parser(args.resume, train_cfg=apply_overrides(train_cfg, train_sets), resume=True, progress=True)
        print(f"run resumed and finished: {args.resume}")
        return
    model_cfg = apply_overrides(ParserConfig(), pipe_sets)
    train_cfg = apply_overrides(ParserTrainConfig(), train_sets)
    writable_dir(args.out)
    train_parser(args.out, model_cfg, train_cfg, progress=True)
    print(f"trained parser saved in {args.out} (load it with --parser {args.out})")


def prepare_pair_table(data: str, subset: str) -> None:
    """Estimate the parsings and missing keypoints of a pose pair table's photos (once; kept in its cache)."""
    from clothflow.data.datasets.pose_pairs import parse_subset
    from clothflow.data.formats.pose_pairs import default_cache, is_pair_table, read_pair_table
    from clothflow.estimate.pair_cache import prepare_pair_photos

    if data == "synthetic" or not is_pair_table(data):
        return
    rows = read_pair_table(data, *parse_subset(subset))
    report = prepare_pair_photos(rows, default_cache(data), progress=True)
    if report.parsed or report.estimated:
        print(f"pair table: parsed {report.parsed} photos, estimated keypoints of {report.estimated}; "
              f"kept in {default_cache(data)}")
    if report.no_pose:
        print(f"pair table: no pose found in {len(report.no_pose)} photos (their pairs are left out), "
              f"e.g. {report.no_pose[0]}")


# ---- evaluate -------------------------------------------------------------------------------
def add_evaluate_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="score a model as the papers do and write a report folder")
    p.add_argument("--model", type=Path, help="a trained run or saved model folder, or a shipped model's name "
                   "(default: the shipped model of the data's task: synthetic pose transfer, or real-photo try-on "
                   "for a try-on folder)")
    p.add_argument("--data", default="synthetic", help="'synthetic' (held-out pairs) or a dataset folder: DeepFashion "
                   "(pose transfer), VITON / VITON-HD (try-on), or a `clothflow synth --out` folder (all its pairs)")
    p.add_argument("--pairs", metavar="N|FILE",
                   help="synthetic: how many held-out pairs, or outfits for an inpainting model (default 256); a folder: its pair list to score "
                        "(e.g. test_pairs_same.txt, test_clean.txt; default: the folder's own)")
    p.add_argument("--seed", type=int, default=10_000, help="seed of the synthetic pairs (not a training seed)")
    p.add_argument("--bounding", action="store_true", help="pad to 256 wide with white first, as PATN's script")
    p.add_argument("--data-range", default="255", help="SSIM data range: 255, or 'generated' as PATN/GFLA's scripts")
    p.add_argument("--out", type=Path, required=True, help="report folder")
    p.set_defaults(func=_run_evaluate)


def _evaluate_parser(args) -> None:
    import json

    from clothflow.core.files import atomic_write_text
    from clothflow.data.datasets.viton import VitonDataset
    from clothflow.evaluation.parsing import parsing_scores
    from clothflow.models.parser import HumanParser

    if args.data == "synthetic":
        raise ClothflowError("evaluate: a parser is scored on a try-on folder with parsings (--data viton/test)")
    parser = HumanParser.from_pretrained(args.model)
    dataset = VitonDataset(args.data, args.pairs, size=parser.config.size, mode="paired")
    dataset.require("person_parse")
    print(f"scoring the parser {args.model} on {len(dataset)} photos of {args.data} (pair list {dataset.pairs_file})")
    scores = parsing_scores(parser, dataset)
    atomic_write_text(writable_dir(args.out) / "metrics.json", json.dumps(scores, indent=2))
    print(json.dumps(scores, indent=1))
    print(f"report written to {args.out} (parser {args.model})")


def _evaluate_inpaint(args) -> None:
    """An inpainting model on held-out synthetic outfits: fidelity and the diversity of 5 samples."""
    import json

    from clothflow.core.files import atomic_write_text
    from clothflow.finet.data import InpaintDataset
    from clothflow.finet.evaluate import score_model
    from clothflow.finet.models import FinetModel

    if args.data != "synthetic":
        raise ClothflowError("evaluate: an inpainting model is scored on held-out synthetic outfits (--data synthetic)")
    model = FinetModel.from_pretrained(args.model)
    count, _ = _pairs_arg(args.pairs, args.data)
    print(f"scoring the inpainting model {args.model} on {count} held-out synthetic outfits (seed {args.seed})")
    scores = score_model(model, None, InpaintDataset(count, model.config.size, args.seed))
    result = {"outfits": scores.items, "samples": scores.samples, "ssim": round(scores.ssim, 4),
              "l1": round(scores.l1, 4), "diversity": round(scores.diversity, 4)}
    atomic_write_text(writable_dir(args.out) / "metrics.json", json.dumps(result, indent=2))
    print(json.dumps(result, indent=1))
    print(f"report written to {args.out} (inpainting model {args.model})")


def _pairs_arg(text: str, data: str) -> tuple[int, str | None]:
    """``--pairs`` of evaluate: (synthetic pair count, pair list of a folder or None)."""
    if data == "synthetic":
        try:
            return (256 if text is None else positive_int(text)), None
        except argparse.ArgumentTypeError as exc:
            raise ClothflowError(f"evaluate: --pairs with synthetic data is a number of pairs: {exc}") from None
    return 0, text


def _run_evaluate(args) -> None:
    import json

    from clothflow.models.pipeline import ClothFlowPipeline
    from clothflow.evaluation.report import write_report
    from clothflow.data.datasets import make_dataset

    if args.data_range == "generated":
        data_range = "generated"
    else:
        try:
            data_range = float(args.data_range)
        except ValueError:
            raise ClothflowError(f"--data-range must be a number or 'generated', got {args.data_range!r}") from None
    from clothflow.core.pretrained import default_model, resolve_model, stored_kind

    if args.model is None:
        from clothflow.data.datasets.viton_layout import detect_layout

        tryon = args.data != "synthetic" and detect_layout(args.data) is not None
        args.model = default_model(None, "tryon" if tryon else "transfer-synthetic" if args.data == "synthetic" else "transfer")
    kind = stored_kind(resolve_model(args.model))
    if kind == "parser":
        return _evaluate_parser(args)
    if kind == "finet":
        return _evaluate_inpaint(args)
    pipe = ClothFlowPipeline.from_pretrained(args.model)
    count, pairs_file = _pairs_arg(args.pairs, args.data)
    dataset = make_dataset(args.data, pipe.config.size, count, args.seed, pipe.config.task, dense=pipe.config.dense,
                           pairs_file=pairs_file)
    listed = getattr(dataset, "pairs_file", None)
    h, w = pipe.config.size
    print(f"scoring the model {args.model} ({pipe.config.task}, {h} x {w}) on {len(dataset)} pairs of {args.data}"
          + (f" (pair list {listed})" if listed is not None else ""))
    summary = write_report(pipe, dataset, args.out, bounding=args.bounding, data_range=data_range)
    print(json.dumps({"pairs": summary["pairs"], **summary["paper"]}, indent=1))
    for note in summary["deep"].get("notes", []):
        print(f"note: {note}")
    print(f"report written to {args.out} (model {args.model})")

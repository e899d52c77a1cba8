"""The ``clothflow`` command line: synth, train, transfer, tryon, export, demo, prepare, serve.

Errors in user input print one line (``clothflow: error: ...``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from clothflow.animate.cli import add_animate_parser
from clothflow.core.arguments import positive_int
from clothflow.core.arguments import size as size_arg
from clothflow.core.errors import ClothflowError
from clothflow.finet.cli import add_inpaint_parser
from clothflow.core.files import writable_dir

log = logging.getLogger("clothflow")


# The shipped models the commands default to (clothflow/pretrained/<name>).
SHIPPED_TRYON = "tryon-viton-256"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise ClothflowError(f"{self.prog}: {message}")


# ---- synth -----------------------------------------------------------------------------
def _add_synth(sub) -> None:
    p = sub.add_parser("synth", help="render the synthetic dataset to disk, or a preview grid")
    p.add_argument("--out", type=Path, help="dataset folder to write (DeepFashion + VITON layouts)")
    p.add_argument("--pairs", type=positive_int, default=100, help="number of pairs of each task")
    p.add_argument("--size", type=size_arg, default=(256, 176), help="HxW, default 256x176")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preview", type=Path, metavar="FILE.png", help="write a contact sheet of pairs")
    p.add_argument("--poses", type=Path, metavar="CSV", help="draw people in these real poses (a DeepFashion annotation CSV)")
    p.set_defaults(func=_run_synth)


def _run_synth(args) -> None:
    if args.out is None and args.preview is None:
        raise ClothflowError("synth: give --out DIR to write a dataset, --preview FILE.png, or both")
    if args.preview is not None:
        from clothflow.data.tools.preview import write_preview

        writable_dir(args.preview.parent if str(args.preview.parent) else Path("."))
        write_preview(args.preview, size=args.size, seed=args.seed, poses=args.poses)
        print(f"preview written to {args.preview}")
    if args.out is not None:
        from clothflow.data.tools.writers import write_dataset

        write_dataset(writable_dir(args.out), pairs=args.pairs, size=args.size, seed=args.seed, poses=args.poses)
        print(f"dataset written to {args.out}")


# ---- train -------------------------------------------------------------------------------
def _add_train(sub) -> None:
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


# ---- models ---------------------------------------------------------------------------------
def _add_models(sub) -> None:
    p = sub.add_parser("models", help="list the models shipped in the package, or show one's card")
    p.add_argument("name", nargs="?", help="a shipped model: print its card")
    p.set_defaults(func=_run_models)


def _run_models(args) -> None:
    from clothflow.core.pretrained import CARD_NAME, shipped_models

    shipped = shipped_models()
    if args.name is not None:
        if args.name not in shipped:
            raise ClothflowError(f"no shipped model {args.name!r}; shipped: {', '.join(shipped) or 'none'}")
        card = shipped[args.name] / CARD_NAME
        print(card.read_text() if card.is_file() else f"{args.name}: no card")
        return
    if not shipped:
        print("no models are shipped in this installation")
    for name, folder in shipped.items():
        card = folder / CARD_NAME
        title = card.read_text().splitlines()[0].lstrip("# ") if card.is_file() else name
        print(title)


# ---- transfer ----------------------------------------------------------------------------
def _add_transfer(sub) -> None:
    p = sub.add_parser("transfer", help="pose transfer: a person re-posed to a target pose")
    p.add_argument("--model", type=Path, required=True, help="a trained run or saved model folder")
    p.add_argument("--source", type=Path, required=True, help="person image")
    p.add_argument(
        "--source-parse", type=Path,
        help="its parsing map (LIP ids PNG); default: a coarse one estimated from the photo (needs [pose])",
    )
    p.add_argument("--target-pose", type=Path, required=True, help="OpenPose JSON or [[x, y], ...] JSON")
    p.add_argument("--pose-size", type=size_arg, help="HxW frame of the target keypoints (default: the source's)")
    p.add_argument("--out", type=Path, required=True, help="output PNG")
    _add_backend(p)
    p.set_defaults(func=_run_transfer)


def _run_transfer(args) -> None:
    from clothflow.deploy.onnx_export import load_inference_pipeline
    from clothflow.apps.infer import transfer_files
    from clothflow.core.images import save_png, to_uint8

    pipe = load_inference_pipeline(args.model, args.backend)
    result = transfer_files(pipe, args.source, args.source_parse, args.target_pose, args.pose_size)
    writable_dir(args.out.parent if str(args.out.parent) else Path("."))
    save_png(args.out, to_uint8(result.image[0]))
    print(f"wrote {args.out}")


# ---- tryon ----------------------------------------------------------------------------------
def _add_tryon(sub) -> None:
    p = sub.add_parser("tryon", help="virtual try-on: a person wearing an in-shop garment (one pair or a folder)")
    p.add_argument("--model", default=SHIPPED_TRYON,
                   help=f"a try-on run or saved model folder, or a shipped model's name (default {SHIPPED_TRYON}, "
                   "trained on VITON at 256 x 192)")
    p.add_argument("--person", type=Path, help="person image (single pair)")
    p.add_argument("--cloth", type=Path, help="in-shop garment image (single pair)")
    p.add_argument("--cloth-mask", type=Path, help="garment mask (default: non-white pixels of the garment)")
    p.add_argument("--parse", type=Path, help="the person's parsing map (LIP ids); default: made by --parser")
    p.add_argument("--parser", help="human parser for photos without --parse: a folder or a shipped name (default: "
                   "the shipped parser; without one, a coarse parsing from the pose, needs [pose])")
    p.add_argument("--pose", type=Path, help="the person's OpenPose JSON; default: estimated (needs [pose])")
    p.add_argument("--data", type=Path, help="a VITON / VITON-HD folder (batch form)")
    p.add_argument("--pairs", type=Path, help="pairs file of the batch form (default: the folder's test_pairs.txt)")
    p.add_argument("--skip-bad", action="store_true", help="batch form: skip pairs with bad files and list them")
    p.add_argument("--out", type=Path, required=True, help="output PNG (single pair) or folder (batch form)")
    _add_backend(p)
    p.set_defaults(func=_run_tryon)


def _run_tryon(args) -> None:
    from clothflow.deploy.onnx_export import load_inference_pipeline

    single = args.person is not None or args.cloth is not None
    if single == (args.data is not None):
        raise ClothflowError("tryon: give --person and --cloth (one pair) or --data DIR (a folder of pairs)")
    pipe = load_inference_pipeline(args.model, args.backend)
    if pipe.config.task != "tryon":
        raise ClothflowError("this model was trained for pose transfer; train one with --task tryon", args.model)
    if single:
        from clothflow.apps.infer import tryon_files
        from clothflow.core.images import save_png, to_uint8

        if args.person is None or args.cloth is None:
            raise ClothflowError("tryon: a single pair needs both --person and --cloth")
        from clothflow.estimate.parsing import load_parser

        parser = load_parser(args.parser) if args.parse is None else None
        estimated: list[str] = []
        result = tryon_files(pipe, args.person, args.cloth, args.cloth_mask, args.parse, args.pose, parser, estimated)
        writable_dir(args.out.parent if str(args.out.parent) else Path("."))
        save_png(args.out, to_uint8(result.image[0]))
        for note in estimated:
            print(f"estimated {note}")
        print(f"wrote {args.out}")
        return
    from clothflow.apps.batch import tryon_folder

    report = tryon_folder(pipe, args.data, writable_dir(args.out), args.pairs, args.skip_bad)
    print(report)


# ---- prepare ---------------------------------------------------------------------------------
def _add_prepare(sub) -> None:
    p = sub.add_parser(
        "prepare", help="keypoints, person mask and parsing from one photo (needs the [pose] extra)"
    )
    p.add_argument("--image", type=Path, required=True, help="a photo of one person")
    p.add_argument("--out", type=Path, required=True, help="folder for <stem>_keypoints.json, _mask.png, _parse.png, _preview.png")
    p.add_argument("--parse", type=Path, help="a parsing (LIP ids PNG) from your own parser, used as it is")
    p.add_argument("--parser", help="human parser: a folder or a shipped name (default: the shipped parser; without "
                   "one, a coarse parsing drawn from the pose)")
    p.set_defaults(func=_run_prepare)


def _run_prepare(args) -> None:
    from clothflow.estimate.parsing import load_parser
    from clothflow.estimate.prepare import prepare_files, summary

    parser = load_parser(args.parser) if args.parse is None else None
    print(summary(prepare_files(args.image, args.out, args.parse, parser=parser)))


# ---- export ----------------------------------------------------------------------------------
def _add_backend(p) -> None:
    p.add_argument(
        "--backend", choices=["torch", "compile", "onnx"], default="torch",
        help="torch (default); compile: torch.compile, faster once its first call has compiled (10 s to over 2 min on 2 cores); "
             "onnx: ONNX Runtime, --model is then an .onnx file or a folder with model.onnx",
    )


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a trained pipeline to ONNX (all three stages, dynamic batch)")
    p.add_argument("--model", type=Path, required=True, help="a trained run or saved model folder")
    p.add_argument("--out", type=Path, help="the .onnx file to write (default: RUN/model.onnx)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (18 or newer)")
    p.add_argument("--static-batch", action="store_true", help="export for batch size 1 only")
    p.add_argument("--int8", action="store_true",
                   help="also write an int8 copy (MODEL.int8.onnx), its convolutions quantised and calibrated "
                        "on synthetic pairs of the model's task")
    p.set_defaults(func=_run_export)


def _run_export(args) -> None:
    from clothflow.deploy.onnx_export import ONNX_NAME, export_onnx
    from clothflow.models.pipeline import ClothFlowPipeline

    pipe = ClothFlowPipeline.from_pretrained(args.model)
    out = args.out if args.out is not None else args.model / ONNX_NAME
    writable_dir(out.parent if str(out.parent) else Path("."))
    path = export_onnx(pipe, out, opset=args.opset, batch_dynamic=not args.static_batch)
    print(f"wrote {path} (run it with --backend onnx --model {path})")
    if args.int8:
        from clothflow.deploy.quantize import quantize_onnx

        int8 = quantize_onnx(path, path.with_suffix(".int8.onnx"))
        print(f"wrote {int8} (int8; run it with --backend onnx --model {int8})")


# ---- evaluate -------------------------------------------------------------------------------
def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score a model as the papers do and write a report folder")
    p.add_argument("--model", type=Path, required=True, help="a trained run or saved model folder")
    p.add_argument("--data", default="synthetic", help="'synthetic' (held-out pairs) or a dataset folder: DeepFashion "
                   "(pose transfer), VITON / VITON-HD (try-on), or a `clothflow synth --out` folder (all its pairs)")
    p.add_argument("--pairs", metavar="N|FILE",
                   help="synthetic: how many held-out pairs (default 256); a folder: its pair list to score "
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
    scores = parsing_scores(parser, dataset)
    atomic_write_text(writable_dir(args.out) / "metrics.json", json.dumps(scores, indent=2))
    print(json.dumps(scores, indent=1))
    print(f"report written to {args.out}")


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
    from clothflow.core.pretrained import resolve_model, stored_kind

    if stored_kind(resolve_model(args.model)) == "parser":
        return _evaluate_parser(args)
    pipe = ClothFlowPipeline.from_pretrained(args.model)
    count, pairs_file = _pairs_arg(args.pairs, args.data)
    dataset = make_dataset(args.data, pipe.config.size, count, args.seed, pipe.config.task, dense=pipe.config.dense,
                           pairs_file=pairs_file)
    summary = write_report(pipe, dataset, args.out, bounding=args.bounding, data_range=data_range)
    print(json.dumps({"pairs": summary["pairs"], **summary["paper"]}, indent=1))
    for note in summary["deep"].get("notes", []):
        print(f"note: {note}")
    print(f"report written to {args.out}")


# ---- demo ----------------------------------------------------------------------------------
def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job: train the tiny pipeline on synthetic data and show results")
    p.add_argument("--out", type=Path, help="output folder (default ./clothflow-demo, or ./clothflow-demo-tryon "
                   "for --task tryon: where `clothflow serve` looks for models)")
    p.add_argument("--steps", type=positive_int, help="steps per stage (more = better, slower)")
    p.add_argument("--minutes", type=float, help="training budget in minutes instead of steps")
    p.add_argument("--task", choices=["transfer", "tryon"], default="transfer", help="pose transfer or try-on")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_run_demo)


def _run_demo(args) -> None:
    from dataclasses import replace

    from clothflow.apps.demo import DemoConfig, run_demo, summary

    cfg = DemoConfig(seed=args.seed, task=args.task)
    if args.out is None:
        args.out = Path("clothflow-demo-tryon" if args.task == "tryon" else "clothflow-demo")
    if args.steps is not None:
        cfg = replace(cfg, steps=args.steps)
    if args.minutes is not None:
        if args.minutes <= 0:
            raise ClothflowError(f"--minutes must be positive, got {args.minutes}")
        cfg = replace(cfg, minutes=args.minutes)
    writable_dir(args.out)
    metrics = run_demo(args.out, cfg)
    print(summary(metrics, args.out))


# ---- serve ---------------------------------------------------------------------------------
def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="the web demo: try-on and pose-transfer tabs in a browser (needs the [web] extra)")
    p.add_argument("--model", type=Path, help="a saved model of either task; it serves the tab of its task "
                   "(default: ./clothflow-demo/model, trained first with a short demo run when missing)")
    p.add_argument("--tryon-model", type=Path, help="the try-on model (default: ./clothflow-demo-tryon/model, "
                   "trained first when missing)")
    p.add_argument("--poses", type=Path, metavar="CSV", help="add the poses of a DeepFashion annotation CSV to the gallery")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=positive_int, default=7860)
    p.set_defaults(func=_run_serve)


def _run_serve(args) -> None:
    from clothflow.apps.web.app import build_app, import_gradio, launch
    from clothflow.apps.web.backend import load_or_train
    from clothflow.models.pipeline import ClothFlowPipeline

    import_gradio()  # say what to install before loading or training anything
    models = {"transfer": None, "tryon": args.tryon_model}
    if args.model is not None:
        task = ClothFlowPipeline.from_pretrained(args.model).config.task
        if task == "tryon" and args.tryon_model is not None:
            raise ClothflowError("serve: --model is a try-on model and --tryon-model is given too", args.model)
        models[task] = args.model
    pipes = {task: load_or_train(path, task, Path("clothflow-demo" if task == "transfer" else "clothflow-demo-tryon"))
             for task, path in models.items()}
    if args.poses is not None and not args.poses.is_file():
        raise ClothflowError("no such annotation CSV", args.poses)
    app = build_app(pipes["transfer"], pipes["tryon"], poses_csv=args.poses)
    print(f"serving the ClothFlow demo on http://{args.host}:{args.port}/ (Ctrl+C stops it)")
    launch(app, args.host, args.port)


# ---- inspect -------------------------------------------------------------------------------
def _add_inspect(sub) -> None:
    p = sub.add_parser("inspect", help="recognise a dataset folder and list what is missing or inconsistent")
    p.add_argument("path", type=Path, help="dataset folder (DeepFashion, VITON, VITON-HD, PF-AFN, synth output) or CSV")
    p.set_defaults(func=_run_inspect)


def _run_inspect(args) -> None:
    from clothflow.data.tools.inspect_folder import format_report, inspect_path

    report = inspect_path(args.path)
    print(format_report(report))
    if not report.all_usable():
        raise ClothflowError("inspect: not usable as a dataset (see the problems above)", args.path)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="clothflow", description="ClothFlow: clothed people generated with appearance flow")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_synth, _add_train, _add_models, _add_transfer, _add_tryon, _add_evaluate, _add_export, _add_demo, _add_inspect, _add_prepare, _add_serve,
                add_animate_parser, add_inpaint_parser):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(format="clothflow: %(message)s", level=logging.INFO)
    try:
        args = build_parser().parse_args(argv)
        if args.verbose:
            log.setLevel(logging.DEBUG)
        args.func(args)
    except ClothflowError as exc:
        print(f"clothflow: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("clothflow: interrupted (a training run can be continued with --resume RUN)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

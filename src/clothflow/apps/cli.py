"""The ``clothflow`` command line: synth, train, transfer, tryon, export, demo, prepare, serve.

Errors in user input print one line (``clothflow: error: ...``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from clothflow.animate.cli import add_animate_parser
from clothflow.apps.live.cli import add_live_parser
from clothflow.core.arguments import positive_int
from clothflow.core.arguments import size as size_arg
from clothflow.core.errors import ClothflowError
from clothflow.apps.cli_runs import add_evaluate_parser, add_train_parser
from clothflow.finet.cli import add_inpaint_parser
from clothflow.core.files import writable_dir
from clothflow.core.quiet import configure_logging

log = logging.getLogger("clothflow")
VERBOSE_HELP = "show the libraries' own log output too (MediaPipe, OpenCV, the ONNX exporter), and debug messages"


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
    p = sub.add_parser("transfer", help="pose transfer: a person re-posed to a target pose (one photo, or a pair table)")
    p.add_argument("--model", type=Path, help="a trained run or saved model folder, or a shipped model's name "
                   "(default: the shipped pose-transfer model for real people)")
    p.add_argument("--source", type=Path, help="person image")
    p.add_argument(
        "--source-parse", type=Path,
        help="its parsing map (LIP ids PNG); default: made by the shipped human parser",
    )
    p.add_argument("--target-pose", type=Path, help="OpenPose JSON or [[x, y], ...] JSON")
    p.add_argument("--pose-size", type=size_arg, help="HxW frame of the target keypoints (default: the source's)")
    p.add_argument("--pairs", type=Path, metavar="PAIRS_CSV",
                   help="a pair table (dataset,split,person,source,target): run every selected row and write "
                   "OUT/<source stem>__<target stem>.png at the target photo's size")
    p.add_argument("--dataset", help="with --pairs: only this dataset's rows (e.g. deepfashion)")
    p.add_argument("--split", help="with --pairs: only this split's rows (e.g. test)")
    p.add_argument("--out", type=Path, required=True, help="output PNG (a folder with --pairs)")
    _add_backend(p)
    p.set_defaults(func=_run_transfer)


def _run_transfer(args) -> None:
    from clothflow.deploy.onnx_export import load_inference_pipeline
    from clothflow.core.images import save_png

    from clothflow.core.pretrained import default_model

    single = args.source is not None or args.target_pose is not None
    if args.pairs is not None and single:
        raise ClothflowError("transfer: give either --pairs PAIRS_CSV or --source and --target-pose, not both")
    if args.pairs is None and (args.source is None or args.target_pose is None):
        raise ClothflowError("transfer: give --source and --target-pose (or --pairs PAIRS_CSV)")
    if args.pairs is None and (args.dataset or args.split):
        raise ClothflowError("transfer: --dataset and --split select rows of --pairs")
    args.model = default_model(args.model, "transfer")
    pipe = load_inference_pipeline(args.model, args.backend)
    if args.pairs is not None:
        from clothflow.apps.transfer_pairs import transfer_table

        run = transfer_table(pipe, args.pairs, args.out, args.dataset, args.split)
        print(f"wrote {len(run.written)} results to {args.out} (model {args.model})")
        if run.estimated:
            print(f"estimated the keypoints of {run.estimated} photos without a keypoint row")
        for row, reason in run.skipped:
            print(f"skipped {row}: {reason}")
        return
    from clothflow.apps.infer import transfer_files
    from clothflow.estimate.parsing import load_parser

    notes: list[str] = []
    parser = load_parser() if args.source_parse is None else None
    _, result = transfer_files(pipe, args.source, args.source_parse, args.target_pose, args.pose_size, parser, notes)
    writable_dir(args.out.parent if str(args.out.parent) else Path("."))
    save_png(args.out, result)
    for note in notes:
        print(f"estimated {note}")
    print(f"wrote {args.out} ({result.shape[0]} x {result.shape[1]}, model {args.model})")


# ---- tryon ----------------------------------------------------------------------------------
def _add_tryon(sub) -> None:
    p = sub.add_parser("tryon", help="virtual try-on: a person wearing an in-shop garment (one pair or a folder)")
    p.add_argument("--model", help="a try-on run or saved model folder, or a shipped model's name (default: the "
                   "shipped real-photo model, trained on VITON at 256 x 192; see `clothflow models`)")
    p.add_argument("--person", type=Path, help="person image (single pair)")
    p.add_argument("--cloth", type=Path, help="in-shop garment image (single pair)")
    p.add_argument("--cloth-mask", type=Path, help="garment mask (default: non-white pixels of the garment)")
    p.add_argument("--parse", type=Path, help="the person's parsing map (LIP, CIHP or CP-VTON+ ids); default: made by --parser")
    p.add_argument("--parse-scheme", default="auto", help="label scheme of --parse: lip, cihp (10 = neck), "
                   "lip-neck (CP-VTON+'s image-parse-new, 20 = neck), or auto (default: told from the file)")
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
    from clothflow.core.pretrained import default_model

    args.model = default_model(args.model, "tryon")
    pipe = load_inference_pipeline(args.model, args.backend)
    if pipe.config.task != "tryon":
        raise ClothflowError("this model was trained for pose transfer; train one with --task tryon", args.model)
    if single:
        from clothflow.apps.infer import tryon_files
        from clothflow.core.images import save_png

        if args.person is None or args.cloth is None:
            raise ClothflowError("tryon: a single pair needs both --person and --cloth")
        from clothflow.estimate.parsing import load_parser

        parser = load_parser(args.parser) if args.parse is None else None
        estimated: list[str] = []
        result = tryon_files(pipe, args.person, args.cloth, args.cloth_mask, args.parse, args.pose, parser, estimated,
                             args.parse_scheme)
        writable_dir(args.out.parent if str(args.out.parent) else Path("."))
        save_png(args.out, result.image)
        for note in estimated:
            print(f"estimated {note}")
        print(f"wrote {args.out} ({result.image.shape[0]} x {result.image.shape[1]}, the person photo's size)")
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
    p.add_argument("--model", type=Path, help="a trained run or saved model folder, or a shipped model's name "
                   "(default: the shipped real-photo try-on model)")
    p.add_argument("--out", type=Path, help="the .onnx file to write (default: RUN/model.onnx; NAME.onnx for a "
                   "shipped model)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (18 or newer)")
    p.add_argument("--static-batch", action="store_true", help="export for batch size 1 only")
    p.add_argument("--int8", action="store_true",
                   help="also write an int8 copy (MODEL.int8.onnx), its convolutions quantised and calibrated "
                        "on synthetic pairs of the model's task (or on --calibration)")
    p.add_argument("--calibration", metavar="DIR", help="--int8: calibrate on 32 pairs of this dataset folder (e.g. "
                   "viton/train for a model trained on VITON) instead of synthetic pairs")
    p.set_defaults(func=_run_export)


def _run_export(args) -> None:
    from clothflow.deploy.onnx_export import ONNX_NAME, export_onnx
    from clothflow.models.pipeline import ClothFlowPipeline

    from clothflow.core.pretrained import default_model

    args.model = Path(default_model(args.model, "tryon"))
    pipe = ClothFlowPipeline.from_pretrained(args.model)
    shipped = not args.model.exists()  # a shipped model's name: its folder is inside the package
    out = args.out if args.out is not None else Path(f"{args.model}.onnx") if shipped else args.model / ONNX_NAME
    if args.calibration is not None and not args.int8:
        raise ClothflowError("export: --calibration goes with --int8")
    feeds = None
    if args.calibration is not None:
        from clothflow.data.datasets import make_dataset
        from clothflow.deploy.quantize import dataset_calibration

        dataset = make_dataset(args.calibration, pipe.config.size, 32, 0, pipe.config.task, dense=pipe.config.dense)
        feeds = dataset_calibration(pipe.config, dataset)
    writable_dir(out.parent if str(out.parent) else Path("."))
    path = export_onnx(pipe, out, opset=args.opset, batch_dynamic=not args.static_batch)
    print(f"wrote {path} (run it with --backend onnx --model {path})")
    if args.int8:
        from clothflow.deploy.quantize import quantize_onnx

        int8 = quantize_onnx(path, path.with_suffix(".int8.onnx"), feeds)
        print(f"wrote {int8} (int8; run it with --backend onnx --model {int8})")


# ---- demo ----------------------------------------------------------------------------------
def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job: ClothFlow's shipped synthetic models on held-out pairs "
                       "(--train: train the tiny pipeline from scratch)")
    p.add_argument("--out", type=Path, help="output folder (default ./clothflow-demo, or ./clothflow-demo-tryon "
                   "for --train --task tryon: where `clothflow serve` looks for models)")
    p.add_argument("--train", action="store_true", help="train the tiny pipeline from scratch instead (minutes)")
    p.add_argument("--steps", type=positive_int, help="--train: steps per stage (more = better, slower)")
    p.add_argument("--minutes", type=float, help="--train: training budget in minutes instead of steps")
    p.add_argument("--task", choices=["transfer", "tryon"],
                   help="one task only (default: both with the shipped models; pose transfer with --train)")
    p.add_argument("--pairs", type=positive_int, default=128, help="held-out synthetic pairs scored per task")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_run_demo)


# What training the tiny demo from scratch took at its default 500 steps a stage on 2 cores (README).
TRAIN_DEMO_MINUTES = {"transfer": "7-15", "tryon": "8-25"}


def _run_demo(args) -> None:
    from dataclasses import replace

    from clothflow.apps.demo import DemoConfig, run_demo, run_shipped_demo, shipped_demo_models, summary

    tasks = (args.task,) if args.task else ("transfer", "tryon")
    models = {} if args.train else shipped_demo_models(tasks)
    if models and (args.steps is not None or args.minutes is not None):
        raise ClothflowError("demo: --steps and --minutes are for --train (the shipped models need no training)")
    if models:
        args.out = args.out or Path("clothflow-demo")
        writable_dir(args.out)
        print(f"running the shipped models {', '.join(models.values())} on {args.pairs} held-out synthetic pairs each")
        metrics = run_shipped_demo(args.out, models, eval_pairs=args.pairs, seed=args.seed)
        print(summary(metrics, args.out))
        return
    task = args.task or "transfer"
    cfg = DemoConfig(seed=args.seed, task=task, eval_pairs=args.pairs)
    if args.out is None:
        args.out = Path("clothflow-demo-tryon" if task == "tryon" else "clothflow-demo")
    if args.steps is not None:
        cfg = replace(cfg, steps=args.steps)
    if args.minutes is not None:
        if args.minutes <= 0:
            raise ClothflowError(f"--minutes must be positive, got {args.minutes}")
        cfg = replace(cfg, minutes=args.minutes)
    writable_dir(args.out)
    why = "" if args.train else "no shipped synthetic models in this installation: "
    budget = (f"{cfg.minutes:g} minutes" if cfg.minutes else
              f"{cfg.steps} steps a stage" + (f", about {TRAIN_DEMO_MINUTES[task]} minutes on 2 cores"
                                              if cfg.steps == DemoConfig.steps else ""))
    print(f"{why}training the tiny {task} pipeline from scratch ({budget})")
    metrics = run_demo(args.out, cfg)
    print(summary(metrics, args.out))


# ---- serve ---------------------------------------------------------------------------------
def _add_serve(sub) -> None:
    p = sub.add_parser("serve", help="the web demo: try-on and pose-transfer tabs in a browser (needs the [web] extra)")
    p.add_argument("--model", type=Path, help="a saved model of either task; it serves the tab of its task "
                   "(default: the shipped synthetic model, else ./clothflow-demo/model, trained first with a short demo run "
                   "when missing)")
    p.add_argument("--tryon-model", type=Path, help="the try-on model of the synthetic examples (default: the shipped "
                   "synthetic model, else ./clothflow-demo-tryon/model, trained first when missing)")
    p.add_argument("--photo-model", help="the try-on model for uploaded person photos: a folder or a shipped name "
                   "(default: the shipped real-photo model, when installed)")
    p.add_argument("--parser", help="the human parser for uploaded person photos (default: the shipped parser)")
    p.add_argument("--poses", type=Path, metavar="CSV", help="add the poses of a DeepFashion annotation CSV to the gallery")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=positive_int, default=7860)
    p.set_defaults(func=_run_serve)


def _run_serve(args) -> None:
    from clothflow.apps.web.app import build_app, import_gradio, launch
    from clothflow.apps.web.backend import load_or_train, load_photo_models
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
    photos = load_photo_models(args.photo_model, args.parser)
    if photos is not None:
        print(f"uploaded person photos on the try-on tab: the {photos.about}")
    app = build_app(pipes["transfer"], pipes["tryon"], poses_csv=args.poses, photos=photos)
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
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_synth, add_train_parser, _add_models, _add_transfer, _add_tryon, add_evaluate_parser, _add_export, _add_demo, _add_inspect, _add_prepare, _add_serve,
                add_animate_parser, add_inpaint_parser, add_live_parser):
        add(sub)
    for command in sub.choices.values():  # `clothflow export -v` as well as `clothflow -v export`
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        configure_logging(args.verbose)
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

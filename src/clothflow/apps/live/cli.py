"""``clothflow live``: serve the live page, a portrait animated by the webcam, on this machine.

::

    clothflow live                                   # face mode; the example portrait offered
    clothflow live --portrait me.jpg --model RUN     # offer me.jpg too; body mode with RUN
    clothflow live --port 8000 --host 0.0.0.0        # reachable from other machines

Open the printed address, pick or upload a portrait, allow the camera. The avatar alone (for
OBS's browser source) is at ``/avatar?session=ID``; the page shows the link.
"""

from __future__ import annotations

from pathlib import Path

from clothflow.core.arguments import positive_int
from clothflow.core.errors import ClothflowError

WEB_HINT = "the live page needs the [web] extra (FastAPI, uvicorn, websockets): pip install 'clothflow[web]'"


def add_live_parser(sub) -> None:
    """Add the ``live`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("live", help="serve a local web page that animates a portrait with your webcam, live")
    p.add_argument("--portrait", type=Path, help="a portrait photo the page offers besides the example one "
                   "(PNG, JPEG, WebP or BMP, within the upload limits of the README's web demo)")
    p.add_argument("--model", help="body mode: a pose-transfer run or saved model folder, or a shipped name "
                   "(default: the shipped pose-transfer model when installed; without one body mode says so)")
    p.add_argument("--max-side", type=positive_int, default=512, help="portraits are animated at most this many "
                   "pixels a side (larger ones are shrunk first; default 512)")
    p.add_argument("--threads", type=positive_int, help="body mode: CPU threads for the model (default: torch's; "
                   "on a busy machine 1 is often fastest)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface; browsers "
                   "allow the camera only on localhost or https)")
    p.add_argument("--port", type=positive_int, default=7870, help="port to listen on (default 7870)")
    p.set_defaults(func=run_live)


def app_from_args(args):
    """The live app for parsed arguments, everything loaded and checked (nothing served yet).

    Raises:
        ClothflowError: the [web] extra missing, a bad portrait or model.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
        import websockets  # noqa: F401
    except ImportError:
        raise ClothflowError(WEB_HINT) from None
    from clothflow.apps.live.server import build_live_app
    from clothflow.apps.live.session import load_body_model
    from clothflow.apps.web.backend import read_upload
    from clothflow.core.pretrained import shipped_default

    if args.port > 65535:
        raise ClothflowError(f"live: --port must be at most 65535, got {args.port}")
    examples = None
    if args.portrait is not None:
        if not args.portrait.is_file():
            raise ClothflowError("portrait not found", args.portrait)
        try:
            image = read_upload(args.portrait, "portrait")
        except ClothflowError as exc:
            raise ClothflowError(str(exc), args.portrait) from None
        from skimage.data import astronaut

        examples = {args.portrait.stem[:40] or "portrait": image, "astronaut": astronaut()[:256, 96:352]}
    model = args.model if args.model is not None else shipped_default("transfer")
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    body = load_body_model(model) if model is not None else None
    return build_live_app(body, examples, max_side=args.max_side)


def run_live(args) -> None:
    """Serve the page until Ctrl+C."""
    import uvicorn

    app = app_from_args(args)
    body = app.state.live.body
    print(f"body mode: {body.about}" if body is not None else "body mode: off (no pose-transfer model; give --model)")
    print(f"serving the live page on http://{args.host}:{args.port}/ (Ctrl+C stops it)")
    uvicorn.run(app, host=args.host, port=args.port, ws="websockets-sansio", log_level="warning")


__all__ = ["add_live_parser", "app_from_args", "run_live"]

"""The web demo: a Gradio page with a Try-on tab and a Pose-transfer tab (``clothflow serve``).

Needs the optional ``[web]`` extra (``pip install 'clothflow[web]'``). The page's logic lives in
:mod:`clothflow.apps.web.backend`; this module only lays out the page and wires events to it.

Example (tiny untrained models, no server started; skipped in the doctest run, as importing
Gradio takes seconds: tests/apps/test_app.py builds the page):
    >>> from clothflow.models.config import preset
    >>> from clothflow.models.pipeline import ClothFlowPipeline
    >>> app = build_app(ClothFlowPipeline(preset("tiny")), None, examples=1)  # doctest: +SKIP
"""

# No `from __future__ import annotations` here: Gradio reads the handlers' `gr.SelectData`
# annotations at run time to pass the clicked gallery item.
import logging
import os
from pathlib import Path

import numpy as np

from clothflow.apps.web.backend import (
    UPLOAD_EXTENSIONS,
    Examples,
    GarmentInput,
    PersonInput,
    PhotoModels,
    TargetPose,
    garment_from_upload,
    person_from_upload,
    pose_from_upload,
    pose_picture,
    render_examples,
    run_transfer,
    run_tryon,
    transfer_model_for,
    tryon_model_for,
    with_mask_upload,
)
from clothflow.core.errors import ClothflowError
from clothflow.data.formats.images import FORMATS_TEXT, MAX_UPLOAD_BYTES
from clothflow.models.pipeline import ClothFlowPipeline

# No telemetry or update checks from a demo that must work offline; set before gradio is imported.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

WEB_HINT = "the web demo needs the optional [web] extra: pip install 'clothflow[web]' (from a checkout: pip install -e '.[web]')"
MAX_FILE_SIZE = f"{MAX_UPLOAD_BYTES // 2**20}mb"  # refused by the server before read_upload sees it
# The page's first lines: the formats and size the one image reader accepts (README: Web demo).
INTRO = (
    "# ClothFlow demo\nAppearance flow moves real garment pixels: **Try-on** dresses a person in an "
    "in-shop garment, **Pose transfer** shows a person in a new pose. Click an example or upload your own "
    f"photos ({FORMATS_TEXT}, up to {MAX_UPLOAD_BYTES // 2**20} MB; your own people need "
    "`pip install 'clothflow[pose]'`)."
)
_CSS = ".cf-status p { color: #b3261e; font-weight: 600; }"


def import_gradio():
    """The ``gradio`` module, or a ClothflowError saying what to install."""
    try:
        import gradio
    except ImportError:
        raise ClothflowError(WEB_HINT) from None
    return gradio


def message(exc: Exception) -> str:
    """One readable line for the status box."""
    return f"⚠️ {exc}"


def build_app(
    transfer: ClothFlowPipeline | None,
    tryon: ClothFlowPipeline | None,
    poses_csv: str | Path | None = None,
    examples: int = 4,
    photos: PhotoModels | None = None,
):
    """The Gradio Blocks page for the loaded pipelines (a tab says so when its model is None).

    Args:
        transfer: a pose-transfer pipeline (``config.task == "transfer"``), or None.
        tryon: a try-on pipeline for the synthetic examples, or None.
        photos: the real-photo try-on model and parser for uploaded person photos, or None
            (uploads then go to ``tryon``, parsed coarsely from the pose).
        poses_csv: a DeepFashion annotation CSV whose poses join the target-pose gallery.
        examples: synthetic example people / garments / poses rendered for the galleries.

    Returns:
        A ``gradio.Blocks``; start it with :func:`launch`.
    """
    gr = import_gradio()
    ex = render_examples(examples, poses_csv=poses_csv)
    with gr.Blocks(title="ClothFlow demo", fill_width=True) as app:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Try-on", id="tryon"):
                if tryon is None and photos is None:
                    gr.Markdown("No try-on model is loaded: start the demo with `--tryon-model RUN`.")
                else:
                    _tryon_tab(gr, tryon, photos, ex)
            with gr.Tab("Pose transfer", id="transfer"):
                if transfer is None:
                    gr.Markdown("No pose-transfer model is loaded: start the demo with `--model RUN`.")
                else:
                    _transfer_tab(gr, transfer, photos, ex)
    return app


def _gallery(gr, images: list[np.ndarray], label: str, elem_id: str):
    return gr.Gallery(value=images, label=label, columns=4, rows=1, height=150, allow_preview=False,
                      object_fit="contain", elem_id=elem_id, interactive=False)


def _upload(gr, label: str, elem_id: str):
    return gr.File(label=label, file_types=list(UPLOAD_EXTENSIONS), type="filepath", height=130, elem_id=elem_id)


def _tryon_tab(gr, synthetic: ClothFlowPipeline | None, photos: PhotoModels | None, ex: Examples) -> None:
    person0, garment0 = ex.tryon_people[0], ex.garments[0]
    with gr.Row():
        with gr.Column(scale=1, min_width=220):
            people = _gallery(gr, [p.image for p in ex.tryon_people], "Example people: click one", "tryon-person-gallery")
            person_file = _upload(gr, "…or upload a person photo", "tryon-person-upload")
            person_view = gr.Image(person0.image, label="Person", interactive=False, height=256, elem_id="tryon-person")
        with gr.Column(scale=1, min_width=220):
            garments = _gallery(gr, [g.image for g in ex.garments], "Example garments: click one", "tryon-garment-gallery")
            garment_file = _upload(gr, "…or upload a garment photo (on white)", "tryon-garment-upload")
            mask_file = _upload(gr, "Garment mask (optional; white = garment)", "tryon-mask-upload")
            garment_view = gr.Image(garment0.image, label="Garment", interactive=False, height=256, elem_id="tryon-garment")
        with gr.Column(scale=1, min_width=220):
            run = gr.Button("Try on", variant="primary", elem_id="tryon-run")
            result = gr.Image(label="Result", interactive=False, height=256, elem_id="tryon-result")
            served = gr.Markdown("", elem_id="tryon-model")
            status = gr.Markdown("", elem_id="tryon-status", elem_classes="cf-status")
    if photos is not None:
        gr.Markdown(f"Uploaded person photos are served by the {photos.about}; the example people by "
                    + ("the synthetic model." if synthetic is not None else "it too."))
    with gr.Accordion("Intermediate steps: predicted layout and warped garment", open=False, elem_id="tryon-steps"):
        with gr.Row():
            layout = gr.Image(label="Predicted layout (stage 1)", interactive=False, height=256, elem_id="tryon-layout")
            warped = gr.Image(label="Warped garment (stage 2)", interactive=False, height=256, elem_id="tryon-warped")
    person = gr.State(person0)
    garment = gr.State(garment0)

    def pick_person(evt: gr.SelectData):
        p = ex.tryon_people[evt.index]
        return p, p.image, ""

    def pick_garment(evt: gr.SelectData):
        g = ex.garments[evt.index]
        return g, g.image, ""

    def upload_person(path):
        if path is None:
            return gr.skip(), gr.skip(), "", gr.skip()
        try:
            p = person_from_upload(path, parser=photos.parser if photos is not None else None)
        except ClothflowError as exc:  # keep the previous person, empty the upload box for another try
            return gr.skip(), gr.skip(), message(exc), None
        return p, p.image, "", gr.skip()

    def upload_garment(path, mask_path):
        if path is None:
            return gr.skip(), gr.skip(), "", gr.skip()
        try:
            g = with_mask_upload(garment_from_upload(path), mask_path)
        except ClothflowError as exc:
            return gr.skip(), gr.skip(), message(exc), None
        return g, g.image, "", gr.skip()

    def upload_mask(current: GarmentInput, mask_path):
        try:
            return with_mask_upload(current, mask_path), "", gr.skip()
        except ClothflowError as exc:
            return gr.skip(), message(exc), None

    def go(p: PersonInput, g: GarmentInput):
        try:
            pipe, about = tryon_model_for(p, synthetic, photos)
            view = run_tryon(pipe, p, g)
        except ClothflowError as exc:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), message(exc)
        return view.result, view.layout, view.warped, f"Served by the {about}.", ""

    people.select(pick_person, None, [person, person_view, status])
    garments.select(pick_garment, None, [garment, garment_view, status])
    person_file.upload(upload_person, person_file, [person, person_view, status, person_file])
    garment_file.upload(upload_garment, [garment_file, mask_file], [garment, garment_view, status, garment_file])
    mask_file.upload(upload_mask, [garment, mask_file], [garment, status, mask_file])
    run.click(go, [person, garment], [result, layout, warped, served, status])


def _transfer_tab(gr, pipe: ClothFlowPipeline, photos: PhotoModels | None, ex: Examples) -> None:
    person0, pose0 = ex.people[0], ex.poses[1 % len(ex.poses)]
    if photos is not None and photos.transfer is not None:
        gr.Markdown(f"Uploaded person photos are served by the {photos.transfer_about}; the example people by "
                    f"the synthetic model, {pipe.config.size[0]} x {pipe.config.size[1]}.", elem_id="transfer-served")
    with gr.Row():
        with gr.Column(scale=1, min_width=220):
            people = _gallery(gr, [p.image for p in ex.people], "Example people: click one", "transfer-person-gallery")
            person_file = _upload(gr, "…or upload a person photo", "transfer-person-upload")
            person_view = gr.Image(person0.image, label="Person", interactive=False, height=256, elem_id="transfer-person")
        with gr.Column(scale=1, min_width=220):
            poses = _gallery(gr, [pose_picture(t) for t in ex.poses], "Target poses: click one",
                             "transfer-pose-gallery")
            pose_file = _upload(gr, "…or upload a photo to copy its pose", "transfer-pose-upload")
            pose_view = gr.Image(pose_picture(pose0), label="Target pose", interactive=False, height=256,
                                 elem_id="transfer-pose")
        with gr.Column(scale=1, min_width=220):
            run = gr.Button("Transfer pose", variant="primary", elem_id="transfer-run")
            result = gr.Image(label="Result", interactive=False, height=256, elem_id="transfer-result")
            status = gr.Markdown("", elem_id="transfer-status", elem_classes="cf-status")
    person = gr.State(person0)
    target = gr.State(pose0)

    def pick_person(evt: gr.SelectData):
        p = ex.people[evt.index]
        return p, p.image, ""

    def pick_pose(evt: gr.SelectData):
        t = ex.poses[evt.index]
        return t, pose_picture(t), ""

    def upload_person(path):
        if path is None:
            return gr.skip(), gr.skip(), "", gr.skip()
        try:
            p = person_from_upload(path, parser=photos.parser if photos is not None else None)
        except ClothflowError as exc:  # keep the previous person, empty the upload box for another try
            return gr.skip(), gr.skip(), message(exc), None
        return p, p.image, "", gr.skip()

    def upload_pose(path):
        if path is None:
            return gr.skip(), gr.skip(), "", gr.skip()
        try:
            t = pose_from_upload(path)
        except ClothflowError as exc:
            return gr.skip(), gr.skip(), message(exc), None
        return t, pose_picture(t), "", gr.skip()

    def go(p: PersonInput, t: TargetPose):
        try:
            return run_transfer(transfer_model_for(p, pipe, photos), p, t), ""
        except ClothflowError as exc:
            return gr.skip(), message(exc)

    people.select(pick_person, None, [person, person_view, status])
    poses.select(pick_pose, None, [target, pose_view, status])
    person_file.upload(upload_person, person_file, [person, person_view, status, person_file])
    pose_file.upload(upload_pose, pose_file, [target, pose_view, status, pose_file])
    run.click(go, [person, target], [result, status])


def launch(app, host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> None:
    """Serve ``app`` (uploads limited to :data:`MAX_UPLOAD_BYTES`, no share link, system fonts only: works offline).

    Args:
        block: wait until interrupted (the CLI); False returns at once (tests; stop with ``app.close()``).
    """
    gr = import_gradio()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request of the page
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    app.launch(server_name=host, server_port=port, share=False, max_file_size=MAX_FILE_SIZE, ssr_mode=False,
               prevent_thread_lock=not block, show_error=True, quiet=not block, theme=theme, css=_CSS)

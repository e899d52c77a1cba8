"""The web demo's logic without a browser: examples, upload checks, both tasks, and build_app."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clothflow.apps.web import backend as app_core
from clothflow.apps.web.backend import (
    garment_from_upload,
    PhotoModels,
    load_or_train,
    load_photo_models,
    person_from_upload,
    read_upload,
    render_examples,
    run_transfer,
    run_tryon,
    tryon_model_for,
    with_mask_upload,
)
from clothflow.models.config import preset
from clothflow.core.errors import ClothflowError
from clothflow.models.pipeline import ClothFlowPipeline


@pytest.fixture(scope="module")
def pipes():
    return {task: ClothFlowPipeline(preset("tiny", task=task)).eval() for task in ("transfer", "tryon")}


@pytest.fixture(scope="module")
def examples():
    return render_examples(count=2, size=(128, 88))


def _png(path, image) -> str:
    Image.fromarray(image).save(path)
    return str(path)


def test_examples_are_deterministic_and_complete(examples):
    again = render_examples(count=2, size=(128, 88))
    assert np.array_equal(examples.people[1].image, again.people[1].image)
    for p in examples.people + examples.tryon_people:
        assert p.parse.shape == p.image.shape[:2] and p.keypoints.shape == (18, 2)
    assert all(g.mask.any() for g in examples.garments)
    assert len(examples.poses) == 2


def test_tryon_and_transfer_give_display_size_pictures(pipes, examples):
    person = examples.tryon_people[0]
    view = run_tryon(pipes["tryon"], person, examples.garments[1])
    assert view.result.shape == person.image.shape and view.result.dtype == np.uint8  # the photo's size
    assert person.image.shape[0] != 256  # so the line above tells the photo's size from the display size
    for picture in (view.layout, view.warped):
        assert picture.shape == (256, 176, 3) and picture.dtype == np.uint8
    out = run_transfer(pipes["transfer"], examples.people[0], examples.poses[1])
    assert out.shape == (256, 176, 3)


def test_uploaded_photos_go_to_the_photo_model_and_examples_to_the_synthetic_one(pipes, examples, tmp_path):
    photo_pipe = ClothFlowPipeline(preset("tiny", task="tryon")).eval()
    photos = PhotoModels(photo_pipe, None, "real-photo try-on model (test)")
    example = examples.tryon_people[0]
    upload = dataclasses.replace(example, photo=True)
    assert tryon_model_for(example, pipes["tryon"], photos)[0] is pipes["tryon"]
    assert tryon_model_for(upload, pipes["tryon"], photos) == (photo_pipe, photos.about)
    assert tryon_model_for(upload, pipes["tryon"], None)[0] is pipes["tryon"]
    assert tryon_model_for(example, None, photos)[0] is photo_pipe
    with pytest.raises(ClothflowError, match="no try-on model"):
        tryon_model_for(example, None, None)
    photo_pipe.save_pretrained(tmp_path / "photo")
    loaded = load_photo_models(tmp_path / "photo")
    assert loaded.tryon.config.task == "tryon" and "photo" in loaded.about
    pipes["transfer"].save_pretrained(tmp_path / "transfer")
    with pytest.raises(ClothflowError, match="trained for transfer"):
        load_photo_models(tmp_path / "transfer")


def test_wrong_model_or_missing_input_is_a_readable_error(pipes, examples):
    with pytest.raises(ClothflowError, match="trained for pose transfer"):
        run_tryon(pipes["transfer"], examples.tryon_people[0], examples.garments[0])
    with pytest.raises(ClothflowError, match="pick or upload"):
        run_transfer(pipes["transfer"], None, examples.poses[0])


def test_bad_uploads_are_refused_with_a_reason(tmp_path, monkeypatch):
    text = tmp_path / "photo.jpg"
    text.write_text("not an image")
    with pytest.raises(ClothflowError, match="the person photo is not a readable image"):
        read_upload(text, "person photo")
    gif = tmp_path / "anim.gif"
    Image.new("RGB", (32, 32)).save(gif)
    with pytest.raises(ClothflowError, match="GIF file"):
        read_upload(gif)
    huge = tmp_path / "huge.png"
    Image.new("RGB", (5000, 20)).save(huge)
    with pytest.raises(ClothflowError, match="at most 4096"):
        read_upload(huge)
    monkeypatch.setattr(app_core, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(ClothflowError, match=r"the photo is [\d,]+ bytes; at most 100 bytes are read"):
        read_upload(huge)
    with pytest.raises(ClothflowError, match="no photo uploaded"):
        read_upload(None)


def test_garment_upload_and_mask(tmp_path, examples):
    garment = garment_from_upload(_png(tmp_path / "g.png", examples.garments[0].image))
    assert garment.mask is None and garment.image.shape == (128, 88, 3)
    mask = np.zeros((64, 44), np.uint8)
    mask[10:30, 10:30] = 255
    masked = with_mask_upload(garment, _png(tmp_path / "m.png", mask))
    assert masked.mask.shape == (128, 88) and masked.mask.sum() == 40 * 40
    with pytest.raises(ClothflowError, match="mask is empty"):
        with_mask_upload(garment, _png(tmp_path / "empty.png", np.zeros((32, 22), np.uint8)))
    with pytest.raises(ClothflowError, match="no garment found"):
        garment_from_upload(_png(tmp_path / "white.png", np.full((64, 44, 3), 255, np.uint8)))


def test_person_upload_without_pose_extra_says_what_to_install(tmp_path, examples, monkeypatch):
    import clothflow.estimate.prepare as prepare

    def missing(*args, **kwargs):
        raise ClothflowError(f"the pose estimator (mediapipe) is not installed; {prepare.INSTALL_HINT}")

    monkeypatch.setattr(prepare, "import_mediapipe", missing)
    with pytest.raises(ClothflowError, match=r"person photo: .*pip install 'clothflow\[pose\]'"):
        person_from_upload(_png(tmp_path / "p.png", examples.people[0].image))


def test_load_or_train_checks_the_task(tmp_path, pipes):
    from clothflow.core.pretrained import DEFAULT_MODELS, shipped_models

    if DEFAULT_MODELS["tryon-synthetic"] in shipped_models():  # the page's examples get the shipped model
        assert load_or_train(None, "tryon", tmp_path / "unused").config.size == (256, 192)
    pipes["tryon"].save_pretrained(tmp_path / "tryon")
    assert load_or_train(tmp_path / "tryon", "tryon", tmp_path / "unused").config.task == "tryon"
    with pytest.raises(ClothflowError, match="trained for tryon, not transfer"):
        load_or_train(tmp_path / "tryon", "transfer", tmp_path / "unused")


def test_an_interrupted_demo_run_is_started_over_not_a_dead_end(tmp_path, monkeypatch, caplog):
    """Without shipped synthetic models, a demo folder whose run stopped before saving (config.json,
    a checkpoint, no weights) is trained again."""
    from clothflow.apps import demo

    monkeypatch.setattr(demo, "shipped_demo_models", lambda tasks=(): {})

    unfinished = tmp_path / "clothflow-demo-tryon" / "model"
    unfinished.mkdir(parents=True)
    (unfinished / "config.json").write_text("{}")
    (unfinished / "checkpoint.safetensors").write_bytes(b"")
    calls = []

    def fake_demo(out, cfg, progress=True):
        calls.append(cfg.task)
        ClothFlowPipeline(preset("tiny", task=cfg.task)).save_pretrained(Path(out) / "model")

    monkeypatch.setattr(demo, "run_demo", fake_demo)
    with caplog.at_level("WARNING", logger="clothflow"):
        pipe = load_or_train(None, "tryon", tmp_path / "clothflow-demo-tryon")
    assert calls == ["tryon"] and pipe.config.task == "tryon"
    assert "unfinished demo run" in caplog.text


def test_serve_takes_the_shipped_synthetic_model_before_training(tmp_path, monkeypatch):
    from clothflow.apps import demo
    from clothflow.core import pretrained

    ClothFlowPipeline(preset("tiny", task="tryon")).save_pretrained(tmp_path / "pretrained" / pretrained.DEFAULT_MODELS["tryon-synthetic"])
    monkeypatch.setattr(pretrained, "SHIPPED_DIR", tmp_path / "pretrained")
    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: pytest.fail("trained although a model is shipped"))
    assert load_or_train(None, "tryon", tmp_path / "clothflow-demo-tryon").config.task == "tryon"
    assert not (tmp_path / "clothflow-demo-tryon").exists()


def test_build_app_wires_both_tabs(pipes):
    pytest.importorskip("gradio", reason="the web demo needs the [web] extra")
    from clothflow.apps.web.app import build_app

    app = build_app(pipes["transfer"], pipes["tryon"], examples=1)
    ids = {getattr(block, "elem_id", None) for block in app.blocks.values()}
    assert {"tryon-run", "tryon-result", "tryon-status", "transfer-run", "transfer-result", "transfer-status"} <= ids
    # each tab's button runs its own task on the tab's person and garment / pose, into its result
    on = {(app.blocks[target].elem_id, event): f for f in app.fns.values() for target, event in f.targets}
    tryon, transfer = on[("tryon-run", "click")], on[("transfer-run", "click")]
    outputs = {name: [getattr(b, "elem_id", None) for b in f.outputs] for name, f in (("tryon", tryon), ("transfer", transfer))}
    assert outputs["tryon"][0] == "tryon-result" and outputs["tryon"][-1] == "tryon-status", outputs
    assert outputs["transfer"] == ["transfer-result", "transfer-status"], outputs
    person, garment = (b.value for b in tryon.inputs)
    got = tryon.fn(person, garment)
    assert got[-1] == "" and np.array_equal(got[0], run_tryon(pipes["tryon"], person, garment).result)
    person, pose = (b.value for b in transfer.inputs)
    got = transfer.fn(person, pose)
    assert got[-1] == "" and np.array_equal(got[0], run_transfer(pipes["transfer"], person, pose))
    only_tryon = build_app(None, pipes["tryon"], examples=1)
    assert "transfer-run" not in {getattr(b, "elem_id", None) for b in only_tryon.blocks.values()}


def test_the_page_and_the_readme_name_the_formats_the_reader_accepts():
    from clothflow.apps.web.app import INTRO
    from clothflow.data.formats.images import FORMATS, FORMATS_TEXT

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"({FORMATS_TEXT}, up to 10 MB;" in INTRO
    assert f"Uploads are {FORMATS_TEXT}, at most 10 MB" in readme.replace("\n", " ")  # the web demo's section
    extensions = {"JPEG": ".jpg", "WEBP": ".webp"}
    assert {extensions.get(f, f".{f.lower()}") for f in FORMATS} <= set(app_core.UPLOAD_EXTENSIONS)

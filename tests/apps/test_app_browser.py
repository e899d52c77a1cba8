"""The web demo end to end in a real browser: Debian's Chromium driven by Playwright.

Needs ``pip install -e '.[web,test]'`` (gradio, playwright) and the apt packages ``chromium``
and ``chromium-driver``; skipped with the reason otherwise (never ``playwright install``: the
browser download is not reachable here). The server runs in this process on a free port with
tiny untrained pipelines, so the images are noise of the right size: the test checks the page
works, not the model.

With ``CLOTHFLOW_SCREENSHOTS=DIR`` set, the test also writes the README's screenshots
``DIR/app_tryon.png`` and ``DIR/app_transfer.png`` (1000 px wide, 128-colour palette PNGs);
``CLOTHFLOW_SCREENSHOT_MODELS=DIR`` serves the trained models ``DIR/transfer`` and ``DIR/tryon``
(e.g. what ``clothflow demo`` saved) instead of untrained ones.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the web demo needs the [web] extra: pip install -e '.[web]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright: pip install playwright")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium: apt-get install -y chromium chromium-driver"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo served on 127.0.0.1 from tiny untrained pipelines saved to and loaded from tmp."""
    import torch

    from clothflow.apps.web.app import build_app, launch
    from clothflow.apps.web.backend import load_or_train
    from clothflow.models.config import preset
    from clothflow.models.pipeline import ClothFlowPipeline

    trained = os.environ.get("CLOTHFLOW_SCREENSHOT_MODELS")  # DIR/transfer + DIR/tryon, for README shots
    root = Path(trained) if trained else tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    for task in ("transfer", "tryon"):
        if not trained:
            ClothFlowPipeline(preset("tiny", task=task)).save_pretrained(root / task)
    pipes = {task: load_or_train(root / task, task, root / "unused") for task in ("transfer", "tryon")}
    app = build_app(pipes["transfer"], pipes["tryon"], examples=4)
    port = _free_port()
    launch(app, port=port, block=False)
    shown = {task: (round(256 * pipe.config.size[1] / pipe.config.size[0]), 256) for task, pipe in pipes.items()}
    yield f"http://127.0.0.1:{port}/", shown  # results are shown 256 px high
    app.close()


def _image_size(page, selector: str) -> tuple[int, int]:
    """(width, height) of the loaded <img> under ``selector``, waiting for it."""
    img = page.locator(f"{selector} img").first
    img.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "sel => { const i = document.querySelector(sel + ' img'); return i && i.complete && i.naturalWidth > 0; }",
        arg=selector, timeout=TIMEOUT_MS,
    )
    return tuple(img.evaluate("i => [i.naturalWidth, i.naturalHeight]"))


def test_both_tabs_in_chromium(server, tmp_path, save_screenshot):
    from PIL import Image

    from clothflow.data.synth.renderer import make_tryon_pair

    garment = tmp_path / "garment.png"
    Image.fromarray(make_tryon_pair(7, 0, (256, 176)).shop.image).save(garment)
    bad = tmp_path / "not_an_image.jpg"
    bad.write_text("this is a text file, renamed .jpg\n")
    shots = Path(os.environ["CLOTHFLOW_SCREENSHOTS"]) if os.environ.get("CLOTHFLOW_SCREENSHOTS") else None
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            url, shown = server
            page.goto(url, wait_until="domcontentloaded")

            # Try-on: pick the second example person, upload a garment photo, run.
            page.locator("#tryon-person-gallery .thumbnail-item").nth(1).click()
            before = page.locator("#tryon-garment img").first.get_attribute("src")
            page.locator("#tryon-garment-upload input[type=file]").set_input_files(str(garment))
            page.wait_for_function(  # the uploaded garment replaced the example in the preview
                "old => { const i = document.querySelector('#tryon-garment img'); return i && i.src !== old; }",
                arg=before, timeout=TIMEOUT_MS,
            )
            page.locator("#tryon-run").click()
            assert _image_size(page, "#tryon-result") == shown["tryon"]
            page.get_by_text("Intermediate steps").click()
            assert _image_size(page, "#tryon-layout") == shown["tryon"]
            assert _image_size(page, "#tryon-warped") == shown["tryon"]
            assert page.locator("#tryon-status").inner_text().strip() == ""
            page.screenshot(path=str(tmp_path / "tryon.png"), full_page=True)
            if shots is not None:
                save_screenshot(page, shots / "app_tryon.png")

            # A text file renamed .jpg: a readable message, and the page keeps working.
            page.locator("#tryon-person-upload input[type=file]").set_input_files(str(bad))
            sync_api.expect(page.locator("#tryon-status")).to_contain_text("is not a readable image", timeout=TIMEOUT_MS)

            # Pose transfer: pick an example person and a target pose from the gallery, run.
            page.get_by_role("tab", name="Pose transfer").click()
            page.locator("#transfer-person-gallery .thumbnail-item").nth(2).click()
            page.locator("#transfer-pose-gallery .thumbnail-item").nth(3).click()
            page.locator("#transfer-run").click()
            assert _image_size(page, "#transfer-result") == shown["transfer"]
            page.locator("#transfer-pose-upload input[type=file]").set_input_files(str(bad))
            sync_api.expect(page.locator("#transfer-status")).to_contain_text("is not a readable image", timeout=TIMEOUT_MS)
            page.locator("#transfer-pose-upload input[type=file]").wait_for(state="attached", timeout=TIMEOUT_MS)
            page.screenshot(path=str(tmp_path / "transfer.png"), full_page=True)
            if shots is not None:
                page.locator("#transfer-run").click()  # clears the message for the README picture
                sync_api.expect(page.locator("#transfer-status")).to_have_text("", timeout=TIMEOUT_MS)
                save_screenshot(page, shots / "app_transfer.png")
        finally:
            browser.close()
    assert (tmp_path / "tryon.png").stat().st_size > 10_000
    # the server survived the bad uploads
    import urllib.request

    assert urllib.request.urlopen(server[0], timeout=10).status == 200

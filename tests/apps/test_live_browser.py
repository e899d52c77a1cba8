"""The live page end to end in a real browser: Debian's Chromium with a fake camera, driven by Playwright.

Needs FastAPI, uvicorn and websockets (the ``[web]`` extra), playwright, mediapipe (the
``[pose]`` extra) and the apt package ``chromium``; skipped with the reason otherwise (never
``playwright install``: the browser download is not reachable here). The server runs in this
process (uvicorn in a thread, on a free port). Chromium's fake camera plays ``clip.y4m``, made
here from scikit-image's astronaut portrait by :func:`~clothflow.animate.face.driving.synthetic_face_clip`
(nods, shut eyes, an opening mouth), at 320 x 320, in a loop; the page animates the same
portrait (256 x 256) with it, and what it shows must be the portrait's size with the portrait's
own pixels away from the face, which the camera's frames sent back are not.

The page keeps its last (sent, received) frame pairs (``?record=N``); the landmark model
then checks that the avatar's eyes shut and its mouth opens on the frames where the driver's do.
In face mode 2 (head turns) the fake camera plays a clip whose head turns
(:func:`~clothflow.animate.face.driving.turning_face_clip`), and the avatar's yaw must follow it.

With ``CLOTHFLOW_SCREENSHOTS=DIR`` set, the test also writes ``DIR/live.png`` (1000 px wide).
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from face_regions import outside_the_face

pytest.importorskip("fastapi", reason="the live page needs the [web] extra: pip install -e '.[web]'")
uvicorn = pytest.importorskip("uvicorn", reason="the live page needs the [web] extra: pip install -e '.[web]'")
pytest.importorskip("websockets", reason="the live page needs websockets: pip install -e '.[web]'")
pytest.importorskip("mediapipe", reason="face animation needs the [pose] extra (mediapipe)")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright: pip install playwright")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
TIMEOUT_MS = 30_000
REPEAT = 5  # camera frames per clip frame: each event lasts 0.2 s at 25 frames/s

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: apt-get install -y chromium")


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 25) -> None:
    """Frames (H x W x 3 uint8 RGB, even sides) as a YUV4MPEG2 4:2:0 file, Chromium's fake camera format."""
    import cv2

    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420).tobytes())


@contextlib.contextmanager
def _chromium(camera: Path):
    """Debian's Chromium, headless, playing ``camera`` (a .y4m clip) as its fake camera; closed on exit."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=[*ARGS, f"--use-file-for-fake-video-capture={camera}"])
        try:
            yield browser
        finally:
            browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def portrait():
    from skimage.data import astronaut

    return astronaut()[:256, 96:352]


@pytest.fixture(scope="module")
def clip(portrait, tmp_path_factory):
    """The driving clip's y4m file and its frames' events."""
    from clothflow.animate.face.driving import synthetic_face_clip
    from clothflow.animate.face.landmarks import FaceLandmarker

    with FaceLandmarker() as find:
        made = synthetic_face_clip(portrait, find(portrait), size=320)
    path = tmp_path_factory.mktemp("camera") / "clip.y4m"
    write_y4m(path, [f for f in made.frames for _ in range(REPEAT)])
    return path


@pytest.fixture(scope="module")
def turning_clip(portrait, tmp_path_factory):
    """The y4m of a clip whose head turns (yaw to +-35, pitch to +-20, made by face mode 2)."""
    from clothflow.animate.face.driving import turning_face_clip

    made = turning_face_clip(portrait, size=320)
    path = tmp_path_factory.mktemp("camera") / "turning.y4m"
    write_y4m(path, [f for f in made.frames for _ in range(REPEAT)])
    return path


@pytest.fixture(scope="module")
def server(portrait):
    """The live app served by uvicorn (real WebSockets) on a free port of 127.0.0.1."""
    from clothflow.apps.live.server import build_live_app

    app = build_live_app(examples={"astronaut": portrait})
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws="websockets-sansio", log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    thread.join(timeout=10)


def _decode(url: str) -> np.ndarray:
    from clothflow.apps.live.session import decode_jpeg

    return decode_jpeg(base64.b64decode(url.split(",", 1)[1]))


def _measure(pairs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(driver, avatar) eye openness and mouth opening of each pair with a face in both: N x 2 each."""
    from clothflow.animate.face.landmarks import FaceLandmarker, eye_aspect_ratio, mouth_open_ratio

    rows = []
    with FaceLandmarker() as find:
        for pair in pairs:
            sent, received = find(_decode(pair["sent"])), find(_decode(pair["received"]))
            if sent is not None and received is not None:
                rows.append([eye_aspect_ratio(sent).mean(), mouth_open_ratio(sent),
                             eye_aspect_ratio(received).mean(), mouth_open_ratio(received)])
    rows = np.array(rows)
    return rows[:, :2], rows[:, 2:]


def test_live_page_animates_the_portrait_with_the_camera(server, clip, portrait, tmp_path, save_screenshot):
    url, app = server
    shots = Path(os.environ["CLOTHFLOW_SCREENSHOTS"]) if os.environ.get("CLOTHFLOW_SCREENSHOTS") else None
    started = time.monotonic()
    with _chromium(clip) as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 640})
        page.goto(f"{url}/?record=80", wait_until="domcontentloaded")
        sync_api.expect(page.locator("#about")).to_contain_text("face mode", timeout=TIMEOUT_MS)
        sync_api.expect(page.locator("#body-about")).to_contain_text("needs a pose-transfer model")
        page.locator("#start").click()
        page.wait_for_function("window.liveStats.received >= 70", timeout=TIMEOUT_MS)
        stats = page.evaluate("({...window.liveStats, latencies: undefined})")
        pairs = page.evaluate("window.liveRecord()")
        session = page.evaluate("window.liveSession")

        # the portrait picked again while streaming: a new socket for the same session goes on
        # at once (no frame of the closed socket's is mistaken for one of the new), no message
        before = page.evaluate("[window.liveStats.sent, window.liveStats.received]")
        page.locator(".examples button").first.click()
        page.wait_for_function(f"window.liveStats.received >= {before[1] + 25}", timeout=TIMEOUT_MS)
        after = page.evaluate("[window.liveStats.sent, window.liveStats.received]")
        assert (after[0] - after[1]) - (before[0] - before[1]) <= 6, (before, after)
        assert page.locator("#message").inner_text().strip() == ""

        # the avatar alone, for OBS: frames arrive, nothing else is on the page
        avatar = browser.new_page(viewport={"width": 400, "height": 400})
        avatar.goto(f"{url}/avatar?session={session}", wait_until="domcontentloaded")
        avatar.wait_for_function("window.avatarStats.received >= 3", timeout=TIMEOUT_MS)
        assert avatar.evaluate("document.body.innerText.trim()") == ""
        avatar.close()

        page.wait_for_function("document.getElementById('median').textContent !== '–'", timeout=TIMEOUT_MS)
        page.screenshot(path=str(tmp_path / "live.png"), full_page=True)
        if shots is not None:
            save_screenshot(page, shots / "live.png")
        page.locator("#stop").click()
        page.close()
    elapsed = time.monotonic() - started
    assert stats["received"] >= 70 and stats["received"] >= stats["sent"] / 2, stats
    assert stats["median"] is not None and 0 < stats["median"] <= stats["p95"] < 5000, stats
    assert len(pairs) >= 60
    # the avatar is the portrait, animated: its size, and its own pixels away from the face
    # (the camera's 320 x 320 picture, sent back or resized, fails both)
    received = [_decode(pair["received"]).astype(np.float32) for pair in pairs]
    assert all(r.shape == portrait.shape for r in received), {r.shape for r in received}
    outside = outside_the_face(portrait)
    away = [round(float(np.abs(r - portrait)[outside].mean()), 1) for r in received]
    assert max(away) < 8, away  # JPEG's loss and the head's motion: 2-3 grey levels
    driver, avatar_measures = _measure(pairs)
    assert len(driver) >= 0.9 * len(pairs), "the landmark model must find both faces in most pairs"
    shut = driver[:, 0] < 0.5 * np.median(driver[:, 0])
    gaping = driver[:, 1] > np.median(driver[:, 1]) + 0.1
    assert shut.sum() >= 3 and gaping.sum() >= 3 and (~shut & ~gaping).sum() >= 10, (shut.sum(), gaping.sum())
    open_ear = np.median(avatar_measures[~shut & ~gaping, 0])
    assert np.median(avatar_measures[shut, 0]) < 0.5 * open_ear
    still_mouth = np.median(avatar_measures[~shut & ~gaping, 1])
    assert np.median(avatar_measures[gaping, 1]) > still_mouth + 0.1
    # the sessions were closed with the page
    deadline = time.monotonic() + 10
    while app.state.live.sessions and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not app.state.live.sessions
    assert elapsed < 60


def _yaws(pairs: list[dict]) -> np.ndarray:
    """(driver, avatar) yaw of each pair with a face in both (N x 2 degrees), each relative to the
    first pair's (rigid fits of the face mesh's 3-D landmarks)."""
    from clothflow.animate.face.headpose import relative_angles
    from clothflow.animate.face.landmarks import FaceLandmarker

    found = []
    with FaceLandmarker() as find:
        for pair in pairs:
            sent, received = find.landmarks3d(_decode(pair["sent"])), find.landmarks3d(_decode(pair["received"]))
            if sent is not None and received is not None:
                found.append((sent, received))
    return np.stack([relative_angles([f[k] for f in found])[:, 0] for k in (0, 1)], 1)


def test_turn_mode_turns_the_avatar_s_head_with_the_camera_s(server, turning_clip):
    """Face mode 2 picked on the page, the camera turning its head: the avatar's yaw follows the
    driver's within 10 degrees (both read by the face mesh on the recorded frame pairs; the
    avatar's reference is wherever the camera's head was when streaming began, so the two are
    compared up to one offset)."""
    url, app = server
    started = time.monotonic()
    with _chromium(turning_clip) as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 640})
        page.goto(f"{url}/?record=100", wait_until="domcontentloaded")
        sync_api.expect(page.locator("#about")).to_contain_text("face mode", timeout=TIMEOUT_MS)
        page.locator("input[name=mode][value=turn]").check()
        sync_api.expect(page.locator("#about")).to_contain_text("face mode 2: head turns", timeout=TIMEOUT_MS)
        page.locator("#start").click()
        page.wait_for_function("window.liveStats.received >= 100", timeout=TIMEOUT_MS)
        pairs = page.evaluate("window.liveRecord()")
        page.locator("#stop").click()
        page.close()
    yaws = _yaws(pairs)
    assert len(yaws) >= 0.9 * len(pairs) >= 80, "the landmark model must find both faces in most pairs"
    assert np.ptp(yaws[:, 0]) > 40, "the camera's head turns both ways"
    gap = yaws[:, 1] - yaws[:, 0]
    off = gap - np.median(gap)
    assert np.mean(np.abs(off) < 10) >= 0.9, np.round(np.c_[yaws, off], 1)
    assert np.ptp(yaws[:, 1]) > 0.6 * np.ptp(yaws[:, 0]), "the avatar's head turns as far"
    deadline = time.monotonic() + 10
    while app.state.live.sessions and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not app.state.live.sessions
    assert time.monotonic() - started < 60


def test_bad_portraits_and_a_silent_camera_get_messages(server, clip, tmp_path):
    from PIL import Image

    url, _ = server
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((200, 200, 3), 180, np.uint8)).save(blank)
    huge = tmp_path / "wide.png"
    Image.fromarray(np.full((16, 4200, 3), 90, np.uint8)).save(huge)
    silent = """navigator.mediaDevices.getUserMedia = async () => {
        const canvas = document.createElement('canvas'); canvas.width = 320; canvas.height = 240;
        return canvas.captureStream(0);  // a camera that never gives a frame
    };"""
    with _chromium(clip) as browser:
        page = browser.new_page()
        page.add_init_script(silent)
        page.goto(f"{url}/?noframes=1500", wait_until="domcontentloaded")
        sync_api.expect(page.locator("#about")).to_contain_text("face mode", timeout=TIMEOUT_MS)
        page.locator("#upload").set_input_files(str(blank))
        sync_api.expect(page.locator("#message")).to_contain_text("no face found", timeout=TIMEOUT_MS)
        page.locator("#upload").set_input_files(str(huge))
        sync_api.expect(page.locator("#message")).to_contain_text("at most 4096", timeout=TIMEOUT_MS)
        page.locator("#start").click()  # the example portrait stayed: the camera starts
        sync_api.expect(page.locator("#message")).to_contain_text("gives no frames", timeout=TIMEOUT_MS)
        page.locator("#stop").click()
        assert page.evaluate("window.liveStats.received") == 0
    import urllib.request

    assert urllib.request.urlopen(url + "/api/info", timeout=10).status == 200

"""The live page without a browser: per-frame sessions, the app's routes and its WebSockets.

Face mode runs on scikit-image's astronaut portrait (256 x 256), driven by a clip made from it
at another size (:func:`~clothflow.animate.face.driving.synthetic_face_clip`, 208 x 208, so a
frame sent back as it came is told from an animated one) and by one made from another person's
face (a VITON-HD photo, when the shared data is here), whose live frames must be what the offline
animator makes of the same camera frames; turn mode (face mode 2) by
one that turns its head (:func:`~clothflow.animate.face.driving.turning_face_clip`); body mode on a tiny untrained
pose-transfer model (its pictures are noise of the right size: this checks the plumbing).
The sockets go through FastAPI's TestClient; a portrait whose frames take 0.3 s shows that
frames arriving meanwhile are dropped, all but the newest.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from face_regions import outside_the_face

pytest.importorskip("fastapi", reason="the live page needs the [web] extra: pip install -e '.[web]'")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx")
pytest.importorskip("mediapipe", reason="face animation needs the [pose] extra (mediapipe)")

from fastapi.testclient import TestClient  # noqa: E402
from skimage.data import astronaut  # noqa: E402

from clothflow.apps.live.server import FRAME_IN, FRAME_OUT, build_live_app  # noqa: E402
from clothflow.apps.live.session import (  # noqa: E402
    FOUND,
    NO_BODY_MODEL,
    LiveSession,
    Portrait,
    decode_jpeg,
    encode_jpeg,
    load_body_model,
    prepare_portrait,
)
from clothflow.core.errors import ClothflowError  # noqa: E402

SESSION = "test-session-1"


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def _frame(seq: int, image: np.ndarray, stamp: float | None = None) -> bytes:
    return FRAME_IN.pack(40.0 * seq if stamp is None else stamp, seq) + encode_jpeg(image)


def _wait_until(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return astronaut()[:256, 96:352]


@pytest.fixture(scope="module")
def clip(portrait):
    from clothflow.animate.face.driving import synthetic_face_clip
    from clothflow.animate.face.landmarks import FaceLandmarker

    with FaceLandmarker() as find:
        return synthetic_face_clip(portrait, find(portrait), size=208)


@pytest.fixture(scope="module")
def client(portrait):
    with TestClient(build_live_app(examples={"astronaut": portrait})) as c:
        yield c


@pytest.fixture(scope="module")
def token(client) -> str:
    r = client.post("/api/portraits?mode=face&example=astronaut")
    assert r.status_code == 200, r.text
    return r.json()["token"]


class _SlowStream:
    def __init__(self) -> None:
        self.closed = self.found = False
        self.steps = 0

    def step(self, frame, dt):
        time.sleep(0.3)
        self.steps += 1
        return np.full((32, 32, 3), 7, np.uint8)

    def restart(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class _SlowPortrait(Portrait):
    """A portrait whose frames take 0.3 s each (and which records its streams)."""

    mode, size, about = "face", (32, 32), "slow"

    def __init__(self) -> None:
        self.image = np.zeros((32, 32, 3), np.uint8)
        self.streams: list[_SlowStream] = []

    def open(self) -> _SlowStream:
        self.streams.append(_SlowStream())
        return self.streams[-1]


# ---- sessions, without the web ------------------------------------------------------------


def test_a_face_session_makes_what_animate_face_makes(portrait, clip):
    from clothflow.animate.face.animator import FaceAnimator, animate_face
    from clothflow.animate.face.animator import FaceSession

    frames = clip.frames[:6]
    expected = list(animate_face(portrait, frames))
    with FaceSession(FaceAnimator(portrait)) as session:
        got = [session.step(f) for f in frames]
    assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    assert session.closed and session.frames == 6
    with pytest.raises(ClothflowError, match="closed"):
        session.step(frames[0])
    session.close()  # twice is fine


def test_a_live_session_finds_the_face_and_says_when_there_is_none(portrait, clip):
    live = prepare_portrait(portrait, "face")
    with LiveSession(live) as session:
        first = session.process(encode_jpeg(clip.frames[0]), 0.0)
        blank = session.process(encode_jpeg(np.full((96, 96, 3), 40, np.uint8)), 40.0)
        assert first.flags & FOUND and not blank.flags & FOUND
        assert decode_jpeg(first.jpeg).shape == portrait.shape and first.ms > 0
        with pytest.raises(ClothflowError, match="a camera frame is not a readable image"):
            session.process(b"not a jpeg", 80.0)
    assert session.closed
    with pytest.raises(ClothflowError, match="closed"):
        session.process(encode_jpeg(clip.frames[0]), 120.0)


def test_a_live_session_sends_what_the_offline_animator_makes(portrait, shared_data):
    """Driven by another person at another size, the live frames are the offline animation of
    the frames the session decoded (the same JPEG bytes), at the portrait's size and with the
    portrait's own pixels away from its face: not the camera's picture sent back."""
    from PIL import Image

    from clothflow.animate.face.animator import animate_face
    from clothflow.animate.face.driving import synthetic_face_clip
    from clothflow.animate.face.landmarks import FaceLandmarker

    photo = np.asarray(Image.open(shared_data / "vitonhd_samples" / "test" / "image" / "00891_00.jpg").convert("RGB"))
    face = np.ascontiguousarray(photo[:400, 184:584])  # the head and shoulders of a VITON-HD model
    with FaceLandmarker() as find:
        frames = synthetic_face_clip(face, find(face), size=176).frames[:8]
    with LiveSession(prepare_portrait(portrait, "face")) as session:
        replies = [session.process(encode_jpeg(f), 40.0 * i) for i, f in enumerate(frames)]
    assert all(r.flags & FOUND for r in replies)
    want = list(animate_face(portrait, [decode_jpeg(encode_jpeg(f)) for f in frames]))  # 25 frames/s: 40 ms apart
    same = [r.jpeg == encode_jpeg(w) for r, w in zip(replies, want)]
    assert all(same), same
    got = [decode_jpeg(r.jpeg).astype(np.float32) for r in replies]
    assert all(g.shape == portrait.shape for g in got)
    outside = outside_the_face(portrait)
    away = [round(float(np.abs(g - portrait)[outside].mean()), 1) for g in got]
    assert max(away) < 8, away  # JPEG's loss and the head's motion: 2-3 grey levels
    # and the animation moved the face: the frames are not the portrait itself either
    moved = [round(float(np.abs(g - portrait)[~outside].mean()), 1) for g in got]
    assert max(moved) > 10, moved


def test_portraits_are_checked_and_shrunk(portrait):
    with pytest.raises(ClothflowError, match="portrait: no face found"):
        prepare_portrait(np.full((128, 128, 3), 200, np.uint8), "face")
    with pytest.raises(ClothflowError, match="unknown mode"):
        prepare_portrait(portrait, "head")
    with pytest.raises(ClothflowError, match="needs a pose-transfer model"):
        prepare_portrait(portrait, "body", body=None)
    big = prepare_portrait(astronaut(), "face", max_side=300)
    assert big.size == (300, 300)


def test_a_turn_session_turns_the_portrait_with_the_camera_s_head(portrait):
    from clothflow.animate.face.driving import turning_face_clip
    from clothflow.animate.face.headpose import euler_angles, fit_rigid
    from clothflow.animate.face.landmarks import FaceLandmarker

    live = prepare_portrait(portrait, "turn")
    assert live.mode == "turn" and live.about.startswith("face mode 2: head turns")
    made = turning_face_clip(live.image, animator=live.animator, size=200)
    turned = made.angles.index((30.0, 0.0))
    with LiveSession(live) as session:
        replies = [session.process(encode_jpeg(made.frames[i]), 40.0 * k)
                   for k, i in enumerate([0] + [turned] * 3)]
    assert all(r.flags & FOUND for r in replies)
    first, last = decode_jpeg(replies[0].jpeg), decode_jpeg(replies[-1].jpeg)
    assert first.shape == last.shape == portrait.shape
    with FaceLandmarker() as find:
        drv = [find.landmarks3d(made.frames[i]) for i in (0, turned)]
        out = [find.landmarks3d(f) for f in (first, last)]
    yaw = [euler_angles(fit_rigid(a, b).rotation)[0] for a, b in (drv, out)]
    assert yaw[0] > 15 and abs(yaw[1] - yaw[0]) < 10, yaw


# ---- the app ---------------------------------------------------------------------------


def test_pages_load_nothing_from_elsewhere(client):
    for path in ("/", "/avatar", "/live.js"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "http://" not in r.text and "https://" not in r.text, path
        links = re.findall(r"(?:src|href)=\"([^\"]+)\"", r.text) if path != "/live.js" else []
        assert all(link.startswith("/") and not link.startswith("//") for link in links), path
    info = client.get("/api/info").json()
    assert info["body"] == {"available": False, "about": NO_BODY_MODEL}
    assert info["limits"]["bytes"] == 10 * 2**20 and info["limits"]["side"] == 4096
    assert client.get(info["examples"][0]["url"]).headers["content-type"] == "image/jpeg"


def test_bad_portraits_get_readable_messages(client, portrait):
    def upload(data: bytes, mode: str = "face") -> tuple[int, str]:
        r = client.post(f"/api/portraits?mode={mode}", content=data)
        return r.status_code, r.json().get("error", "")

    no_face = ("portrait: no face found in the source image "
               "(face animation needs a clearly visible, roughly frontal face)")
    assert upload(_png(np.full((160, 160, 3), 90, np.uint8))) == (400, no_face)
    status, error = upload(_png(np.full((16, 4100, 3), 90, np.uint8)))
    assert status == 400 and "4100 x 16 pixels; at most 4096 pixels a side" in error
    status, error = upload(os.urandom(11 * 2**20))
    assert status == 400 and "11.0 MB; at most 10 MB" in error
    assert upload(b"hello, not an image")[1].startswith("the portrait is not a readable image")
    assert upload(b"") == (400, "no portrait uploaded")
    assert upload(_png(portrait), mode="body") == (400, NO_BODY_MODEL)
    assert client.post("/api/portraits?example=nobody").status_code == 400
    assert upload(_png(np.full((160, 160, 3), 90, np.uint8)), mode="turn") == (400, no_face)
    r = client.post("/api/portraits?mode=face", content=_png(portrait))
    assert r.status_code == 200 and r.json()["width"] == 256
    r = client.post("/api/portraits?mode=turn&example=astronaut")
    assert r.status_code == 200 and r.json()["mode"] == "turn" and "head turns" in r.json()["about"]
    assert decode_jpeg(client.get(f"/api/portraits/{r.json()['token']}.jpg").content).shape == portrait.shape
    assert client.get("/api/portraits/unknown.jpg").status_code == 404


def test_frames_go_round_and_watchers_see_them(client, token, clip, portrait):
    state = client.app.state.live
    with client.websocket_connect(f"/ws/watch?session={SESSION}") as watch, client.websocket_connect("/ws/live") as ws:
        ws.send_text(json.dumps({"type": "start", "session": SESSION, "portrait": token}))
        ready = ws.receive_json()
        assert ready["type"] == "ready" and (ready["width"], ready["height"]) == (256, 256)
        for seq, frame in enumerate(clip.frames[:4], 1):
            ws.send_bytes(_frame(seq, frame, stamp=1000.5 + seq))
            reply = ws.receive_bytes()
            stamp, got, ms, flags, dropped = FRAME_OUT.unpack_from(reply)
            assert (stamp, got, dropped) == (1000.5 + seq, seq, 0) and flags & FOUND and ms > 0
            assert decode_jpeg(reply[FRAME_OUT.size:]).shape == portrait.shape
            assert watch.receive_bytes() == reply
        ws.send_text(json.dumps({"type": "restart"}))
        ws.send_bytes(FRAME_IN.pack(0.0, 9) + b"garbage")  # a broken frame: reported, the stream goes on
        assert ws.receive_json() == {"type": "error", "message": "a camera frame is not a readable image (PNG, JPEG, WebP or BMP expected)", "seq": 9}
        ws.send_bytes(_frame(10, clip.frames[0]))
        assert FRAME_OUT.unpack_from(ws.receive_bytes())[1] == 10
        session = state.sessions[SESSION]
    assert _wait_until(lambda: not state.sessions and not state.watchers), (state.sessions, state.watchers)
    assert session.closed and session.processed == 5


def test_frames_arriving_while_busy_are_dropped_but_the_newest(client):
    slow = _SlowPortrait()
    state = client.app.state.live
    token = state.add_portrait(slow)
    with client.websocket_connect("/ws/live") as ws:
        ws.send_json({"type": "start", "session": SESSION, "portrait": token})
        assert ws.receive_json()["type"] == "ready"
        image = np.zeros((32, 32, 3), np.uint8)
        for seq in range(1, 7):
            ws.send_bytes(_frame(seq, image))
        replies = []
        while not replies or replies[-1][1] != 6:
            replies.append(FRAME_OUT.unpack_from(ws.receive_bytes()))
    assert replies[0][1] == 1 and len(replies) <= 3  # 1, maybe one in between, then 6
    assert replies[-1][4] == 6 - len(replies) > 0  # the rest counted as dropped
    assert _wait_until(lambda: not state.sessions)
    assert slow.streams[0].closed and slow.streams[0].steps == len(replies)


def test_bad_starts_are_refused_with_a_message(client, token):
    state = client.app.state.live

    def start(message) -> dict:
        with client.websocket_connect("/ws/live") as ws:
            ws.send_text(json.dumps(message))
            return ws.receive_json()

    assert "no longer on the server" in start({"type": "start", "session": SESSION, "portrait": "nope"})["message"]
    assert "session id" in start({"type": "start", "session": "x", "portrait": token})["message"]
    assert "must be a start" in start({"hello": 1})["message"]
    with client.websocket_connect("/ws/live") as ws:
        ws.send_json({"type": "start", "session": SESSION, "portrait": token})
        assert ws.receive_json()["type"] == "ready"
        assert "already streaming" in start({"type": "start", "session": SESSION, "portrait": token})["message"]
        state.max_sessions = 1
        try:
            assert "server is busy" in start({"type": "start", "session": "another-one", "portrait": token})["message"]
        finally:
            state.max_sessions = 4
    assert _wait_until(lambda: not state.sessions)


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc")
def test_closed_cameras_leave_no_threads_or_sessions_behind(client, token, clip):
    state = client.app.state.live
    sessions = []

    def one_stream() -> None:
        with client.websocket_connect("/ws/live") as ws:
            ws.send_json({"type": "start", "session": SESSION, "portrait": token})
            assert ws.receive_json()["type"] == "ready"
            for seq in (1, 2):
                ws.send_bytes(_frame(seq, clip.frames[seq]))
                ws.receive_bytes()
            sessions.append(state.sessions[SESSION])
        assert _wait_until(lambda: not state.sessions)

    one_stream()
    before = _threads()
    for _ in range(4):
        one_stream()
    assert all(s.closed for s in sessions)
    assert _threads() <= before + 2, (before, _threads())


# ---- body mode -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def body_model(tmp_path_factory):
    import torch

    from clothflow.models.config import preset
    from clothflow.models.pipeline import ClothFlowPipeline

    folder = tmp_path_factory.mktemp("transfer")
    torch.manual_seed(0)
    ClothFlowPipeline(preset("tiny")).save_pretrained(folder)
    (folder / "train.json").write_text(json.dumps({"data": "synthetic"}))
    return load_body_model(folder)


def test_body_mode_says_what_its_model_is_and_animates(body_model):
    assert body_model.about.endswith(": 64 x 44 pixels, trained on synthetic people from clothflow's renderer")
    with TestClient(build_live_app(body_model)) as client:
        assert client.get("/api/info").json()["body"] == {"available": True, "about": body_model.about}
        r = client.post("/api/portraits?mode=body&example=astronaut")
        assert r.status_code == 200, r.text
        assert (r.json()["height"], r.json()["width"]) == (64, 44) and "64 x 44" in r.json()["about"]
        with client.websocket_connect("/ws/live") as ws:
            ws.send_json({"type": "start", "session": SESSION, "portrait": r.json()["token"]})
            assert ws.receive_json()["mode"] == "body"
            ws.send_bytes(_frame(1, astronaut()))
            reply = ws.receive_bytes()
            assert FRAME_OUT.unpack_from(reply)[3] & FOUND  # the person was found
            assert decode_jpeg(reply[FRAME_OUT.size:]).shape == (64, 44, 3)
        blank = client.post("/api/portraits?mode=body", content=_png(np.full((200, 200, 3), 90, np.uint8)))
        assert blank.status_code == 400 and "no person found" in blank.json()["error"]


def test_a_try_on_model_is_no_body_model(tmp_path):
    from clothflow.models.config import preset
    from clothflow.models.pipeline import ClothFlowPipeline

    ClothFlowPipeline(preset("tiny", task="tryon")).save_pretrained(tmp_path / "tryon")
    with pytest.raises(ClothflowError, match="trained for try-on"):
        load_body_model(tmp_path / "tryon")


# ---- the command line ------------------------------------------------------------------------


def test_cli_checks_its_arguments_before_serving(tmp_path, capsys):
    from clothflow.apps.cli import build_parser, main
    from clothflow.apps.live.cli import app_from_args, run_live

    args = build_parser().parse_args(["live", "--port", "7999"])
    assert args.func is run_live and args.host == "127.0.0.1" and args.portrait is None
    assert main(["live", "--portrait", str(tmp_path / "missing.png")]) == 2
    assert "missing.png: portrait not found" in capsys.readouterr().err
    (tmp_path / "notes.png").write_text("not a picture")
    assert main(["live", "--portrait", str(tmp_path / "notes.png")]) == 2
    assert "notes.png: the portrait is not a readable image" in capsys.readouterr().err
    assert main(["live", "--model", str(tmp_path / "no-model")]) == 2
    (tmp_path / "me.png").write_bytes(_png(astronaut()[:200, 100:300]))
    app = app_from_args(build_parser().parse_args(["live", "--portrait", str(tmp_path / "me.png")]))
    assert list(app.state.live.examples) == ["me", "astronaut"]
    from clothflow.core.pretrained import shipped_default

    body = app.state.live.body  # body mode: the shipped pose-transfer model when installed
    assert (body is None) == (shipped_default("transfer") is None)
    if body is not None:
        assert tuple(body.pipe.config.size) == (256, 176)

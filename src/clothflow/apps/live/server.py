"""The live page's server: FastAPI routes, portrait uploads, and WebSockets of JPEG frames.

- ``/``: the live page; ``/avatar?session=ID``: only the avatar on a plain background (an OBS
  browser source); ``/live.js``: the page's script. Nothing is loaded from elsewhere.
- ``GET /api/info``: the example portraits, the upload limits, what body mode runs.
- ``POST /api/portraits?mode=face|turn|body`` (the image as the body, or ``&example=NAME``): checked
  as the web demo checks uploads (:func:`~clothflow.apps.web.backend.read_upload`, with the
  limits of :mod:`clothflow.data.formats.images`), prepared, answered with a token; ``GET /api/portraits/TOKEN.jpg`` shows it.
- ``/ws/live``: a camera stream. The page sends ``{"type": "start", "session": ID, "portrait":
  TOKEN}``, then frames: a :data:`FRAME_IN` header (capture stamp, sequence number) and a JPEG.
  Each animated frame comes back after a :data:`FRAME_OUT` header (both echoed, milliseconds
  spent, flags, frames dropped so far); errors come as ``{"type": "error", ...}`` text.
- ``/ws/watch?session=ID``: the same animated frames, for the avatar page.

A frame arriving while another is animated waits in a slot of one; a newer one replaces it
(the older is dropped, and counted), so the picture lags by at most a frame's work. When a
camera socket closes, its session's tracking models are released.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import struct
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

import anyio
import numpy as np
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from clothflow.apps.live.session import NO_BODY_MODEL, BodyModel, LiveSession, Portrait, encode_jpeg, prepare_portrait
from clothflow.apps.web.backend import read_upload
from clothflow.core.errors import ClothflowError
from clothflow.data.formats.images import MAX_SIDE, MAX_UPLOAD_BYTES

STATIC = Path(__file__).resolve().parent / "static"
FRAME_IN = struct.Struct("<dI4x")  # little-endian: float64 capture stamp (ms), uint32 sequence number, 4 spare
FRAME_OUT = struct.Struct("<dIfII")  # stamp, sequence number, float32 ms spent, uint32 flags, uint32 dropped
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
MAX_FRAME_BYTES = 4 * 2**20
MAX_REQUEST_BYTES = 64 * 2**20  # larger uploads are refused unread
PAGES = {"/": ("index.html", "text/html; charset=utf-8"), "/avatar": ("avatar.html", "text/html; charset=utf-8"),
         "/live.js": ("live.js", "text/javascript; charset=utf-8")}


class Slot:
    """The newest item waiting for a consumer; a newer one replaces (drops) it."""

    def __init__(self) -> None:
        self.item: object | None = None
        self.dropped = 0
        self._ready = asyncio.Event()

    def put(self, item: object) -> None:
        if self.item is not None:
            self.dropped += 1
        self.item = item
        self._ready.set()

    async def take(self) -> object:
        await self._ready.wait()
        self._ready.clear()
        item, self.item = self.item, None
        return item


class LiveState:
    """What the server keeps: prepared portraits (the newest ``portraits`` of them), the open
    camera sessions by id, and the avatar pages watching each id."""

    def __init__(self, body: BodyModel | None, examples: Mapping[str, np.ndarray], max_sessions: int = 4,
                 portraits: int = 8, watchers: int = 8) -> None:
        self.body = body
        self.examples = dict(examples)
        self.max_sessions = max_sessions
        self.capacity = portraits
        self.max_watchers = watchers
        self.portraits: OrderedDict[str, Portrait] = OrderedDict()
        self.sessions: dict[str, LiveSession | None] = {}
        self.watchers: dict[str, set[Slot]] = {}

    def add_portrait(self, portrait: Portrait) -> str:
        token = secrets.token_urlsafe(9)
        self.portraits[token] = portrait
        while len(self.portraits) > self.capacity:
            self.portraits.popitem(last=False)
        return token

    def publish(self, session_id: str, payload: bytes) -> None:
        for slot in self.watchers.get(session_id, ()):
            slot.put(payload)


def _error(exc: Exception, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=status)


def _static(name: str, media_type: str) -> Response:
    return Response((STATIC / name).read_bytes(), media_type=media_type, headers={"Cache-Control": "no-store"})


async def _upload(request: Request) -> np.ndarray:
    """The request body as a checked portrait image (read_upload's limits and messages)."""
    with tempfile.TemporaryDirectory(prefix="clothflow-live-") as folder:  # a file closed before it is read
        path, size = Path(folder) / "portrait.upload", 0
        with open(path, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_REQUEST_BYTES:
                    raise ClothflowError(f"the portrait is over {MAX_REQUEST_BYTES // 2**20} MB; "
                                         f"at most {MAX_UPLOAD_BYTES // 2**20} MB please")
                out.write(chunk)
        if size == 0:
            raise ClothflowError("no portrait uploaded")
        return await run_in_threadpool(read_upload, path, "portrait")


def build_live_app(body: BodyModel | None = None, examples: Mapping[str, np.ndarray] | None = None, *,
                   max_side: int = 512, max_sessions: int = 4) -> FastAPI:
    """The live page's app.

    Args:
        body: the pose-transfer model of body mode; None: body mode says on the page that it
            needs one.
        examples: portraits offered on the page by name (H x W x 3 uint8 RGB); None: the
            astronaut photo that scikit-image ships.
        max_side: portraits are animated at most this many pixels a side.
        max_sessions: camera streams served at once.

    Returns:
        A FastAPI app to serve with uvicorn; ``app.state.live`` is its :class:`LiveState`.
    """
    if examples is None:
        from skimage.data import astronaut

        examples = {"astronaut": astronaut()[:256, 96:352]}
    state = LiveState(body, examples, max_sessions)

    app = FastAPI(title="ClothFlow live", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.live = state
    for route, (name, media_type) in PAGES.items():
        app.add_api_route(route, lambda name=name, media_type=media_type: _static(name, media_type), methods=["GET"])

    @app.get("/api/info")
    def info() -> dict:
        return {"examples": [{"name": n, "url": f"/api/examples/{n}.jpg"} for n in state.examples],
                "limits": {"bytes": MAX_UPLOAD_BYTES, "side": MAX_SIDE, "animated_side": max_side},
                "body": {"available": body is not None, "about": body.about if body is not None else NO_BODY_MODEL}}

    @app.get("/api/examples/{name}.jpg")
    def example(name: str) -> Response:
        if name not in state.examples:
            return _error(ClothflowError(f"no example portrait {name!r}"), 404)
        return Response(encode_jpeg(state.examples[name], 90), media_type="image/jpeg")

    @app.post("/api/portraits")
    async def portraits(request: Request, mode: str = "face", example: str | None = None) -> Response:
        try:
            if example is not None:
                if example not in state.examples:
                    raise ClothflowError(f"no example portrait {example!r}")
                image = state.examples[example]
            else:
                image = await _upload(request)
            portrait = await run_in_threadpool(prepare_portrait, image, mode, body, max_side)
        except ClothflowError as exc:
            return _error(exc)
        token = state.add_portrait(portrait)
        h, w = portrait.size
        return JSONResponse({"token": token, "mode": portrait.mode, "width": w, "height": h, "about": portrait.about})

    @app.get("/api/portraits/{token}.jpg")
    def portrait_image(token: str) -> Response:
        portrait = state.portraits.get(token)
        if portrait is None:
            return _error(ClothflowError("the portrait is no longer on the server; pick or upload it again"), 404)
        return Response(encode_jpeg(portrait.image, 90), media_type="image/jpeg")

    @app.websocket("/ws/live")
    async def live(ws: WebSocket) -> None:
        await ws.accept()
        try:
            start = json.loads(await ws.receive_text())
            session_id, session = await _open(state, start)
        except (ClothflowError, ValueError, AttributeError, KeyError) as exc:
            message = str(exc) if isinstance(exc, ClothflowError) else "the page's first message must be a start"
            with suppress(Exception):
                await ws.send_json({"type": "error", "message": message, "fatal": True})
                await ws.close(code=1008)
            return
        except WebSocketDisconnect:
            return
        try:
            h, w = session.portrait.size
            await ws.send_json({"type": "ready", "session": session_id, "mode": session.portrait.mode,
                                "width": w, "height": h, "about": session.portrait.about})
            await _serve(ws, state, session_id, session)
        finally:  # also when the server stops: the models are released whatever cancels the handler
            if state.sessions.get(session_id) is session:
                del state.sessions[session_id]
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.close)

    @app.websocket("/ws/watch")
    async def watch(ws: WebSocket) -> None:
        session_id = ws.query_params.get("session", "")
        if not SESSION_ID.fullmatch(session_id) or len(state.watchers.get(session_id, ())) >= state.max_watchers:
            await ws.close(code=1008)
            return
        await ws.accept()
        slot = Slot()
        state.watchers.setdefault(session_id, set()).add(slot)

        async def pump() -> None:
            while True:
                await ws.send_bytes(await slot.take())

        task = asyncio.create_task(pump())
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            watching = state.watchers.get(session_id, set())
            watching.discard(slot)
            if not watching:
                state.watchers.pop(session_id, None)
            task.cancel()
            with anyio.CancelScope(shield=True), suppress(asyncio.CancelledError, Exception):
                await task

    return app


async def _open(state: LiveState, start: dict) -> tuple[str, LiveSession]:
    """The camera session a start message asks for, opened and registered."""
    if start.get("type") != "start":
        raise ValueError("not a start message")
    session_id = str(start.get("session", ""))
    if not SESSION_ID.fullmatch(session_id):
        raise ClothflowError("the session id must be 8 to 64 letters, digits, '-' or '_'")
    portrait = state.portraits.get(str(start.get("portrait", "")))
    if portrait is None:
        raise ClothflowError("the portrait is no longer on the server; pick or upload it again")
    for _ in range(40):  # the page's previous socket (another portrait, a reload) may still be closing
        if session_id not in state.sessions:
            break
        await asyncio.sleep(0.05)
    else:
        raise ClothflowError("this session's camera is already streaming (in another tab?)")
    if len(state.sessions) >= state.max_sessions:
        raise ClothflowError(f"the server is busy: {len(state.sessions)} live cameras already; try again later")
    state.sessions[session_id] = None  # reserved while the models load
    try:
        with anyio.CancelScope(shield=True):  # a session made is always handed on, to be closed
            session = await run_in_threadpool(LiveSession, portrait)
    except BaseException:
        del state.sessions[session_id]
        raise
    state.sessions[session_id] = session
    return session_id, session


async def _serve(ws: WebSocket, state: LiveState, session_id: str, session: LiveSession) -> None:
    """Read frames into a slot of one while a worker animates the newest; until the socket closes."""
    slot = Slot()

    async def work() -> None:
        while True:
            stamp, seq, jpeg = await slot.take()
            try:
                done = await run_in_threadpool(session.process, jpeg, stamp)
            except Exception as exc:  # one bad frame is reported; the stream goes on
                text = str(exc) if isinstance(exc, ClothflowError) else f"a frame failed ({type(exc).__name__}: {exc})"
                await ws.send_json({"type": "error", "message": text, "seq": seq})
                continue
            payload = FRAME_OUT.pack(stamp, seq, done.ms, done.flags, slot.dropped) + done.jpeg
            await ws.send_bytes(payload)
            state.publish(session_id, payload)

    worker = asyncio.create_task(work())
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect" or worker.done():  # closed, or failed while sending
                break
            data = message.get("bytes")
            if data is not None:
                if FRAME_IN.size < len(data) <= MAX_FRAME_BYTES:
                    stamp, seq = FRAME_IN.unpack_from(data)
                    slot.put((stamp, seq, data[FRAME_IN.size:]))
                continue
            with suppress(ValueError, AttributeError):
                if json.loads(message.get("text") or "{}").get("type") == "restart":
                    await run_in_threadpool(session.restart)
    finally:
        if state.sessions.get(session_id) is session:  # free the id at once for the page's next socket
            del state.sessions[session_id]
        worker.cancel()
        with anyio.CancelScope(shield=True), suppress(asyncio.CancelledError, Exception):
            await worker


__all__ = ["FRAME_IN", "FRAME_OUT", "LiveState", "Slot", "build_live_app"]

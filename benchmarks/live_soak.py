"""Soak test on loopback: the live page and the web demo under steady load, their memory and threads.

Usage: python benchmarks/live_soak.py [--minutes 5] [--sessions 4] [--requests 200] [--clients 4]
       [--size 256] [--fps 25] [--threads 1] [--skip-live] [--skip-serve] [--json PATH]

Each server runs in its own process, started as a user starts it (``python -m clothflow live``,
``python -m clothflow serve``) on a free port of 127.0.0.1; its resident memory (VmRSS) and
thread count are read from ``/proc/PID/status`` (Linux only) while this process drives it.

- Live page: ``--sessions`` camera streams at once for ``--minutes`` (the server serves at most
  4). Each uploads scikit-image's astronaut portrait (``--size`` pixels a side, face mode), as
  the page does, and streams the clip :func:`clothflow.animate.face.driving.synthetic_face_clip`
  makes from it (480 x 480 JPEGs, the page's capture side; each frame held 0.2 s, looped) as a
  camera at ``--fps``, with the page's flow control (``static/live.js``): a new camera frame is
  sent when fewer than 2 are unanswered, else when the next answer comes (the newest camera
  frame then); an unanswered frame counts as answered after 3 s. Per stream, after the warm-up
  (the first 10% of the run): animated frames/s received, the round trip of a frame (sent to
  animated frame received), frames the server dropped (it animates only the newest waiting),
  errors. Memory: after start, after the uploads, after the warm-up, every 10 s, at the end of
  streaming and after the sockets close. Threads: before the streams and after they close (each
  stream's MediaPipe graph keeps native threads until it is closed; the server's idle pool
  workers end when the pool is next used 10 s later, so the page's info is then asked for).
- Web demo: ``--requests`` try-ons from ``--clients`` clients at once, each its own Gradio
  session: the Try-on tab's button (its API ``/go``, through gradio_client; the default example
  person and garment), then the result picture fetched as the page does. Its try-on model is
  ``--tryon-model`` (default: the shipped ``tryon-viton-256``, else an untrained ``fast`` one:
  its speed, not its pictures); the pose-transfer tab gets an untrained ``tiny`` model (else
  ``serve`` trains one first). Memory: after start, after the warm-up (the first 10% of the
  requests, at least one per client), every 10 s, and at the end.

PASS: memory grew by at most 5% from the warm-up to the end, and (live) the threads came back
to their count before the streams within 20 s of the sockets closing. The exit code is 1 when
a check fails, 2 when the servers cannot be run (a missing extra, a server that does not start).
Both servers and their OpenCV, BLAS and torch get ``--threads`` (default 1); this process's
clients take some CPU too, so on a busy machine every speed figure is lower.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import itertools
import json
import os
import shlex
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from clothflow.core.errors import ClothflowError

from soak_server import GROWTH_LIMIT, Server, SoakError, free_port, http_get, proc_status, thread_names

WARM_FRACTION = 0.1  # the first 10% of a run (its time, or its requests) warms the server up
THREADS_SETTLE = 20.0  # seconds the live server has to end a closed stream's threads
POOL_IDLE = 10.5  # anyio ends its idle worker threads after 10 s (when its pool is next used)
CAPTURE_SIDE = 480  # live.js captures camera frames at most this many pixels a side
HOLD = 5  # camera ticks each clip frame is shown (0.2 s at 25 frames/s)
INFLIGHT = 2  # live.js: frames sent and not yet answered, at most
LOST_AFTER = 3.0  # live.js: seconds after which an unanswered frame counts as answered
EXTRAS = "pip install -e '.[web,pose]'"


def percentiles(values: list[float]) -> dict:
    """Median, 95th percentile and maximum of ``values`` (None when empty), rounded."""
    if not values:
        return {"median": None, "p95": None, "max": None}
    v = np.asarray(values, np.float64)
    return {"median": round(float(np.median(v)), 1), "p95": round(float(np.percentile(v, 95)), 1),
            "max": round(float(v.max()), 1)}


# ---- live page: camera streams over WebSockets --------------------------------------------------
def portrait(side: int) -> np.ndarray:
    """The astronaut around her face, ``side`` pixels a side (as benchmarks/live.py)."""
    from skimage.data import astronaut

    return cv2.resize(astronaut()[:400, 56:456], (side, side), interpolation=cv2.INTER_AREA)


def camera_jpegs() -> list[bytes]:
    """The driving clip as the page's camera frames: JPEGs at quality 80 (live.js's), 480 x 480."""
    from clothflow.animate.face.driving import synthetic_face_clip
    from clothflow.animate.face.landmarks import FaceLandmarker
    from clothflow.apps.live.session import encode_jpeg

    face = portrait(512)
    with FaceLandmarker() as find:
        landmarks = find(face)
    return [encode_jpeg(f, 80) for f in synthetic_face_clip(face, landmarks, size=CAPTURE_SIDE).frames]


def upload_portrait(url: str, image: np.ndarray) -> str:
    """POST the portrait (PNG) for face mode, as the page's upload does; its token."""
    _, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    request = urllib.request.Request(f"{url}/api/portraits?mode=face", data=png.tobytes(), method="POST",
                                     headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.loads(r.read())["token"]


@dataclass
class StreamStats:
    """One camera stream's figures; frames and round trips count after the warm-up only."""

    session: str
    seconds: float = 0.0
    sent: int = 0
    received: int = 0
    found: int = 0
    dropped_by_server: int = 0
    lost: int = 0
    errors: int = 0
    error: str = ""
    round_trips_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        rt = percentiles(self.round_trips_ms)
        return {"session": self.session, "seconds": round(self.seconds, 1),
                "fps": round(self.received / self.seconds, 2) if self.seconds else 0.0,
                "round_trip_median_ms": rt["median"], "round_trip_p95_ms": rt["p95"], "round_trip_max_ms": rt["max"],
                "sent": self.sent, "received": self.received, "face_found": self.found,
                "dropped_by_server": self.dropped_by_server, "lost": self.lost, "errors": self.errors,
                "error": self.error}


class Camera:
    """One session's camera and socket, sending as live.js does (see the module's docstring)."""

    def __init__(self, ws, jpegs: list[bytes], stats: StreamStats) -> None:
        self.ws = ws
        self.jpegs = jpegs
        self.stats = stats
        self.frame = jpegs[0]
        self.fresh = False
        self.seq = self.ack = 0
        self.ack_at = time.perf_counter()
        self.sent_at: dict[int, float] = {}
        self.counting = False  # past the warm-up
        self.dropped_at_warm = 0

    async def send(self) -> None:
        from clothflow.apps.live.server import FRAME_IN

        if not self.fresh or self.seq - self.ack >= INFLIGHT:
            return
        self.fresh = False
        self.seq += 1
        now = time.perf_counter()
        self.sent_at[self.seq] = now
        if self.seq - self.ack == 1:
            self.ack_at = now
        self.stats.sent += self.counting
        await self.ws.send(FRAME_IN.pack(now * 1000.0, self.seq) + self.frame)

    def answered(self, seq: int) -> None:
        self.ack = max(self.ack, seq)
        self.ack_at = time.perf_counter()
        for old in [s for s in self.sent_at if s < seq]:  # dropped by the server: never answered
            del self.sent_at[old]

    async def receive(self) -> None:
        from clothflow.apps.live.server import FRAME_OUT
        from clothflow.apps.live.session import FOUND

        async for message in self.ws:
            now = time.perf_counter()
            if isinstance(message, str):
                reply = json.loads(message)
                if reply.get("fatal"):
                    raise SoakError(reply.get("message", message))
                self.stats.errors += 1
                self.stats.error = str(reply.get("message", message))
                self.answered(int(reply.get("seq") or 0))
            else:
                _, seq, _, flags, dropped = FRAME_OUT.unpack_from(message)
                sent = self.sent_at.pop(seq, None)
                self.answered(seq)
                if self.counting:
                    self.stats.received += 1
                    self.stats.found += bool(flags & FOUND)
                    self.stats.dropped_by_server = dropped - self.dropped_at_warm
                    if sent is not None:
                        self.stats.round_trips_ms.append(round(1000.0 * (now - sent), 2))
                else:
                    self.dropped_at_warm = dropped
            await self.send()

    async def run(self, fps: float, warm_at: float, end_at: float) -> None:
        """Camera ticks at ``fps`` until ``end_at`` (time.monotonic), figures counted from ``warm_at``."""
        start, tick = time.monotonic(), 0
        while (now := time.monotonic()) < end_at:
            if not self.counting and now >= warm_at:
                self.counting = True
                counted_from = now
            self.frame = self.jpegs[(tick // HOLD) % len(self.jpegs)]
            self.fresh = True
            if self.seq > self.ack and time.perf_counter() - self.ack_at > LOST_AFTER:
                self.stats.lost += self.counting * (self.seq - self.ack)
                self.ack = self.seq
            await self.send()
            tick += 1
            await asyncio.sleep(max(0.0, start + tick / fps - time.monotonic()))
        self.stats.seconds = time.monotonic() - counted_from if self.counting else 0.0


async def stream(url: str, token: str, session: str, jpegs: list[bytes], fps: float, warm_at: float,
                 end_at: float) -> StreamStats:
    """One camera stream from start message to close; its figures (``error`` says why it failed)."""
    from websockets.asyncio.client import connect

    stats = StreamStats(session)
    try:
        async with connect(url.replace("http://", "ws://") + "/ws/live", max_size=None) as ws:
            await ws.send(json.dumps({"type": "start", "session": session, "portrait": token}))
            ready = json.loads(await ws.recv())
            if ready.get("type") != "ready":
                raise SoakError(ready.get("message", str(ready)))
            camera = Camera(ws, jpegs, stats)
            receiver = asyncio.create_task(camera.receive())
            runner = asyncio.create_task(camera.run(fps, warm_at, end_at))
            done, _ = await asyncio.wait([receiver, runner], return_when=asyncio.FIRST_COMPLETED)
            receiver.cancel()
            await asyncio.wait([receiver])
            for task in done:
                task.result()  # the receiver ends first only when it fails or the server closes
            if runner not in done:
                raise SoakError("the server closed the socket")
    except Exception as exc:  # noqa: BLE001 - a failed stream is reported, the others go on
        stats.error = f"{type(exc).__name__}: {exc}"
    return stats


def settle_threads(server: Server, before: int) -> int:
    """The live server's thread count once back to ``before``, or after :data:`THREADS_SETTLE` s.

    Idle workers of the server's thread pool (anyio's) end only when the pool is next used at
    least 10 s after they went idle; so from then on ``GET /api/info`` (a plain function, which
    FastAPI runs in that pool) is asked every 0.5 s, as a user's next request would end them.
    """
    closed = time.monotonic()
    while (threads := proc_status(server.proc.pid)[1]) > before and time.monotonic() < closed + THREADS_SETTLE:
        if time.monotonic() > closed + POOL_IDLE:
            http_get(server.url + "/api/info")
        time.sleep(0.5)
    return threads


def run_live(args: argparse.Namespace, folder: Path) -> dict:
    """The live part's figures (see the module's docstring)."""
    jpegs = camera_jpegs()
    image = portrait(args.size)
    server = Server("live", ["live", "--threads", str(args.threads), "--max-side", str(max(512, args.size))],
                    free_port(), args.threads, folder)
    try:
        server.wait_ready("/api/info")
        server.watch()
        tokens = [upload_portrait(server.url, image) for _ in range(args.sessions)]
        before = server.mark("uploaded")
        names_before = thread_names(server.proc.pid)
        seconds = 60.0 * args.minutes
        print(f"live: {args.sessions} sessions for {seconds:.0f} s on {server.url} "
              f"(RSS {before.rss_mb:.0f} MB, {before.threads} threads)", flush=True)

        async def soak() -> list[StreamStats]:
            now = time.monotonic()
            warm_at, end_at = now + WARM_FRACTION * seconds, now + seconds
            streams = asyncio.gather(*(stream(server.url, token, f"soak-session-{k + 1}", jpegs, args.fps, warm_at,
                                              end_at) for k, token in enumerate(tokens)))
            await asyncio.sleep(max(0.0, warm_at - time.monotonic()))
            server.mark("warm")
            await asyncio.sleep(max(0.0, end_at - time.monotonic() - 0.2))
            server.mark("end")  # the sockets still open
            return await streams

        results = asyncio.run(soak())
        threads_during = max(s.threads for s in server.samples)
        threads_after = settle_threads(server, before.threads)
        extra = thread_names(server.proc.pid) - names_before
        server.mark("closed")
    finally:
        server.stop()
    report = {"sessions": [s.summary() for s in results], **server.memory(), "threads_before": before.threads,
              "threads_during_max": threads_during, "threads_after": threads_after,
              "extra_threads_after": dict(extra), "threads_pass": threads_after <= before.threads}
    report["rss_closed_mb"] = server.samples[-1].rss_mb
    report["round_trip_ms"] = percentiles([t for s in results for t in s.round_trips_ms])
    return report


# ---- web demo: try-on requests through Gradio's API ----------------------------------------------
def serve_models(tryon_model: str | None, folder: Path) -> tuple[Path, Path, str]:
    """(pose-transfer model, try-on model, what the try-on model is) for ``clothflow serve``."""
    import torch

    from clothflow.core.pretrained import resolve_model, shipped_default
    from clothflow.models.config import preset
    from clothflow.models.pipeline import ClothFlowPipeline

    torch.manual_seed(0)
    transfer = folder / "transfer-tiny"
    ClothFlowPipeline(preset("tiny")).save_pretrained(transfer)
    name = tryon_model if tryon_model is not None else shipped_default("tryon")
    if name is not None:
        return transfer, resolve_model(name), str(name)
    tryon = folder / "tryon-fast"
    ClothFlowPipeline(preset("fast", task="tryon")).save_pretrained(tryon)
    return transfer, tryon, "untrained 'fast' try-on model, 256 x 176 (speed only)"


def try_on(client, url: str) -> None:
    """One press of Try on, and the result picture fetched; a SoakError with the page's message."""
    result, _, _, _, status = client.predict(api_name="/go")
    if status:
        raise SoakError(status)
    http_get(result["url"] if isinstance(result, dict) else f"{url}/gradio_api/file={result}")


def run_serve(args: argparse.Namespace, folder: Path) -> dict:
    """The web demo's figures (see the module's docstring)."""
    from gradio_client import Client

    transfer, tryon, about = serve_models(args.tryon_model, folder)
    server = Server("serve", ["serve", "--model", str(transfer), "--tryon-model", str(tryon)], free_port(),
                    args.threads, folder)
    latencies, failures = [], []
    warm_after = max(args.clients, round(WARM_FRACTION * args.requests))
    numbers = itertools.count()
    lock = threading.Lock()

    def client_loop(_: int) -> None:
        client = Client(server.url + "/", verbose=False, download_files=False, analytics_enabled=False)
        while next(numbers) < args.requests:
            start = time.perf_counter()
            try:
                try_on(client, server.url)
            except Exception as exc:  # noqa: BLE001 - a failed request is counted, the rest go on
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                latencies.append(1000.0 * (time.perf_counter() - start))
                if len(latencies) == warm_after:
                    server.mark("warm")

    try:
        server.wait_ready("/")
        server.watch()
        print(f"serve: {args.requests} try-on requests from {args.clients} clients on {server.url} "
              f"({about}; RSS {server.samples[0].rss_mb:.0f} MB)", flush=True)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(client_loop, range(args.clients)))
        seconds = time.perf_counter() - start
        if len(latencies) < warm_after:
            raise SoakError(f"only {len(latencies)} of {args.requests} try-ons succeeded; the first failure: "
                            f"{failures[0] if failures else 'none'}")
        server.mark("end")
    finally:
        server.stop()
    return {"model": about, "requests": args.requests, "clients": args.clients, "ok": len(latencies),
            "failures": len(failures), "first_failure": failures[0] if failures else "",
            "seconds": round(seconds, 1), "requests_per_s": round(len(latencies) / seconds, 2),
            "latency_ms": percentiles(latencies), "warm_after_requests": warm_after, **server.memory(),
            "threads_start": server.samples[0].threads, "threads_end": server.samples[-1].threads}


# ---- the report -----------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(header: list[str], rows: list[list[object]]) -> list[str]:
    """A markdown table's lines."""
    return ["| " + " | ".join(str(c) for c in cells) + " |" for cells in [header, ["---"] * len(header), *rows]]


def markdown(live: dict | None, serve: dict | None) -> str:
    """The figures as markdown tables: the live sessions, then one row per server."""
    lines, rows = [], []
    if live is not None:
        lines += table(["live session", "frames/s", "round trip median ms", "p95 ms", "sent", "received", "face found",
                        "dropped by server", "lost", "errors"],
                       [[s["session"] + (f" (failed: {s['error']})" if s["error"] and not s["received"] else ""),
                         f"{s['fps']:.1f}", s["round_trip_median_ms"], s["round_trip_p95_ms"], s["sent"],
                         s["received"], s["face_found"], s["dropped_by_server"], s["lost"], s["errors"]]
                        for s in live["sessions"]]) + [""]
        rt = live["round_trip_ms"]
        threads = (f"{live['threads_before']} before, {live['threads_during_max']} streaming, "
                   f"{live['threads_after']} after: {verdict(live['threads_pass'])}")
        rows.append([f"live ({len(live['sessions'])} sessions)", live["rss_start_mb"], live["rss_warm_mb"],
                     live["rss_end_mb"], live["rss_max_mb"], f"{live['growth_pct']:+.1f}%",
                     verdict(live["memory_pass"]), threads,
                     f"round trip {rt['median']} / {rt['p95']} / {rt['max']}",
                     f"{sum(bool(s['error']) and not s['received'] for s in live['sessions'])} sessions"])
    if serve is not None:
        ms = serve["latency_ms"]
        rows.append([f"serve ({serve['clients']} clients)", serve["rss_start_mb"], serve["rss_warm_mb"],
                     serve["rss_end_mb"], serve["rss_max_mb"], f"{serve['growth_pct']:+.1f}%",
                     verdict(serve["memory_pass"]), f"{serve['threads_start']} start, {serve['threads_end']} end",
                     f"{ms['median']} / {ms['p95']} / {ms['max']} ({serve['requests_per_s']:.2f} requests/s)",
                     f"{serve['failures']} of {serve['requests']} requests"])
    lines += table(["server", "RSS start MB", "warm MB", "end MB", "max MB", "growth warm to end",
                    f"memory (<= {GROWTH_LIMIT:.0f}%)", "threads", "latency median / p95 / max ms", "failures"], rows)
    return "\n".join(lines)


def check_dependencies(live: bool, serve: bool) -> None:
    """A SoakError naming the first optional dependency that is missing or broken (gradio is only
    looked for: importing it takes seconds, and ``clothflow serve`` says what is wrong with it)."""
    if not Path("/proc/self/status").is_file():
        raise SoakError("the servers' memory and threads are read from /proc: Linux only")
    modules = ("fastapi", "uvicorn", "websockets.asyncio.client", "mediapipe") if live else ()
    for module in modules + (("gradio_client",) if serve else ()):
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - a broken install fails in many ways
            raise SoakError(f"{module.split('.')[0]} cannot be imported ({type(exc).__name__}: {exc}): "
                            f"{EXTRAS}") from None
    if serve and importlib.util.find_spec("gradio") is None:
        raise SoakError(f"the web demo needs gradio, which is not installed: {EXTRAS}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0, help="live: how long the sessions stream")
    ap.add_argument("--sessions", type=int, default=4, help="live: camera streams at once (the server serves 4)")
    ap.add_argument("--fps", type=float, default=25.0, help="live: the cameras' frames per second")
    ap.add_argument("--size", type=int, default=256, help="live: the portrait's side in pixels")
    ap.add_argument("--requests", type=int, default=200, help="serve: try-on requests in all")
    ap.add_argument("--clients", type=int, default=4, help="serve: clients sending them at once")
    ap.add_argument("--tryon-model", help="serve: the try-on model (default: the shipped tryon-viton-256, else "
                    "an untrained 'fast' one)")
    ap.add_argument("--threads", type=int, default=1, help="the servers' OpenCV, BLAS and torch threads")
    ap.add_argument("--skip-live", action="store_true", help="only the web demo")
    ap.add_argument("--skip-serve", action="store_true", help="only the live page")
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args()
    if min(args.sessions, args.requests, args.clients, args.size, args.threads) < 1 or min(args.minutes, args.fps) <= 0:
        ap.error("--minutes, --sessions, --fps, --size, --requests, --clients and --threads must be positive")
    cv2.setNumThreads(1)  # the clients' side: leave the cores to the servers
    print("command:", shlex.join(["python", *sys.argv]))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (1, 5, 15 min); server threads {args.threads}",
          flush=True)
    live = serve = None
    try:
        check_dependencies(not args.skip_live, not args.skip_serve)
        with tempfile.TemporaryDirectory(prefix="clothflow-soak-") as tmp:
            if not args.skip_live:
                live = run_live(args, Path(tmp))
            if not args.skip_serve:
                serve = run_serve(args, Path(tmp))
    except (SoakError, ClothflowError) as exc:
        print(f"live_soak: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print()
    print(markdown(live, serve))
    if args.json is not None:
        figures = {"command": shlex.join(["python", *sys.argv]), "cores": os.cpu_count(), "load": os.getloadavg(),
                   "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                   "live": live, "serve": serve}
        args.json.write_text(json.dumps(figures, indent=1))
        print(f"figures: {args.json}")
    checks = ([live["memory_pass"], live["threads_pass"]] if live else []) + ([serve["memory_pass"]] if serve else [])
    if not all(checks):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

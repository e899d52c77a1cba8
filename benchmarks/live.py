"""Speed of the live page: frames per second animated, and camera-to-screen latency in a browser.

Usage: python benchmarks/live.py [--model RUN] [--seconds 8] [--threads 1] [--modes face turn] [--no-browser]

Server side, without the web (:class:`clothflow.apps.live.session.LiveSession`, what each
WebSocket frame costs: JPEG decoding, tracking, animation, JPEG encoding):

- face modes 1 (``face``, the warp) and 2 (``turn``, head turning) with scikit-image's
  astronaut portrait at 256 and 512 pixels, driven by the clip
  :func:`clothflow.animate.face.driving.synthetic_face_clip` makes from it (320 x 320 frames);
- body mode with ``--model``, else an untrained model of the ``fast`` preset (256 x 176; the
  speed of a real one of that preset, not its pictures), driven by the same clip.

End to end: ``clothflow live``'s app under uvicorn, and Debian's Chromium (``/usr/bin/chromium``,
through Playwright) with its fake camera playing that clip at 25 frames/s; the page's own
figures (``window.liveStats``: the time from capturing a camera frame to drawing its animated
frame) after ``--seconds``, for the 256 and 512 pixel portraits in each face mode.

The machine's load average is printed first: other work on the cores slows every figure.
OpenCV, BLAS and torch get ``--threads`` (default 1): on 2 busy cores, torch with 2 threads
beside MediaPipe's own made body mode's frames ten times slower on average than with 1.
"""

from __future__ import annotations

import argparse
import os

from blas_threads import from_argv

from_argv("--threads", default="1")

import socket  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage.data import astronaut  # noqa: E402

from clothflow.animate.face.driving import synthetic_face_clip  # noqa: E402
from clothflow.animate.face.landmarks import FaceLandmarker  # noqa: E402
from clothflow.apps.live.session import BodyModel, LiveSession, encode_jpeg, load_body_model, prepare_portrait  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


def portraits() -> dict[int, np.ndarray]:
    """The astronaut around her face, at 256 and 512 pixels a side."""
    crop = astronaut()[:400, 56:456]
    return {side: cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA) for side in (256, 512)}


def driving(portrait: np.ndarray) -> list[np.ndarray]:
    with FaceLandmarker() as find:
        landmarks = find(portrait)
    return synthetic_face_clip(portrait, landmarks, size=320).frames


def frames_per_second(session: LiveSession, frames: list[np.ndarray], loops: int) -> tuple[float, float]:
    """(frames/s, median ms a frame) of ``session.process`` over ``loops`` passes of ``frames``."""
    jpegs = [encode_jpeg(f, 80) for f in frames]
    for k, data in enumerate(jpegs[:3]):  # warm-up
        session.process(data, 40.0 * k)
    times = []
    start = time.perf_counter()
    for k in range(loops * len(jpegs)):
        t = time.perf_counter()
        session.process(jpegs[k % len(jpegs)], 40.0 * (k + 3))
        times.append(time.perf_counter() - t)
    return len(times) / (time.perf_counter() - start), 1000 * float(np.median(times))


MODE_NAME = {"face": "face mode 1", "turn": "face mode 2"}
MODE_ABOUT = {"turn": "face mode 2"}  # what the page's portrait line says once the mode is picked


def body_model(path: str | None) -> BodyModel:
    if path is not None:
        return load_body_model(path)
    from clothflow.models.config import preset
    from clothflow.models.pipeline import ClothFlowPipeline

    pipe = ClothFlowPipeline(preset("fast")).eval()
    return BodyModel(pipe, "fast", "untrained 'fast' preset, 256 x 176 (speed only)")


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 25) -> None:
    """Frames (H x W x 3 uint8 RGB, even sides) as YUV4MPEG2 4:2:0, Chromium's fake camera format."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420).tobytes())


def browser_latency(examples: dict[str, np.ndarray], clip: list[np.ndarray], seconds: float,
                    modes: tuple[str, ...] = ("face",)) -> dict[tuple[str, str], dict]:
    """The page's stats after ``seconds`` of streaming, per face mode and example portrait."""
    import uvicorn
    from playwright.sync_api import sync_playwright

    from clothflow.apps.live.server import build_live_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build_live_app(None, examples), host="127.0.0.1", port=port,
                                           ws="websockets-sansio", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        y4m = Path(tmp) / "clip.y4m"
        write_y4m(y4m, [f for f in clip for _ in range(5)])
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={y4m}"]
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
                for mode, name in [(m, n) for m in modes for n in examples]:
                    page = browser.new_page(viewport={"width": 1000, "height": 700})
                    page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                    page.locator(f'.examples button[data-name="{name}"]').click()
                    page.wait_for_function(f"document.getElementById('about').textContent.includes('{name[:3]}')",
                                           timeout=30_000)
                    if mode != "face":
                        page.locator(f"input[name=mode][value={mode}]").check()
                        page.wait_for_function(f"document.getElementById('about').textContent.includes('{MODE_ABOUT[mode]}')",
                                               timeout=30_000)
                    page.locator("#start").click()
                    page.wait_for_function("window.liveStats.received >= 5", timeout=30_000)
                    page.evaluate("window.liveStats.latencies.length = 0")  # the first frames warm up
                    sent0, received0 = page.evaluate("[window.liveStats.sent, window.liveStats.received]")
                    time.sleep(seconds)
                    page.wait_for_timeout(300)  # the stats are refreshed every 250 ms
                    stats = page.evaluate("({...window.liveStats, latencies: window.liveStats.latencies.length})")
                    stats["sent"] -= sent0
                    stats["received"] -= received0
                    results[mode, name] = stats
                    page.close()
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="body mode's pose-transfer model (default: an untrained 'fast' one)")
    ap.add_argument("--seconds", type=float, default=8.0, help="browser streaming time per portrait")
    ap.add_argument("--loops", type=int, default=4, help="passes over the 11-frame clip per server figure")
    ap.add_argument("--threads", type=int, default=1, help="OpenCV, BLAS and torch threads")
    ap.add_argument("--no-browser", action="store_true", help="skip the browser latency")
    ap.add_argument("--modes", nargs="+", choices=tuple(MODE_NAME), default=list(MODE_NAME), help="face modes to measure")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (1, 5, 15 min); threads {args.threads}")
    sides = portraits()
    clip = driving(sides[512])
    for mode in args.modes:
        for side, image in sides.items():
            with LiveSession(prepare_portrait(image, mode, max_side=side)) as session:
                fps, ms = frames_per_second(session, clip, args.loops)
            print(f"{MODE_NAME[mode]}, {side} x {side} portrait: {fps:.1f} frames/s ({ms:.1f} ms a frame, median; "
                  f"JPEG in, landmarks, {'warp' if mode == 'face' else '3-D turn'}, JPEG out)")
    model = body_model(args.model)
    body_clip = driving(astronaut())
    with LiveSession(prepare_portrait(astronaut(), "body", model)) as session:
        fps, ms = frames_per_second(session, body_clip, max(1, args.loops // 2))
    print(f"body mode, {model.about}: {fps:.1f} frames/s ({ms:.1f} ms a frame, median; JPEG in, pose, "
          "pose transfer, JPEG out)")
    if args.no_browser:
        return
    if not CHROMIUM.exists():
        print("browser latency: skipped (no /usr/bin/chromium)")
        return
    examples = {f"{side}px": image for side, image in sides.items()}
    for (mode, name), stats in browser_latency(examples, clip, args.seconds, tuple(args.modes)).items():
        print(f"browser, {MODE_NAME[mode]}, {name} portrait, Chromium's fake camera at 25 frames/s, {args.seconds:.0f} s: "
              f"latency median {stats['median']:.0f} ms, 95th percentile {stats['p95']:.0f} ms; "
              f"{stats['received']} frames received of {stats['sent']} sent ({stats['dropped']} dropped by the server), "
              f"{stats['fps']:.1f} frames/s")


if __name__ == "__main__":
    main()

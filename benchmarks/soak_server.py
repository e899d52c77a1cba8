"""A clothflow server in its own process for the soak benchmark (``live_soak.py``): started as a
user starts it, on a free port of 127.0.0.1, its resident memory and threads read from
``/proc/PID/status`` (Linux only) while the benchmark drives it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

GROWTH_LIMIT = 5.0  # % of resident memory, from the warm-up to the end
SAMPLE_EVERY = 10.0  # seconds between memory samples


class SoakError(Exception):
    """What stops the benchmark before it measures: one line for the user."""


# ---- a server in its own process --------------------------------------------------------------
@dataclass
class Sample:
    """The server's resident memory (MB) and threads ``t`` seconds into a part, and why taken."""

    t: float
    label: str
    rss_mb: float
    threads: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int) -> tuple[float, int]:
    """(VmRSS in MB, Threads) of process ``pid``, from ``/proc/PID/status``."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def thread_names(pid: int) -> Counter:
    """How many of process ``pid``'s threads have each name (``/proc/PID/task/*/comm``)."""
    names = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names[(task / "comm").read_text().strip()] += 1
        except OSError:  # the thread ended meanwhile
            pass
    return names


def http_get(url: str, timeout: float = 30.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


class Server:
    """``python -m clothflow ARGS`` on ``port`` of 127.0.0.1, its output in ``log``, its
    memory and threads sampled into ``samples`` (every :data:`SAMPLE_EVERY` s once
    :meth:`watch` is called, and at each :meth:`mark`)."""

    def __init__(self, name: str, args: list[str], port: int, threads: int, folder: Path) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.log = folder / f"{name}.log"
        env = dict(os.environ, GRADIO_TEMP_DIR=str(folder / "gradio"), PYTHONUNBUFFERED="1")
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM"):
            env[var] = str(threads)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "clothflow", *args, "--port", str(port)],
                                         stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder)
        self.samples: list[Sample] = []
        self.t0 = time.monotonic()
        self._stop = threading.Event()

    def check_alive(self) -> None:
        """A SoakError with the server's last line of output when it has exited."""
        if self.proc.poll() is not None:
            lines = self.log.read_text(errors="replace").strip().splitlines() or ["(no output)"]
            raise SoakError(f"clothflow {self.name} exited with code {self.proc.returncode}: {lines[-1]}")

    def wait_ready(self, path: str, timeout: float = 300.0) -> None:
        """Until ``GET path`` answers (a SoakError when the server exits first)."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                http_get(self.url + path, timeout=5.0)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SoakError(f"clothflow {self.name} did not answer within {timeout:.0f} s (log: {self.log})")
                time.sleep(0.5)

    def mark(self, label: str) -> Sample:
        self.check_alive()
        rss, threads = proc_status(self.proc.pid)
        self.samples.append(Sample(round(time.monotonic() - self.t0, 1), label, round(rss, 1), threads))
        return self.samples[-1]

    def watch(self) -> None:
        """Start sampling every :data:`SAMPLE_EVERY` s (the clock restarts at 0 here)."""
        self.t0 = time.monotonic()
        self.mark("start")

        def sample() -> None:
            while not self._stop.wait(SAMPLE_EVERY) and self.proc.poll() is None:
                self.mark("every 10 s")

        threading.Thread(target=sample, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn and gradio shut down cleanly on Ctrl+C
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def memory(self) -> dict:
        """The samples, and the growth (%) from the one labelled "warm" to the one labelled "end"."""
        at = {s.label: s for s in self.samples}
        growth = 100.0 * (at["end"].rss_mb / at["warm"].rss_mb - 1.0)
        return {"samples": [asdict(s) for s in self.samples], "rss_start_mb": at["start"].rss_mb,
                "rss_warm_mb": at["warm"].rss_mb, "rss_end_mb": at["end"].rss_mb,
                "rss_max_mb": max(s.rss_mb for s in self.samples), "growth_pct": round(growth, 2),
                "memory_pass": growth <= GROWTH_LIMIT}

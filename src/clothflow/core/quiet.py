"""Libraries' own chatter kept off the user's terminal, and shown again with ``clothflow -v``.

MediaPipe, TensorFlow Lite and OpenCV log from C++ straight to file descriptor 2
(``W0000 ... inference_feedback_manager.cc``, ``INFO: Created TensorFlow Lite XNNPACK
delegate``, ``[ WARN:0 ... can't open camera``); environment variables do not reach all of
them, so :func:`native_stderr_silenced` points descriptor 2 at ``/dev/null`` around the calls
that log. Python libraries (the ONNX exporter and optimiser) log through :mod:`logging`, which
:func:`configure_logging` limits to errors unless verbose. The project's own messages (the
``clothflow`` logger, ``print``) are not touched.

Example:
    >>> with native_stderr_silenced():
    ...     _ = os.write(2, b"I0000 a library talking\\n")  # goes nowhere
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Python loggers of libraries that report routine work at INFO or WARNING (the ONNX exporter's
# "Replaced initializer", "The value 'start' is not 0.", "torchvision is not installed").
NOISY_LOGGERS = ("torch.onnx", "torch._dynamo", "torch.export", "onnxscript", "onnx_ir", "onnxruntime", "absl")

_state = {"verbose": False, "depth": 0, "saved": -1}
_lock = threading.Lock()


def verbose() -> bool:
    """Whether libraries' own log output is shown (``clothflow -v``)."""
    return _state["verbose"]


def configure_logging(verbose_output: bool = False) -> None:
    """Set up the command line's logging: the project's messages at INFO, libraries' at ERROR.

    Args:
        verbose_output: show everything: the project's DEBUG messages, libraries' INFO and
            warnings, and what native code writes to descriptor 2.
    """
    _state["verbose"] = verbose_output
    logging.basicConfig(format="clothflow: %(message)s", level=logging.INFO if verbose_output else logging.WARNING)
    logging.getLogger("clothflow").setLevel(logging.DEBUG if verbose_output else logging.INFO)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose_output else logging.ERROR)
    if not verbose_output:
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # read by OpenCV when it first logs
        os.environ.setdefault("GLOG_minloglevel", "2")  # older MediaPipe builds log through glog
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextmanager
def library_logs_silenced() -> Iterator[None]:
    """The :data:`NOISY_LOGGERS` held at ERROR while the block runs, unless verbose.

    For libraries that set up their loggers when first used (torch's ONNX exporter does, on
    import), after :func:`configure_logging` has run.
    """
    if _state["verbose"]:
        yield
        return
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Descriptor 2 pointed at ``/dev/null`` while the block runs, unless verbose.

    Nested and concurrent blocks share one redirection: the first to enter makes it and the
    last to leave restores the descriptor. Python's ``sys.stderr`` is flushed first, so nothing
    written before the block is lost; what is written to it inside the block is dropped too.
    """
    if _state["verbose"]:
        yield
        return
    with _lock:
        if _state["depth"] == 0:
            sys.stderr.flush()
            _state["saved"] = os.dup(2)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        _state["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                sys.stderr.flush()
                os.dup2(_state["saved"], 2)
                os.close(_state["saved"])
                _state["saved"] = -1


def silence_opencv() -> None:
    """OpenCV's own warnings off (e.g. ``can't open camera by index``), unless verbose."""
    if _state["verbose"]:
        return
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # pragma: no cover - builds without the logging module
        pass

"""BLAS threads from a benchmark's command line, set before numpy is imported (BLAS reads them then).

A benchmark calls :func:`from_argv` first thing, before importing numpy, cv2 or torch:

    from blas_threads import from_argv
    from_argv("--threads", default="1")
"""

from __future__ import annotations

import os
import sys

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def from_argv(flag: str, default: str | None = None, replace: bool = False) -> None:
    """Set :data:`VARIABLES` to the value after ``flag`` in ``sys.argv`` (``default`` without it).

    The environment's own values win unless ``replace`` (a child process told what to measure).
    """
    value = sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default
    if value is None:
        return
    for var in VARIABLES:
        if replace:
            os.environ[var] = value
        else:
            os.environ.setdefault(var, value)

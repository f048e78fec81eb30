"""Benchmarks (see README.md): the repository root and the timestamped progress log they share."""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STARTED = time.perf_counter()  # when the benchmark started: log times and the run's total count from here


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)

"""What a run measured: per backend a `Run`, per layer and client count a `Level` of page timings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.machine import cpu_share

ALL_MODES = ("http-floor", "http", "in-process", "raw-app", "raw-min")
MODE_LABELS = {
    "http-floor": "HTTP floor (/health)", "http": "HTTP (uvicorn + app)", "in-process": "in-process service",
    "raw-app": "raw: app SQL", "raw-min": "raw: minimal SQL",
}


@dataclass
class Level:
    backend: str
    mode: str
    concurrency: int
    page1: list[float] = field(default_factory=list)  # seconds per request
    page2: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)
    other_share: float = 0.0  # share of the machine's CPU used by other processes meanwhile

    @property
    def rps(self) -> float:
        return (len(self.page1) + len(self.page2)) / self.elapsed if self.elapsed else 0.0

    def page(self, page: str) -> list[float]:
        return self.page1 if page == "1" else self.page2


@dataclass
class Run:
    backend: str
    url: str
    version: str
    load_seconds: float
    levels: list[Level] = field(default_factory=list)
    statements_per_page: int | None = None
    phases: dict[str, float] = field(default_factory=dict)  # p50 ms by phase of one page
    check: str = ""
    plans: dict[str, str] = field(default_factory=dict)
    other_cpu: list[tuple[float, float]] = field(default_factory=list)  # (CPU-seconds, wall seconds)
    probes: list[float] = field(default_factory=list)  # cpu_probe() before and after measuring

    @property
    def other_share(self) -> float:
        """Share of the machine's CPU that processes outside this benchmark used while it measured."""
        cpu, wall = map(sum, zip(*self.other_cpu, strict=True)) if self.other_cpu else (0.0, 0.0)
        return cpu_share(cpu, wall)

    def find(self, mode: str, concurrency: int) -> Level | None:
        return next((lv for lv in self.levels if lv.mode == mode and lv.concurrency == concurrency), None)

    def layers(self, concurrency: int) -> dict[str, Level] | None:
        """Every layer's level at this client count, by mode; None when one was not measured."""
        found = {m: lv for m in ALL_MODES if (lv := self.find(m, concurrency)) is not None}
        return found if len(found) == len(ALL_MODES) else None


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))] * 1000

"""Facts about the machine the benchmark runs on, and how busy other processes keep it."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import sqlite3
import time
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import ClassVar


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    versions = ", ".join(f"{p} {pkg_version(p)}" for p in
                         ("sqlalchemy", "aiosqlite", "asyncpg", "fastapi", "uvicorn", "httpx"))
    return {"CPU": cpu, "cores": str(os.cpu_count()), "RAM": ram,
            "OS": f"{platform.system()} {platform.release()}",
            "Python": platform.python_version(), "SQLite": sqlite3.sqlite_version, "libraries": versions}


def cpu_probe() -> float:
    """Milliseconds for a fixed pure-Python workload (best of 5): a yardstick for comparing runs."""
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i % 7
        best = min(best, time.perf_counter() - started)
    return best * 1000


def cpu_share(cpu_seconds: float, wall_seconds: float) -> float:
    """The share of the whole machine (all its cores) that `cpu_seconds` of CPU time is over `wall_seconds`."""
    return cpu_seconds / (wall_seconds * (os.cpu_count() or 1)) if wall_seconds else 0.0


class OtherWork:
    """CPU time used by processes that are not this benchmark (other users of a shared machine).

    Sums the CPU time that processes alive at both ends of a window used in it, leaving out this
    process, the server under test and PostgreSQL backends serving the benchmark's database. A
    process that starts and ends inside the window is missed, so this is a lower bound."""

    mine: ClassVar[set[int]] = {os.getpid()}  # the server under test adds itself
    database: ClassVar[str | None] = None  # the PostgreSQL database being measured, if any

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.before = self.snapshot()

    @classmethod
    def snapshot(cls) -> dict[int, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in cls.mine:
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError):
                continue
            if cls.database and command.startswith("postgres:") and f" {cls.database} " in command:
                continue
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
        return cpu

    def finish(self) -> tuple[float, float]:
        """(CPU-seconds other processes used, wall seconds) since this window opened."""
        after = self.snapshot()
        used = sum(max(0.0, after[pid] - before) for pid, before in self.before.items() if pid in after)
        return used, time.perf_counter() - self.started

"""Chat benchmark, what was measured: per deployment a `DeploymentRun`, per client count and load a
`Level`; and where the CPU went while it was measured."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.chat_load import Window
from bench.chat_setup import Deployment
from bench.results import pct

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float | None:
    """CPU-seconds (user + system, all threads) a process has used, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def pids_where(match: str, prefix: str = "") -> list[int]:
    """Processes whose command line starts with `prefix` and contains `match` (PostgreSQL backends
    are "postgres: 15/main: USER DATABASE HOST(PORT) STATE")."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if command.startswith(prefix) and match in command:
                found.append(int(entry.name))
    return found


class CpuWatch:
    """CPU used by each part of the system under test over a window, in cores (1.0 = one core busy).

    Parts: each server process, the PostgreSQL backends serving the benchmark database, the Redis
    server, and this process (the load generator: every client socket is here)."""

    def __init__(self, servers: dict[str, int], pg_database: str | None, redis_pid: int | None) -> None:
        self.servers = servers
        self.pg_database = pg_database
        self.redis_pid = redis_pid

    def snapshot(self) -> dict[str, dict[int, float]]:
        parts: dict[str, dict[int, float]] = {name: _cpu({pid}) for name, pid in self.servers.items()}
        if self.pg_database:
            parts["PostgreSQL"] = _cpu(set(pids_where(f" {self.pg_database} ", prefix="postgres:")))
        if self.redis_pid:
            parts["Redis"] = _cpu({self.redis_pid})
        parts["load generator"] = {os.getpid(): time.process_time()}
        return parts

    def start(self) -> tuple[float, dict[str, dict[int, float]]]:
        return time.perf_counter(), self.snapshot()

    def finish(self, started: tuple[float, dict[str, dict[int, float]]]) -> tuple[dict[str, float], float]:
        """(cores by part, wall seconds)."""
        at, before = started
        wall = time.perf_counter() - at
        after = self.snapshot()
        out = {}
        for part, then in before.items():
            now = after.get(part, {})
            # A process born in the window (a new pooled connection's backend) used all its CPU in it.
            used = sum(max(0.0, cpu - then.get(pid, 0.0)) for pid, cpu in now.items())
            out[part] = used / wall if wall else 0.0
        return out, wall


def _cpu(pids: set[int]) -> dict[int, float]:
    return {pid: cpu for pid in pids if (cpu := process_cpu(pid)) is not None}


@dataclass
class Level:
    """One load at one client count: `steady` (a rate the server keeps up with) or `overload`."""

    clients: int
    load: str
    offered: float  # messages/s asked for
    seconds: float  # the measurement window (after the warm-up)
    group_size: int
    sent: int = 0  # messages due in the window
    sent_total: int = 0  # with the warm-up
    deliveries: int = 0  # receipts during the window, whenever their message was sent
    latencies: list[float] = field(default_factory=list)  # s, every delivery of a message sent in the window
    acks: list[float] = field(default_factory=list)  # s, send to chat.sent, messages sent in the window
    firsts: list[float] = field(default_factory=list)  # s, send to the first member's receipt, per message
    lasts: list[float] = field(default_factory=list)  # s, send to the last member's receipt, per message
    drained: bool = True
    drain_seconds: float = 0.0  # after the last message was due, until the last delivery
    reads: int = 0  # chat.read frames received (answering marks earlier messages read)
    violations: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # cores by part, over warm-up + window + drain
    wall: float = 0.0  # seconds that `cpu` covers
    all_deliveries: int = 0  # receipts of every message of the level, warm-up and drain included
    other_share: float = 0.0  # share of the machine other processes used meanwhile

    @property
    def delivered_rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds else 0.0

    @property
    def server_ms_per_delivery(self) -> float:
        """Server CPU (all server processes) per delivery, in ms, over the whole level."""
        cores = sum(v for k, v in self.cpu.items() if k.startswith("server"))
        return cores * self.wall / self.all_deliveries * 1000 if self.all_deliveries else float("nan")

    @property
    def sent_rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def p(self, q: float, values: list[float] | None = None) -> float:
        return pct(self.latencies if values is None else values, q)

    @classmethod
    def from_window(cls, window: Window, *, clients: int, load: str, offered: float, group_size: int) -> Level:
        ledger = window.ledger
        seconds = window.measure_to - window.measure_from
        level = cls(clients, load, offered, seconds, group_size)
        level.sent_total = len(ledger.sent)
        measured = {text: s for text, s in ledger.sent.items() if s.at >= window.measure_from}
        level.sent = len(measured)
        level.latencies = [at - sent.at for text, sent in measured.items() for _, at, _ in ledger.got.get(text, [])]
        level.acks = [s.acked_at - s.at for s in measured.values() if s.acked_at is not None]
        arrivals = [[at - sent.at for _, at, _ in got] for text, sent in measured.items()
                    if (got := ledger.got.get(text))]
        level.firsts, level.lasts = [min(a) for a in arrivals], [max(a) for a in arrivals]
        level.deliveries = sum(1 for got in ledger.got.values() for _, at, _ in got
                               if window.measure_from <= at < window.measure_to)
        level.drained = window.drained
        level.drain_seconds = max(0.0, window.drained_at - window.measure_to)
        level.reads = ledger.reads
        level.all_deliveries = ledger.delivered
        return level


@dataclass
class DeploymentRun:
    deployment: Deployment
    versions: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None
    ws_floor: list[float] = field(default_factory=list)  # s, malformed-frame round trips, one idle socket
    idle: Level | None = None  # one message at a time in one group
    big: Level | None = None  # the same in one large group (100 members)
    connect_seconds: dict[int, float] = field(default_factory=dict)  # clients -> s to open the new sockets
    quiet: dict[str, float] = field(default_factory=dict)  # cores by part, every socket open, nothing sent
    quiet_clients: int = 0
    levels: list[Level] = field(default_factory=list)
    probes: list[float] = field(default_factory=list)
    seconds: float = 0.0
    server_errors: Counter[str] = field(default_factory=Counter)  # what the servers logged, counted

    def find(self, clients: int, load: str) -> Level | None:
        return next((lv for lv in self.levels if lv.clients == clients and lv.load == load), None)

    @property
    def all_levels(self) -> list[Level]:
        return [lv for lv in (self.idle, self.big, *self.levels) if lv is not None]

    @property
    def violations(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for level in self.all_levels:
            total.update(level.violations)
        return total

"""Chat benchmark: N members holding the `chat` stream over WebSockets, in groups, with a few senders
per group at a steady offered rate; messages/s delivered, send-to-deliver latency, exactly-once.

Three deployments, each started as an operator would (`agora migrate`, `agora serve`, AGORA_*):

  embedded  one process on SQLite with the in-process bus (what `make run` gives)
  pg-1      one process on PostgreSQL with the in-process bus: the baseline for redis-2
  redis-2   two processes on the same PostgreSQL database with a Redis bus; the senders are on the
            first process and half of every group on the second, so half the deliveries cross processes

For each, and each client count (100, 500, 1000), it opens the sockets (every member of every group
of 10), then runs two loads, each offered at the same total rate whatever the client count: `steady`
(a rate the server keeps up with: latency) and `overload` (more than it can: the most it delivers);
at the end, the quiet cost of holding every socket open. Every receipt is checked: each message must reach every member
of its group exactly once, in cursor order, and no one else. Baselines in the same run: the bus alone
(in-process, and through Redis), a WebSocket round trip without the database, and one message at a
time in one group of 10.

The modules: chat_setup (databases, servers, members, groups), chat_load (sockets, senders,
the exactly-once check), chat_baseline (the bus alone), chat_results, chat_report (tables, Markdown, PNG).

Usage: .venv/bin/python bench/chat.py [--quick] [--clients 100,500,1000] [--deployments embedded,pg-1,redis-2]
Figures go to stdout, docs/bench/chat.md and docs/bench/chat-latency.png.
Exit status is non-zero when a message was lost, duplicated, misdelivered or out of order, or a send
failed; never because of a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

if not __package__:  # run as `python bench/chat.py`: import the `bench` package from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy.engine import make_url

from agora.config import Settings
from bench import REPO, STARTED, log
from bench.chat_baseline import ServiceCost, bus_round_trips, service_costs
from bench.chat_load import (
    Socket,
    check_exactly_once,
    close_sockets,
    one_at_a_time,
    open_sockets,
    steady_load,
    ws_floor,
)
from bench.chat_report import EXACTLY_ONCE, print_figures, write_markdown
from bench.chat_results import CpuWatch, DeploymentRun, Level, pids_where
from bench.chat_setup import (
    DEPLOYMENTS,
    Deployment,
    Group,
    Member,
    ServerProcess,
    Servers,
    drop_postgres,
    migrate,
    redis_ok,
    run_seed,
)
from bench.community import recreate_postgres
from bench.machine import OtherWork, cpu_probe, cpu_share

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/agora_bench_chat"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """uvloop when installed (as uvicorn uses it in the servers): the load generator shares two cores
    with everything else, so its own event-loop overhead should be as small as it can be."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 clients, short windows: a check that it works")
    parser.add_argument("--clients", help="comma-separated client counts (default 100,500,1000; quick 20)")
    parser.add_argument("--deployments", default="embedded,pg-1,redis-2", help="which, in this order")
    parser.add_argument("--group-size", type=int, default=10)
    parser.add_argument("--senders", type=int, default=3, help="members of each group who send")
    parser.add_argument("--steady", type=float, help="steady load: messages/s offered in all (default 5, quick 3)")
    parser.add_argument("--overload", type=float,
                        help="overload: messages/s offered in all (default 25, quick 10); 0 skips it")
    parser.add_argument("--warmup", type=float, help="seconds of load before measuring (default 2, quick 1)")
    parser.add_argument("--seconds", type=float, help="steady window, seconds (default 8, quick 3)")
    parser.add_argument("--overload-seconds", type=float, help="overload window, seconds (default 6, quick 2)")
    parser.add_argument("--drain", type=float, default=15.0,
                        help="after the load, wait for late deliveries until this many seconds pass with none")
    parser.add_argument("--postgres-url", default=DEFAULT_PG, help="this database is created, and dropped at the end")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench", help="where the .md and .png go")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/bench alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (SQLite file, logs)")
    args = parser.parse_args(argv)
    args.clients = sorted({int(c) for c in (args.clients or ("20" if args.quick else "100,500,1000")).split(",")})
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.steady = args.steady if args.steady is not None else (3.0 if args.quick else 5.0)
    args.overload = args.overload if args.overload is not None else (10.0 if args.quick else 25.0)
    args.seconds = args.seconds or (3.0 if args.quick else 8.0)
    args.overload_seconds = args.overload_seconds or (2.0 if args.quick else 6.0)
    args.idle_messages, args.floor_trips, args.service_messages = (8, 20, 8) if args.quick else (30, 40, 40)
    # Long enough for every socket's heartbeat token check to come round once (none in a quick run).
    args.quiet_seconds = 0.0 if args.quick else Settings.model_fields["streaming_heartbeat_seconds"].default + 1
    args.big, args.big_messages = min(100, args.clients[0]), (3 if args.quick else 10)
    args.deployments = [d.strip() for d in args.deployments.split(",") if d.strip()]
    unknown = [d for d in args.deployments if d not in DEPLOYMENTS]
    if unknown:
        parser.error(f"unknown deployment {unknown[0]!r}; choose from {', '.join(DEPLOYMENTS)}")
    if args.group_size < 2 or not 1 <= args.senders <= args.group_size:
        parser.error("a group needs 2 or more members and 1 to group-size senders")
    if any(c < args.group_size or c % args.group_size for c in args.clients):
        parser.error("each client count must be a multiple of the group size")
    return args


class Bench:
    """One deployment's measurements, on servers already started."""

    def __init__(self, run: DeploymentRun, servers: Servers, members: list[Member], groups: list[Group],
                 big: Group, watch: CpuWatch, args: argparse.Namespace) -> None:
        self.run, self.servers, self.members, self.groups, self.big = run, servers, members, groups, big
        self.watch, self.args = watch, args
        self.sockets: list[Socket] = []

    async def measure(self) -> None:
        args = self.args
        size = args.group_size
        try:
            for clients in args.clients:
                new = [Socket(self.members[i], self.groups[i // size], self.servers.url_for(i % size, size))
                       for i in range(len(self.sockets), clients)]
                log(f"{self.run.deployment.key}: opening {len(new)} sockets ({clients} in all)")
                self.run.connect_seconds[clients] = await open_sockets(new)
                self.sockets += new
                if self.run.idle is None:
                    await self.baselines()
                await self.level(clients, "steady", args.steady, args.seconds)
                if args.overload > 0:
                    await self.level(clients, "overload", args.overload, args.overload_seconds)
            if args.quiet_seconds:
                await self.quiet(len(self.sockets), args.quiet_seconds)
        finally:
            await close_sockets(self.sockets)

    async def baselines(self) -> None:
        size, args = self.args.group_size, self.args
        # A non-sender of the first group: on the senders' process in every deployment.
        self.run.ws_floor = await ws_floor(self.sockets[args.senders], args.floor_trips)
        window = await one_at_a_time(self.sockets[:size], self.groups[0], tag=f"{self.run.deployment.key}-idle",
                                     count=args.idle_messages)
        idle = Level.from_window(window, clients=size, load="one at a time", offered=0.0, group_size=size)
        self.judge(idle, window)
        self.run.idle = idle
        # The same in one large group: every member's connection reads the log for itself.
        count = len(self.big.members)
        window = await one_at_a_time(self.sockets[:count], self.big, tag=f"{self.run.deployment.key}-big",
                                     count=args.big_messages)
        big = Level.from_window(window, clients=count, load=f"one at a time, group of {count}", offered=0.0,
                                group_size=count)
        self.judge(big, window)
        self.run.big = big

    async def quiet(self, clients: int, seconds: float) -> None:
        """Sockets open, nothing sent: the cost of holding them (token re-checks, pings)."""
        log(f"{self.run.deployment.key}: {clients} sockets open, nothing sent, for {seconds:g} s")
        started = self.watch.start()
        await asyncio.sleep(seconds)
        self.run.quiet, self.run.quiet_clients = self.watch.finish(started)[0], clients

    async def level(self, clients: int, load: str, offered: float, seconds: float) -> None:
        args = self.args
        active = self.groups[:clients // args.group_size]
        log(f"{self.run.deployment.key}: {clients} clients, {load}: {offered:g} messages/s offered "
            f"({offered / len(active):.3g} per group)")
        other = OtherWork()
        started = self.watch.start()
        window = await steady_load(self.sockets, active, tag=f"{self.run.deployment.key}-{clients}-{load}",
                                   rate_per_group=offered / len(active), warmup=args.warmup, seconds=seconds,
                                   drain=args.drain)
        cpu = self.watch.finish(started)
        level = Level.from_window(window, clients=clients, load=load, offered=offered, group_size=args.group_size)
        (level.cpu, level.wall), level.other_share = cpu, cpu_share(*other.finish())
        self.judge(level, window)
        self.run.levels.append(level)
        log(f"  sent {level.sent_rate:.1f}/s, delivered {level.delivered_rate:.0f}/s, p50 {level.p(50):.0f} ms, "
            f"p99 {level.p(99):.0f} ms, drained in {level.drain_seconds:.1f}s; "
            + ", ".join(f"{k} {v:.2f}" for k, v in level.cpu.items()) + f", other processes {level.other_share:.0%}")

    def judge(self, level: Level, window: Any) -> None:
        level.violations, level.examples = check_exactly_once(window, self.sockets)
        if level.violations:
            broken = sum(n for kind, n in level.violations.items() if kind in EXACTLY_ONCE)
            banner = "EXACTLY-ONCE VIOLATED" if broken else "SEND PROBLEMS"
            print(f"\n!!! {banner}: {self.run.deployment.key}, {level.clients} clients, {level.load}: "
                  f"{dict(level.violations)}", file=sys.stderr)
            for example in level.examples:
                print(f"!!!   {example}", file=sys.stderr)


def bench_deployment(deployment: Deployment, url: str, workdir: Path, members: list[Member], groups: list[Group],
                     big: Group, args: argparse.Namespace, versions: dict[str, str]) -> DeploymentRun:
    run = DeploymentRun(deployment, versions=dict(versions))
    started = time.perf_counter()
    redis_url = args.redis_url if deployment.redis else None
    pg_url = url if deployment.database == "PostgreSQL" else None
    data_dir = workdir / f"data-{deployment.key}"
    with Servers() as servers:
        for n in range(deployment.processes):
            servers.processes.append(ServerProcess("ab"[n], url, data_dir, redis_url).start())
        log(f"{deployment.key}: serving on {', '.join(p.url for p in servers.processes)}")
        redis_pid = next(iter(pids_where("redis-server", prefix="redis-server")), None) if redis_url else None
        if redis_pid:
            OtherWork.mine.add(redis_pid)
        OtherWork.database = make_url(url).database if pg_url else None
        watch = CpuWatch({f"server {p.name}": p.pid for p in servers.processes},
                         make_url(url).database if pg_url else None, redis_pid)
        run.probes.append(cpu_probe())
        try:
            run_async(Bench(run, servers, members, groups, big, watch, args).measure())
        finally:
            for proc in servers.processes:
                if proc.proc is not None and proc.proc.poll() is not None:
                    log(f"server {proc.name} died:\n{proc.log_tail()}")
        run.probes.append(cpu_probe())
        for proc in servers.processes:
            run.server_errors.update({f"server {proc.name}: {k}": v for k, v in proc.log_errors().items()})
        for error, count in run.server_errors.items():
            print(f"!!! {deployment.key}: {count} × {error}", file=sys.stderr)
    run.seconds = time.perf_counter() - started
    return run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    most = max(args.clients)
    baselines = {"in-process bus": run_async(bus_round_trips(None, messages=300, subscribers=args.group_size))}
    redis_version = run_async(redis_ok(args.redis_url)) if "redis-2" in args.deployments else None
    if redis_version:
        baselines["Redis bus"] = run_async(bus_round_trips(args.redis_url, messages=300,
                                                           subscribers=args.group_size))
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-chat-"))
    runs: list[DeploymentRun] = []
    costs: list[ServiceCost] = []
    pg_version: str | None = None
    try:
        if "embedded" in args.deployments:
            url = f"sqlite+aiosqlite:///{workdir / 'agora.db'}"
            log("embedded: migrating and seeding a fresh SQLite database")
            migrate(url, workdir / "data-embedded")
            members, groups, big = run_seed(url, workdir / "data-embedded", members=most, group_size=args.group_size,
                                            senders=args.senders, big=args.big)
            costs.append(run_async(service_costs("SQLite", url, workdir / "data-embedded", members, groups[-1],
                                                 messages=args.service_messages)))
            runs.append(bench_deployment(DEPLOYMENTS["embedded"], url, workdir, members, groups, big, args,
                                         {"SQLite": sqlite3.sqlite_version}))
        on_pg = [d for d in args.deployments if DEPLOYMENTS[d].database == "PostgreSQL"]
        if on_pg:
            pg_version = run_async(recreate_postgres(args.postgres_url))
        if on_pg and pg_version is not None:
            log("PostgreSQL: migrating and seeding a fresh database (shared by the PostgreSQL deployments)")
            migrate(args.postgres_url, workdir / "data-pg")
            members, groups, big = run_seed(args.postgres_url, workdir / "data-pg", members=most,
                                            group_size=args.group_size, senders=args.senders, big=args.big)
            costs.append(run_async(service_costs("PostgreSQL", args.postgres_url, workdir / "data-pg", members,
                                                 groups[-1], messages=args.service_messages)))
            for key in on_pg:
                deployment = DEPLOYMENTS[key]
                versions = {"PostgreSQL": pg_version}
                if deployment.redis and not redis_version:
                    runs.append(DeploymentRun(deployment, skipped=f"Redis unreachable at {args.redis_url}"))
                    continue
                if deployment.redis:
                    versions["Redis"] = str(redis_version)
                runs.append(bench_deployment(deployment, args.postgres_url, workdir, members, groups, big, args,
                                             versions))
        elif on_pg:
            runs += [DeploymentRun(DEPLOYMENTS[k], skipped="PostgreSQL unreachable") for k in on_pg]
    finally:
        if pg_version is not None:
            with contextlib.suppress(Exception):
                run_async(drop_postgres(args.postgres_url))
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - STARTED
    notes = print_figures(runs, baselines, costs, args)
    if not args.no_report and any(not r.skipped for r in runs):
        args.out.mkdir(parents=True, exist_ok=True)
        command = " ".join([".venv/bin/python", "bench/chat.py", *(argv if argv is not None else sys.argv[1:])])
        write_markdown(args.out / "chat.md", runs, baselines, costs, notes, args, command, started_at, total)
        log(f"wrote {args.out / 'chat.md'} and {args.out / 'chat-latency.png'}")
    problems = sum(sum(r.violations.values()) for r in runs)
    log(f"done in {total / 60:.1f} min; {problems} exactly-once violations or failed sends")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

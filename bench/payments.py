"""Payments benchmark: transfers/s and latency of POST /api/v1/transfers with concurrent clients, on
PostgreSQL beside pgbench's built-in TPC-B-like script (itself a bank transfer) on the same server in
the same run, and on SQLite beside a bare sqlite3 transfer loop.

For each backend it makes a fresh database (a private PostgreSQL database, dropped at the end; a
temporary SQLite file), migrates it, registers members with payment tokens and tops them up through
the API, starts the real server (`uvicorn agora.app:create_app --factory`, rate limits off) and, for
each client count, sends random 1–100 cent transfers between random pairs of a small set of members
(hot accounts, as pgbench's branches are), each with its own Idempotency-Key. Then it audits the
ledger (`agora.payments.audit`): a run that breaks an invariant fails.

The modules: payments_load (members, the load, the audit), payments_baseline (pgbench, the sqlite3
loop), payments_report (tables, Markdown, PNG).

Usage: .venv/bin/python bench/payments.py [--quick] [--seconds 15] [--clients 8,32] [--no-sqlite]
Figures go to stdout, docs/bench/payments.md and docs/bench/payments.png.
Exit status is non-zero when a transfer failed (an answer other than 200) or the audit found a
problem; never because of a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

if not __package__:  # run as `python bench/payments.py`: import the `bench` package from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy.engine import make_url

from agora.cli import run_migrations
from bench import REPO, STARTED, log
from bench.chat_setup import drop_postgres
from bench.community import asyncpg_dsn, recreate_postgres
from bench.load import Server
from bench.machine import OtherWork, cpu_probe, cpu_share
from bench.payments_baseline import Pgbench, sqlite_loop
from bench.payments_load import SERVER_ENV, Backend, Level, load_and_sample, run_audit, seed, server_pids
from bench.payments_report import draw_chart, print_table, write_markdown

DEFAULT_PG = f"postgresql+asyncpg://postgres@127.0.0.1:5432/agora_bench_{os.getpid()}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4-second windows: a check that it works")
    parser.add_argument("--seconds", type=float, help="measured seconds per level (default 15, quick 4)")
    parser.add_argument("--warmup", type=float, help="seconds of load before measuring (default 2, quick 1)")
    parser.add_argument("--clients", default="8,32", help="comma-separated concurrent client counts")
    parser.add_argument("--members", type=int, default=20, help="members paying each other (hot accounts)")
    parser.add_argument("--scale", type=int, default=10, help="pgbench -i -s: branches (10 = 1,000,000 accounts)")
    parser.add_argument("--postgres-url", default=DEFAULT_PG, help="created for the run and dropped at the end")
    parser.add_argument("--workers", type=int, default=2,
                        help="uvicorn worker processes on PostgreSQL (SQLite, one writer, always gets one)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench", help="where the .md and .png go")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/bench alone")
    args = parser.parse_args(argv)
    args.clients = sorted({int(c) for c in args.clients.split(",") if c.strip()})
    args.seconds = args.seconds or (4.0 if args.quick else 15.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    if args.members < 2 or not args.clients or min(args.clients) < 1:
        parser.error("need at least 2 members and a client count of 1 or more")
    return args


@contextlib.contextmanager
def watched(level: Level) -> Iterator[None]:
    """Record how much of the machine other processes (not this bench, its server or its database) used."""
    window = OtherWork()
    yield
    level.other_share = cpu_share(*window.finish())


def report(level: Level, unit: str) -> None:
    log(f"  {level.tps:,.0f} {unit}, p50 {level.p50:.2f} ms, p99 {level.p99:.2f} ms, {level.failed} failed "
        f"{dict(level.statuses) or ''}; other processes used {level.other_share:.0%} of the CPU")
    if level.server_cpu:
        log(f"  the server used {level.server_cpu / level.elapsed:.0%} of a core: "
            f"{level.cpu_ms_per_transfer:.1f} ms of CPU per transfer")
    if level.pg_states:
        total = sum(level.pg_states.values())
        log("  server's PostgreSQL connections: " + ", ".join(
            f"{k} {v / total:.0%}" for k, v in level.pg_states.most_common()))


def agora_levels(backend: Backend, url: str, workdir: Path, args: argparse.Namespace) -> None:
    """Migrate, seed, start the server, run every client count, stop it, audit."""
    data_dir = workdir / f"data-{backend.name.lower()}"
    log(f"{backend.name}: migrating")
    run_migrations(url)
    members, backend.statements, backend.transactions = asyncio.run(seed(url, data_dir, args.members))
    log(f"{backend.name}: {len(members)} members topped up; one transfer = {backend.statements} SQL statements "
        f"in {backend.transactions} transactions")
    OtherWork.database = None if backend.name == "SQLite" else make_url(url).database
    rng = random.Random(args.seed)
    pg = None if backend.name == "SQLite" else (asyncpg_dsn(url, "postgres"), make_url(url).database or "")
    server = Server(url, data_dir, workers=1 if backend.name == "SQLite" else args.workers)
    backend.workers = server.workers
    server.env.update(SERVER_ENV)
    with server:
        for clients in args.clients:
            level = Level(backend.name, "agora", clients)
            log(f"{backend.name}: Agora, {clients} clients, {args.warmup:g}s warm-up + {args.seconds:g}s")
            level.server_pid = server.proc.pid if server.proc else None
            if level.server_pid:  # its workers are the server too, not "other processes"
                OtherWork.mine.update(server_pids(level.server_pid))
            with watched(level):
                backend.sent += asyncio.run(load_and_sample(server.url, members, level, seconds=args.seconds,
                                                            warmup=args.warmup, rng=rng, pg=pg))
            backend.levels.append(level)
            report(level, "transfers/s")
    backend.audit = asyncio.run(run_audit(url))
    log(f"{backend.name}: audit {'ok' if backend.audit.ok else 'FAILED'} ({backend.audit.entries} journal entries)")
    for problem in backend.audit.problems[:10]:
        log(f"  audit: {problem}")


def bench_postgres(args: argparse.Namespace, workdir: Path) -> Backend | None:
    version = asyncio.run(recreate_postgres(args.postgres_url))
    if version is None:
        return None
    backend = Backend("PostgreSQL", version)
    try:
        agora_levels(backend, args.postgres_url, workdir, args)
    finally:
        asyncio.run(drop_postgres(args.postgres_url))
    with Pgbench(args.postgres_url, args.scale) as pgbench:
        OtherWork.database = pgbench.database
        backend.version = f"{version}; {pgbench.version}"
        for clients in args.clients:
            log(f"PostgreSQL: pgbench tpcb-like, {clients} clients, {args.seconds:g}s")
            with watched(level := Level("PostgreSQL", "pgbench", clients)):
                pgbench.run(level, args.seconds)
            backend.levels.append(level)
            report(level, "tps")
    return backend


def bench_sqlite(args: argparse.Namespace, workdir: Path) -> Backend:
    backend = Backend("SQLite", sqlite3.sqlite_version)
    agora_levels(backend, f"sqlite+aiosqlite:///{workdir / 'agora.db'}", workdir, args)
    log(f"SQLite: bare sqlite3 transfer loop, 1 connection, {args.seconds:g}s")
    with watched(level := Level("SQLite", "sqlite3", 1)):
        sqlite_loop(level, workdir / "baseline.db", accounts=args.members, seconds=args.seconds, seed=args.seed)
    backend.levels.append(level)
    report(level, "tps")
    return backend


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    probes = [cpu_probe()]
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-payments-"))
    backends: list[Backend] = []
    try:
        if not args.no_postgres and (pg := bench_postgres(args, workdir)) is not None:
            backends.append(pg)
        if not args.no_sqlite:
            backends.append(bench_sqlite(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    probes.append(cpu_probe())
    total = time.perf_counter() - STARTED
    print_table(backends, args.clients)
    if backends and not args.no_report:
        args.out.mkdir(parents=True, exist_ok=True)
        write_markdown(args.out / "payments.md", backends, args, started_at, total, probes)
        draw_chart(args.out / "payments.png", backends, args.clients)
        log(f"wrote {args.out / 'payments.md'} and {args.out / 'payments.png'}")
    failed = sum(lv.failed for b in backends for lv in b.levels)
    broken = [b.name for b in backends if b.audit is None or not b.audit.ok]
    log(f"done in {total / 60:.1f} min; {failed} failed requests; audit "
        f"{'FAILED on ' + ', '.join(broken) if broken else 'ok'}")
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())

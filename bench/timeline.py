"""Home timeline benchmark: a 10,000-member community with 200,000 posts, on SQLite and PostgreSQL.

For each backend it bulk-loads a fresh database (SQLAlchemy Core executemany, or COPY on PostgreSQL),
starts the real server (uvicorn in a subprocess) and drives GET /api/v1/timelines/home?limit=20 and
its second page (the Link header's max_id) with 1, 8 and 32 concurrent clients. In the same run it
measures what the stack adds on top of the database:

  http-floor  GET /health (no database) through the same client and server: what HTTP alone costs
  http        the real server over HTTP (a bare asyncio keep-alive client, or httpx)
  in-process  the same service calls the route makes (token check, timelines.read, render_statuses,
              JSON encoding) without HTTP, in this process
  raw-app     the app's own id query (timelines.home_feed as the route calls it, read's SELECT), sent
              directly through the driver (aiosqlite / asyncpg) on pooled connections
  raw-min     a hand-written "20 newest posts by accounts I follow", same driver

This file is the entry point (arguments, the run); the work is in its sibling modules:
community (generate and bulk-load), load (server, HTTP client, timing loop), pages (in-process and
raw-driver pages), measure (one backend's checks and levels), results, machine, report, chart.

Usage: .venv/bin/python bench/timeline.py [--members 1000 --posts 20000] [--no-postgres]
Figures go to stdout, docs/bench/timeline.md and docs/bench/timeline.png.
Exit status is non-zero only when a request failed (non-200), never because of a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if not __package__:  # run as `python bench/timeline.py`: import the `bench` package from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy.engine import make_url

from agora.cli import run_migrations
from bench import REPO, STARTED, log
from bench.chart import draw_chart
from bench.community import Community, generate, load_postgres, load_sqlite, recreate_postgres
from bench.load import Server
from bench.machine import OtherWork, cpu_probe
from bench.measure import measure
from bench.report import interpretation, print_tables, write_markdown
from bench.results import Run

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/agora_bench"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--tokens", type=int, default=300, help="members given a bearer token")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated client counts")
    parser.add_argument("--pairs", type=int, default=1000, help="most page-1 + page-2 pairs per level")
    parser.add_argument("--seconds", type=float, default=12.0, help="most seconds per level (after warm-up)")
    parser.add_argument("--postgres-url", default=DEFAULT_PG, help="this database is dropped and recreated")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load client: a bare asyncio HTTP/1.1 client, or httpx (much more client CPU)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench", help="where the .md and .png go")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/bench alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (SQLite file)")
    args = parser.parse_args(argv)
    args.concurrency = sorted({int(c) for c in args.concurrency.split(",") if c.strip()})
    if args.members < 50 or args.posts < 1000 or not args.concurrency or min(args.concurrency) < 1:
        parser.error("need at least 50 members, 1000 posts and a concurrency of 1 or more")
    return args


def bench_backend(backend: str, url: str, version: str, community: Community, workdir: Path,
                  args: argparse.Namespace) -> Run:
    log(f"{backend}: migrating")
    run_migrations(url)
    log(f"{backend}: loading")
    started = time.perf_counter()
    asyncio.run(load_sqlite(url, community) if backend == "SQLite" else load_postgres(url, community))
    run = Run(backend, url, version, time.perf_counter() - started)
    log(f"{backend}: loaded in {run.load_seconds:.1f}s; starting the server")
    data_dir = workdir / f"data-{backend.lower()}"
    OtherWork.database = None if backend == "SQLite" else make_url(url).database
    with Server(url, data_dir) as server:
        log(f"{backend}: server on {server.url}; measuring")
        run.probes.append(cpu_probe())
        asyncio.run(measure(run, community, server.url, data_dir, args))
        run.probes.append(cpu_probe())
        log(f"{backend}: CPU yardstick {run.probes[0]:.0f} ms before, {run.probes[1]:.0f} ms after")
    return run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    log(f"generating {args.members:,} members and {args.posts:,} posts")
    community = generate(args.members, args.posts, args.tokens, args.seed)
    log(f"generated: {community.stats}")
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-"))
    runs: list[Run] = []
    try:
        if not args.no_sqlite:
            url = f"sqlite+aiosqlite:///{workdir / 'agora.db'}"
            runs.append(bench_backend("SQLite", url, sqlite3.sqlite_version, community, workdir, args))
        if not args.no_postgres:
            version = asyncio.run(recreate_postgres(args.postgres_url))
            if version is not None:
                runs.append(bench_backend("PostgreSQL", args.postgres_url, version, community, workdir, args))
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - STARTED
    print_tables(runs, args.concurrency)
    for note in interpretation(runs, args.concurrency):
        print(f"- {note}")
    if runs and not args.no_report:
        args.out.mkdir(parents=True, exist_ok=True)
        write_markdown(args.out / "timeline.md", runs, community, args, started_at, total)
        draw_chart(args.out / "timeline.png", runs, args.concurrency)
        log(f"wrote {args.out / 'timeline.md'} and {args.out / 'timeline.png'}")
    errors = [e for run in runs for lv in run.levels for e in lv.errors]
    log(f"done in {total / 60:.1f} min; {len(errors)} failed requests")
    for e in errors[:10]:
        print(f"error: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

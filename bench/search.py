"""Search benchmark: indexing throughput, query latency and queries/s for lexical, semantic and hybrid
search, on SQLite and PostgreSQL, and the ANN index's recall@10 against exact search.

For each backend it makes a fresh database (a temporary SQLite file; a private PostgreSQL database,
dropped at the end), migrates it and bulk-loads a generated community (`bench.search_corpus`: the
timeline benchmark's members, follows and posts, with Zipf-distributed text). Then, through Agora's
own code in process:
- indexes every post lexically (`agora.search.indexing.reindex_all`) and semantically
  (`agora.search.embedder.embed_missing`: all-MiniLM-L6-v2 on the CPU, vectors stored in the
  database), and times each;
- rebuilds the in-process ANN index from the database, and measures its recall@10 against
  brute-force cosine over the same vectors;
- runs the query set (`search_corpus.queries`) through `agora.search.hybrid.search_statuses` in each
  mode as random members: p50/p99 from one client, queries/s from one client and from several.
Then a second, larger community (`--big`, default 1,000,000 posts) is indexed lexically only and
queried lexically: the scale the issue asks of keyword search.

Usage: .venv/bin/python bench/search.py [--quick] [--posts 100000] [--big 1000000] [--queries 300]
Figures go to stdout, docs/bench/search.md and docs/bench/search.png.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if not __package__:  # run as `python bench/search.py`: import the `bench` package from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from agora.cli import run_migrations
from agora.kit.db import Database
from bench import REPO, STARTED, log
from bench.chat_setup import drop_postgres
from bench.community import load_postgres, load_sqlite, recreate_postgres
from bench.machine import cpu_probe
from bench.search_corpus import Corpus, build, queries
from bench.search_measure import MODES, Measured, ann_build_and_recall, index_lexical, index_semantic, query_latencies
from bench.search_report import draw_chart, print_table, write_markdown

DEFAULT_PG = f"postgresql+asyncpg://postgres@127.0.0.1:5432/agora_bench_search_{os.getpid()}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5,000 and 50,000 posts, 60 queries: a check")
    parser.add_argument("--posts", type=int, help="posts indexed lexically and semantically (default 100,000)")
    parser.add_argument("--big", type=int, help="posts indexed lexically only (default 1,000,000; 0 skips)")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--queries", type=int, help="queries per mode (default 300)")
    parser.add_argument("--concurrency", type=int, default=4, help="clients for the queries/s figure")
    parser.add_argument("--postgres-url", default=DEFAULT_PG, help="created for the run and dropped at the end")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench", help="where the .md and .png go")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/bench alone")
    args = parser.parse_args(argv)
    args.posts = args.posts or (5_000 if args.quick else 100_000)
    args.big = args.big if args.big is not None else (50_000 if args.quick else 1_000_000)
    args.queries = args.queries or (60 if args.quick else 300)
    args.members = min(args.members, 2_000) if args.quick else args.members
    return args


def backends(args: argparse.Namespace, workdir: Path, tag: str) -> list[tuple[str, str]]:
    """(name, url) of each database to measure, each fresh."""
    found = []
    if not args.no_sqlite:
        found.append(("SQLite", f"sqlite+aiosqlite:///{workdir / f'{tag}.db'}"))
    if not args.no_postgres:
        url = f"{args.postgres_url}_{tag}"
        if asyncio.run(recreate_postgres(url)) is not None:
            found.append(("PostgreSQL", url))
    return found


def load(name: str, url: str, corpus: Corpus) -> None:
    log(f"{name}: migrating and loading {corpus.community.stats['posts']:,} posts")
    run_migrations(url)
    asyncio.run(load_sqlite(url, corpus.community) if name == "SQLite" else load_postgres(url, corpus.community))


def viewers(corpus: Corpus) -> list[int]:
    return [account_id for account_id, _ in corpus.community.tokens]


async def measure_full(name: str, url: str, corpus: Corpus, args: argparse.Namespace) -> Measured:
    db = Database(url)
    try:
        measured = Measured(name, corpus.community.stats["posts"])
        measured.lexical_rate = await index_lexical(db)
        measured.semantic_rate = await index_semantic(db)
        query_set = queries(corpus, args.queries, args.seed)
        measured.ann_build_seconds, measured.recall_at_10 = await ann_build_and_recall(
            db, [q.strip('"') for q in query_set[:200]])
        for mode in MODES:
            measured.modes.append(await query_latencies(db, query_set, viewers(corpus), mode,
                                                        concurrency=args.concurrency))
        return measured
    finally:
        await db.dispose()


async def measure_big(name: str, url: str, corpus: Corpus, args: argparse.Namespace) -> Measured:
    db = Database(url)
    try:
        measured = Measured(name, corpus.community.stats["posts"])
        measured.lexical_rate = await index_lexical(db)
        measured.modes.append(await query_latencies(db, queries(corpus, args.queries, args.seed), viewers(corpus),
                                                    "lexical", concurrency=args.concurrency))
        return measured
    finally:
        await db.dispose()


def run_scale(args: argparse.Namespace, workdir: Path, posts: int, tag: str, *, big: bool) -> list[Measured]:
    log(f"generating {posts:,} posts by {args.members:,} members")
    corpus = build(args.members, posts, args.seed)
    results = []
    for name, url in backends(args, workdir, tag):
        try:
            load(name, url, corpus)
            started = time.perf_counter()
            log(f"{name}: {'lexical only' if big else 'lexical, semantic and hybrid'} at {posts:,} posts")
            results.append(asyncio.run((measure_big if big else measure_full)(name, url, corpus, args)))
            log(f"{name}: measured in {time.perf_counter() - started:.0f}s")
        finally:
            if name == "PostgreSQL":
                asyncio.run(drop_postgres(url))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    probes = [cpu_probe()]
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-search-"))
    try:
        full = run_scale(args, workdir, args.posts, "full", big=False)
        big = run_scale(args, workdir, args.big, "big", big=True) if args.big else []
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    probes.append(cpu_probe())
    total = time.perf_counter() - STARTED
    print_table(full + big)
    if (full or big) and not args.no_report:
        args.out.mkdir(parents=True, exist_ok=True)
        write_markdown(args.out / "search.md", full, big, args, started_at, total, probes, sqlite3.sqlite_version)
        draw_chart(args.out / "search.png", full + big)
        log(f"wrote {args.out / 'search.md'} and {args.out / 'search.png'}")
    log(f"done in {total / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

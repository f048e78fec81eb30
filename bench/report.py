"""The figures as text: console tables, the Markdown report (docs/bench/timeline.md) and its interpretation."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable

from bench.community import Community
from bench.machine import machine
from bench.pages import LIMIT
from bench.results import ALL_MODES, MODE_LABELS, Run, pct

DETAIL_HEAD = ["mode", "clients", "page", "n", "p50 ms", "p90 ms", "p99 ms", "req/s (p1+p2)",
               "p50 ÷ raw app SQL", "other CPU", "errors"]
SUMMARY_HEAD = ["clients", "page", "HTTP floor (/health)", "HTTP", "in-process", "raw app SQL", "raw minimal SQL",
                "HTTP ÷ raw app SQL", "HTTP ÷ raw minimal", "HTTP req/s", "raw app SQL req/s"]


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def phases_text(run: Run) -> str:
    return ", ".join(f"{k} {ms(v)}" for k, v in run.phases.items())


def detail_rows(run: Run) -> list[list[str]]:
    rows = []
    for level in run.levels:
        for page in ("1", "2"):
            values = level.page(page)
            if not values:
                continue
            base = run.find("raw-app", level.concurrency)
            base_values = base.page(page) if base else []
            ratio = ""
            if base_values and level.mode != "http-floor":
                r = pct(values, 50) / pct(base_values, 50)
                ratio = f"{r:.2f}×" if r < 1 else f"{r:.1f}×"
            rows.append([MODE_LABELS[level.mode], str(level.concurrency), page, str(len(values)),
                         ms(pct(values, 50)), ms(pct(values, 90)), ms(pct(values, 99)), f"{level.rps:.0f}",
                         ratio, f"{level.other_share:.0%}", str(len(level.errors)) if level.errors else ""])
    return rows


def summary_rows(run: Run, concurrencies: Sequence[int]) -> list[list[str]]:
    rows = []
    for c in concurrencies:
        got = run.layers(c)
        if got is None:
            continue
        for page in ("1", "2"):
            p50 = {m: pct(lv.page(page), 50) for m, lv in got.items()}
            rows.append([str(c), page] + [ms(p50[m]) for m in ALL_MODES] + [
                f"{p50['http'] / p50['raw-app']:.1f}×", f"{p50['http'] / p50['raw-min']:.1f}×",
                f"{got['http'].rps:.0f}", f"{got['raw-app'].rps:.0f}"])
    return rows


def print_table(console: Console, title: str, head: list[str], rows: list[list[str]], *, text_columns: int = 1
                ) -> None:
    """One table on the terminal: the first `text_columns` left-aligned, figures right-aligned;
    markdown bold (`**`) dropped."""
    table = RichTable(title=title)
    for i, name in enumerate(head):
        table.add_column(name, justify="left" if i < text_columns else "right")
    for row in rows:
        table.add_row(*[c.replace("**", "") for c in row])
    console.print(table)


def print_tables(runs: list[Run], concurrencies: Sequence[int]) -> None:
    console = Console(width=170)
    for run in runs:
        for title, head, rows in (
            (f"{run.backend}: home timeline, all measurements", DETAIL_HEAD, detail_rows(run)),
            (f"{run.backend}: p50 latency (ms) by layer", SUMMARY_HEAD, summary_rows(run, concurrencies)),
        ):
            print_table(console, title, head, rows)
        console.print(f"{run.backend}: {run.statements_per_page} SQL statements per page; p50 by phase (ms): "
                      + phases_text(run))


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"
    return "\n".join(["| " + " | ".join(head) + " |", rule, *["| " + " | ".join(r) + " |" for r in rows]])


def interpretation(runs: list[Run], concurrencies: Sequence[int]) -> list[str]:
    notes = []
    c1, cmax = concurrencies[0], concurrencies[-1]
    for run in runs:
        levels = run.layers(c1)
        top, top_raw = run.find("http", cmax), run.find("raw-app", cmax)
        if levels is None or top is None or top_raw is None:
            continue
        p50 = {m: pct(lv.page1, 50) for m, lv in levels.items()}
        ph = run.phases
        ratio, extra = p50["http"] / p50["raw-app"], p50["http"] - p50["raw-app"]
        verdict = (f"the stack costs {ratio:.0f}× the app's query ({extra:.1f} ms on top of it)" if ratio >= 2
                   else f"the query is most of the time and the stack adds {extra:.1f} ms")
        notes.append(
            f"**{run.backend}, {c1} client**: a home page takes {p50['http']:.1f} ms over HTTP (p50); the app's "
            f"own id query alone {p50['raw-app']:.2f} ms and the minimal query {p50['raw-min']:.2f} ms on the bare "
            f"driver, so {verdict}. In process, a page "
            f"takes {p50['in-process']:.1f} ms ({run.statements_per_page} SQL statements); by phase: opening a read "
            f"transaction {ph['empty read transaction']:.1f} ms (twice per request), token check "
            f"{ph['token check']:.1f}, building the query {ph['build query']:.1f}, id query through the ORM "
            f"{ph['id query (ORM)']:.1f} (bare driver {ph['id query (raw driver)']:.1f}), loading the "
            f"{LIMIT} statuses with their relations {ph['load statuses']:.1f}, viewer state and rendering "
            f"{ph['viewer state + render']:.1f}, JSON {ph['JSON']:.1f}. HTTP itself (uvicorn, the client, "
            f"a trivial route) costs {p50['http-floor']:.1f} ms."
        )
        if p50["raw-app"] > 5 * p50["raw-min"]:
            plan = run.plans.get("app home query, page 1", "")
            why = ""
            if "TEMP B-TREE FOR ORDER BY" in plan:
                why = (" The plan below shows why: SQLite collects every candidate row through an OR of indexes "
                       "and sorts them all (`USE TEMP B-TREE FOR ORDER BY`) instead of walking the primary key "
                       "newest-first and stopping after 20, so the cost grows with the whole instance's posts, "
                       "not with the page.")
            notes.append(f"**{run.backend}**: the app's id query is {p50['raw-app'] / p50['raw-min']:.0f}× slower "
                         f"than the minimal one on the same data.{why}")
        one = levels["http"]
        scaling = (f"**{run.backend}, {cmax} clients**: the server answers {top.rps:.0f} req/s (page 1 p50 "
                   f"{pct(top.page1, 50):.0f} ms, p99 {pct(top.page1, 99):.0f} ms) against {one.rps:.0f} req/s with "
                   f"one client; the bare driver runs the app's id query at {top_raw.rps:.0f} req/s.")
        if top.rps < 2 * one.rps and top_raw.rps > 3 * top.rps:
            scaling += (" More clients only queue: the one server process is busy in Python (ORM, rendering) "
                        "while the database has room to spare.")
        notes.append(scaling)
    notes.append(
        "Caveats: the load client (one Python process), the server, the in-process and raw runs and the "
        "database all share this machine's cores, and other processes may be running too (their share of the "
        "CPU is given above and per level), so compare layers measured in "
        "the same run rather than absolute figures across runs. The raw baselines use open, pooled connections "
        "and no ORM: a floor for this schema and data, not a target a Python app can reach."
    )
    return notes


def write_markdown(path: Path, runs: list[Run], community: Community, args: argparse.Namespace,
                   started: datetime, total_seconds: float) -> None:
    s = community.stats
    command = " ".join([".venv/bin/python", "bench/timeline.py", *sys.argv[1:]])
    out = [
        "# Home timeline benchmark", "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC with `{command}` (the whole run took {total_seconds / 60:.1f} "
        "minutes). Regenerate with `make bench`; the script is `bench/timeline.py` (its modules are in `bench/`).",
        "",
        "![p50/p99 latency and throughput by layer](timeline.png)", "",
        "## Machine", "",
        *[f"- **{k}**: {v}" for k, v in machine().items()],
        *[f"- **PostgreSQL**: {run.version}" for run in runs if run.backend == "PostgreSQL"],
        *[f"- **{run.backend} measurements**: CPU yardstick (a fixed pure-Python loop, best of 5, lower is "
          f"faster; this virtual machine's speed drifts, compare runs with it) {run.probes[0]:.0f} ms before, "
          f"{run.probes[-1]:.0f} ms after; processes outside this benchmark used at least {run.other_share:.0%} "
          "of the machine's CPU meanwhile (per level: column *other CPU*)" for run in runs],
        "", "## Parameters", "",
        f"- {s['members']:,} members, {s['follows']:,} follows: each member follows 50–200 others (log-uniform), "
        f"picked with power-law popularity 1/(rank+10); mean {s['following_mean']:.0f} followed, the most "
        f"followed member has {s['followers_max']:,} followers",
        f"- {s['posts']:,} statuses over 30 days: {s['original']:,} originals, {s['reply']:,} replies, "
        f"{s['reblog']:,} reblogs; {s['public']:,} public, {s['unlisted']:,} unlisted, {s['private']:,} "
        f"private, {s['direct']:,} direct; {s['mentions']:,} mentions, {s['favourites']:,} favourites",
        f"- {s['tokens']} members with OAuth tokens; each request picks one at random",
        f"- GET /api/v1/timelines/home?limit={LIMIT}, then page 2 from the Link header's max_id; "
        f"{', '.join(map(str, args.concurrency))} concurrent clients; per level a warm-up, then at most "
        f"{args.pairs} page-1 + page-2 pairs or {args.seconds:g} s",
        "- server: `uvicorn agora.app:create_app --factory`, one process, log level warning, no access log, "
        "rate limits off; load client: " + ("httpx" if args.client == "httpx" else "a bare asyncio HTTP/1.1 "
        "keep-alive client (httpx's own CPU cost and pool contention would dominate at 32 clients on a small "
        "machine)") + ", one connection per concurrent client, in this process",
        "- layers: **HTTP floor** GET /health (no database) through the same client and server; **HTTP** the "
        "real route; **in-process** the route's service calls without HTTP (token check, `timelines.read`, "
        "`render_statuses`, JSON); **raw app SQL** the exact id query `timelines.read` sends, on the bare "
        "driver (aiosqlite / asyncpg) with pooled connections; **raw minimal SQL** `SELECT id FROM statuses "
        "WHERE account_id IN (followed) ORDER BY id DESC LIMIT 20`, same driver",
        "- PostgreSQL is loaded with COPY and `VACUUM ANALYZE`d (what autovacuum would do); SQLite with "
        "SQLAlchemy Core executemany and no `ANALYZE` (the app never runs it)",
        "",
    ]
    for run in runs:
        out += [
            f"## {run.backend}", "",
            f"Loaded in {run.load_seconds:.0f} s (schema by `agora.cli.run_migrations`). {run.check}. "
            f"A page costs {run.statements_per_page} SQL statements (counted in process).", "",
            "p50 latency (ms) by layer:", "",
            markdown_table(SUMMARY_HEAD, summary_rows(run, args.concurrency)), "",
            f"Where one page's time goes, one request at a time (p50, ms): {phases_text(run)}.", "",
            "All measurements:", "",
            markdown_table(DETAIL_HEAD, detail_rows(run)), "",
        ]
        for name, plan in run.plans.items():
            out += [f"<details><summary>{run.backend} plan: {name}</summary>", "", "```", plan, "```", "",
                    "</details>", ""]
    out += ["## Interpretation", "", *[f"- {n}" for n in interpretation(runs, args.concurrency)], ""]
    path.write_text("\n".join(out))

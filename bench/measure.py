"""One backend's measurements: checks first (same ids everywhere, statements, phases, plans), then the load.

`measure` fills a `Run` while the server under test is up: for each client count it times the five
layers (HTTP floor, HTTP, in-process, raw app SQL, raw minimal SQL) on the same members.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from functools import partial
from pathlib import Path

import httpx
from sqlalchemy import event, text

from agora.accounts.oauth import resolve_bearer
from agora.config import Settings
from agora.kit.pagination import PageParams
from agora.kit.runtime import Runtime
from agora.social.entities import render_statuses
from agora.social.statuses import load
from bench import log
from bench.community import Community
from bench.load import HttpError, LoadClient, Pair, drive, make_client, next_max_id, timed_pair
from bench.machine import OtherWork, cpu_share
from bench.pages import LIMIT, RawDriver, home_ids_query, in_process_page
from bench.results import Level, Run, pct

PHASES = ("empty read transaction", "token check", "build query", "id query (ORM)", "id query (raw driver)",
          "load statuses", "viewer state + render", "JSON")


async def measure(run: Run, community: Community, server_url: str, data_dir: Path,
                  args: argparse.Namespace) -> None:
    tokens = community.tokens
    rng = random.Random(args.seed + 1)
    order = [rng.randrange(len(tokens)) for _ in range(4096)]

    def member(i: int) -> tuple[int, str]:
        return tokens[order[i % len(order)]]

    settings = Settings(database_url=run.url, data_dir=data_dir, base_url=server_url,
                        rate_limit_enabled=False, log_level="warning", log_json=False)
    runtime = Runtime.create(settings)
    accounts = next(t for t in community.tables if t.name == "accounts")
    column = accounts.columns.index("following_count")
    raw = RawDriver(run.url, {row[0]: row[column] for row in accounts.rows})
    for account_id, _ in tokens:  # compile every template now, not inside a timed request
        for second_page in (False, True):
            raw.app_sql(account_id, second_page=second_page)
    await raw.open(1)
    try:
        run.check = await consistency_check(community, server_url, runtime, raw)
        run.statements_per_page = await count_statements(runtime, tokens[0][1])
        run.phases = await phase_breakdown(runtime, raw, tokens)
        log(f"  {run.statements_per_page} statements per page; p50 by phase (ms): "
            + ", ".join(f"{k} {v:.2f}" for k, v in run.phases.items()))
        run.plans = await raw.plans(tokens[0][0])
    finally:
        await raw.close()

    for concurrency in args.concurrency:
        client = make_client(args.client, server_url, concurrency)
        try:

            async def http_fetch(i: int, max_id: int | None, path: str = "/api/v1/timelines/home",
                                 client: LoadClient = client) -> int | None:
                target = f"{path}?limit={LIMIT}" + ("" if max_id is None else f"&max_id={max_id}")
                status, link, body = await client.get(target, member(i)[1])
                if status != 200:
                    raise HttpError(f"GET {target} answered {status}: {body[:200]!r}")
                return next_max_id(link)

            await run_level(run, "http-floor", concurrency, timed_pair(partial(http_fetch, path="/health")), args)
            await run_level(run, "http", concurrency, timed_pair(http_fetch), args)
        finally:
            await client.close()

        async def inproc_fetch(i: int, max_id: int | None) -> int | None:
            return (await in_process_page(runtime, member(i)[1], max_id))[1]

        await run_level(run, "in-process", concurrency, timed_pair(inproc_fetch), args)

        await raw.open(concurrency)
        try:
            for mode in ("raw-app", "raw-min"):

                async def raw_fetch(i: int, max_id: int | None, mode: str = mode) -> int | None:
                    ids = await raw.page(mode, member(i)[0], max_id)
                    return ids[-1] if len(ids) == LIMIT else None

                await run_level(run, mode, concurrency, timed_pair(raw_fetch), args)
        finally:
            await raw.close()
    await runtime.db.dispose()


async def run_level(run: Run, mode: str, concurrency: int, pair: Pair, args: argparse.Namespace) -> None:
    level = Level(run.backend, mode, concurrency)
    other = OtherWork()
    await drive(pair, level, pairs=args.pairs, seconds=args.seconds)
    run.other_cpu.append(other.finish())
    level.other_share = cpu_share(*run.other_cpu[-1])
    run.levels.append(level)
    errors = f", {len(level.errors)} ERRORS" if level.errors else ""
    log(f"  {run.backend:<10} {mode:<10} c={concurrency:<3} page 1 p50 {pct(level.page1, 50):8.2f} ms "
        f"p99 {pct(level.page1, 99):8.2f} ms | page 2 p50 {pct(level.page2, 50):8.2f} ms | "
        f"{level.rps:7.1f} req/s ({len(level.page1)} pairs{errors}; other processes "
        f"{level.other_share:.0%} of the CPU)")


async def consistency_check(community: Community, server_url: str, runtime: Runtime, raw: RawDriver) -> str:
    """HTTP, in-process and the raw app SQL must agree on the ids of pages 1 and 2."""
    problems = []
    async with httpx.AsyncClient(base_url=server_url, timeout=120) as client:
        for account_id, token in community.tokens[:5]:
            headers = {"Authorization": f"Bearer {token}"}
            http_pages = []
            url: str | None = f"/api/v1/timelines/home?limit={LIMIT}"
            while url and len(http_pages) < 2:
                response = await client.get(url, headers=headers)
                if response.status_code != 200:
                    raise HttpError(f"home timeline answered {response.status_code}: {response.text[:300]}")
                http_pages.append([int(s["id"]) for s in response.json()])
                url = response.links.get("next", {}).get("url")
            inproc, _ = await in_process_page(runtime, token, None)
            raw1 = await raw.page("raw-app", account_id, None)
            raw2 = await raw.page("raw-app", account_id, raw1[-1]) if raw1 else []
            if http_pages[0] != inproc or http_pages[0] != raw1 or http_pages[1:2] not in ([], [raw2]):
                problems.append(f"member {account_id}: http {http_pages[0][:2]}…, in-process {inproc[:2]}…, "
                                f"raw {raw1[:2]}…")
            elif len(raw1) < LIMIT:
                problems.append(f"member {account_id}: only {len(raw1)} posts on page 1")
    for p in problems:
        log(f"  WARNING: {p}")
    if problems:
        return "Consistency check FAILED: " + "; ".join(problems)
    return "HTTP, in-process and raw app SQL returned the same ids for pages 1 and 2 (5 members checked)"


async def count_statements(runtime: Runtime, token: str) -> int:
    counted = 0

    def count(*_args: object) -> None:
        nonlocal counted
        counted += 1

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        await in_process_page(runtime, token, None)
    finally:
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    return counted


async def phase_breakdown(runtime: Runtime, raw: RawDriver, tokens: list[tuple[int, str]],
                          samples: int = 60) -> dict[str, float]:
    """Where one page's time goes, one request at a time; mirrors the route and timelines.read.

    The page's own transaction takes its connection from the pool inside "id query (ORM)"; "empty read
    transaction" shows what a transaction costs on its own (the route opens two per request)."""
    times: dict[str, list[float]] = {p: [] for p in PHASES}
    for n in range(samples + 5):
        account_id, token = tokens[n % len(tokens)]
        marks = [time.perf_counter()]
        async with runtime.db.transaction(write=False) as session:
            await session.execute(text("SELECT 1"))
        marks.append(time.perf_counter())
        async with runtime.db.transaction(write=False) as session:
            await resolve_bearer(session, token=token)
        marks.append(time.perf_counter())
        async with runtime.db.transaction(write=False) as session:
            page = PageParams(limit=LIMIT)
            query = home_ids_query(account_id, raw.following[account_id], page)
            marks.append(time.perf_counter())
            ids = page.finish(list(await session.scalars(query)))
            marks.append(time.perf_counter())
            await raw.page("raw-app", account_id, None)
            marks.append(time.perf_counter())
            statuses = await load(session, ids=ids)
            marks.append(time.perf_counter())
            body = await render_statuses(session, statuses, viewer_id=account_id, settings=runtime.settings)
            marks.append(time.perf_counter())
        json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        marks.append(time.perf_counter())
        if n >= 5:
            for name, start, end in zip(PHASES, marks[:-1], marks[1:], strict=True):
                times[name].append(end - start)
    return {name: pct(values, 50) for name, values in times.items()}

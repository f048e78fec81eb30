"""A home timeline page without HTTP: the app's own service calls, and its id query on the bare driver.

  in-process  `in_process_page`: what the home route does (token check, timelines.read,
              render_statuses, JSON) in this process
  raw-app     the app's own id query (timelines.home_feed as the route calls it, read's SELECT),
              compiled once and sent straight through the driver (aiosqlite / asyncpg), pooled
  raw-min     a hand-written "20 newest posts by accounts I follow", same driver
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import aiosqlite
import asyncpg
from sqlalchemy import Select, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from agora.accounts.oauth import resolve_bearer
from agora.kit.pagination import PageParams
from agora.kit.runtime import Runtime
from agora.models import Status
from agora.social import timelines
from agora.social.entities import render_statuses
from bench.community import asyncpg_dsn

LIMIT = 20  # statuses per page, as the benchmark asks for them (?limit=20)
VIEWER, MAX_ID = 987_654_321_987, 123_456_789_123  # placeholders, swapped for real values per call
MIN_SQL = ("SELECT s.id FROM statuses s WHERE s.account_id IN "
           "(SELECT f.target_account_id FROM follows f WHERE f.account_id = {0}) "
           "{1}ORDER BY s.id DESC LIMIT 20")
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000")  # the app's


def home_ids_query(viewer_id: int, following_count: int, page: PageParams) -> Select:
    """The id query timelines.read sends for a home page, its feed built as the home route builds it."""
    feed = timelines.home_feed(viewer_id, following_count=following_count)
    return page.apply(select(Status.id).outerjoin(feed.original, feed.original.id == Status.reblog_of_id)
                      .where(feed.condition), Status.id)


def app_sql(dialect: Any, *, second_page: bool, following_count: int) -> tuple[str, list[Any]]:
    """The SQL timelines.read runs for a home page, with its parameters as a template."""
    page = PageParams(limit=LIMIT, max_id=MAX_ID if second_page else None)
    query = home_ids_query(VIEWER, following_count, page)
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), [compiled.params[name] for name in compiled.positiontup]


def _bind(template: list[Any], viewer: int, max_id: int | None) -> list[Any]:
    return [viewer if v == VIEWER else max_id if v == MAX_ID else v for v in template]


def minimal_sql(postgres: bool, *, second_page: bool) -> str:
    p = ("$1", "$2") if postgres else ("?", "?")
    return MIN_SQL.format(p[0], f"AND s.id < {p[1]} " if second_page else "")


class RawDriver:
    """A small pool of plain driver connections (asyncpg, or aiosqlite with the app's pragmas)."""

    def __init__(self, url: str, following: dict[int, int]) -> None:
        self.url = url
        self.following = following  # account id -> following count, as the route reads it
        self.postgres = not url.startswith("sqlite")
        self.dialect = create_async_engine(url).dialect
        self.pool: Any = None
        self.free: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self.opened: list[aiosqlite.Connection] = []
        self.templates: dict[tuple[bool, int], tuple[str, list[Any]]] = {}

    def app_sql(self, viewer: int, *, second_page: bool) -> tuple[str, list[Any]]:
        key = (second_page, self.following[viewer])
        if key not in self.templates:
            self.templates[key] = app_sql(self.dialect, second_page=second_page, following_count=key[1])
        return self.templates[key]

    async def open(self, size: int) -> None:
        if self.postgres:
            self.pool = await asyncpg.create_pool(asyncpg_dsn(self.url), min_size=size, max_size=size)
            return
        path = make_url(self.url).database
        for _ in range(size):
            conn = await aiosqlite.connect(path)
            for pragma in SQLITE_PRAGMAS:
                await conn.execute(f"PRAGMA {pragma}")
            self.opened.append(conn)
            self.free.put_nowait(conn)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        for conn in self.opened:
            await conn.close()
        self.pool, self.opened, self.free = None, [], asyncio.Queue()

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        """All rows of `sql` (asyncpg `$n` or sqlite `?` placeholders) on a pooled connection."""
        if self.postgres:
            async with self.pool.acquire() as conn:
                return list(await conn.fetch(sql, *args))
        conn = await self.free.get()
        try:
            async with conn.execute(sql, args) as cursor:
                return list(await cursor.fetchall())
        finally:
            self.free.put_nowait(conn)

    async def page(self, mode: str, viewer: int, max_id: int | None) -> list[int]:
        """The ids of a home page by the app's query (`raw-app`) or the minimal one (`raw-min`)."""
        second = max_id is not None
        if mode == "raw-app":
            sql, template = self.app_sql(viewer, second_page=second)
            args = _bind(template, viewer, max_id)
        else:
            sql, args = minimal_sql(self.postgres, second_page=second), [viewer, max_id] if second else [viewer]
        return [r[0] for r in await self.fetch(sql, args)]

    async def plans(self, viewer: int) -> dict[str, str]:
        """Both queries' plans for `viewer`'s page 1: EXPLAIN ANALYZE on PostgreSQL, the QUERY PLAN tree on SQLite."""
        app_text, template = self.app_sql(viewer, second_page=False)
        queries = {"app home query, page 1": (app_text, _bind(template, viewer, None)),
                   "minimal query, page 1": (minimal_sql(self.postgres, second_page=False), [viewer])}
        plans = {}
        for name, (sql, args) in queries.items():
            if self.postgres:
                rows = await self.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", args)
                plans[name] = "\n".join(r[0] for r in rows)
                continue
            depth: dict[int, int] = {0: 0}
            lines = []
            for node, parent, _, detail in await self.fetch(f"EXPLAIN QUERY PLAN {sql}", args):
                depth[node] = depth.get(parent, 0) + 1
                lines.append("  " * (depth[node] - 1) + detail)
            plans[name] = "\n".join(lines)
        return plans


async def in_process_page(runtime: Runtime, token: str, max_id: int | None) -> tuple[list[int], int | None]:
    """What the home route does, minus HTTP: the token check, the page, its rendering, JSON."""
    async with runtime.db.transaction(write=False) as session:
        grant = await resolve_bearer(session, token=token)
    assert grant.account is not None
    viewer = grant.account.id
    async with runtime.db.transaction(write=False) as session:
        result = await timelines.read(
            session, feed=timelines.home_feed(viewer, following_count=grant.account.following_count),
            page=PageParams(limit=LIMIT, max_id=max_id))
        body = await render_statuses(session, result.items, viewer_id=viewer, settings=runtime.settings)
    json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return [s.id for s in result.items], result.next_max_id

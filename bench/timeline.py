"""Home timeline benchmark: a 10,000-member community with 200,000 posts, on SQLite and PostgreSQL.

For each backend it bulk-loads a fresh database (SQLAlchemy Core executemany, or COPY on PostgreSQL),
starts the real server (uvicorn in a subprocess) and drives GET /api/v1/timelines/home?limit=20 and
its second page (the Link header's max_id) with 1, 8 and 32 concurrent clients. In the same run it
measures what the stack adds on top of the database:

  http-floor  GET /health (no database) through the same client and server: what HTTP alone costs
  http        the real server over HTTP (httpx keep-alive clients)
  in-process  the same service calls the route makes (token check, timelines.read, render_statuses,
              JSON encoding) without HTTP, in this process
  raw-app     the app's own id query (timelines.home_feed as the route calls it, read's SELECT), sent
              directly through the driver (aiosqlite / asyncpg) on pooled connections
  raw-min     a hand-written "20 newest posts by accounts I follow", same driver

Usage: .venv/bin/python bench/timeline.py [--members 1000 --posts 20000] [--no-postgres]
Figures go to stdout, docs/bench/timeline.md and docs/bench/timeline.png.
Exit status is non-zero only when a request failed (non-200), never because of a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import inspect
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import aiosqlite
import asyncpg
import httpx
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from agora.accounts.oauth import resolve_bearer
from agora.accounts.secrets import digest
from agora.cli import run_migrations
from agora.config import Settings
from agora.kit.ids import snowflake_from_ms
from agora.kit.pagination import PageParams
from agora.kit.runtime import Runtime
from agora.models import Base, Status
from agora.social import timelines
from agora.social.entities import render_statuses
from agora.social.statuses import load

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/agora_bench"
DAY_MS = 86_400_000
LIMIT = 20
ALL_MODES = ("http-floor", "http", "in-process", "raw-app", "raw-min")
MODE_LABELS = {
    "http-floor": "HTTP floor (/health)", "http": "HTTP (uvicorn + app)", "in-process": "in-process service",
    "raw-app": "raw: app SQL", "raw-min": "raw: minimal SQL",
}
_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The community: generated once in memory, loaded into each backend.
# ---------------------------------------------------------------------------------------------

WORDS = [
    "river", "garden", "morning", "coffee", "bike", "library", "music", "market", "city", "rain", "weekend",
    "project", "code", "bread", "train", "photo", "walk", "friends", "mountain", "sea", "book", "film",
    "kitchen", "street", "light", "night", "school", "work", "team", "release", "bug", "patch", "idea",
    "dinner", "park", "winter", "summer", "autumn", "spring", "story", "game", "cat", "dog", "bird", "tree",
    "sunset", "lunch", "concert", "museum", "meeting", "design", "draft", "vote", "local", "news", "map",
]


@dataclass
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class Community:
    tables: list[Table]  # in foreign-key order
    tokens: list[tuple[int, str]]  # (account id, bearer token)
    stats: dict[str, Any]


class UniqueIds:
    """Snowflakes for given millisecond times, never the same twice."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.counter = 0

    def at(self, ms: int) -> int:
        while True:
            self.counter += 1
            value = snowflake_from_ms(ms, self.counter & 0xFFFF)
            if value not in self.seen:
                self.seen.add(value)
                return value


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _text(rng: random.Random, prefix: str = "") -> tuple[str, str]:
    words = " ".join(rng.choices(WORDS, k=rng.randint(6, 30)))
    text = f"{prefix}{words}"
    return text, f"<p>{html.escape(text)}</p>"


def generate(members: int, posts: int, tokens: int, seed: int) -> Community:
    rng = random.Random(seed)
    now_ms = int(time.time() * 1000)
    ids = UniqueIds()

    # Members joined 90 to 31 days ago; ids increase with join time.
    joined = sorted(rng.randint(now_ms - 90 * DAY_MS, now_ms - 31 * DAY_MS) for _ in range(members))
    account_ids = [ids.at(ms) for ms in joined]
    # Popularity is power-law-ish: the member at rank r is picked with weight 1/(r+10).
    ranks = list(range(members))
    rng.shuffle(ranks)
    popularity = [1.0 / (r + 10) for r in ranks]
    pop_cum = list(itertools.accumulate(popularity))
    # Popular members tend to post more, with a lot of individual spread.
    activity = [math.sqrt(p) * rng.lognormvariate(0, 1) for p in popularity]
    act_cum = list(itertools.accumulate(activity))
    population = range(members)

    # Follows: each member follows 50-200 others (log-uniform), picked by popularity.
    follows = Table("follows", ("id", "account_id", "target_account_id", "created_at", "show_reblogs",
                                "notify"))
    followers_count = [0] * members
    following_count = [0] * members
    follow_start = now_ms - 30 * DAY_MS - 20 * 3_600_000
    for i in range(members):
        want = min(int(50 * 4 ** rng.random()), (members - 1) // 2)  # small test communities: fewer
        chosen: set[int] = set()
        while len(chosen) < want:
            for j in rng.choices(population, cum_weights=pop_cum, k=want - len(chosen) + 4):
                if j != i and len(chosen) < want:
                    chosen.add(j)
        ms = follow_start + i * 6_000
        for j in sorted(chosen):
            show_reblogs = rng.random() > 0.03
            follows.rows.append((ids.at(ms), account_ids[i], account_ids[j], _dt(ms), show_reblogs, False))
            followers_count[j] += 1
        following_count[i] = len(chosen)

    # Statuses over the last 30 days: originals (mostly public, a few unlisted/private/direct),
    # replies to recent posts (with a mention of the replied-to member) and reblogs of recent posts.
    statuses = Table("statuses", (
        "id", "account_id", "text", "content", "spoiler_text", "sensitive", "visibility", "language",
        "in_reply_to_id", "in_reply_to_account_id", "reblog_of_id", "quote_id", "application_name",
        "created_at", "edited_at", "replies_count", "reblogs_count", "favourites_count", "quotes_count",
    ))
    mentions = Table("mentions", ("id", "status_id", "account_id"))
    times = sorted(rng.randint(now_ms - 30 * DAY_MS, now_ms - 60_000) for _ in range(posts))
    authors = rng.choices(population, cum_weights=act_cum, k=posts)
    status_ids: list[int] = []
    author_of: list[int] = []
    rows: list[list[Any]] = []
    originals: list[int] = []  # indexes of public originals (reblog targets)
    replyable: list[int] = []  # indexes of public/unlisted non-reblogs
    favourable: list[int] = []
    statuses_count = [0] * members
    last_status_ms = [0] * members
    kinds = {"original": 0, "reply": 0, "reblog": 0, "public": 0, "unlisted": 0, "private": 0, "direct": 0}
    usernames = [f"member{i:05d}" for i in range(members)]
    for n, (ms, author) in enumerate(zip(times, authors, strict=True)):
        sid = snowflake_from_ms(ms, n & 0xFFFF)
        status_ids.append(sid)
        author_of.append(author)
        statuses_count[author] += 1
        last_status_ms[author] = ms
        r = rng.random()
        reply_to = reblog_of = None
        if r < 0.10 and originals:
            target = originals[-rng.randint(1, min(len(originals), 3000))]
            if author_of[target] != author:
                reblog_of = target
        elif r < 0.28 and replyable:
            reply_to = replyable[-rng.randint(1, min(len(replyable), 2000))]
        if reblog_of is not None:
            kinds["reblog"] += 1
            kinds["public"] += 1
            rows[reblog_of][16] += 1
            rows.append([sid, account_ids[author], "", "", "", False, "public", None, None, None,
                         status_ids[reblog_of], None, None, _dt(ms), None, 0, 0, 0, 0])
            continue
        if reply_to is not None:
            kinds["reply"] += 1
            parent_author = author_of[reply_to]
            visibility = "public" if rng.random() < 0.8 else "unlisted"
            prefix = ""
            if parent_author != author:
                prefix = f"@{usernames[parent_author]} "
                mentions.rows.append((ids.at(ms), sid, account_ids[parent_author]))
            text, content = _text(rng, prefix)
            rows[reply_to][15] += 1
            rows.append([sid, account_ids[author], text, content, "", False, visibility, "en",
                         status_ids[reply_to], account_ids[parent_author], None, None, "Agora Web", _dt(ms),
                         None, 0, 0, 0, 0])
        else:
            kinds["original"] += 1
            v = rng.random()
            visibility = ("public" if v < 0.85 else "unlisted" if v < 0.93 else "private" if v < 0.98
                          else "direct")
            prefix = ""
            if visibility == "direct":
                other = rng.choice(population)
                if other != author:
                    prefix = f"@{usernames[other]} "
                    mentions.rows.append((ids.at(ms), sid, account_ids[other]))
            text, content = _text(rng, prefix)
            rows.append([sid, account_ids[author], text, content, "", False, visibility, "en", None, None,
                         None, None, "Agora Web", _dt(ms), None, 0, 0, 0, 0])
            if visibility == "public":
                originals.append(n)
        kinds[visibility] += 1
        if visibility in ("public", "unlisted"):
            replyable.append(n)
            favourable.append(n)

    # Favourites: about 0.75 per post, by active members, on public posts.
    favourites = Table("favourites", ("id", "account_id", "status_id", "created_at"))
    fav_pairs: set[tuple[int, int]] = set()
    fav_authors = rng.choices(population, cum_weights=act_cum, k=posts * 3 // 4)
    for who in fav_authors:
        target = favourable[-rng.randint(1, len(favourable))] if favourable else None
        if target is None or (who, target) in fav_pairs:
            continue
        fav_pairs.add((who, target))
        ms = min(times[target] + rng.randint(1_000, 3_600_000), now_ms)
        favourites.rows.append((ids.at(ms), account_ids[who], status_ids[target], _dt(ms)))
        rows[target][17] += 1
    statuses.rows = [tuple(r) for r in rows]

    accounts = Table("accounts", (
        "id", "username", "username_key", "display_name", "note", "note_html", "avatar_path", "header_path",
        "locked", "bot", "discoverable", "indexable", "default_visibility", "default_sensitive",
        "default_language", "created_at", "last_status_at", "followers_count", "following_count",
        "statuses_count", "email", "password_hash", "admin", "approved", "suspended", "locale",
        "registration_reason",
    ))
    for i in range(members):
        accounts.rows.append((
            account_ids[i], usernames[i], usernames[i], f"Member {i}", "", "", None, None, False, False, True,
            True, "public", False, None, _dt(joined[i]), _dt(last_status_ms[i]) if last_status_ms[i] else None,
            followers_count[i], following_count[i], statuses_count[i], f"{usernames[i]}@bench.invalid", None,
            False, True, False, "en", "",
        ))

    # One app and bearer tokens for a sample of members (stored hashed, as the app does).
    app_id = ids.at(now_ms)
    apps = Table("oauth_apps", ("id", "name", "website", "redirect_uris", "scopes", "client_id",
                                "client_secret_hash", "owner_id", "created_at"))
    apps.rows.append((app_id, "bench", None, "urn:ietf:wg:oauth:2.0:oob", "read write follow",
                      f"bench-{rng.getrandbits(96):024x}", digest(f"{rng.getrandbits(128):032x}"), None,
                      _dt(now_ms)))
    oauth_tokens = Table("oauth_tokens", ("id", "token_hash", "refresh_hash", "app_id", "account_id",
                                          "scopes", "created_at", "expires_at", "revoked_at", "last_used_at"))
    issued: list[tuple[int, str]] = []
    for i in rng.sample(range(members), min(tokens, members)):
        secret = f"bench{rng.getrandbits(192):048x}"
        oauth_tokens.rows.append((ids.at(now_ms), digest(secret), None, app_id, account_ids[i],
                                  "read write follow", _dt(now_ms), None, None, None))
        issued.append((account_ids[i], secret))

    stats = {
        "members": members, "posts": posts, "follows": len(follows.rows),
        "following_mean": len(follows.rows) / members, "followers_max": max(followers_count),
        "mentions": len(mentions.rows), "favourites": len(favourites.rows), "tokens": len(issued), **kinds,
    }
    return Community([accounts, apps, oauth_tokens, follows, statuses, mentions, favourites], issued, stats)


# ---------------------------------------------------------------------------------------------
# Loading.
# ---------------------------------------------------------------------------------------------

def _chunks(rows: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


async def load_sqlite(url: str, community: Community) -> None:
    """Core insert() executemany in one transaction (SQLAlchemy converts the types as the app would)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("PRAGMA synchronous=OFF")
            await conn.exec_driver_sql("PRAGMA cache_size=-262144")
            for table in community.tables:
                started = time.perf_counter()
                core = Base.metadata.tables[table.name]
                for chunk in _chunks(table.rows, 20_000):
                    batch = [dict(zip(table.columns, row, strict=True)) for row in chunk]
                    await conn.execute(core.insert(), batch)
                log(f"  {table.name}: {len(table.rows):,} rows in {time.perf_counter() - started:.1f}s")
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()


async def load_postgres(url: str, community: Community) -> None:
    """COPY through asyncpg (the fastest bulk path PostgreSQL has), then VACUUM ANALYZE."""
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        # The rows are consistent by construction: skip the per-row foreign-key triggers while loading.
        await conn.execute("SET session_replication_role = replica")
        async with conn.transaction():
            for table in community.tables:
                started = time.perf_counter()
                await conn.copy_records_to_table(table.name, records=table.rows, columns=list(table.columns))
                log(f"  {table.name}: {len(table.rows):,} rows in {time.perf_counter() - started:.1f}s")
        await conn.execute("SET session_replication_role = DEFAULT")
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")  # what autovacuum would have done after such a load
        log(f"  VACUUM ANALYZE in {time.perf_counter() - started:.1f}s")
    finally:
        await conn.close()


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def recreate_postgres(url: str) -> str | None:
    """Drop and create the benchmark database; the server version, or None if unreachable."""
    name = make_url(url).database
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(url, "postgres"), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        log(f"PostgreSQL unreachable at {make_url(url).render_as_string()}: {exc}; skipping it")
        return None
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------------------
# The four ways of getting a home page.
# ---------------------------------------------------------------------------------------------

VIEWER, MAX_ID = 987_654_321_987, 123_456_789_123  # placeholders, swapped for real values per call


def home_feed(viewer_id: int, following_count: int) -> timelines.Feed:
    """timelines.home_feed called as the home route calls it (it may pick a plan by following count)."""
    if "following_count" in inspect.signature(timelines.home_feed).parameters:
        return timelines.home_feed(viewer_id, following_count=following_count)
    return timelines.home_feed(viewer_id)


def app_sql(dialect: Any, *, second_page: bool, following_count: int) -> tuple[str, list[Any]]:
    """The SQL timelines.read runs for a home page, with its parameters as a template."""
    feed = home_feed(VIEWER, following_count)
    page = PageParams(limit=LIMIT, max_id=MAX_ID if second_page else None)
    query = page.apply(
        select(Status.id).outerjoin(feed.original, feed.original.id == Status.reblog_of_id)
        .where(feed.condition), Status.id)
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), [compiled.params[name] for name in compiled.positiontup]


def _bind(template: list[Any], viewer: int, max_id: int | None) -> list[Any]:
    return [viewer if v == VIEWER else max_id if v == MAX_ID else v for v in template]


MIN_SQL = ("SELECT s.id FROM statuses s WHERE s.account_id IN "
           "(SELECT f.target_account_id FROM follows f WHERE f.account_id = {0}) "
           "{1}ORDER BY s.id DESC LIMIT 20")


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
            self.pool = await asyncpg.create_pool(_asyncpg_dsn(self.url), min_size=size, max_size=size)
            return
        path = make_url(self.url).database
        for _ in range(size):
            conn = await aiosqlite.connect(path)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
                await conn.execute(f"PRAGMA {pragma}")
            self.opened.append(conn)
            self.free.put_nowait(conn)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        for conn in self.opened:
            await conn.close()
        self.pool, self.opened, self.free = None, [], asyncio.Queue()

    async def fetch_ids(self, sql: str, args: Sequence[Any]) -> list[int]:
        if self.postgres:
            async with self.pool.acquire() as conn:
                return [r[0] for r in await conn.fetch(sql, *args)]
        conn = await self.free.get()
        try:
            async with conn.execute(sql, args) as cursor:
                return [r[0] for r in await cursor.fetchall()]
        finally:
            self.free.put_nowait(conn)

    async def page(self, mode: str, viewer: int, max_id: int | None) -> list[int]:
        second = max_id is not None
        if mode == "raw-app":
            sql, template = self.app_sql(viewer, second_page=second)
            return await self.fetch_ids(sql, _bind(template, viewer, max_id))
        args = [viewer, max_id] if second else [viewer]
        return await self.fetch_ids(minimal_sql(self.postgres, second_page=second), args)


async def in_process_page(runtime: Runtime, token: str, max_id: int | None) -> tuple[list[int], int | None]:
    """What the home route does, minus HTTP: the token check, the page, its rendering, JSON."""
    async with runtime.db.transaction(write=False) as session:
        grant = await resolve_bearer(session, token=token)
    assert grant.account is not None
    viewer = grant.account.id
    async with runtime.db.transaction(write=False) as session:
        result = await timelines.read(session, feed=home_feed(viewer, grant.account.following_count),
                                      page=PageParams(limit=LIMIT, max_id=max_id))
        body = await render_statuses(session, result.items, viewer_id=viewer, settings=runtime.settings)
    json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return [s.id for s in result.items], result.next_max_id


# ---------------------------------------------------------------------------------------------
# The server under test.
# ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoadClient:
    """The load generator's HTTP client: `get(target, token)` -> (status, Link header, body).

    The default is a bare HTTP/1.1 keep-alive client on asyncio streams, one connection per
    concurrent client. httpx (`--client httpx`) costs much more CPU per request and its pool slows
    down as concurrency grows (on a 2-core machine GET /health went from ~480 to ~180 req/s between 1
    and 32 clients with httpx, and stayed at ~2,200 req/s with this client), and the client shares
    the machine with the server, so with httpx the figures would measure the client."""

    def __init__(self, base_url: str, concurrency: int) -> None:
        parsed = urlsplit(base_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.concurrency = concurrency
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(concurrency):
            self.free.put_nowait(None)  # connections open on first use
        self.open: list[asyncio.StreamWriter] = []

    @staticmethod
    def create(kind: str, base_url: str, concurrency: int) -> LoadClient:
        return HttpxClient(base_url, concurrency) if kind == "httpx" else LoadClient(base_url, concurrency)

    async def get(self, target: str, token: str) -> tuple[int, str | None, bytes]:
        conn = await self.free.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
                self.open.append(conn[1])
            reader, writer = conn
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                         f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n".encode())
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            status = int(head[0].split(" ", 2)[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            else:  # chunked
                parts = []
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    parts.append(await reader.readexactly(size + 2))
                await reader.readuntil(b"\r\n")
                body = b"".join(p[:-2] for p in parts)
            if headers.get("connection", "").lower() == "close":
                writer.close()
                conn = None
            return status, headers.get("link"), body
        except BaseException:
            if conn is not None:
                conn[1].close()
            conn = None
            raise
        finally:
            self.free.put_nowait(conn)

    async def close(self) -> None:
        for writer in self.open:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()


class HttpxClient(LoadClient):
    def __init__(self, base_url: str, concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120)

    async def get(self, target: str, token: str) -> tuple[int, str | None, bytes]:
        response = await self.client.get(target, headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.headers.get("link"), response.content

    async def close(self) -> None:
        await self.client.aclose()


def next_max_id(link: str | None) -> int | None:
    found = re.search(r'<([^>]+)>;\s*rel="next"', link or "")
    if not found:
        return None
    return int(parse_qs(urlsplit(found.group(1)).query)["max_id"][0])


class Server:
    """`uvicorn agora.app:create_app --factory` in its own process, configured through AGORA_*."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "AGORA_DATABASE_URL": database_url, "AGORA_DATA_DIR": str(data_dir),
                    "AGORA_BASE_URL": self.url, "AGORA_RATE_LIMIT_ENABLED": "false",
                    "AGORA_LOG_LEVEL": "warning", "AGORA_LOG_JSON": "false"}
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "agora.app:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
                env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        OtherWork.mine.add(self.proc.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------------------
# Driving load and counting.
# ---------------------------------------------------------------------------------------------

@dataclass
class Level:
    backend: str
    mode: str
    concurrency: int
    page1: list[float] = field(default_factory=list)
    page2: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)
    other_share: float = 0.0  # share of the machine's CPU used by other processes meanwhile

    @property
    def rps(self) -> float:
        return (len(self.page1) + len(self.page2)) / self.elapsed if self.elapsed else 0.0


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))] * 1000


# One "pair": page 1 for a member, then page 2 from its cursor. Appends timings to the level.
Pair = Callable[[int, Level], Awaitable[None]]


async def drive(pair: Pair, level: Level, *, pairs: int, seconds: float) -> None:
    """A concurrent warm-up (one pair per client), then up to `pairs` pairs or `seconds`."""
    scratch = Level(level.backend, level.mode, level.concurrency)
    await asyncio.gather(*(pair(i, scratch) for i in range(level.concurrency)))
    level.errors.extend(scratch.errors)
    counter = itertools.count(level.concurrency)
    deadline = time.perf_counter() + seconds
    started_pairs = 0

    async def worker() -> None:
        nonlocal started_pairs
        while time.perf_counter() < deadline and started_pairs < pairs:
            started_pairs += 1
            await pair(next(counter), level)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(level.concurrency)))
    level.elapsed = time.perf_counter() - started


def timed_pair(fetch: Callable[[int, int | None], Awaitable[int | None]]) -> Pair:
    """Page 1 then, when there is one, page 2; `fetch(i, max_id)` returns the next cursor."""

    async def pair(i: int, level: Level) -> None:
        cursor: int | None = None
        for page, timings in ((1, level.page1), (2, level.page2)):
            if page == 2 and cursor is None:
                return
            started = time.perf_counter()
            try:
                cursor = await fetch(i, cursor)
            except Exception as exc:
                level.errors.append(f"{level.backend} {level.mode} page {page}: {exc!r}"[:300])
                return
            timings.append(time.perf_counter() - started)

    return pair


class HttpError(Exception):
    pass


@dataclass
class Run:
    backend: str
    url: str
    version: str
    load_seconds: float
    levels: list[Level] = field(default_factory=list)
    statements_per_page: int | None = None
    phases: dict[str, float] = field(default_factory=dict)
    check: str = ""
    plans: dict[str, str] = field(default_factory=dict)
    other_cpu: list[tuple[float, float]] = field(default_factory=list)  # (CPU-seconds, wall seconds)
    probes: list[float] = field(default_factory=list)  # cpu_probe() before and after measuring

    @property
    def other_share(self) -> float:
        """Share of the machine's CPU that processes outside this benchmark used while it measured."""
        cpu, wall = map(sum, zip(*self.other_cpu, strict=True)) if self.other_cpu else (0.0, 0.0)
        return cpu / (wall * (os.cpu_count() or 1)) if wall else 0.0


class OtherWork:
    """CPU time used by processes that are not this benchmark (other users of a shared machine).

    Sums the CPU time that processes alive at both ends of a window used in it, leaving out this
    process, the server under test and PostgreSQL backends serving the benchmark's database. A
    process that starts and ends inside the window is missed, so this is a lower bound."""

    mine: ClassVar[set[int]] = {os.getpid()}
    database: ClassVar[str | None] = None

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
        after = self.snapshot()
        used = sum(max(0.0, after[pid] - before) for pid, before in self.before.items() if pid in after)
        return used, time.perf_counter() - self.started


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
        run.plans = await explain(raw, tokens[0][0])
    finally:
        await raw.close()

    for concurrency in args.concurrency:
        client = LoadClient.create(args.client, server_url, concurrency)
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
    level.other_share = run.other_cpu[-1][0] / (run.other_cpu[-1][1] * (os.cpu_count() or 1))
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


PHASES = ("empty read transaction", "token check", "build query", "id query (ORM)", "id query (raw driver)",
          "load statuses", "viewer state + render", "JSON")


async def phase_breakdown(runtime: Runtime, raw: RawDriver, tokens: list[tuple[int, str]],
                          samples: int = 60) -> dict[str, float]:
    """Where one page's time goes, one request at a time; mirrors the route and timelines.read.

    The page's own transaction opens its connection inside "id query (ORM)"; "empty read
    transaction" shows what opening one costs on its own (the route opens two per request)."""
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
            feed, page = home_feed(account_id, raw.following[account_id]), PageParams(limit=LIMIT)
            query = page.apply(select(Status.id).outerjoin(feed.original, feed.original.id == Status.reblog_of_id)
                               .where(feed.condition), Status.id)
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


async def explain(raw: RawDriver, viewer: int) -> dict[str, str]:
    plans = {}
    app_text, template = raw.app_sql(viewer, second_page=False)
    queries = {"app home query, page 1": (app_text, _bind(template, viewer, None)),
               "minimal query, page 1": (minimal_sql(raw.postgres, second_page=False), [viewer])}
    for name, (sql, args) in queries.items():
        if raw.postgres:
            async with raw.pool.acquire() as conn:
                rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", *args)
            plans[name] = "\n".join(r[0] for r in rows)
            continue
        conn = await raw.free.get()
        try:
            async with conn.execute(f"EXPLAIN QUERY PLAN {sql}", args) as cursor:
                rows = await cursor.fetchall()
        finally:
            raw.free.put_nowait(conn)
        depth: dict[int, int] = {0: 0}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * (depth[node] - 1) + detail)
        plans[name] = "\n".join(lines)
    return plans


# ---------------------------------------------------------------------------------------------
# Reporting: console tables, Markdown, PNG.
# ---------------------------------------------------------------------------------------------

def find(run: Run, mode: str, concurrency: int) -> Level | None:
    return next((lv for lv in run.levels if lv.mode == mode and lv.concurrency == concurrency), None)


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def detail_rows(run: Run) -> list[list[str]]:
    rows = []
    for level in run.levels:
        for page, values in (("1", level.page1), ("2", level.page2)):
            if not values:
                continue
            base = find(run, "raw-app", level.concurrency)
            base_values = (base.page1 if page == "1" else base.page2) if base else []
            ratio = ""
            if base_values and level.mode != "http-floor":
                r = pct(values, 50) / pct(base_values, 50)
                ratio = f"{r:.2f}×" if r < 1 else f"{r:.1f}×"
            rows.append([MODE_LABELS[level.mode], str(level.concurrency), page, str(len(values)),
                         ms(pct(values, 50)), ms(pct(values, 90)), ms(pct(values, 99)), f"{level.rps:.0f}",
                         ratio, f"{level.other_share:.0%}", str(len(level.errors)) if level.errors else ""])
    return rows


DETAIL_HEAD = ["mode", "clients", "page", "n", "p50 ms", "p90 ms", "p99 ms", "req/s (p1+p2)",
               "p50 ÷ raw app SQL", "other CPU", "errors"]
SUMMARY_HEAD = ["clients", "page", "HTTP floor (/health)", "HTTP", "in-process", "raw app SQL", "raw minimal SQL",
                "HTTP ÷ raw app SQL", "HTTP ÷ raw minimal", "HTTP req/s", "raw app SQL req/s"]


def summary_rows(run: Run, concurrencies: Sequence[int]) -> list[list[str]]:
    rows = []
    for c in concurrencies:
        got = {m: find(run, m, c) for m in ALL_MODES}
        if any(v is None for v in got.values()):
            continue
        for page in ("1", "2"):
            p50 = {m: pct(lv.page1 if page == "1" else lv.page2, 50) for m, lv in got.items() if lv}
            rows.append([str(c), page] + [ms(p50[m]) for m in ALL_MODES] + [
                f"{p50['http'] / p50['raw-app']:.1f}×", f"{p50['http'] / p50['raw-min']:.1f}×",
                f"{got['http'].rps:.0f}", f"{got['raw-app'].rps:.0f}"])  # type: ignore[union-attr]
    return rows


def print_tables(runs: list[Run], concurrencies: Sequence[int]) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(width=170)
    for run in runs:
        for title, head, rows in (
            (f"{run.backend}: home timeline, all measurements", DETAIL_HEAD, detail_rows(run)),
            (f"{run.backend}: p50 latency (ms) by layer", SUMMARY_HEAD, summary_rows(run, concurrencies)),
        ):
            table = RichTable(title=title)
            for i, name in enumerate(head):
                table.add_column(name, justify="left" if i == 0 else "right")
            for row in rows:
                table.add_row(*row)
            console.print(table)
        console.print(f"{run.backend}: {run.statements_per_page} SQL statements per page; p50 by phase (ms): "
                      + ", ".join(f"{k} {ms(v)}" for k, v in run.phases.items()))


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"
    return "\n".join(["| " + " | ".join(head) + " |", rule, *["| " + " | ".join(r) + " |" for r in rows]])


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


def interpretation(runs: list[Run], concurrencies: Sequence[int]) -> list[str]:
    notes = []
    c1, cmax = concurrencies[0], concurrencies[-1]
    for run in runs:
        levels = {m: find(run, m, c1) for m in ALL_MODES}
        top, top_raw = find(run, "http", cmax), find(run, "raw-app", cmax)
        if any(v is None for v in levels.values()) or top is None or top_raw is None:
            continue
        p50 = {m: pct(lv.page1, 50) for m, lv in levels.items() if lv}
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
        assert one is not None
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
        "minutes). Regenerate with `make bench`; the script is `bench/timeline.py`.", "",
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
            "Where one page's time goes, one request at a time (p50, ms): "
            + ", ".join(f"{k} {ms(v)}" for k, v in run.phases.items()) + ".", "",
            "All measurements:", "",
            markdown_table(DETAIL_HEAD, detail_rows(run)), "",
        ]
        for name, plan in run.plans.items():
            out += [f"<details><summary>{run.backend} plan: {name}</summary>", "", "```", plan, "```", "",
                    "</details>", ""]
    out += ["## Interpretation", "", *[f"- {n}" for n in interpretation(runs, args.concurrency)], ""]
    path.write_text("\n".join(out))


def _font(size: int) -> Any:
    from PIL import ImageFont

    for name in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf"):
        with contextlib.suppress(OSError):
            return ImageFont.truetype(name, size)
    return ImageFont.load_default(size=size)


COLORS = {"http-floor": (170, 170, 170), "http": (214, 96, 77), "in-process": (244, 165, 130),
          "raw-app": (67, 147, 195), "raw-min": (146, 197, 222)}


def draw_chart(path: Path, runs: list[Run], concurrencies: Sequence[int]) -> None:
    """Page-1 p50 (bars) and p99 (ticks) on a log scale, and throughput, per backend."""
    from PIL import Image, ImageDraw

    width, height = 660 * max(1, len(runs)), 860
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title, small, tiny = _font(20), _font(14), _font(11)
    draw.text((20, 12), "Agora home timeline, page 1: latency and throughput by layer", fill="black",
              font=title)
    x = 20
    for mode in ALL_MODES:
        draw.rectangle((x, 48, x + 14, 62), fill=COLORS[mode])
        draw.text((x + 20, 47), MODE_LABELS[mode], fill="black", font=small)
        x += 40 + int(draw.textlength(MODE_LABELS[mode], font=small))
    for col, run in enumerate(runs):
        left = col * 660 + 70
        for row, (kind, label) in enumerate((("latency", "ms (log scale): bar p50, tick p99"),
                                             ("rps", "requests/s, page 1 + page 2 (log scale)"))):
            top = 110 + row * 400
            _panel(draw, (left, top, left + 560, top + 310), run, concurrencies, kind,
                   f"{run.backend}: {label}", small, tiny)
    image.save(path)


def _panel(draw: Any, box: tuple[int, int, int, int], run: Run, concurrencies: Sequence[int], kind: str,
           label: str, small: Any, tiny: Any) -> None:
    x0, y0, x1, y1 = box
    draw.text((x0, y0 - 28), label, fill="black", font=small)
    levels = {(lv.mode, lv.concurrency): lv for lv in run.levels if lv.page1}
    if not levels:
        return
    if kind == "latency":
        lows = [pct(lv.page1, 50) for lv in levels.values()]
        highs = [pct(lv.page1, 99) for lv in levels.values()]
    else:
        lows = highs = [lv.rps for lv in levels.values()]
    lo = math.floor(math.log10(max(min(lows), 1e-3)))
    hi = max(lo + 1, math.ceil(math.log10(max(max(highs), 1e-3) * 1.3)))

    def y_of(v: float) -> float:
        return y1 - (math.log10(max(v, 10.0 ** lo)) - lo) / (hi - lo) * (y1 - y0)

    ticks = [10.0 ** e for e in range(lo, hi + 1)]
    for t in ticks:
        draw.line((x0, y_of(t), x1, y_of(t)), fill=(225, 225, 225))
        draw.text((x0 - 6, y_of(t)), f"{t:g}", fill="black", font=tiny, anchor="rm")
    draw.line((x0, y0, x0, y1), fill="black")
    draw.line((x0, y1, x1, y1), fill="black")
    group_w = (x1 - x0) / len(concurrencies)
    bar_w = group_w * 0.84 / len(ALL_MODES)
    for g, c in enumerate(concurrencies):
        gx = x0 + g * group_w + group_w * 0.08
        draw.text((x0 + (g + 0.5) * group_w, y1 + 6), f"{c} client{'s' if c > 1 else ''}", fill="black",
                  font=small, anchor="mt")
        for b, mode in enumerate(ALL_MODES):
            lv = levels.get((mode, c))
            if lv is None:
                continue
            bx = gx + b * bar_w
            value = pct(lv.page1, 50) if kind == "latency" else lv.rps
            top = min(y_of(value), y1 - 1)
            draw.rectangle((bx + 2, top, bx + bar_w - 2, y1 - 1), fill=COLORS[mode])
            if kind == "latency":
                p99 = y_of(pct(lv.page1, 99))
                draw.line((bx + bar_w / 2, top, bx + bar_w / 2, p99), fill="black")
                draw.line((bx + 5, p99, bx + bar_w - 5, p99), fill="black", width=2)
                top = p99
            text_value = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            draw.text((bx + bar_w / 2, top - 3), text_value, fill="black", font=tiny, anchor="mb")


# ---------------------------------------------------------------------------------------------

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
    total = time.perf_counter() - _T0
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

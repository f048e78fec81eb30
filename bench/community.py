"""The benchmark's community: generated once in memory, then bulk-loaded into a fresh SQLite or PostgreSQL.

10,000 members (by default) following each other along a power-law popularity curve, 200,000 posts
over 30 days with replies, reblogs, a few private and direct posts, mentions, favourites, and bearer
tokens for a sample of members. The rows are tuples in the tables' column order, ready for
executemany (SQLite) or COPY (PostgreSQL).
"""

from __future__ import annotations

import html
import itertools
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from agora.accounts.secrets import digest
from agora.kit.ids import snowflake_from_ms
from agora.models import Base
from bench import log

DAY_MS = 86_400_000

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
    reblogged: set[tuple[int, int]] = set()  # (member, original): the schema allows one reblog of a post each
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
            if author_of[target] != author and (author, target) not in reblogged:
                reblog_of = target
                reblogged.add((author, target))
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
    conn = await asyncpg.connect(asyncpg_dsn(url))
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


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def recreate_postgres(url: str) -> str | None:
    """Drop and create the benchmark database; the server version, or None if unreachable."""
    name = make_url(url).database
    try:
        conn = await asyncpg.connect(asyncpg_dsn(url, "postgres"), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        log(f"PostgreSQL unreachable at {make_url(url).render_as_string()}: {exc}; skipping it")
        return None
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()

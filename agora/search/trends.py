"""Trends: hashtags more people use today than usual, and posts drawing engagement right now.

Both follow Mastodon (app/models/trends/tags.rb and statuses.rb), computed from the rows we
already keep rather than from counters kept on the side, so there is nothing to maintain on the
posting path and nothing to repair: a few aggregate queries, cached per process for a minute.

**Tags.** For each tag and UTC day: the distinct accounts that used it in public, original posts
(no boosts) by members who are `discoverable` and not hidden (suspended, awaiting approval).

    observed = accounts today
    expected = max(1, average accounts per day over the `tag_baseline_days` days before)
    score    = (observed - expected)² / expected   if observed > expected and observed ≥ min_accounts
               0                                  otherwise

Mastodon keeps the highest score (and when it was reached) on the tag row and decays it with a
4-hour half-life from that peak. Within one day `expected` is fixed and `observed` only grows, so
the peak is the moment the day's last new account used the tag; we read that moment from the
ids (snowflakes carry their time) and need no stored state:

    trend = max over {today, yesterday} of  score(day) * 0.5 ** ((now - peak(day)) / half-life)

Yesterday counts too, as Mastodon's peak survives midnight (its 2-day cooldown); a tag shows when
`trend ≥ 1` (Mastodon's decay threshold). Distinct accounts, not uses: one member posting a tag
fifty times is one voice.

**Posts.** Public, original (no boosts, no replies), not sensitive, no content warning, by a
discoverable member, from the last `status_window_hours`. Each favourite, boost and reply by
someone other than the author weighs FAVOURITE_WEIGHT, REBLOG_WEIGHT or REPLY_WEIGHT and halves
every `status_halflife_hours` after it happened (Mastodon decays from the post's creation; decaying
each act instead ranks a post people are engaging with now above one that was busy this morning
with the same totals). A post needs `status_min_engagements` acts to trend, and at most
`status_per_author` posts of one member are shown (the rest go, so one voice cannot fill the list).
Blocks (either way), mutes and visibility are applied per viewer at read time, on the cached list.

Cost (measured by hand on the 2-core dev machine, 100,000 posts over 9 days, 150,000 favourites):
~0.4 s per list on SQLite and on PostgreSQL, once a minute per process. On PostgreSQL the post
query needs planner statistics: straight after a bulk load, before autovacuum has run ANALYZE, it
can pick a nested loop that takes minutes — run ANALYZE after an import.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, and_, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.service import hidden_accounts
from agora.config import Settings
from agora.kit.db import sql_int
from agora.kit.ids import id_to_ms, snowflake_from_ms, unix_ms
from agora.kit.time import as_utc, utcnow
from agora.models import Account, Favourite, Status, StatusTag, Tag
from agora.social.visibility import not_muted, visible_to

T = TypeVar("T")

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
HISTORY_DAYS = 7  # Mastodon's Tag entity carries a week of history
TAG_DECAY_THRESHOLD = 1.0  # Mastodon's: a decayed score under this is not trending
MAX_CACHED = 200  # ranked items kept per list: far more than anyone pages through
# Weights of one act of engagement. A boost shows the post to new people; a reply may as well be
# an argument, so it counts as a favourite does.
FAVOURITE_WEIGHT = 1.0
REBLOG_WEIGHT = 2.0
REPLY_WEIGHT = 1.0
_KIND_WEIGHTS = {0: FAVOURITE_WEIGHT, 1: REBLOG_WEIGHT, 2: REPLY_WEIGHT}


@dataclass(frozen=True, slots=True)
class TrendConfig:
    """The knobs, from Settings (`AGORA_TRENDS_*`): their defaults live there, and only there."""

    cache_seconds: float
    tag_min_accounts: int
    tag_baseline_days: int
    tag_halflife_hours: float
    status_window_hours: float
    status_halflife_hours: float
    status_min_engagements: int
    status_per_author: int

    @classmethod
    def from_settings(cls, settings: Settings) -> TrendConfig:
        return cls(
            cache_seconds=settings.trends_cache_seconds,
            tag_min_accounts=settings.trends_tag_min_accounts,
            tag_baseline_days=max(1, settings.trends_tag_baseline_days),
            tag_halflife_hours=settings.trends_tag_halflife_hours,
            status_window_hours=settings.trends_status_window_hours,
            status_halflife_hours=settings.trends_status_halflife_hours,
            status_min_engagements=settings.trends_status_min_engagements,
            status_per_author=max(1, settings.trends_status_per_author),
        )


DEFAULT_CONFIG = TrendConfig.from_settings(Settings.model_construct())  # the defaults, no environment


@dataclass(frozen=True, slots=True)
class DayUse:
    day: datetime  # midnight UTC
    uses: int  # posts
    accounts: int  # distinct members


@dataclass(frozen=True, slots=True)
class TrendingTag:
    id: int
    name: str
    score: float
    history: tuple[DayUse, ...]  # newest day first, HISTORY_DAYS long


# --- the per-process cache --------------------------------------------------------------------

# Per database engine, so two apps in one process (tests, a CLI next to a server) never share.
_cache: WeakKeyDictionary[Any, dict[Any, tuple[float, Any]]] = WeakKeyDictionary()


def clear_cache() -> None:
    """Forget every cached trend list (tests; an operator's "refresh now")."""
    _cache.clear()


async def _cached(session: AsyncSession, key: Any, ttl: float, compute: Callable[[], Awaitable[T]]) -> T:
    bind = session.bind
    engine = getattr(bind, "sync_engine", bind)
    if ttl <= 0 or engine is None:
        return await compute()
    entries = _cache.setdefault(engine, {})
    hit = entries.get(key)
    if hit is not None and time.monotonic() - hit[0] < ttl:
        return hit[1]
    value = await compute()
    entries[key] = (time.monotonic(), value)
    return value


def _now(now: datetime | None) -> datetime:
    return as_utc(now) if now is not None else utcnow()


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _bucket(id_column: Any, start_ms: int, width_ms: int) -> ColumnElement[int]:
    """Which `width_ms` slice after `start_ms` a snowflake id was made in (integer division)."""
    return (id_column // sql_int(65536) - sql_int(start_ms)) // sql_int(width_ms)


# --- tags -------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Day:
    accounts: int = 0
    uses: int = 0
    peak_ms: int = 0  # when the day's last new account first used the tag


def _counted_tag_uses(first_ms: int, end_ms: int) -> ColumnElement[bool]:
    """Uses that count: public original posts in [first_ms, end_ms) by visible discoverable members."""
    return and_(
        Status.id >= snowflake_from_ms(first_ms),
        Status.id < snowflake_from_ms(end_ms),
        Status.visibility == "public",
        Status.reblog_of_id.is_(None),
        Account.discoverable.is_(True),
        Status.account_id.not_in(hidden_accounts()),
    )


async def _tag_days(session: AsyncSession, *, first_ms: int, end_ms: int,
                    tag_ids: list[int] | None = None) -> dict[int, dict[int, _Day]]:
    """tag id -> day index (0 = the day starting at first_ms) -> accounts, uses and peak. One query."""
    day = _bucket(Status.id, first_ms, DAY_MS).label("day")
    per_account = (
        select(StatusTag.tag_id, day, Status.account_id,
               func.count().label("uses"), func.min(Status.id).label("first_id"))
        .join(StatusTag, StatusTag.status_id == Status.id)
        .join(Account, Account.id == Status.account_id)
        .where(_counted_tag_uses(first_ms, end_ms))
        .group_by(StatusTag.tag_id, day, Status.account_id)
    )
    if tag_ids is not None:
        per_account = per_account.where(StatusTag.tag_id.in_(tag_ids))
    sub = per_account.subquery()
    rows = await session.execute(
        select(sub.c.tag_id, sub.c.day, func.count(), func.sum(sub.c.uses), func.max(sub.c.first_id))
        .group_by(sub.c.tag_id, sub.c.day)
    )
    days: dict[int, dict[int, _Day]] = defaultdict(dict)
    for tag_id, index, accounts, uses, last_first_id in rows:
        days[tag_id][int(index)] = _Day(int(accounts), int(uses), id_to_ms(int(last_first_id)))
    return days


def _tag_score(days: dict[int, _Day], index: int, now_ms: int, config: TrendConfig) -> float:
    """The decayed score reached on day `index` (see the module's docstring)."""
    today = days.get(index)
    if today is None:
        return 0.0
    before = [days[i].accounts if i in days else 0 for i in range(index - config.tag_baseline_days, index)]
    expected = max(1.0, sum(before) / len(before))
    observed = float(today.accounts)
    if observed < config.tag_min_accounts or observed <= expected:
        return 0.0
    score = (observed - expected) ** 2 / expected
    hours_since_peak = max(0, now_ms - today.peak_ms) / HOUR_MS
    return score * 0.5 ** (hours_since_peak / config.tag_halflife_hours)


def _history(days: dict[int, _Day], today_index: int, first: datetime) -> tuple[DayUse, ...]:
    entries = []
    for index in range(today_index, today_index - HISTORY_DAYS, -1):
        found = days.get(index, _Day())
        entries.append(DayUse(first + timedelta(days=index), found.uses, found.accounts))
    return tuple(entries)


def _tag_window(now: datetime, config: TrendConfig) -> tuple[datetime, int]:
    """The first day the tag query reads, and today's index from it."""
    back = max(config.tag_baseline_days + 1, HISTORY_DAYS - 1)  # yesterday's baseline; a week of history
    return _midnight(now) - timedelta(days=back), back


async def _rank_tags(session: AsyncSession, now: datetime, config: TrendConfig) -> list[TrendingTag]:
    first, today = _tag_window(now, config)
    now_ms = unix_ms(now)
    days = await _tag_days(session, first_ms=unix_ms(first), end_ms=now_ms + 1)
    scored: list[tuple[float, int, int]] = []
    for tag_id, by_day in days.items():
        score = max(_tag_score(by_day, today, now_ms, config), _tag_score(by_day, today - 1, now_ms, config))
        if score >= TAG_DECAY_THRESHOLD:
            scored.append((score, by_day[today].accounts if today in by_day else 0, tag_id))
    scored.sort(key=lambda item: (-item[0], -item[1], item[2]))
    scored = scored[:MAX_CACHED]
    names = dict((await session.execute(
        select(Tag.id, Tag.name).where(Tag.id.in_([tag_id for _, _, tag_id in scored])))).tuples().all()) \
        if scored else {}
    return [TrendingTag(tag_id, names[tag_id], score, _history(days[tag_id], today, first))
            for score, _, tag_id in scored if tag_id in names]


async def trending_tags(session: AsyncSession, *, limit: int, offset: int = 0, now: datetime | None = None,
                        config: TrendConfig | None = None) -> list[TrendingTag]:
    """Tags trending now, best first, with a week of history. `now` (tests, replays) skips the cache."""
    config = config or DEFAULT_CONFIG
    moment = _now(now)
    ttl = 0.0 if now is not None else config.cache_seconds
    ranked = await _cached(session, ("tags", config), ttl, lambda: _rank_tags(session, moment, config))
    return ranked[offset:offset + limit]


async def tag_histories(session: AsyncSession, tag_ids: list[int], *,
                        now: datetime | None = None) -> dict[int, tuple[DayUse, ...]]:
    """A week of history for any tags (search results render Tag entities too). One query."""
    if not tag_ids:
        return {}
    moment = _now(now)
    first = _midnight(moment) - timedelta(days=HISTORY_DAYS - 1)
    days = await _tag_days(session, first_ms=unix_ms(first), end_ms=unix_ms(moment) + 1, tag_ids=tag_ids)
    return {tag_id: _history(days.get(tag_id, {}), HISTORY_DAYS - 1, first) for tag_id in tag_ids}


async def named_tag_histories(session: AsyncSession, names: list[str]
                              ) -> list[tuple[int, str, tuple[DayUse, ...]]]:
    """(id, name, week of history) of the tags named, in the order given; unknown names left out."""
    if not names:
        return []
    ids = {name: tag_id for tag_id, name in await session.execute(select(Tag.id, Tag.name).where(Tag.name.in_(names)))}
    histories = await tag_histories(session, list(ids.values()))
    return [(ids[name], name, histories[ids[name]]) for name in names if name in ids]


# --- statuses ---------------------------------------------------------------------------------

def _trendable_post(window_start_id: int) -> ColumnElement[bool]:
    return and_(
        Status.id >= window_start_id,
        Status.visibility == "public",
        Status.reblog_of_id.is_(None),
        Status.in_reply_to_id.is_(None),
        Status.sensitive.is_(False),
        Status.spoiler_text == "",
        Account.discoverable.is_(True),
        Status.account_id.not_in(hidden_accounts()),
    )


async def _rank_status_ids(session: AsyncSession, now: datetime, config: TrendConfig) -> list[int]:
    now_ms = unix_ms(now)
    start_ms = now_ms - int(config.status_window_hours * HOUR_MS)
    start_id, end_id = snowflake_from_ms(start_ms), snowflake_from_ms(now_ms + 1)
    acts = union_all(
        select(Favourite.status_id.label("sid"), sql_int(0).label("kind"), Favourite.id.label("eid"),
               Favourite.account_id.label("who"))
        .where(Favourite.id >= start_id, Favourite.id < end_id),
        select(Status.reblog_of_id, sql_int(1), Status.id, Status.account_id)
        .where(Status.reblog_of_id.is_not(None), Status.id >= start_id, Status.id < end_id),
        # A reply the public cannot read still says someone answered; a DM does not belong here.
        select(Status.in_reply_to_id, sql_int(2), Status.id, Status.account_id)
        .where(Status.in_reply_to_id.is_not(None), Status.id >= start_id, Status.id < end_id,
               Status.visibility.in_(("public", "unlisted"))),
    ).subquery()
    hour = _bucket(acts.c.eid, start_ms, HOUR_MS).label("hour")
    rows = await session.execute(
        select(Status.id, Status.account_id, acts.c.kind, hour, func.count())
        .join(acts, acts.c.sid == Status.id)
        .join(Account, Account.id == Status.account_id)
        .where(_trendable_post(start_id), acts.c.who != Status.account_id,
               acts.c.who.not_in(hidden_accounts()))
        .group_by(Status.id, Status.account_id, acts.c.kind, hour)
    )
    halflife_ms = config.status_halflife_hours * HOUR_MS
    scores: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    authors: dict[int, int] = {}
    for status_id, author_id, kind, bucket, count in rows:
        # Each act is taken at the middle of its hour (never after now): decay to the minute is noise.
        at_ms = min(now_ms, start_ms + (int(bucket) + 0.5) * HOUR_MS)
        scores[status_id] += _KIND_WEIGHTS[int(kind)] * int(count) * 0.5 ** ((now_ms - at_ms) / halflife_ms)
        counts[status_id] += int(count)
        authors[status_id] = author_id
    ranked = sorted((sid for sid in scores if counts[sid] >= config.status_min_engagements),
                    key=lambda sid: (-scores[sid], -sid))
    shown: list[int] = []
    per_author: dict[int, int] = defaultdict(int)
    for status_id in ranked:
        if per_author[authors[status_id]] < config.status_per_author:
            per_author[authors[status_id]] += 1
            shown.append(status_id)
            if len(shown) >= MAX_CACHED:
                break
    return shown


async def trending_status_ids(session: AsyncSession, *, viewer_id: int | None, limit: int, offset: int = 0,
                              now: datetime | None = None, config: TrendConfig | None = None) -> list[int]:
    """Ids of trending posts the viewer may see, best first. Blocks, mutes, deletions and changes of
    visibility apply at once: the cached ranking is filtered for this viewer on every call."""
    config = config or DEFAULT_CONFIG
    moment = _now(now)
    ttl = 0.0 if now is not None else config.cache_seconds
    ranked = await _cached(session, ("statuses", config), ttl, lambda: _rank_status_ids(session, moment, config))
    if not ranked:
        return []
    allowed = set(await session.scalars(
        select(Status.id).where(Status.id.in_(ranked), Status.visibility == "public",
                                visible_to(viewer_id), not_muted(viewer_id))))
    return [sid for sid in ranked if sid in allowed][offset:offset + limit]


def with_overrides(config: TrendConfig | None = None, **changes: Any) -> TrendConfig:
    """A config with some knobs changed (tests, the CLI)."""
    return replace(config or DEFAULT_CONFIG, **changes)


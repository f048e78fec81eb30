"""The ranked "For you" timeline: gather candidates, score them, diversify authors, page a snapshot.

Candidates and what a member may be shown: `for_you_candidates.py`. The score: `for_you_scoring.py`.

**Paging.** A ranked feed is not ordered by id, so Mastodon's `max_id` cannot mean "older than".
A request without `max_id` ranks afresh and keeps the ranking (its first `MAX_RANKED` post ids)
for this member in this process for `for_you_snapshot_seconds` (each page read extends it). The
`Link: rel="next"` header carries `max_id=<the last post served>`, and a request with `max_id`
continues the kept ranking right after that post — so pages never repeat a post, and Mastodon.py's
`fetch_next` (which keeps only `max_id`) works unchanged. When the ranking is gone (expired, or the
request reached another worker process) it is rebuilt; if the post is in the new ranking paging
continues after it, and otherwise only posts with a smaller id than `max_id` follow (the
chronological meaning, as a fallback). `min_id` / `since_id` ("anything newer?") answer an empty
list: a ranked feed is refreshed by asking again without a cursor.

Every page is checked again against `for_you_candidates.eligible` before it is served, so a block,
mute, deletion or change of visibility made after the ranking was built applies at once.
"""

from __future__ import annotations

import time
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.kit.pagination import Page, PageParams
from agora.kit.time import as_utc, utcnow
from agora.models import Status
from agora.search import trends
from agora.search.for_you_candidates import eligible_ids, gather, home_marker
from agora.search.for_you_scoring import Shape, Weights, diversify, score
from agora.social.statuses import load

MAX_RANKED = 500  # posts kept per ranking: far more than anyone scrolls in one sitting
# Members with a kept ranking, per process and database (the least recently read go first). Each is
# an array of 64-bit ids, 4 KB at most: 5,000 of them cost about 20 MB.
MAX_SNAPSHOTS = 5_000


@dataclass(frozen=True, slots=True)
class ForYouConfig:
    """The knobs, from Settings (`AGORA_FOR_YOU_*`): their defaults live there, and only there."""

    weights: Weights
    shape: Shape
    window_days: float
    snapshot_seconds: float
    trends: trends.TrendConfig

    @classmethod
    def from_settings(cls, settings: Settings) -> ForYouConfig:
        return cls(
            weights=Weights(
                favourite=settings.for_you_weight_favourite, reblog=settings.for_you_weight_reblog,
                reply=settings.for_you_weight_reply, good_click=settings.for_you_weight_good_click,
                reply_engaged_by_author=settings.for_you_weight_reply_engaged_by_author,
                negative=settings.for_you_weight_negative),
            shape=Shape(halflife_hours=settings.for_you_halflife_hours,
                        in_network_boost=settings.for_you_in_network_boost,
                        author_decay=settings.for_you_author_decay, author_floor=settings.for_you_author_floor),
            window_days=max(0.0, settings.for_you_window_days),
            snapshot_seconds=settings.for_you_snapshot_seconds,
            trends=trends.TrendConfig.from_settings(settings),
        )


DEFAULT_CONFIG = ForYouConfig.from_settings(Settings.model_construct())  # the defaults, no environment

# Per database engine (two apps in one process never share), then per (member, config).
_snapshots: WeakKeyDictionary[Any, OrderedDict[Any, tuple[float, array[int]]]] = WeakKeyDictionary()


def clear_snapshots() -> None:
    """Forget every kept ranking (tests; the next page request ranks afresh)."""
    _snapshots.clear()


def _store(session: AsyncSession) -> OrderedDict[Any, tuple[float, array[int]]] | None:
    bind = session.bind
    engine = getattr(bind, "sync_engine", bind)
    return _snapshots.setdefault(engine, OrderedDict()) if engine is not None else None


async def rank(session: AsyncSession, *, viewer_id: int, config: ForYouConfig = DEFAULT_CONFIG,
               now: datetime | None = None) -> list[int]:
    """The whole ranking for this member now: post ids, best first (at most MAX_RANKED)."""
    moment = as_utc(now) if now is not None else utcnow()
    gathered = await gather(session, viewer_id=viewer_id, now=moment, window_days=config.window_days,
                            trend_config=config.trends)
    scored = await score(session, gathered.candidates, viewer_id=viewer_id, seeds=gathered.seeds, now=moment,
                         weights=config.weights, shape=config.shape)
    return diversify(scored, config.shape)[:MAX_RANKED]


async def _ranking(session: AsyncSession, *, viewer_id: int, config: ForYouConfig, fresh: bool,
                   now: datetime | None) -> array[int]:
    store = _store(session)
    key = (viewer_id, config)
    if store is not None and not fresh:
        kept = store.get(key)
        if kept is not None and time.monotonic() - kept[0] < config.snapshot_seconds:
            store[key] = (time.monotonic(), kept[1])  # reading extends it
            store.move_to_end(key)
            return kept[1]
    ranked = array("q", await rank(session, viewer_id=viewer_id, config=config, now=now))
    if store is not None and config.snapshot_seconds > 0:
        store[key] = (time.monotonic(), ranked)
        store.move_to_end(key)
        while len(store) > MAX_SNAPSHOTS:
            store.popitem(last=False)
    return ranked


async def for_you_ids(session: AsyncSession, *, viewer_id: int, limit: int, max_id: int | None = None,
                      config: ForYouConfig = DEFAULT_CONFIG, now: datetime | None = None) -> list[int]:
    """One page of the member's "For you" ranking: post ids, best first (see the module's docstring)."""
    if limit <= 0:
        return []
    ranked = await _ranking(session, viewer_id=viewer_id, config=config, fresh=max_id is None, now=now)
    if max_id is None:
        rest = list(ranked)
    elif max_id in ranked:
        rest = list(ranked[ranked.index(max_id) + 1:])
    else:
        rest = [i for i in ranked if i < max_id]
    marker_id = await home_marker(session, viewer_id)
    page: list[int] = []
    chunk = max(limit, 20)
    for start in range(0, len(rest), chunk):  # usually one round: a page rarely loses a post
        part = rest[start:start + chunk]
        allowed = await eligible_ids(session, part, viewer_id=viewer_id, marker_id=marker_id)
        page.extend(i for i in part if i in allowed)
        if len(page) >= limit:
            break
    return page[:limit]


async def read(session: AsyncSession, *, viewer_id: int, page: PageParams, config: ForYouConfig = DEFAULT_CONFIG,
               now: datetime | None = None) -> Page[Status]:
    """The page as the timelines return theirs (`social.timelines.read`), for the API and the web app."""
    if page.min_id is not None or page.since_id is not None:
        return Page([], None, None)
    ids = await for_you_ids(session, viewer_id=viewer_id, limit=page.limit, max_id=page.max_id, config=config,
                            now=now)
    statuses = await load(session, ids=ids)
    return Page.of(statuses, [s.id for s in statuses])

"""Candidates for the "For you" timeline, and the one rule that says which of them a member may be shown.

Four sources, each bounded, so a ranking costs the same whatever the size of the server:

- **in network**: recent original posts by accounts the member follows (replies only when the
  member would see them on home too: to oneself, to the member, or to someone the member follows);
- **liked in network**: posts that accounts the member follows favourited or boosted recently,
  whoever wrote them (X's "social proof"); how many of them did is kept as a feature;
- **near your interests**: posts nearest in meaning to what the member recently favourited, boosted
  or replied to (the stored sentence embeddings, `semantic.search_near`, one search per seed);
- **popular**: trending posts, then the most engaged-with of the newest public posts, so a new
  member who follows nobody still gets a timeline when the server has public posts.

`eligible` is applied to every candidate, at ranking time and again to each page served (so a block,
mute or deletion made since the ranking was built applies at once). What it leaves out:

- what the member may not read (`visibility.visible_to`: private posts of people they do not
  follow, direct messages, blocked either way, suspended authors), muted authors, and boosts
  (the post a boost wraps is the candidate instead);
- out of network: anything but public, top-level posts by members who are `discoverable`
  (Mastodon's opt-in to being recommended);
- what the member has **seen**: their own posts; posts they favourited, boosted, bookmarked or
  replied to; and posts by accounts they follow at or before their home timeline marker (Mastodon's
  `markers` API: they have read past them in Following). Posts served on an earlier page of the same
  ranking are excluded by the paging itself (see `for_you.py`).

Agora has no keyword filters yet; when it has, they belong in `eligible`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.ids import first_id_at, snowflake_from_ms, unix_ms
from agora.models import Account, Bookmark, Favourite, Marker, Status
from agora.search import semantic, trends
from agora.social.visibility import followed_by, not_muted, reply_on_home, visible_to

IN_NETWORK_LIMIT = 300
LIKED_LIMIT = 200  # per kind (favourites, boosts)
POPULAR_LIMIT = 60
POPULAR_RECENT = 2000  # the popular source looks only at this many newest public posts
TRENDING_LIMIT = 20
SEED_COUNT = 8  # recent engagements whose neighbours are looked up
SEED_LOOKBACK_DAYS = 30
PER_SEED = 20


@dataclass(slots=True)
class Candidate:
    status_id: int
    sources: set[str] = field(default_factory=set)  # "network", "liked", "similar", "popular"
    network_engagers: int = 0  # favourites + boosts by accounts the member follows
    similarity: float = 0.0  # best cosine to a post the member engaged with (0: unknown)


@dataclass(slots=True)
class Gathered:
    candidates: dict[int, Candidate]
    seeds: np.ndarray  # (n, 384) unit vectors of what the member engaged with; n may be 0
    marker_id: int | None  # the home timeline marker


def _acted_on(viewer_id: int) -> Select:
    """Posts the member already reacted to: they have seen them."""
    reblogs = select(Status.reblog_of_id).where(Status.account_id == viewer_id, Status.reblog_of_id.is_not(None))
    replies = select(Status.in_reply_to_id).where(Status.account_id == viewer_id,
                                                   Status.in_reply_to_id.is_not(None))
    return (select(Favourite.status_id).where(Favourite.account_id == viewer_id)
            .union(select(Bookmark.status_id).where(Bookmark.account_id == viewer_id), reblogs, replies))


def eligible(viewer_id: int, marker_id: int | None) -> ColumnElement[bool]:
    """Posts (rows of `Status`, joined with their `Account`) the member may be shown here."""
    followed = Status.account_id.in_(followed_by(viewer_id))
    in_network = and_(followed, reply_on_home(viewer_id),
                      Status.id > marker_id if marker_id is not None else true())
    out_of_network = and_(~followed, Status.visibility == "public", Status.in_reply_to_id.is_(None),
                          Account.discoverable.is_(True))
    return and_(
        visible_to(viewer_id),
        not_muted(viewer_id),
        Status.reblog_of_id.is_(None),
        Status.visibility != "direct",
        Status.account_id != viewer_id,
        or_(in_network, out_of_network),
        Status.id.not_in(_acted_on(viewer_id)),
    )


async def home_marker(session: AsyncSession, viewer_id: int) -> int | None:
    return await session.scalar(select(Marker.last_read_id).where(
        Marker.account_id == viewer_id, Marker.timeline == "home"))


async def eligible_ids(session: AsyncSession, ids: Iterable[int], *, viewer_id: int,
                       marker_id: int | None) -> set[int]:
    wanted = list(ids)
    if not wanted:
        return set()
    return set(await session.scalars(select(Status.id).join(Account, Account.id == Status.account_id)
                                     .where(Status.id.in_(wanted), eligible(viewer_id, marker_id))))


async def _in_network(session: AsyncSession, viewer_id: int, start_id: int) -> list[int]:
    query = (select(Status.id).where(Status.account_id.in_(followed_by(viewer_id)), Status.id >= start_id,
                                     Status.reblog_of_id.is_(None), Status.visibility != "direct",
                                     reply_on_home(viewer_id))
             .order_by(Status.id.desc()).limit(IN_NETWORK_LIMIT))
    return list(await session.scalars(query))


async def _liked_in_network(session: AsyncSession, viewer_id: int, start_id: int) -> dict[int, int]:
    """Post id -> how many followed accounts favourited or boosted it, in the window."""
    followed = followed_by(viewer_id)
    favourites = (select(Favourite.status_id, func.count()).where(Favourite.account_id.in_(followed),
                                                                 Favourite.id >= start_id)
                  .group_by(Favourite.status_id).order_by(func.count().desc(), Favourite.status_id.desc())
                  .limit(LIKED_LIMIT))
    boosts = (select(Status.reblog_of_id, func.count()).where(Status.account_id.in_(followed),
                                                              Status.reblog_of_id.is_not(None),
                                                              Status.id >= start_id)
              .group_by(Status.reblog_of_id).order_by(func.count().desc(), Status.reblog_of_id.desc())
              .limit(LIKED_LIMIT))
    counts: dict[int, int] = {}
    for query in (favourites, boosts):
        for status_id, count in await session.execute(query):
            counts[int(status_id)] = counts.get(int(status_id), 0) + int(count)
    return counts


async def _seed_ids(session: AsyncSession, viewer_id: int, start_id: int) -> list[int]:
    """The posts the member most recently favourited, boosted or replied to (newest act first)."""
    acts = (select(Favourite.status_id.label("sid"), Favourite.id.label("at"))
            .where(Favourite.account_id == viewer_id, Favourite.id >= start_id)
            .union_all(select(Status.reblog_of_id, Status.id).where(
                Status.account_id == viewer_id, Status.reblog_of_id.is_not(None), Status.id >= start_id),
                select(Status.in_reply_to_id, Status.id).where(
                Status.account_id == viewer_id, Status.in_reply_to_id.is_not(None), Status.id >= start_id))
            .subquery())
    rows = await session.execute(select(acts.c.sid).order_by(acts.c.at.desc()).limit(SEED_COUNT * 2))
    seen: dict[int, None] = {}
    for (status_id,) in rows:
        seen.setdefault(int(status_id), None)
    return list(seen)[:SEED_COUNT]


async def _near_interests(session: AsyncSession, viewer_id: int, start_id: int,
                          seed_ids: list[int]) -> tuple[dict[int, float], np.ndarray]:
    vectors = await semantic.vectors_of(session, seed_ids)
    seeds = [vectors[i] for i in seed_ids if i in vectors]
    near: dict[int, float] = {}
    for vector in seeds:
        found = await semantic.search_near(session, vector, viewer_id=viewer_id, limit=PER_SEED,
                                           conditions=[Status.id >= start_id])
        for status_id, similarity in found:
            near[status_id] = max(near.get(status_id, 0.0), float(similarity))
    matrix = np.stack(seeds).astype(np.float32) if seeds else np.zeros((0, 0), dtype=np.float32)
    return near, matrix


async def _popular(session: AsyncSession, viewer_id: int, trend_config: trends.TrendConfig) -> list[int]:
    """Trending posts, then the newest public posts with the most engagement (never empty while
    the server has public posts: a post nobody engaged with still comes, newest first)."""
    trending = await trends.trending_status_ids(session, viewer_id=viewer_id, limit=TRENDING_LIMIT,
                                                config=trend_config)
    recent = (select(Status.id).where(Status.visibility == "public", Status.reblog_of_id.is_(None),
                                      Status.in_reply_to_id.is_(None))
              .order_by(Status.id.desc()).limit(POPULAR_RECENT).subquery())
    engagement = Status.favourites_count + 2 * Status.reblogs_count + Status.replies_count
    query = (select(Status.id).where(Status.id.in_(select(recent.c.id)))
             .order_by(engagement.desc(), Status.id.desc()).limit(POPULAR_LIMIT))
    return [*trending, *await session.scalars(query)]


async def gather(session: AsyncSession, *, viewer_id: int, now: datetime, window_days: float,
                 trend_config: trends.TrendConfig) -> Gathered:
    """Every candidate for this member now, already passed through `eligible`."""
    now_ms = unix_ms(now)
    start_id = snowflake_from_ms(now_ms - int(window_days * 86_400_000))
    seed_start_id = first_id_at(now - timedelta(days=SEED_LOOKBACK_DAYS))
    candidates: dict[int, Candidate] = {}

    def add(status_id: int, source: str) -> Candidate:
        found = candidates.setdefault(status_id, Candidate(status_id))
        found.sources.add(source)
        return found

    for status_id in await _in_network(session, viewer_id, start_id):
        add(status_id, "network")
    for status_id, count in (await _liked_in_network(session, viewer_id, start_id)).items():
        add(status_id, "liked").network_engagers = count
    near, seeds = await _near_interests(session, viewer_id, start_id,
                                        await _seed_ids(session, viewer_id, seed_start_id))
    for status_id, similarity in near.items():
        add(status_id, "similar").similarity = similarity
    for status_id in await _popular(session, viewer_id, trend_config):
        add(status_id, "popular")

    marker_id = await home_marker(session, viewer_id)
    allowed = await eligible_ids(session, candidates, viewer_id=viewer_id, marker_id=marker_id)
    return Gathered({i: c for i, c in candidates.items() if i in allowed}, seeds, marker_id)


__all__ = ["Candidate", "Gathered", "eligible", "eligible_ids", "gather", "home_marker"]

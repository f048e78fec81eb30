"""Scoring "For you" candidates: predicted engagement × recency × network, then author diversity.

X's heavy ranker scores a post by Σ weightₐ · P(member does a), with published weights (favourite
0.5, retweet 1.0, reply 13.5, good profile click 12.0, video playback 50% 0.005, reply engaged by
author 75.0, good click 11.0 / v2 10.0, negative feedback −74.0, report −369.0). Agora has no
neural model and no click logs, so each P that it *can* estimate comes from counts it keeps, each
a smoothed rate (a Beta prior of `PRIOR_STRENGTH` pseudo-observations at a base rate, so one
lucky favourite does not make a certainty):

    a_k  = (member's acts k on the author's posts, last 30 days + base_k·m) / (author's posts then + m)
    r_k  = (the post's count of k + base_k·m) / (author's followers + 1 + m)
    lift = 1 + 0.5 · min(followed accounts that favourited/boosted it, 5) + 2 · s
    P(k) = min(1, [1 − (1 − a_k)(1 − r_k)] · lift)          for k in favourite, boost, reply, bookmark

where s = max(0, (cosine to the nearest post the member engaged with − 0.2) / 0.8). Then

    P(reply engaged by author) = P(reply) · (author's replies to others + 0.1·m) / (replies they received + m)
    P(negative feedback)       = (mutes + blocks the author received) / (author's followers + those + m)
    P(report), P(profile click), P(video playback) = 0   (Agora keeps no such signal yet)

    engagement = Σ weight · P            (weights from Settings, `AGORA_FOR_YOU_WEIGHT_*`)
    score      = engagement · 0.5^(age hours / half-life) · (in-network boost if the author is followed)
                 (a negative engagement is kept as it is: it sinks below every positive score)

Author diversity, as X's `AuthorDiversityDiscountProvider`: walking the ranking best first, the
n-th post (n = 0, 1, …) of the same author is multiplied by (1 − floor) · decay^n + floor, and the
list is sorted again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agora.kit.db import sql_int, unindexed
from agora.kit.ids import first_id_at, id_to_ms, unix_ms
from agora.models import Account, Block, Bookmark, Favourite, Follow, Mute, Status
from agora.search import semantic
from agora.search.for_you_candidates import Candidate

KINDS = ("favourite", "reblog", "reply", "bookmark")
# Base rates: what share of posts a member favourites, boosts, replies to, bookmarks, with no
# evidence either way (so a post nobody has seen yet still has a small, positive score).
BASE_RATE = {"favourite": 0.05, "reblog": 0.01, "reply": 0.01, "bookmark": 0.005}
PRIOR_STRENGTH = 5.0  # m: pseudo-observations behind each base rate
REPLY_BACK_BASE = 0.1
SOCIAL_LIFT = 0.5  # per followed account that favourited or boosted the post
SOCIAL_CAP = 5
TOPIC_LIFT = 2.0
AFFINITY_LOOKBACK_DAYS = 30


@dataclass(frozen=True, slots=True)
class Weights:
    favourite: float
    reblog: float
    reply: float
    good_click: float
    reply_engaged_by_author: float
    negative: float


@dataclass(frozen=True, slots=True)
class Shape:
    """The non-engagement parts of the score."""

    halflife_hours: float
    in_network_boost: float
    author_decay: float
    author_floor: float


@dataclass(slots=True)
class Features:
    author_id: int
    followers: int
    counts: dict[str, int]  # the post's favourites, reblogs, replies, bookmarks
    in_network: bool = False
    similarity: float = 0.0


async def _post_rows(session: AsyncSession, ids: list[int]) -> dict[int, Features]:
    rows = await session.execute(
        select(Status.id, Status.account_id, Status.favourites_count, Status.reblogs_count, Status.replies_count,
               Account.followers_count).join(Account, Account.id == Status.account_id).where(Status.id.in_(ids)))
    features = {int(i): Features(int(a), int(f), {"favourite": fav, "reblog": rb, "reply": rp, "bookmark": 0})
                for i, a, fav, rb, rp, f in rows}
    bookmarks = await session.execute(select(Bookmark.status_id, func.count()).where(Bookmark.status_id.in_(ids))
                                      .group_by(Bookmark.status_id))
    for status_id, count in bookmarks:
        features[int(status_id)].counts["bookmark"] = int(count)
    return features


async def _affinity(session: AsyncSession, viewer_id: int, authors: list[int],
                    start_id: int) -> dict[tuple[int, str], int]:
    """(author, kind) -> how often the member did `kind` to that author's posts lately. One query."""
    original = aliased(Status)
    acts = union_all(
        select(Status.account_id.label("author"), sql_int(0).label("kind"))
        .join(Favourite, Favourite.status_id == Status.id)
        .where(Favourite.account_id == viewer_id, Favourite.id >= start_id, Status.account_id.in_(authors)),
        select(original.account_id, sql_int(1)).select_from(Status).join(original, original.id == Status.reblog_of_id)
        .where(Status.account_id == viewer_id, Status.id >= start_id, original.account_id.in_(authors)),
        select(Status.in_reply_to_account_id, sql_int(2))
        .where(Status.account_id == viewer_id, Status.id >= start_id, Status.in_reply_to_account_id.in_(authors)),
        select(Status.account_id, sql_int(3)).join(Bookmark, Bookmark.status_id == Status.id)
        .where(Bookmark.account_id == viewer_id, Bookmark.id >= start_id, Status.account_id.in_(authors)),
    ).subquery()
    rows = await session.execute(select(acts.c.author, acts.c.kind, func.count())
                                 .group_by(acts.c.author, acts.c.kind))
    return {(int(author), KINDS[int(kind)]): int(count) for author, kind, count in rows}


async def _author_stats(session: AsyncSession, authors: list[int], start_id: int, viewer_id: int):
    """Per author: posts lately, replies to others lately, replies received lately, mutes+blocks received."""
    posts = dict((await session.execute(
        # unindexed: SQLite would otherwise walk the (account_id, reblog_of_id) index, not (account_id, id).
        select(Status.account_id, func.count()).where(Status.account_id.in_(authors), Status.id >= start_id,
                                                      unindexed(Status.reblog_of_id).is_(None))
        .group_by(Status.account_id))).tuples().all())
    replies_given = dict((await session.execute(
        select(Status.account_id, func.count()).where(
            Status.account_id.in_(authors), Status.id >= start_id, Status.in_reply_to_account_id.is_not(None),
            Status.in_reply_to_account_id != Status.account_id)
        .group_by(Status.account_id))).tuples().all())
    # Replies to the authors' recent posts, found from those posts (indexed by author, and replies by
    # `in_reply_to_id`): the cost follows what these authors wrote, not what the whole server did.
    parent = aliased(Status)
    replies_received = dict((await session.execute(
        select(parent.account_id, func.count()).select_from(parent)
        .join(Status, Status.in_reply_to_id == parent.id)
        .where(parent.account_id.in_(authors), parent.id >= start_id, Status.account_id != parent.account_id)
        .group_by(parent.account_id))).tuples().all())
    against = union_all(
        select(Mute.target_account_id.label("target")).where(Mute.target_account_id.in_(authors),
                                                             Mute.account_id != viewer_id),
        select(Block.target_account_id).where(Block.target_account_id.in_(authors), Block.account_id != viewer_id),
    ).subquery()
    negative = dict((await session.execute(select(against.c.target, func.count())
                                           .group_by(against.c.target))).tuples().all())
    return posts, replies_given, replies_received, negative


def _topic(seeds: np.ndarray, vectors: dict[int, np.ndarray], known: dict[int, float]) -> dict[int, float]:
    """Best cosine of each candidate to the member's seeds (vectors are unit length)."""
    best = dict(known)
    if seeds.size == 0 or not vectors:
        return best
    ids = list(vectors)
    cosines = np.stack([vectors[i] for i in ids]) @ seeds.T
    for status_id, value in zip(ids, cosines.max(axis=1), strict=True):
        best[status_id] = max(best.get(status_id, 0.0), float(value))
    return best


def _rate(hits: float, trials: float, base: float) -> float:
    return min(1.0, (hits + base * PRIOR_STRENGTH) / (trials + PRIOR_STRENGTH))


async def score(session: AsyncSession, candidates: dict[int, Candidate], *, viewer_id: int, seeds: np.ndarray,
                now: datetime, weights: Weights, shape: Shape) -> list[tuple[int, float, int]]:
    """(post id, score, author id) for every candidate, best first, before author diversity."""
    ids = list(candidates)
    if not ids:
        return []
    features = await _post_rows(session, ids)
    authors = sorted({f.author_id for f in features.values()})
    start_id = first_id_at(now - timedelta(days=AFFINITY_LOOKBACK_DAYS))
    followed = set(await session.scalars(select(Follow.target_account_id).where(
        Follow.account_id == viewer_id, Follow.target_account_id.in_(authors))))
    affinity = await _affinity(session, viewer_id, authors, start_id)
    posts, replies_given, replies_received, negative = await _author_stats(session, authors, start_id, viewer_id)
    similarity = _topic(seeds, await semantic.vectors_of(session, ids) if seeds.size else {},
                        {i: c.similarity for i, c in candidates.items()})
    now_ms = unix_ms(now)
    scored = []
    for status_id, f in features.items():
        candidate = candidates[status_id]
        a = f.author_id
        s = max(0.0, (similarity.get(status_id, 0.0) - semantic.MIN_SIMILARITY) / (1 - semantic.MIN_SIMILARITY))
        lift = 1 + SOCIAL_LIFT * min(candidate.network_engagers, SOCIAL_CAP) + TOPIC_LIFT * s
        p: dict[str, float] = {}
        for kind in KINDS:
            mine = _rate(affinity.get((a, kind), 0), posts.get(a, 0), BASE_RATE[kind])
            its = _rate(f.counts[kind], f.followers + 1, BASE_RATE[kind])
            p[kind] = min(1.0, (1 - (1 - mine) * (1 - its)) * lift)
        reply_back = _rate(replies_given.get(a, 0), replies_received.get(a, 0), REPLY_BACK_BASE)
        against = negative.get(a, 0)
        p_negative = against / (f.followers + against + PRIOR_STRENGTH)
        engagement = (weights.favourite * p["favourite"] + weights.reblog * p["reblog"]
                      + weights.reply * p["reply"] + weights.good_click * p["bookmark"]
                      + weights.reply_engaged_by_author * p["reply"] * reply_back
                      + weights.negative * p_negative)
        if engagement > 0:
            age_hours = max(0.0, (now_ms - id_to_ms(status_id)) / 3_600_000)
            engagement *= 0.5 ** (age_hours / shape.halflife_hours) if shape.halflife_hours > 0 else 1.0
            if a in followed:
                engagement *= shape.in_network_boost
        scored.append((status_id, engagement, a))
    scored.sort(key=lambda item: (-item[1], -item[0]))
    return scored


def diversify(scored: list[tuple[int, float, int]], shape: Shape) -> list[int]:
    """Each further post by an author counts less: (1 − floor)·decay^n + floor, then sort again."""
    seen: dict[int, int] = defaultdict(int)
    rescored = []
    for status_id, value, author in scored:
        n = seen[author]
        seen[author] += 1
        factor = (1 - shape.author_floor) * shape.author_decay ** n + shape.author_floor
        # A negative score is divided, not multiplied: a further post by the author sinks lower still.
        rescored.append((status_id, value * factor if value > 0 else value / factor))
    rescored.sort(key=lambda item: (-item[1], -item[0]))
    return [status_id for status_id, _ in rescored]


__all__ = ["Shape", "Weights", "diversify", "score"]

"""Hybrid post search: the keyword ranking and the meaning ranking, fused into one list.

Fusion is reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): a post's score is

    score(p) = Σ over the two lists  w_list / (k + rank_list(p))        (rank from 1; absent: 0)

with k = 60, the value of the paper, which damps the head of each list so that one list's first
place does not drown the other's. RRF uses ranks only, never the raw scores, because bm25 /
ts_rank_cd and cosine similarity live on scales that cannot be compared (and bm25's differs between
SQLite and PostgreSQL). Both lists weigh the same (w = 1); the relevance evaluation over the demo
community (tests/search/test_relevance.py, docs/search.md) is what that choice was measured against.

Ties (equal fused scores: e.g. first place in one list only and first place in the other list only)
are broken, as documented in docs/search.md, by
  1. recency — the UTC day the post was written, newer first (a day, not the second, so that the
     next tie-breaker has something to do), then
  2. engagement — favourites + boosts + replies, more first, then
  3. the id, newer first (ids are time-ordered snowflakes), so the order is total and stable.

What each mode does with a parsed query (`query.parse`):
- words or phrases: `lexical` ranks by bm25 / ts_rank_cd; `semantic` ranks by cosine similarity to
  `SearchQuery.text` (the words without operators); `hybrid` fuses the two.
- filters (`from:`, `#tag`, `since:`, `until:`, `lang:`, and the API's `account_id`, `max_id`,
  `min_id`) hold for every mode: the semantic candidates are filtered by the same SQL conditions the
  keyword search uses, in the same query that checks the viewer may see them.
- only filters, no words (`from:alice`, `#cats since:2026-12-01`): there is nothing to mean, so
  the semantic side is skipped whatever the mode, and the result is the matching posts, newest first.
- quoted phrases: a post found by meaning must also contain each phrase (quotes ask for exact words).
- `sort="latest"`: the same matches (the best 1,000 of each side), newest first, instead of best first.

Every list is already filtered to what the viewer may find (`lexical.discoverable_posts`), and
reading it again here would add nothing: privacy is the two rankers' job, and both share one rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Literal

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.models import Status
from agora.search import lexical, semantic
from agora.search.lexical import query_filters
from agora.search.query import SearchQuery, parse
from agora.search.vectors import VectorIndex

Mode = Literal["hybrid", "lexical", "semantic"]
Sort = Literal["top", "latest"]
MODES: tuple[Mode, ...] = ("hybrid", "lexical", "semantic")
SORTS: tuple[Sort, ...] = ("top", "latest")

RRF_K = 60
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 1.0
# How deep each list is read before fusing for `top`: the same for every page, because the fused
# order depends on the depth (a post at keyword rank 105 scores more when read 120 deep than 100
# deep), so a depth that grew with the offset would repeat or skip posts between pages. `top` is
# therefore the best TOP_DEPTH posts; `latest` reads deeper. A small approximation besides: a post
# just below rank 200 in *both* lists would have outranked one found by one list only from about
# rank 60 down; both lists agreeing that deep is rare.
TOP_DEPTH = 200
# Also what `latest` orders: the best 1,000 matches of each side, newest first (a search, not an export).
MAX_DEPTH = 1000
LEXICAL_PAGE = lexical.MAX_LIMIT  # the lexical module serves at most this many per call


def has_text(query: SearchQuery) -> bool:
    """Words or phrases to rank by (operators alone only filter)."""
    return bool(lexical.text_parts(query))


def rrf(rankings: Sequence[tuple[Sequence[int], float]], *, k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion of (ids best first, weight) lists: id -> fused score."""
    scores: dict[int, float] = {}
    for ids, weight in rankings:
        for rank, status_id in enumerate(ids, start=1):
            scores[status_id] = scores.get(status_id, 0.0) + weight / (k + rank)
    return scores


async def _tie_breakers(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[date, int]]:
    """(day written, engagement) of each post, for breaking ties between equal fused scores."""
    if not ids:
        return {}
    engagement = Status.favourites_count + Status.reblogs_count + Status.replies_count
    rows = await session.execute(select(Status.id, Status.created_at, engagement).where(Status.id.in_(list(ids))))
    return {status_id: (created.date(), int(engaged or 0)) for status_id, created, engaged in rows}


async def _lexical_ids(session: AsyncSession, query: SearchQuery, *, viewer_id: int | None, depth: int,
                       account_id: int | None, max_id: int | None, min_id: int | None) -> list[int]:
    """The lexical ranking's first `depth` ids, read in pages of what the module serves at once."""
    found: list[int] = []
    while len(found) < depth:
        want = min(LEXICAL_PAGE, depth - len(found))
        page = await lexical.search_status_ids(session, query, viewer_id=viewer_id, limit=want, offset=len(found),
                                               account_id=account_id, max_id=max_id, min_id=min_id)
        found.extend(page)
        if len(page) < want:
            break
    return found


def _semantic_conditions(query: SearchQuery, *, account_id: int | None, max_id: int | None,
                         min_id: int | None) -> list[ColumnElement[bool]]:
    """The query's filters as SQL on `Status`, the same the keyword search applies."""
    conditions = query_filters(query, text_match=False)
    if account_id is not None:
        conditions.append(Status.account_id == account_id)
    if max_id is not None:
        conditions.append(Status.id < max_id)
    if min_id is not None:
        conditions.append(Status.id > min_id)
    return conditions


async def search_statuses(
    session: AsyncSession, q: str | SearchQuery, *, viewer_id: int | None, limit: int, offset: int = 0,
    mode: Mode = "hybrid", sort: Sort = "top", account_id: int | None = None, max_id: int | None = None,
    min_id: int | None = None, index: VectorIndex | None = None,
) -> list[int]:
    """Ids of the posts matching `q` that the viewer may find, best first (`top`) or newest first
    (`latest`). Raises `query.BadQuery` (422) for malformed syntax; an empty query finds nothing.

    `index`: the ANN index to use (defaults to this process's index for the session's database)."""
    if mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r}")
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    query = q if isinstance(q, SearchQuery) else parse(q)
    limit = max(1, min(limit, lexical.MAX_LIMIT))
    offset = max(0, min(offset, lexical.MAX_OFFSET))
    if query.is_empty and account_id is None:
        return []
    paging = dict(account_id=account_id, max_id=max_id, min_id=min_id)

    if not has_text(query):  # filters only: no meaning to rank by; the filtered posts, newest first
        return await lexical.search_status_ids(session, query, viewer_id=viewer_id, limit=limit, offset=offset,
                                               **paging)

    if mode == "lexical" and sort == "top":  # one ranking, nothing to fuse: the page as keyword search pages
        return await lexical.search_status_ids(session, query, viewer_id=viewer_id, limit=limit, offset=offset,
                                               **paging)
    depth = MAX_DEPTH if sort == "latest" else TOP_DEPTH
    keyword = (await _lexical_ids(session, query, viewer_id=viewer_id, depth=depth, **paging)
               if mode in ("hybrid", "lexical") else [])
    meaning: list[int] = []
    if mode in ("hybrid", "semantic") and query.text.strip():
        found = await semantic.search_status_ids(session, query.text, viewer_id=viewer_id, limit=depth,
                                                 conditions=_semantic_conditions(query, **paging), index=index)
        meaning = [status_id for status_id, _ in found]
        if query.phrases and meaning:
            # Quotes mean "these words, together": posts near in meaning qualify only if they have them.
            with_phrases = await _lexical_ids(session, replace(query, terms=[]), viewer_id=viewer_id,
                                              depth=MAX_DEPTH, **paging)
            allowed = set(with_phrases)
            meaning = [status_id for status_id in meaning if status_id in allowed]

    if sort == "latest":
        return sorted(set(keyword) | set(meaning), reverse=True)[offset:offset + limit]
    if mode == "semantic":
        return meaning[offset:offset + limit]

    ties = await _tie_breakers(session, list(dict.fromkeys([*keyword, *meaning])))
    return fuse(keyword, meaning, ties)[offset:offset + limit]


def fuse(keyword: Sequence[int], meaning: Sequence[int], ties: dict[int, tuple[date, int]]) -> list[int]:
    """The two rankings fused by RRF, ties broken by (day written, engagement, id), all descending."""
    scores = rrf([(keyword, LEXICAL_WEIGHT), (meaning, SEMANTIC_WEIGHT)])
    return sorted(scores, key=lambda i: (-scores[i], *_descending(ties.get(i)), -i))


def _descending(tie: tuple[date, int] | None) -> tuple[int, int]:
    """Sort keys for 'newer day first, then more engagement first'."""
    if tie is None:  # deleted between ranking and now: last among equals
        return (0, 0)
    day, engagement = tie
    return (-day.toordinal(), -engagement)

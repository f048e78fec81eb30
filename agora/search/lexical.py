"""Keyword search: posts (ranked by bm25 / ts_rank_cd), accounts (by name prefix) and hashtags.

Every result is already filtered to what the viewer may see, with the same rule every other read
path uses (`social.visibility.visible_to`), and then narrowed further for discovery, as Mastodon does:

- others' `unlisted` posts are not found (unlisted means "visible, but not in discovery");
- authors the viewer blocked, was blocked by, or muted are left out;
- a member with `indexable = False` is never found by others' full-text search (they find their own);
- account search leaves out members with `discoverable = False` (except oneself), and blocks.

The FTS expression is built here from tokens (see `tokenize.py`), never from what was typed: every
word is a quoted phrase, and tokens cannot contain quotes or operators, so `NEAR(`, `*`, `text:foo`,
`) OR (` are searched as words (or ignored), never executed.

Chinese, Japanese and other space-less scripts: indexed as character bigrams plus single characters
on both databases (the tokenizer does it), so "公园" finds "我们今天去公园" on SQLite and PostgreSQL
alike, with no extension needed (pg_trgm would not help with two-character words, which are most
Chinese words, and FTS5's trigram tokenizer has the same limit).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    any_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import column, table

from agora.accounts.service import hidden_accounts
from agora.kit.db import unindexed
from agora.kit.http import MAX_OFFSET  # deeper than anyone pages: keeps a request from sorting the whole index
from agora.kit.ids import first_id_at
from agora.models import Account, Status, StatusTag, Tag
from agora.search.indexing import is_sqlite, quote_lexeme
from agora.search.query import MAX_QUERY_CHARS, BadQuery, SearchQuery
from agora.search.tokenize import query_tokens, runs
from agora.social.visibility import blocked_either_way, followed_by, not_muted, visible_to

# The index tables (migration 0006) as SQL sees them; only the columns we join on and rank by.
STATUS_FTS = table("status_fts", column("rowid"))
STATUS_SEARCH = table("status_search", column("status_id"), column("document"))
MAX_LIMIT = 100
# PostgreSQL ranks only this many visible matches, the newest (see `_ranked_candidates`). Measured at
# 1,000,000 posts (docs/search.md): p50 12 ms at 2,000 or 5,000 (mean 23 vs 27 ms), but the top 20
# equals a full ranking for 88% of queries at 5,000 against 79% at 2,000 and 62% at 1,000. At least
# hybrid's MAX_DEPTH (1,000), so fusion and `sort=latest` read as deep as before.
CANDIDATES = 5000


def _page(limit: int, offset: int) -> tuple[int, int]:
    return max(1, min(limit, MAX_LIMIT)), max(0, min(offset, MAX_OFFSET))


def text_parts(query: SearchQuery) -> list[list[str]]:
    """Each term and phrase as its tokens; one that has no letters or digits drops out."""
    parts = [query_tokens(piece) for piece in [*query.terms, *query.phrases]]
    return [p for p in parts if p]


def fts5_expression(parts: list[list[str]]) -> str:
    """`"tok tok" AND "tok"`: each part a quoted phrase (adjacent tokens, in order)."""
    return " AND ".join('"' + " ".join(t.replace('"', '""') for t in part) + '"' for part in parts)


def tsquery_expression(parts: list[list[str]]) -> str:
    """`('tok' <-> 'tok') & 'tok'`: the same meaning as `fts5_expression`, for PostgreSQL."""
    return " & ".join("(" + " <-> ".join(quote_lexeme(t) for t in part) + ")" for part in parts)


def _day_start_id(day: date) -> int:
    """The smallest id a post made on `day` (UTC) can have."""
    return first_id_at(datetime.combine(day, time.min, tzinfo=UTC))


def discoverable_posts(viewer_id: int | None) -> ColumnElement[bool]:
    """Posts the viewer may see *and* that search may surface to them."""
    own = Status.account_id == viewer_id if viewer_id is not None else None
    # Opting out is rare: checking against the few who did is cheaper than listing everyone else.
    indexable_author = Status.account_id.not_in(select(Account.id).where(Account.indexable.is_(False)))
    conditions = [
        visible_to(viewer_id),
        not_muted(viewer_id),
        Status.reblog_of_id.is_(None),
        or_(own, Status.visibility != "unlisted") if own is not None else Status.visibility != "unlisted",
        or_(own, indexable_author) if own is not None else indexable_author,
    ]
    return and_(*conditions)


def query_filters(query: SearchQuery, *, text_match: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.from_users:
        # With words to match, the index drives the query and each hit is checked by primary key;
        # left to itself SQLite would rather walk the author's posts once per hit.
        author = unindexed(Status.account_id) if text_match else Status.account_id
        conditions.append(author.in_(
            select(Account.id).where(Account.username_key.in_(query.from_users))))
    for tag in query.tags:  # every tag must be on the post
        conditions.append(Status.id.in_(
            select(StatusTag.status_id).join(Tag, Tag.id == StatusTag.tag_id).where(Tag.name_key == tag)))
    # Dates as id bounds: a post's id is its creation time (snowflake), and the primary key, unlike
    # created_at, is indexed — `until:2000-01-01` alone must not scan every post to find none.
    if query.since is not None:
        conditions.append(Status.id >= _day_start_id(query.since))
    if query.until is not None:
        conditions.append(Status.id < _day_start_id(query.until))
    if query.lang is not None:  # lang:zh finds zh and zh-CN; lang:zh-cn only zh-CN
        language = func.lower(Status.language)
        conditions.append(or_(language == query.lang, language.like(f"{query.lang}-%")))
    return conditions


async def search_status_ids(session: AsyncSession, query: SearchQuery, *, viewer_id: int | None, limit: int,
                            offset: int = 0, account_id: int | None = None, max_id: int | None = None,
                            min_id: int | None = None) -> list[int]:
    """Ids of posts matching `query` that the viewer may find, best match first (newest first when
    the query has only filters). An empty query finds nothing.

    `account_id`, `max_id`, `min_id` are Mastodon's /api/v2/search parameters: only this author's
    posts; only posts older than `max_id` / newer than `min_id` (ids are time-ordered snowflakes)."""
    limit, offset = _page(limit, offset)
    parts = text_parts(query)
    filters = query_filters(query, text_match=bool(parts))
    if account_id is not None:
        filters.append((unindexed(Status.account_id) if parts else Status.account_id) == account_id)
    if max_id is not None:
        filters.append(Status.id < max_id)
    if min_id is not None:
        filters.append(Status.id > min_id)
    if not parts and not filters:
        return []
    statement: Select = select(Status.id).where(discoverable_posts(viewer_id), *filters)
    if not parts:
        statement = statement.order_by(Status.id.desc())
    elif await is_sqlite(session):
        fts = literal_column("status_fts")  # FTS5 names the table itself in MATCH and bm25()
        statement = (statement.join(STATUS_FTS, STATUS_FTS.c.rowid == Status.id)
                     .where(fts.op("MATCH")(fts5_expression(parts)))
                     .order_by(func.bm25(fts), Status.id.desc()))  # bm25: lower is better
    else:
        statement = _ranked_candidates(statement, parts, deepest=offset + limit)
    return list(await session.scalars(statement.limit(limit).offset(offset)))


def _ranked_candidates(visible: Select, parts: list[list[str]], *, deepest: int) -> Select:
    """PostgreSQL: the newest `CANDIDATES` visible matches, best ranked first.

    Every filter is in `visible` and so applies before the cut: the candidates are all posts the
    viewer may find. Ranking only those keeps `ts_rank_cd` (which reads each post's whole tsvector)
    off the hundreds of thousands of posts a common word matches; a word that matches fewer posts
    than `CANDIDATES` (most searches) is ranked over every match, exactly as before. A page deeper
    than the cut (`deepest` = offset + limit) widens it, so paging never runs dry early."""
    tsquery = cast(literal(tsquery_expression(parts)), TSQUERY)
    document = STATUS_SEARCH.c.document
    # The matches as one array (an InitPlan over the GIN index), not a join: joined, the planner
    # charges the visibility sub-queries to every probe of a nested loop and hash-joins against a
    # sequential scan of all posts instead (~300 ms at a million). With `id = ANY(array)` it walks
    # the primary key backwards through the matches, filtering, and stops at CANDIDATES.
    matches = select(func.array_agg(STATUS_SEARCH.c.status_id)).where(document.op("@@")(tsquery))
    candidates = (visible.where(Status.id == any_(cast(matches.scalar_subquery(), ARRAY(BigInteger))))
                  .order_by(Status.id.desc()).limit(max(CANDIDATES, deepest)).subquery("candidates"))
    # Normalisation 1 divides by 1 + log(length): like bm25, a short post about the word beats a
    # long one that mentions it once.
    rank = func.ts_rank_cd(document, tsquery, 1)
    return (select(candidates.c.id).join(STATUS_SEARCH, STATUS_SEARCH.c.status_id == candidates.c.id)
            .order_by(rank.desc(), candidates.c.id.desc()))


def _account_text(raw: str) -> str:
    if len(raw) > MAX_QUERY_CHARS:
        raise BadQuery(f"The search is too long: at most {MAX_QUERY_CHARS} characters")
    q = " ".join(raw.replace("\x00", " ").split())
    if q.startswith("@"):  # @mara or @mara@example.org: the local part is the username
        q = q[1:].split("@", 1)[0]
    return q


async def search_account_ids(session: AsyncSession, text: str, *, viewer_id: int | None, limit: int,
                             offset: int = 0, following: bool = False) -> list[int]:
    """Members whose username or display name starts with `text` (or a word of the display name
    does), or whose bio contains it. Best first: exact username, username prefix, display name,
    bio; then the most followed. `following` keeps only members the viewer follows."""
    limit, offset = _page(limit, offset)
    q = _account_text(text)
    if not q or (following and viewer_id is None):
        return []
    key = q.lower()
    username_exact = Account.username_key == key
    username_prefix = Account.username_key.startswith(key, autoescape=True)
    if any(spaceless for _, spaceless in runs(q)):  # "小明" is part of "王小明": no spaces to start at
        name_prefix = Account.display_name.contains(q, autoescape=True)
    else:
        name_prefix = or_(Account.display_name.istartswith(q, autoescape=True),
                          Account.display_name.icontains(" " + q, autoescape=True))
    in_bio = Account.note.icontains(q, autoescape=True)
    own = Account.id == viewer_id if viewer_id is not None else None
    conditions = [
        or_(username_prefix, name_prefix, in_bio),
        Account.id.not_in(hidden_accounts()),
        or_(own, Account.discoverable) if own is not None else Account.discoverable,
    ]
    if viewer_id is not None:
        conditions.append(Account.id.not_in(blocked_either_way(viewer_id)))
    if following:
        conditions.append(Account.id.in_(followed_by(viewer_id)))
    rank = case((username_exact, 0), (username_prefix, 1), (name_prefix, 2), else_=3)
    statement = (select(Account.id).where(*conditions)
                 .order_by(rank, Account.followers_count.desc(), Account.id).limit(limit).offset(offset))
    return list(await session.scalars(statement))


async def search_tag_names(session: AsyncSession, text: str, *, limit: int, offset: int = 0) -> list[str]:
    """Hashtags starting with `text` (a leading '#' is ignored), as first written: an exact match
    first, then the most used. Only tags on at least one public post are offered, so a tag used
    only in private posts or DMs is never revealed."""
    limit, offset = _page(limit, offset)
    key = _account_text(text).lstrip("#").casefold()
    if not key or not key.replace("_", "a").isalnum():
        return []
    public_use = (StatusTag.tag_id == Tag.id, Status.visibility == "public",
                  Status.account_id.not_in(hidden_accounts()))
    used = exists(select(StatusTag.status_id).join(Status, Status.id == StatusTag.status_id)
                  .where(*public_use).correlate(Tag))
    uses = (select(func.count()).select_from(StatusTag).join(Status, Status.id == StatusTag.status_id)
            .where(*public_use).correlate(Tag).scalar_subquery())
    statement = (select(Tag.name).where(Tag.name_key.startswith(key, autoescape=True), used)
                 .order_by(case((Tag.name_key == key, 0), else_=1), uses.desc(), Tag.name_key)
                 .limit(limit).offset(offset))
    return list(await session.scalars(statement))

"""Retrieval: the posts a question is about, among those the asker may see.

Everything goes through `agora.search.hybrid.search_statuses` with `viewer_id=asker_id`, so the
assistant sees exactly what the asker could find with the search box: posts visible to them (public,
or followers-only of someone they follow, or their own), never a deleted post, a boost, a direct
message, an author they blocked, were blocked by or muted, or a member who opted out of search
(`indexable = False`). Chat messages are not searched at all. Nothing here widens that.

The question is searched as one `SearchQuery`: its content words (question words and other stop
words dropped, at most MAX_TERMS) for the keyword side, the whole question for the meaning side.
The keyword side wants every word, so a long question often finds nothing there and the meaning side
carries it; a second, keyword-light search (the MAX_TERMS_NARROW rarest-looking, i.e. longest, words)
recovers posts that share the question's main words but not all of them.

Threads: a question is often answered in the replies to a post that asked the same thing ("Which bus
goes to the Old Wharf?" → "@demo Number 7 from stand C"), and a reply rarely repeats the question's
words. So the replies to the retrieved posts are read too (at most MAX_REPLIES, under the same
discovery rule, `lexical.discoverable_posts`), and each reply carries its parent's text as context
for scoring (only when the asker may find the parent too); the context is never quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.service import profile_url
from agora.config import Settings
from agora.kit.time import iso
from agora.models import Account, Status
from agora.search.hybrid import search_statuses
from agora.search.lexical import discoverable_posts
from agora.search.query import SearchQuery
from agora.social import statuses
from agora.social.visibility import PUBLICLY_READABLE

from .text import content_words

MAX_TERMS = 8  # the keyword side wants all of them: more would rarely find anything
MAX_TERMS_NARROW = 2
MAX_QUESTION_CHARS_FOR_SEARCH = 500  # the embedding model reads ~256 word pieces anyway
RETRIEVE_LIMIT = 20  # posts per search; the composer reads their sentences
MAX_REPLIES = 24  # replies to the retrieved posts, read as candidates too


@dataclass(frozen=True, slots=True)
class Source:
    """A retrieved post, as the assistant reads and cites it."""

    status_id: int
    text: str  # the source as typed (no HTML)
    acct: str
    url: str
    created_at: str
    rank: int  # 0 = the search's best
    context: str = ""  # the text of the post this one replies to, for scoring only (never quoted)


def readable_by_assistant(account: Account) -> bool:
    """Whether the assistant may read (and so cite) this member's posts.

    Bots are never cited — the assistant's own replies included, so it cannot quote itself back as a
    source. A member who turned off "Let the assistant read and cite my posts" (`ai_reading`) is
    never read either: their posts are neither quoted, cited nor used as a reply's context."""
    return not account.bot and account.ai_reading


def search_query(question: str) -> SearchQuery:
    """The question as a search: content words for the keyword side, the whole text for meaning.

    Built directly (not parsed), so that nothing in a question is taken as search syntax: a colon
    or a quote in a question is just text, and a question is never a malformed query."""
    words = content_words(question)[:MAX_TERMS]
    return SearchQuery(terms=words, text=" ".join(question.split())[:MAX_QUESTION_CHARS_FOR_SEARCH])


async def retrieve(session: AsyncSession, *, asker_id: int, question: str, settings: Settings,
                   limit: int = RETRIEVE_LIMIT, public_only: bool = False) -> list[Source]:
    """The posts best matching the question that the asker may see and the assistant may read; with
    `public_only`, only public and unlisted ones (an answer that others than the asker will read)."""
    query = search_query(question)
    if not query.terms and not query.text.strip():
        return []
    ids = await search_statuses(session, query, viewer_id=asker_id, limit=limit, mode="hybrid")
    if len(query.terms) > MAX_TERMS_NARROW:
        narrow = sorted(query.terms, key=len, reverse=True)[:MAX_TERMS_NARROW]
        more = await search_statuses(session, SearchQuery(terms=narrow, text=query.text), viewer_id=asker_id,
                                     limit=limit, mode="hybrid")
        ids = list(dict.fromkeys([*ids, *more]))
    replies = list(await session.scalars(
        select(Status.id).where(Status.in_reply_to_id.in_(ids), Status.id.not_in(ids), discoverable_posts(asker_id),
                                Status.visibility != "direct")
        .order_by(Status.id).limit(MAX_REPLIES)))
    found = await statuses.load(session, ids=[*ids, *replies])
    parents = await _parent_texts(session, found, asker_id=asker_id)
    sources: list[Source] = []
    for rank, status in enumerate(found):
        # Direct posts are private correspondence: never a source, even for someone they were sent to
        # (an answer lands in the audit log, and may go to an upstream model server).
        if status.reblog_of_id is not None or status.visibility == "direct" \
                or (public_only and status.visibility not in PUBLICLY_READABLE) \
                or not readable_by_assistant(status.account):
            continue
        text = status.text.strip()
        if not text:
            continue
        sources.append(Source(
            status_id=status.id, text=text, acct=status.account.username,
            url=f"{profile_url(settings, status.account.username)}/{status.id}",
            created_at=iso(status.created_at) or "", rank=rank,
            context=parents.get(status.in_reply_to_id or 0, "")))
    return sources


async def _parent_texts(session: AsyncSession, found: list[Status], *, asker_id: int) -> dict[int, str]:
    """id -> text of the posts these reply to, among those the asker may find and the assistant may
    read (the same rule as `readable_by_assistant`, in SQL: a context is read, if never quoted)."""
    wanted = {s.in_reply_to_id for s in found if s.in_reply_to_id is not None}
    if not wanted:
        return {}
    # Opting out is rare, as are bots: checking against those few is cheaper than listing everyone else.
    unreadable = select(Account.id).where(or_(Account.ai_reading.is_(False), Account.bot.is_(True)))
    rows = await session.execute(select(Status.id, Status.text).where(
        Status.id.in_(wanted), discoverable_posts(asker_id), Status.visibility != "direct",
        Status.account_id.not_in(unreadable)))
    return {status_id: text for status_id, text in rows}

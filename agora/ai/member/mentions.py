"""Mentions: a member writes "@assistant …" in a post; the assistant replies in the thread.

The reply's audience is never wider than the mention's: a public or unlisted mention gets a reply of
the same visibility, answered from public and unlisted posts only (everyone may read it); a
followers-only or direct mention gets a direct reply to the asker alone, answered from everything
the asker may see. A payment request always gets a direct reply: a draft is the asker's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.ai.assistant import MAX_QUESTION_CHARS, Answer, Reading, Ready
from agora.ai.assistant.followup import standalone_question
from agora.ai.assistant.generative import EngineLike
from agora.config import Settings
from agora.kit.db import Database
from agora.kit.errors import AgoraError
from agora.models import Account, Mention, Status
from agora.models.ai import STATUS
from agora.social import statuses
from agora.social.visibility import PUBLICLY_READABLE

from . import drafts
from .answering import read_for
from .claims import answer_once, unclaimed, window_start
from .earlier import earlier_in_thread
from .intents import payment_intent, without_mention
from .replies import fit


@dataclass(frozen=True, slots=True)
class Planned:
    asker_id: int
    asker: str  # the username the reply starts with
    question: str
    reading: Reading
    visibility: str
    surface: str = "mention"


async def pending(session: AsyncSession, *, assistant_id: int, limit: int) -> list[int]:
    """Posts mentioning the assistant, recent and not yet answered, oldest first."""
    reply, claimed = unclaimed(STATUS, Mention.status_id)
    rows = await session.scalars(
        select(Mention.status_id).join(Status, Status.id == Mention.status_id).outerjoin(reply, claimed)
        .where(Mention.account_id == assistant_id, Mention.status_id >= window_start(),
               Status.account_id != assistant_id, Status.reblog_of_id.is_(None), reply.id.is_(None))
        .order_by(Mention.status_id).limit(limit))
    return list(rows)


async def plan(session: AsyncSession, *, status_id: int, assistant: Account, settings: Settings) -> Planned | None:
    """What the assistant read to answer this mention (None: it says nothing — e.g. it may not see it)."""
    try:
        status = await statuses.get_visible(session, status_id=status_id, viewer_id=assistant.id)
    except AgoraError:
        return None
    asker = status.account
    if asker.bot:  # bots do not talk to bots: no reply loops
        return None
    question = without_mention(status.text, assistant.username)
    intent = payment_intent(question, settings.currencies)
    if intent is not None:
        answer, _ = await drafts.prepare(session, asker_id=asker.id, intent=intent, settings=settings,
                                         assistant_id=assistant.id)
        reading: Reading = Ready(answer)
        visibility = "direct"
    else:
        public = status.visibility in PUBLICLY_READABLE
        earlier = await earlier_in_thread(session, status=status, assistant=assistant.username, public=public)
        question = standalone_question(question, earlier, max_chars=MAX_QUESTION_CHARS)  # as read and audited
        reading = await read_for(session, asker_id=asker.id, question=question, settings=settings, public_only=public)
        visibility = status.visibility if public else "direct"
    return Planned(asker.id, asker.username, question, reading, visibility)


async def answer_mention(db: Database, *, status_id: int, assistant_id: int, settings: Settings,
                         engine: EngineLike | None) -> bool:
    """Answer one mention, exactly once. True if this call claimed it (replied or decided not to)."""

    async def planning(session: AsyncSession, assistant: Account) -> Planned | None:
        return await plan(session, status_id=status_id, assistant=assistant, settings=settings)

    async def deliver(session: AsyncSession, assistant: Account, planned: Planned, answer: Answer) -> int:
        text = fit(f"@{planned.asker} ", answer.text, answer, settings.max_status_chars)
        reply = await statuses.create(session, author=assistant, settings=settings, draft=statuses.Draft(
            text=text, visibility=planned.visibility, in_reply_to_id=status_id, application_name="Agora assistant"))
        return reply.id

    return await answer_once(db, kind=STATUS, source_id=status_id, assistant_id=assistant_id, settings=settings,
                             engine=engine, plan=planning, deliver=deliver)

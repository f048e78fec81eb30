"""Chats: the assistant answers in a direct chat with it, and in a group when a message mentions it.

A direct chat is read only by the asker, so the answer draws on everything the asker may see. A group
is read by all its members, so an answer there draws on public and unlisted posts only, and a
summary quotes only messages every current member may read (summary.py). A payment draft is never
shown in a group: it goes to the asker's direct chat with the assistant, and the group is told so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agora.ai.assistant import MAX_QUESTION_CHARS, Answer, Reading, Ready
from agora.ai.assistant.followup import standalone_question
from agora.ai.assistant.generative import EngineLike
from agora.chat import conversations, messages
from agora.config import Settings
from agora.kit.db import Database
from agora.models import Account, ChatMessage, Conversation, ConversationMember
from agora.models.ai import CHAT_MESSAGE
from agora.models.chat import RECEIVING_STATES

from . import drafts, summary
from .answering import read_for
from .claims import answer_once, unclaimed, window_start
from .earlier import earlier_in_chat
from .intents import mentions, payment_intent, wants_summary, without_mention
from .replies import fit

SUMMARY_IN_GROUPS = "I summarise what you missed in a group: ask me there (mention me)."
DRAFT_SENT_PRIVATELY = "I sent your payment draft to our direct chat: payment drafts are yours alone."
ANSWERED_PRIVATELY = "I answered your payment request in our direct chat."


@dataclass(frozen=True, slots=True)
class Planned:
    asker_id: int
    question: str
    reading: Reading
    surface: str
    prefix: str  # "@asker " in a group, so the answer is seen to be theirs
    conversation_id: int | None  # None: the asker's direct chat with the assistant
    reply_to_id: int | None
    group_note: str | None = None  # said in the group when the answer went to the direct chat


async def pending(session: AsyncSession, *, assistant_id: int, username: str, limit: int) -> list[int]:
    """Messages to the assistant (any in a direct chat with it, mentions in groups), not yet answered."""
    reply, claimed = unclaimed(CHAT_MESSAGE, ChatMessage.id)
    rows = await session.scalars(
        select(ChatMessage.id)
        .join(ConversationMember, and_(ConversationMember.conversation_id == ChatMessage.conversation_id,
                                       ConversationMember.account_id == assistant_id,
                                       ConversationMember.state.in_(RECEIVING_STATES),
                                       ChatMessage.seq >= ConversationMember.since_seq))
        .join(Conversation, Conversation.id == ChatMessage.conversation_id)
        .outerjoin(reply, claimed)
        .where(ChatMessage.id >= window_start(), ChatMessage.account_id != assistant_id,
               ChatMessage.kind == "text", ChatMessage.deleted_at.is_(None), reply.id.is_(None),
               or_(Conversation.kind == "direct", ChatMessage.text.ilike(f"%@{username}%")))
        .order_by(ChatMessage.id).limit(limit))
    return list(rows)


async def plan(session: AsyncSession, *, message_id: int, assistant: Account, settings: Settings) -> Planned | None:
    """What the assistant read to answer this message (None: it says nothing)."""
    message = await session.scalar(select(ChatMessage).options(selectinload(ChatMessage.account))
                                   .where(ChatMessage.id == message_id))
    if message is None or message.deleted_at is not None or message.account.bot:
        return None
    conversation = await session.get_one(Conversation, message.conversation_id)
    group = conversation.kind == "group"
    if group and not mentions(message.text, assistant.username):
        return None  # "@assistant_fan" matched the search, not a mention
    asker = message.account
    question = without_mention(message.text, assistant.username)
    prefix = f"@{asker.username} " if group else ""

    def planned(reading: Reading, surface: str, *, private: bool = False, note: str | None = None,
                asked: str = question) -> Planned:
        return Planned(asker.id, asked, reading, surface, "" if private else prefix,
                       None if private else conversation.id, None if private else message.id,
                       f"{prefix}{note}" if note else None)

    intent = payment_intent(question, settings.currencies)
    if intent is not None:
        answer, drafted = await drafts.prepare(session, asker_id=asker.id, intent=intent, settings=settings,
                                               assistant_id=assistant.id)
        if group:  # a draft, or a refusal that could reveal a block: only the asker sees it
            return planned(Ready(answer), "chat", private=True,
                           note=DRAFT_SENT_PRIVATELY if drafted else ANSWERED_PRIVATELY)
        return planned(Ready(answer), "chat")
    if wants_summary(question):
        if not group:
            return planned(Ready(Answer(text=SUMMARY_IN_GROUPS)), "chat")
        missed = await summary.missed_messages(session, asker_id=asker.id, assistant_id=assistant.id, asked=message)
        return planned(Ready(summary.summarise(missed)), "summary")
    earlier = await earlier_in_chat(session, message=message, assistant=assistant.username, group=group)
    asked = standalone_question(question, earlier, max_chars=MAX_QUESTION_CHARS)  # as it is read and audited
    reading = await read_for(session, asker_id=asker.id, question=asked, settings=settings, public_only=group)
    return planned(reading, "chat", asked=asked)


async def _send(session: AsyncSession, *, assistant: Account, conversation_id: int, text: str,
                reply_to_id: int | None, client_id: str, settings: Settings) -> ChatMessage:
    sent, _ = await messages.send(session, sender_id=assistant.id, conversation_id=conversation_id, settings=settings,
                                  draft=messages.Draft(text=text, client_id=client_id, reply_to_id=reply_to_id))
    return sent


async def answer_message(db: Database, *, message_id: int, assistant_id: int, settings: Settings,
                         engine: EngineLike | None) -> bool:
    """Answer one chat message, exactly once. True if this call claimed it."""

    async def planning(session: AsyncSession, assistant: Account) -> Planned | None:
        return await plan(session, message_id=message_id, assistant=assistant, settings=settings)

    async def deliver(session: AsyncSession, assistant: Account, planned: Planned, answer: Answer) -> int:
        target = planned.conversation_id
        if target is None:
            target = (await conversations.start_direct(session, starter=assistant, other_id=planned.asker_id)).id
        text = fit(planned.prefix, answer.text, answer, settings.max_chat_message_chars)
        reply = await _send(session, assistant=assistant, conversation_id=target, text=text,
                            reply_to_id=planned.reply_to_id, client_id=f"assistant-{message_id}", settings=settings)
        if planned.group_note is not None:
            original = await session.get_one(ChatMessage, message_id)
            await _send(session, assistant=assistant, conversation_id=original.conversation_id,
                        text=planned.group_note, reply_to_id=message_id,
                        client_id=f"assistant-note-{message_id}", settings=settings)
        return reply.id

    return await answer_once(db, kind=CHAT_MESSAGE, source_id=message_id, assistant_id=assistant_id,
                             settings=settings, engine=engine, plan=planning, deliver=deliver)

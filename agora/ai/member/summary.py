""""Summarise what I missed" in a group chat: an extractive digest of the messages since the asker
last read, quoting the most informative ones with author and time, with counts.

Since when: the asker's read position *before* they asked. Asking is sending, and sending moves the
sender's read receipt to their own message, so the position is taken from the log instead: the
newest read receipt they sent before asking (`chat_events`, kind "read") or their previous message
(sending marks everything before it read), whichever is newer.

What it may quote: messages of that chat the asker could see (sent after they joined), and — since
the summary is posted in the group, for every member to read — only those every current member
could see too (sent after the newest member joined): a member who joined later learns nothing from
it they could not read already. The asker's own messages and the assistant's are not "missed".

Which messages: each scores by the number of distinct content words it has (a long, specific message
says more than "ok!"); near-repeats (Jaccard similarity of content words above DUPLICATE) are
skipped; the best QUOTED are shown in the order they were sent. No model writes anything.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agora.ai.assistant import Answer
from agora.ai.assistant.answer import EXTRACTIVE, EXTRACTIVE_MODEL
from agora.ai.assistant.text import content_words, shorten
from agora.chat import events
from agora.kit.time import utcnow
from agora.models import Account, ChatEvent, ChatMessage, ConversationMember
from agora.models.chat import RECEIVING_STATES

QUOTED = 5
QUOTE_CHARS = 200
DUPLICATE = 0.6
MAX_READ = 500  # the newest this many missed messages are read (and counted)
READ_EVENTS_LOOKED_AT = 500
NOTHING = "You have not missed anything: there are no new messages since you last read."


async def read_position(session: AsyncSession, *, asker_id: int, asked: ChatMessage) -> int:
    """The newest message id the asker had read before sending `asked`."""
    receipts = await session.scalars(
        select(ChatEvent.data).where(ChatEvent.conversation_id == asked.conversation_id,
                                     ChatEvent.kind == events.READ, ChatEvent.seq < asked.seq)
        .order_by(ChatEvent.seq.desc()).limit(READ_EVENTS_LOOKED_AT))
    receipt = next((int(d.get("last_read_id", 0)) for d in receipts if d.get("account_id") == str(asker_id)), 0)
    own = await session.scalar(select(func.max(ChatMessage.id)).where(
        ChatMessage.conversation_id == asked.conversation_id, ChatMessage.account_id == asker_id,
        ChatMessage.id < asked.id)) or 0
    return max(receipt, own)


async def missed_messages(session: AsyncSession, *, asker_id: int, assistant_id: int, asked: ChatMessage
                          ) -> list[ChatMessage]:
    """What the asker missed that every current member may read, oldest first."""
    since = await read_position(session, asker_id=asker_id, asked=asked)
    floor = await session.scalar(select(func.max(ConversationMember.since_seq)).where(
        ConversationMember.conversation_id == asked.conversation_id,
        ConversationMember.state.in_(RECEIVING_STATES))) or 0
    rows = await session.scalars(
        select(ChatMessage).options(selectinload(ChatMessage.account))
        .where(ChatMessage.conversation_id == asked.conversation_id, ChatMessage.id > since,
               ChatMessage.id < asked.id, ChatMessage.seq >= floor, ChatMessage.kind == "text",
               ChatMessage.deleted_at.is_(None), ChatMessage.account_id.not_in((asker_id, assistant_id)),
               # Members who turned off "let the assistant read and cite my posts", and bots, are never quoted.
               ChatMessage.account_id.not_in(select(Account.id).where(
                   or_(Account.ai_reading.is_(False), Account.bot.is_(True)))))
        .order_by(ChatMessage.id.desc()).limit(MAX_READ))
    return list(reversed(list(rows)))


def _when(moment: datetime, now: datetime) -> str:
    return moment.strftime("%H:%M UTC") if moment.date() == now.date() else moment.strftime("%b %d, %H:%M UTC")


def pick(messages: list[ChatMessage], *, quoted: int = QUOTED) -> list[ChatMessage]:
    """The most informative messages (distinct content words), no near-repeats, in sent order."""
    words = {m.id: set(content_words(m.text)) for m in messages}
    ranked = sorted(messages, key=lambda m: (-len(words[m.id]), m.id))
    chosen: list[ChatMessage] = []
    for message in ranked:
        if len(chosen) >= quoted or not words[message.id]:
            break
        mine = words[message.id]
        if any(len(mine & words[c.id]) / len(mine | words[c.id]) > DUPLICATE for c in chosen):
            continue
        chosen.append(message)
    return sorted(chosen, key=lambda m: m.id)


def summarise(messages: list[ChatMessage]) -> Answer:
    if not messages:
        return Answer(text=NOTHING, mode=EXTRACTIVE, model=EXTRACTIVE_MODEL)
    authors = Counter(m.account.username for m in messages)
    people = ", ".join(f"@{name} {count}" for name, count in authors.most_common())
    plural = "s" if len(messages) != 1 else ""
    members = f"{len(authors)} member{'s' if len(authors) != 1 else ''}"
    lines = [f"Since you last read: {len(messages)} message{plural} from {members} ({people})."]
    chosen = pick(messages)
    if chosen:
        lines.append("The most informative:" if len(chosen) < len(messages) else "They said:")
        now = utcnow()
        lines += [f"- @{m.account.username}, {_when(m.created_at, now)}: “{shorten(m.text, QUOTE_CHARS)}”"
                  for m in chosen]
        if len(chosen) < len(messages):
            lines.append(f"({len(chosen)} of {len(messages)} messages quoted; scroll up for the rest.)")
    return Answer(text="\n".join(lines), mode=EXTRACTIVE, model=EXTRACTIVE_MODEL)

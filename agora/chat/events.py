"""The chat event log: how a change becomes an event with a cursor, and who receives which events.

Services `record()` events as they work. Just before the transaction commits, `_sequence` takes a
block of numbers from the one-row counter and writes the events with them. On PostgreSQL the
counter's row stays locked until the commit, so transactions commit in `seq` order: once a reader
sees event N, every event before N is visible too. A reader that asks for "everything after my
cursor" can therefore never skip an event that commits late. (SQLite has one writer at a time, so
the same holds there.) The lock is held only for the commit itself, because sequencing is the last
thing a transaction does.

After the commit the bus carries a bare "look" signal to each conversation's channel. Listeners
then read the log, so what a live client receives is exactly what a reconnecting client replays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, event, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from agora.kit.bus import BusMessage
from agora.kit.db import queue_event, unindexed
from agora.models import ChatEvent, ChatSequence, ConversationMember
from agora.models.chat import RECEIVING_STATES

_STAGED = "chat_events"

# What each kind of event tells a client (the wire names are in agora.chat.delivery).
MESSAGE = "message"  # a new message
MESSAGE_UPDATE = "message.update"  # edited, deleted, reacted to, pinned or unpinned
READ = "read"  # a member read up to a message
CONVERSATION = "conversation"  # created, renamed, members changed, your request accepted
CONVERSATION_REMOVE = "conversation.remove"  # you left, were removed or declined: drop it


def conversation_channel(conversation_id: int) -> str:
    return f"chat:{conversation_id}"


def member_channel(account_id: int) -> str:
    """Events addressed to one member, and news of a conversation they were added to."""
    return f"chat-member:{account_id}"


@dataclass
class _Staged:
    conversation_id: int
    kind: str
    data: dict[str, Any]
    recipient_id: int | None
    notify: list[int] = field(default_factory=list)  # members to wake on their own channel too
    on_sequenced: Callable[[int], None] | None = None


def record(
    session: AsyncSession, *, conversation_id: int, kind: str, data: dict[str, Any],
    recipient_id: int | None = None, notify: list[int] | None = None,
    on_sequenced: Callable[[int], None] | None = None,
) -> None:
    """Log an event when this transaction commits. `on_sequenced(seq)` runs once its seq is known
    (a message stores its seq; a new membership starts from its join event)."""
    session.info.setdefault(_STAGED, []).append(_Staged(
        conversation_id, kind, data, recipient_id, list(notify or []), on_sequenced))


@event.listens_for(Session, "before_commit")
def _sequence(session: Session) -> None:
    staged: list[_Staged] = session.info.pop(_STAGED, [])
    if not staged:
        return
    last = session.execute(_take(session, len(staged))).scalar_one()
    first = last - len(staged) + 1
    wake: set[str] = set()
    for seq, item in enumerate(staged, start=first):
        if item.on_sequenced is not None:
            item.on_sequenced(seq)
        session.add(ChatEvent(seq=seq, conversation_id=item.conversation_id, recipient_id=item.recipient_id,
                              kind=item.kind, data=item.data))
        wake.add(member_channel(item.recipient_id) if item.recipient_id is not None
                 else conversation_channel(item.conversation_id))
        wake.update(member_channel(a) for a in item.notify)
    # Flushed by the commit that called us; the signal goes out once that commit succeeds.
    events = session.info.setdefault("events", [])
    events.extend(BusMessage(channel, "chat", {"seq": last}) for channel in sorted(wake))


async def sequence_now(session: AsyncSession) -> None:
    """Sequence what is staged without waiting for the commit. Only for long transactions that
    read their own chat writes back (the demo loader); it holds the counter's lock from here on."""
    await session.run_sync(_sequence)
    await session.flush()


def _take(session: Session, count: int):
    """`value += count`, creating the row the first time; returns the new value."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ChatSequence).values(id=1, value=count)
    return statement.on_conflict_do_update(
        index_elements=[ChatSequence.id], set_={"value": ChatSequence.value + count},
    ).returning(ChatSequence.value)


async def events_after(session: AsyncSession, *, viewer_id: int, cursor: int, limit: int,
                       up_to: int | None = None) -> list[ChatEvent]:
    """The viewer's next events after `cursor` (and up to `up_to`), oldest first: their own, and
    their conversations' since they joined.

    Read through the viewer's memberships and the (conversation, seq) index, so the cost follows
    the viewer's own traffic, not the whole server's: a member of a quiet chat who wakes after an
    hour does not scan everyone else's hour of messages.
    """
    bounds = [ChatEvent.seq > cursor] + ([ChatEvent.seq <= up_to] if up_to is not None else [])
    theirs = (select(ChatEvent.seq)
              .join(ConversationMember, and_(ConversationMember.conversation_id == ChatEvent.conversation_id,
                                             ConversationMember.account_id == viewer_id,
                                             ConversationMember.state.in_(RECEIVING_STATES),
                                             ConversationMember.since_seq <= ChatEvent.seq))
              # Unindexed here: nearly every event has no recipient, and SQLite, without statistics,
              # would otherwise walk that index (every conversation's events) instead of ours.
              .where(unindexed(ChatEvent.recipient_id).is_(None), *bounds))
    addressed = select(ChatEvent.seq).where(ChatEvent.recipient_id == viewer_id, *bounds)
    wanted = union_all(theirs, addressed).subquery()
    query = select(ChatEvent).join(wanted, wanted.c.seq == ChatEvent.seq).order_by(ChatEvent.seq).limit(limit)
    return list(await session.scalars(query))


async def head(session: AsyncSession) -> int:
    """The newest seq handed out (0 before the first event): a new client's starting cursor."""
    return await session.scalar(select(ChatSequence.value).where(ChatSequence.id == 1)) or 0


def queue_signal(session: AsyncSession, channel: str, kind: str, data: dict[str, Any]) -> None:
    """An ephemeral signal (typing) that is not logged: it has no cursor and is not replayed."""
    queue_event(session, BusMessage(channel, kind, data))

"""The `chat` stream for one connection: replay from a cursor, then follow live — each event once.

The bus only says "the log has grown up to seq N" (see agora.chat.events). On each such signal the
feed reads the log after what it has already scanned, so live delivery and replay after a
reconnect are the same read: an event cannot be skipped (the log commits in seq order) and cannot
come twice (the scanned mark only moves forward). Signals for seqs already scanned cost nothing,
so a burst of messages costs one read per connection, not one per message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from agora.accounts.entities import account_json
from agora.chat import events
from agora.chat.entities import MessageMemo, render_events
from agora.kit.bus import BusMessage, Subscription
from agora.kit.errors import Unprocessable
from agora.kit.ids import parse_id
from agora.kit.runtime import Runtime
from agora.models import Account, ConversationMember
from agora.models.chat import RECEIVING_STATES

log = logging.getLogger("agora.chat")

MAX_CURSOR = 2**63 - 1  # a BIGINT: larger would overflow in SQL
BATCH = 200
MEMO_KEY = "chat.rendered_messages"  # events read per query while catching up
TYPING = "chat.typing"
READY = "chat.ready"


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """One event for the client: `cursor` is set for logged events (resume from it), None for
    typing and the ready marker, which are never replayed."""

    name: str
    payload: dict[str, Any]
    cursor: int | None = None


def parse_cursor(raw: Any) -> int | None:
    """A client's cursor: a non-negative integer (as a string or number), or None for "from now"."""
    if raw in (None, ""):
        return None
    try:
        cursor = int(str(raw))
    except ValueError:
        raise Unprocessable("cursor must be a non-negative integer") from None
    if not 0 <= cursor <= MAX_CURSOR:
        raise Unprocessable("cursor must be a non-negative integer")
    return cursor


class ChatFeed:
    def __init__(self, runtime: Runtime, viewer_id: int, cursor: int | None) -> None:
        self.runtime = runtime
        self.viewer_id = viewer_id
        self.scanned = cursor  # every log row up to here has been considered; None: start at the head
        self.conversations: set[int] = set()
        self.subscription: Subscription | None = None
        self._names: dict[int, dict[str, Any]] = {}  # typing members' accounts, rendered once

    def channels(self) -> set[str]:
        return {events.member_channel(self.viewer_id), *(events.conversation_channel(c) for c in self.conversations)}

    async def attach(self, subscription: Subscription) -> None:
        """Listen first, then read: a change committed in between is signalled, not missed."""
        self.subscription = subscription
        await self._refresh_conversations()
        # A signal of our own starts the catch-up in the same loop that handles every later one.
        subscription.deliver(BusMessage(events.member_channel(self.viewer_id), "chat", {"seq": None}))

    async def _refresh_conversations(self) -> bool:
        """Follow the viewer's conversations as they are now; True if there are new ones."""
        async with self.runtime.db.transaction(write=False) as session:
            current = set(await session.scalars(select(ConversationMember.conversation_id).where(
                ConversationMember.account_id == self.viewer_id, ConversationMember.state.in_(RECEIVING_STATES))))
        if self.subscription is not None:
            before = self.channels()
            self.conversations = current
            after = self.channels()
            await self.subscription.remove(before - after)
            await self.subscription.add(after - before)
            return bool(after - before)
        self.conversations = current
        return False

    def poll(self) -> BusMessage:
        """A signal of our own for quiet moments (the stream's heartbeat): pub/sub delivers at most
        once, and a signal lost (a Redis reconnect, a channel subscribed a moment late) must not
        leave the member waiting for the next message. Costs one short read when nothing is new."""
        return BusMessage(events.member_channel(self.viewer_id), "chat", {"poll": True})

    def handles(self, message: BusMessage) -> bool:
        return message.event in ("chat", TYPING)

    async def translate(self, message: BusMessage) -> list[ChatEvent]:
        if message.event == TYPING:
            typing = await self._typing(message.payload)
            return [typing] if typing is not None else []
        if message.payload.get("poll"):
            return await self._catch_up()
        seq = message.payload.get("seq")
        first = self.scanned is None or seq is None
        if not first and isinstance(seq, int) and seq <= self.scanned:
            return []  # already read past it
        out = await self._catch_up()
        if first and seq is None:
            out.append(ChatEvent(READY, {"cursor": str(self.scanned)}))
        return out

    async def _catch_up(self) -> list[ChatEvent]:
        out: list[ChatEvent] = []
        while True:
            batch, membership_changed = await self._read_log()
            out.extend(batch)
            # Joined a conversation: we listen to it only from now, so read once more for anything
            # it said between the event we read and the subscription.
            if not membership_changed or not await self._refresh_conversations():
                return out

    async def _read_log(self) -> tuple[list[ChatEvent], bool]:
        """Everything after `scanned` up to the head; and whether the viewer's conversations changed."""
        out: list[ChatEvent] = []
        membership_changed = False
        while True:
            async with self.runtime.db.transaction(write=False) as session:
                # The head first: every seq up to it has committed, so reading up to it is complete.
                head = await events.head(session)
                if self.scanned is None:
                    self.scanned = head
                    return out, False
                rows = await events.events_after(session, viewer_id=self.viewer_id, cursor=self.scanned,
                                                 limit=BATCH, up_to=head)
                rendered = await render_events(session, rows, viewer_id=self.viewer_id,
                                               settings=self.runtime.settings, shared=self._memo(head))
            out.extend(ChatEvent(name, payload, seq) for seq, name, payload in rendered)
            membership_changed |= any(r.kind in (events.CONVERSATION, events.CONVERSATION_REMOVE) for r in rows)
            if len(rows) < BATCH:
                self.scanned = max(self.scanned, head)
                return out, membership_changed
            self.scanned = rows[-1].seq

    def _memo(self, head: int) -> MessageMemo:
        """The process's rendered messages for readers of this `head`; else a fresh memo for it."""
        memo = self.runtime.shared.get(MEMO_KEY)
        # Only the same head: on SQLite a read sees the database as of its first statement, so a
        # feed that read an older head renders older states, which must not serve newer readers.
        if memo is None or memo.head != head:
            memo = self.runtime.shared[MEMO_KEY] = MessageMemo(head)
        return memo

    async def _typing(self, payload: dict[str, Any]) -> ChatEvent | None:
        conversation_id = parse_id(payload.get("conversation_id"))
        account_id = parse_id(payload.get("account_id"))
        if conversation_id not in self.conversations or account_id is None or account_id == self.viewer_id:
            return None
        if account_id not in self._names:
            async with self.runtime.db.transaction(write=False) as session:
                account = await session.get(Account, account_id)
            if account is None:
                return None
            self._names[account_id] = account_json(account, self.runtime.settings)
        return ChatEvent(TYPING, {"conversation_id": str(conversation_id), "account": self._names[account_id]})

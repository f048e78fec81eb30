"""Chat's wire format: Conversation, ChatMessage and stream events as JSON (Agora's extension of the
Mastodon API; ids are strings, times ISO 8601 with Z, accounts are Mastodon Account entities).

Each render loads what it needs for the whole list in a fixed number of queries.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.entities import account_json, media_url
from agora.chat import conversations, events
from agora.chat.messages import messages_by_id
from agora.config import Settings
from agora.kit.ids import parse_id
from agora.kit.time import iso
from agora.media.service import media_json
from agora.models import Account, ChatEvent, ChatMessage, ChatReaction, Conversation, ConversationMember
from agora.models.chat import RECEIVING_STATES

MISSING_GROUP_AVATAR = "/static/avatar-missing.png"
GROUP_FACES = 3  # members shown for a group without an avatar of its own

SYSTEM_SENTENCES = {
    "created": "{actor} created the group",
    "added": "{actor} added {accounts}",
    "removed": "{actor} removed {accounts}",
    "left": "{actor} left",
    "renamed": "{actor} renamed the group to “{name}”",
    "made_admin": "{actor} made {accounts} an admin",
    "made_member": "{actor} made {accounts} a member",
    "made_owner": "{actor} made {accounts} the owner",
}


async def _accounts(session: AsyncSession, ids: set[int]) -> dict[int, Account]:
    if not ids:
        return {}
    return {a.id: a for a in await session.scalars(select(Account).where(Account.id.in_(ids)))}


@dataclass(frozen=True, slots=True)
class SharedMessage:
    """A message rendered once for everyone, with what each viewer's copy needs to be finished:
    who reacted (for `me`), the sender's client id, and when the quoted message was sent."""

    body: dict[str, Any]
    sender_id: int
    client_id: str | None
    reactors: dict[str, frozenset[int]]
    reply_seq: int | None

    def for_viewer(self, viewer_id: int, since_seq: int) -> dict[str, Any]:
        body = dict(self.body)
        body["reactions"] = [{"name": r["name"], "count": r["count"], "me": viewer_id in self.reactors[r["name"]]}
                             for r in self.body["reactions"]]
        # Only the sender sees their client id: it matches the message to its optimistic copy.
        body["client_id"] = self.client_id if self.sender_id == viewer_id else None
        # A member who joined after the quoted message does not read it, not even quoted in a reply.
        if body["reply_to"] is not None and self.reply_seq is not None and self.reply_seq < since_seq:
            body["reply_to"] = {**body["reply_to"], "text": ""}
        return body


async def render_shared(session: AsyncSession, messages: list[ChatMessage], *, settings: Settings
                        ) -> list[SharedMessage]:
    ids = [m.id for m in messages]
    reactors: dict[int, dict[str, set[int]]] = defaultdict(dict)
    if ids:
        rows = await session.execute(select(ChatReaction.message_id, ChatReaction.emoji, ChatReaction.account_id)
                                     .where(ChatReaction.message_id.in_(ids)).order_by(ChatReaction.id))
        for message_id, emoji, account_id in rows.all():  # first reacted first, as the dict keeps order
            reactors[message_id].setdefault(emoji, set()).add(account_id)
    replied = await messages_by_id(session, [m.reply_to_id for m in messages if m.reply_to_id])
    named = {parse_id(a) for m in messages if m.action for a in m.action.get("account_ids", [])}
    accounts = await _accounts(session, {a for a in named if a is not None})
    out = []
    for m in messages:
        who = reactors.get(m.id, {})
        reply = replied.get(m.reply_to_id or 0)
        body = _message_json(m, [{"name": e, "count": len(a)} for e, a in who.items()], reply, accounts, settings)
        out.append(SharedMessage(body, m.account_id, m.client_id, {e: frozenset(a) for e, a in who.items()},
                                 reply.seq if reply is not None else None))
    return out


async def render_messages(session: AsyncSession, messages: list[ChatMessage], *, viewer_id: int,
                          settings: Settings) -> list[dict[str, Any]]:
    shared = await render_shared(session, messages, settings=settings)
    since = await _since(session, viewer_id, {m.conversation_id for m in messages if m.reply_to_id})
    return [s.for_viewer(viewer_id, since.get(m.conversation_id, 0)) for s, m in zip(shared, messages, strict=True)]


async def _since(session: AsyncSession, viewer_id: int, conversation_ids: set[int]) -> dict[int, int]:
    """Where the viewer's membership of each conversation began (only needed to hide old quotes)."""
    if not conversation_ids:
        return {}
    return dict((await session.execute(select(ConversationMember.conversation_id, ConversationMember.since_seq)
                                       .where(ConversationMember.account_id == viewer_id,
                                              ConversationMember.conversation_id.in_(conversation_ids)))).all())


def _message_json(message: ChatMessage, reactions: list[dict[str, Any]], reply_to: ChatMessage | None,
                  accounts: dict[int, Account], settings: Settings) -> dict[str, Any]:
    deleted = message.deleted_at is not None
    body: dict[str, Any] = {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "kind": message.kind,
        "account": account_json(message.account, settings),
        "content": message.content,
        "text": message.text,
        "created_at": iso(message.created_at),
        "edited_at": iso(message.edited_at),
        "deleted": deleted,
        "forwarded": message.forwarded,
        "pinned": message.pinned_at is not None,
        "reply_to": _reply_json(reply_to) if reply_to is not None else None,
        "media_attachments": [] if deleted else [media_json(m, settings) for m in message.media],
        "reactions": reactions,
        "client_id": None,  # filled in for the sender by SharedMessage.for_viewer
    }
    if message.kind == "payment" and message.action:
        # The card as the wallet last described it (`update_payment_card` keeps it current); the
        # money itself is read from /api/v1/transfers/:id or /api/v1/red_packets/:id.
        body["action"] = dict(message.action)
    if message.kind == "system" and message.action:
        named = [accounts[a] for a in (parse_id(x) for x in message.action.get("account_ids", []))
                 if a is not None and a in accounts]
        body["action"] = {"type": message.action.get("type"), "name": message.action.get("name"),
                          "accounts": [account_json(a, settings) for a in named]}
        body["text"] = SYSTEM_SENTENCES.get(message.action.get("type", ""), "{actor}").format(
            actor="@" + message.account.username, accounts=", ".join("@" + a.username for a in named),
            name=message.action.get("name", ""))
    return body


def _reply_json(message: ChatMessage) -> dict[str, Any]:
    """What a reply quotes: no text when the quoted message is deleted (nor, see `for_viewer`, when
    it was sent before the viewer joined)."""
    excerpt = "" if message.deleted_at is not None else message.text[:140]
    return {"id": str(message.id), "account_id": str(message.account_id), "acct": message.account.username,
            "text": excerpt, "deleted": message.deleted_at is not None}


async def render_message(session: AsyncSession, message: ChatMessage, *, viewer_id: int,
                         settings: Settings) -> dict[str, Any]:
    return (await render_messages(session, [message], viewer_id=viewer_id, settings=settings))[0]


async def render_conversations(session: AsyncSession, mine: list[ConversationMember], *, viewer_id: int,
                               settings: Settings, with_members: bool = False) -> list[dict[str, Any]]:
    """`mine`: the viewer's memberships, each with its conversation loaded."""
    if not mine:  # most stream wake-ups carry only messages: spare them the queries
        return []
    ids = [m.conversation_id for m in mine]
    unread = await conversations.unread_counts(session, viewer_id=viewer_id, conversation_ids=ids)
    last = await messages_by_id(session, [m.conversation.last_message_id for m in mine
                                          if m.conversation.last_message_id])
    rendered_last = dict(zip(last, await render_messages(session, list(last.values()), viewer_id=viewer_id,
                                                         settings=settings), strict=True))
    # Other members: everyone when asked, else the first few of each (a direct chat has one), picked
    # in SQL so an inbox of big groups does not load every member of each.
    place = func.row_number().over(partition_by=ConversationMember.conversation_id,
                                   order_by=(ConversationMember.joined_at, ConversationMember.id)).label("place")
    ranked = select(ConversationMember.id, place).where(
        ConversationMember.conversation_id.in_(ids), ConversationMember.account_id != viewer_id,
        ConversationMember.state.in_(RECEIVING_STATES)).subquery()
    wanted = select(ranked.c.id) if with_members else select(ranked.c.id).where(ranked.c.place <= GROUP_FACES)
    others: dict[int, list[ConversationMember]] = defaultdict(list)
    for row in await session.scalars(select(ConversationMember).where(ConversationMember.id.in_(wanted))
                                     .order_by(ConversationMember.joined_at, ConversationMember.id)):
        others[row.conversation_id].append(row)
    accounts = await _accounts(session, {o.account_id for rows in others.values() for o in rows})
    return [_conversation_json(m, unread.get(m.conversation_id, 0), rendered_last.get(
        m.conversation.last_message_id or 0), others[m.conversation_id], accounts, settings, with_members)
        for m in mine]


def _conversation_json(mine: ConversationMember, unread: int, last_message: dict[str, Any] | None,
                       others: list[ConversationMember], accounts: dict[int, Account], settings: Settings,
                       with_members: bool) -> dict[str, Any]:
    conversation = mine.conversation
    body: dict[str, Any] = {
        "id": str(conversation.id),
        "kind": conversation.kind,
        "name": conversation.name,
        "description": conversation.description,
        "avatar": media_url(settings, conversation.avatar_path, MISSING_GROUP_AVATAR)
        if conversation.kind == "group" else None,
        "created_at": iso(conversation.created_at),
        "member_count": conversation.member_count,
        "role": mine.role,
        "state": mine.state,  # active, or request (a message request waiting for you)
        "muted": mine.muted,
        "unread_count": unread,
        "last_read_id": str(mine.last_read_id) if mine.last_read_id else None,
        "last_message": last_message,
        "accounts": [account_json(accounts[o.account_id], settings) for o in others],
        # Read receipts: how far each other member has read ("Seen" in a direct chat).
        "read_markers": [{"account_id": str(o.account_id), "last_read_id": str(o.last_read_id)}
                         for o in others if o.last_read_id],
    }
    if with_members:
        body["members"] = [{"account_id": str(o.account_id), "role": o.role, "state": o.state} for o in others]
    return body


async def render_conversation(session: AsyncSession, mine: ConversationMember, *, viewer_id: int,
                              settings: Settings) -> dict[str, Any]:
    return (await render_conversations(session, [mine], viewer_id=viewer_id, settings=settings,
                                       with_members=True))[0]


# --- stream events ------------------------------------------------------------------------------


class MessageMemo:
    """Messages rendered for one state of the log (one `head`), shared by the connections that
    deliver them; bounded, oldest dropped first."""

    SIZE = 2048

    def __init__(self, head: int = 0) -> None:
        self.head = head
        self._items: OrderedDict[int, SharedMessage] = OrderedDict()

    def get(self, message_id: int) -> SharedMessage | None:
        return self._items.get(message_id)

    def put(self, message_id: int, message: SharedMessage) -> None:
        self._items[message_id] = message
        while len(self._items) > self.SIZE:
            self._items.popitem(last=False)


WIRE_NAMES = {
    events.MESSAGE: "chat.message",
    events.MESSAGE_UPDATE: "chat.message.update",
    events.READ: "chat.read",
    events.CONVERSATION: "chat.conversation",
    events.CONVERSATION_REMOVE: "chat.conversation.remove",
}


async def render_events(session: AsyncSession, log: list[ChatEvent], *, viewer_id: int, settings: Settings,
                        shared: MessageMemo | None = None) -> list[tuple[int, str, dict[str, Any]]]:
    """(cursor, event name, payload) for each logged event, rendered as things stand now: an event
    about a message since deleted carries the tombstone, never the deleted text.

    With `shared` (a memo for one state of the log), each message is loaded and rendered once for
    every connection that delivers it, then finished for each viewer."""
    message_ids = {i for i in (parse_id(e.data.get("message_id")) for e in log if e.data.get("message_id"))
                   if i is not None}
    memo = shared if shared is not None else MessageMemo()
    missing = [i for i in message_ids if memo.get(i) is None]
    found = await messages_by_id(session, missing)
    for message_id, one in zip(found, await render_shared(session, list(found.values()), settings=settings),
                               strict=True):
        memo.put(message_id, one)
    with_quotes = {e.conversation_id for e in log if (m := memo.get(parse_id(e.data.get("message_id")) or 0))
                   is not None and m.reply_seq is not None}
    since = await _since(session, viewer_id, with_quotes)
    rendered = {i: m.for_viewer(viewer_id, since.get(int(m.body["conversation_id"]), 0))
                for i in message_ids if (m := memo.get(i)) is not None}
    conversation_ids = {e.conversation_id for e in log if e.kind == events.CONVERSATION}
    mine = await _memberships(session, viewer_id, conversation_ids)
    rendered_conversations = dict(zip([m.conversation_id for m in mine], await render_conversations(
        session, mine, viewer_id=viewer_id, settings=settings), strict=True))
    out = []
    for item in log:
        payload: dict[str, Any] = {"cursor": str(item.seq), "conversation_id": str(item.conversation_id)}
        if item.kind in (events.MESSAGE, events.MESSAGE_UPDATE):
            message = rendered.get(parse_id(item.data.get("message_id")) or 0)
            if message is None:
                continue
            payload["message"] = message
            if item.kind == events.MESSAGE_UPDATE:
                payload["reason"] = item.data.get("reason")
        elif item.kind == events.CONVERSATION:
            conversation = rendered_conversations.get(item.conversation_id)
            if conversation is None:  # no longer theirs: a later event says so
                continue
            payload["change"] = item.data.get("change")
            payload["conversation"] = conversation
        else:
            payload.update(item.data)
        out.append((item.seq, WIRE_NAMES[item.kind], payload))
    return out


async def _memberships(session: AsyncSession, viewer_id: int, conversation_ids: set[int]) -> list[ConversationMember]:
    if not conversation_ids:
        return []
    found = list(await session.scalars(select(ConversationMember).where(
        ConversationMember.account_id == viewer_id, ConversationMember.conversation_id.in_(conversation_ids),
        ConversationMember.state.in_(RECEIVING_STATES))))
    loaded = {c.id: c for c in await session.scalars(select(Conversation).where(
        Conversation.id.in_(conversation_ids)))}
    for member in found:
        member.conversation = loaded[member.conversation_id]
    return found

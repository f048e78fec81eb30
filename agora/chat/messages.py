"""Messages: send (idempotent by the client's id), reply, forward, edit, delete for everyone,
react, pin, read history and search it.

Every change is logged as an event (agora.chat.events), so each member's devices learn of it live
or on their next reconnect. Membership is checked on every call through `conversations.membership`;
this module never trusts a conversation id on its own.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from html import escape
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agora.accounts.service import render_text
from agora.chat import events
from agora.config import Settings
from agora.kit.db import insert_once, on_commit
from agora.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from agora.kit.ids import new_id
from agora.kit.pagination import Page, PageParams
from agora.kit.time import utcnow
from agora.models import (
    Block,
    ChatMessage,
    ChatMessageEdit,
    ChatReaction,
    Conversation,
    ConversationMember,
    MediaAttachment,
)

MAX_CLIENT_ID = 64
MAX_EMOJI_CODEPOINTS = 16  # a family or a flag with modifiers is several code points
MAX_SEARCH = 200


@dataclass
class Draft:
    text: str = ""
    client_id: str | None = None
    reply_to_id: int | None = None
    media_ids: list[int] = field(default_factory=list)
    forward_of_id: int | None = None


async def _membership(session: AsyncSession, conversation_id: int | None, account_id: int, *, lock: bool = False
                      ) -> ConversationMember:
    # Imported here: conversations imports this module for its system messages.
    from agora.chat.conversations import membership

    return await membership(session, conversation_id=conversation_id, account_id=account_id, lock=lock)


def _loaded():
    return (selectinload(ChatMessage.account), selectinload(ChatMessage.media))


async def _visible_message(session: AsyncSession, me: ConversationMember, message_id: int | None, *,
                           lock: bool = False) -> ChatMessage:
    """A message of this conversation that this member may see (sent after they joined).

    `lock` for a change to it: changes to one message then run one after the other, so two edits
    both keep their earlier text, and a reaction or an edit cannot land on a message a concurrent
    delete has just emptied (on PostgreSQL; SQLite has one writer). FOR NO KEY UPDATE, so rows that
    merely refer to it (reactions, edits) are not held up."""
    if message_id is None:
        raise NotFound("Message not found")
    query = select(ChatMessage).options(*_loaded()).where(
        ChatMessage.id == message_id, ChatMessage.conversation_id == me.conversation_id,
        ChatMessage.seq >= me.since_seq)
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    found = await session.scalar(query)
    if found is None:
        raise NotFound("Message not found")
    return found


# --- sending ------------------------------------------------------------------------------------


async def send(
    session: AsyncSession, *, sender_id: int, conversation_id: int | None, draft: Draft, settings: Settings,
) -> tuple[ChatMessage, bool]:
    """The message, and whether this call created it (False: a retry of a send that succeeded)."""
    # Sends to one conversation take its row in turn, and the message's id is made under that lock:
    # so ids grow in commit order (history and the live stream agree), and the conversation's newest
    # message and the sender's receipt can only move forward.
    me = await _membership(session, conversation_id, sender_id, lock=True)
    if draft.client_id is not None:
        earlier = await _earlier_send(session, sender_id, me.conversation_id, draft)
        if earlier is not None:
            return earlier, False
    await require_not_blocked(session, me)
    text, media, forwarded = await _contents(session, me, draft, settings)
    if not text.strip() and not media:
        raise Unprocessable("A message needs text or an image")
    reply_to = await _visible_message(session, me, draft.reply_to_id) if draft.reply_to_id else None
    content, _ = await render_text(session, text=text, settings=settings)
    message = ChatMessage(id=new_id(), conversation_id=me.conversation_id, account_id=sender_id,
                          client_id=draft.client_id, text=text, content=content,
                          reply_to_id=reply_to.id if reply_to else None, forwarded=forwarded)
    if not await insert_once(session, message):  # the same client id, sent twice at the same moment
        earlier = await _earlier_send(session, sender_id, me.conversation_id, draft)
        if earlier is None:
            raise Conflict("This message is being sent; retry it")
        return earlier, False
    for position, item in enumerate(media):
        item.chat_message_id, item.position = message.id, position
    if me.state == "request":  # answering a message request accepts it (as on X)
        me.state = "active"
        # The same event as /accept, so the sender's other devices move it out of their requests.
        events.record(session, conversation_id=me.conversation_id, kind=events.CONVERSATION,
                      data={"change": "accepted", "account_id": str(sender_id)}, recipient_id=sender_id)
    conversation = me.conversation
    # Answering means you have read what came before: the others see "Seen" without a separate read.
    had_unread = (conversation.last_message_id or 0) > me.last_read_id
    me.last_read_id = max(me.last_read_id, message.id)
    conversation.last_message_id = conversation.activity_id = message.id
    await session.flush()
    _log_message(session, message)
    if had_unread:
        events.record(session, conversation_id=conversation.id, kind=events.READ,
                      data={"account_id": str(sender_id), "last_read_id": str(message.id)})
    # Loaded by id: its seq (which history checks) is only set as the transaction commits.
    return (await messages_by_id(session, [message.id]))[message.id], True


def _log_message(session: AsyncSession, message: ChatMessage) -> None:
    def sequenced(seq: int) -> None:
        message.seq = seq

    events.record(session, conversation_id=message.conversation_id, kind=events.MESSAGE,
                  data={"message_id": str(message.id)}, on_sequenced=sequenced)


async def _earlier_send(session: AsyncSession, sender_id: int, conversation_id: int, draft: Draft
                        ) -> ChatMessage | None:
    found = await session.scalar(select(ChatMessage).options(*_loaded()).where(
        ChatMessage.account_id == sender_id, ChatMessage.client_id == draft.client_id))
    if found is None:
        return None
    if found.conversation_id != conversation_id or (found.deleted_at is None and found.text != draft.text
                                                    and draft.forward_of_id is None):
        raise Conflict("client_id was already used for a different message")
    return found


async def require_not_blocked(session: AsyncSession, me: ConversationMember) -> None:
    """In a direct chat, a block either way stops messages — and typing, reactions, edits and pins,
    which would reach the blocker just as well (groups are not the place for that)."""
    if me.conversation.kind != "direct":
        return
    other = await session.scalar(select(ConversationMember.account_id).where(
        ConversationMember.conversation_id == me.conversation_id, ConversationMember.account_id != me.account_id))
    blocked = await session.scalar(select(Block.id).where(
        ((Block.account_id == me.account_id) & (Block.target_account_id == other))
        | ((Block.account_id == other) & (Block.target_account_id == me.account_id))).limit(1))
    if blocked is not None:
        raise Forbidden("You cannot message this account")


async def _contents(
    session: AsyncSession, me: ConversationMember, draft: Draft, settings: Settings,
) -> tuple[str, list[MediaAttachment], bool]:
    """Text and images of a new message: the member's own, or a copy of a message forwarded from
    another conversation they can read."""
    if draft.forward_of_id is None:
        text = draft.text
        if len(text) > settings.max_chat_message_chars:
            raise Unprocessable(f"A message can be at most {settings.max_chat_message_chars} characters")
        return text, await _own_uploads(session, me.account_id, draft.media_ids, settings), False
    if draft.text or draft.media_ids:
        raise Unprocessable("A forwarded message carries only the original's text and images")
    original = await session.scalar(select(ChatMessage).options(selectinload(ChatMessage.media)).where(
        ChatMessage.id == draft.forward_of_id))
    if original is None or original.kind != "text" or original.deleted_at is not None:
        raise NotFound("Message not found")
    await _visible_message(session, await _membership(session, original.conversation_id, me.account_id),
                           original.id)
    copies = [MediaAttachment(**{c: getattr(m, c) for c in _MEDIA_COPIED}, account_id=me.account_id)
              for m in original.media]
    session.add_all(copies)
    return original.text, copies, True


_MEDIA_COPIED = ("kind", "content_type", "file_path", "preview_path", "file_size", "width", "height",
                 "preview_width", "preview_height", "description", "focus_x", "focus_y", "blurhash")


async def _own_uploads(session: AsyncSession, account_id: int, media_ids: list[int], settings: Settings
                       ) -> list[MediaAttachment]:
    if len(media_ids) > settings.max_media_attachments:
        raise Unprocessable(f"A message can have at most {settings.max_media_attachments} images")
    if len(set(media_ids)) != len(media_ids):
        raise Unprocessable("media_ids contains the same id twice")
    if not media_ids:
        return []
    rows = {m.id: m for m in await session.scalars(select(MediaAttachment).where(
        MediaAttachment.id.in_(media_ids)))}
    found = []
    for media_id in media_ids:
        media = rows.get(media_id)
        if media is None or media.account_id != account_id or media.status_id is not None \
                or media.chat_message_id is not None:
            raise Unprocessable(f"media {media_id} does not exist or is already attached")
        found.append(media)
    return found


async def add_system_message(
    session: AsyncSession, *, conversation: Conversation, actor_id: int, action: str, account_ids: list[int],
    extra: dict[str, str] | None = None,
) -> ChatMessage:
    """A line in the conversation about the conversation ("@alice added @bob")."""
    message = ChatMessage(id=new_id(), conversation_id=conversation.id, account_id=actor_id, kind="system",
                          action={"type": action, "account_ids": [str(a) for a in account_ids], **(extra or {})})
    session.add(message)
    conversation.last_message_id = conversation.activity_id = message.id
    await session.flush()
    _log_message(session, message)
    return message


async def add_payment_card(
    session: AsyncSession, *, sender_id: int, conversation_id: int | None, action: dict[str, Any], text: str,
) -> tuple[ChatMessage, ConversationMember]:
    """Money in a chat (a transfer, a red packet): a message whose `action` describes it, sent as a
    member sends a message — the conversation's row taken first, so ids grow in commit order.

    `text` is the plain line inbox previews and notifications show ("💸 $12.34"). The wallet keeps the
    money; the card's `action` is updated by `update_payment_card` as the payment moves on.
    """
    me = await _membership(session, conversation_id, sender_id, lock=True)
    await require_not_blocked(session, me)
    message = ChatMessage(id=new_id(), conversation_id=me.conversation_id, account_id=sender_id, kind="payment",
                          action=action, text=text, content=escape(text))
    session.add(message)
    conversation = me.conversation
    me.last_read_id = max(me.last_read_id, message.id)
    conversation.last_message_id = conversation.activity_id = message.id
    await session.flush()
    _log_message(session, message)
    return message, me


async def update_payment_card(session: AsyncSession, *, message_id: int | None, changes: dict[str, Any]) -> None:
    """Record a payment's new state on its card and tell the chat's devices (a message update)."""
    message = await session.get(ChatMessage, message_id) if message_id is not None else None
    if message is None or message.kind != "payment":
        return
    message.action = {**(message.action or {}), **changes}  # a new dict: the JSON column sees the change
    await session.flush()
    _changed(session, message, "payment")


# --- changing a message -------------------------------------------------------------------------


def _changed(session: AsyncSession, message: ChatMessage, reason: str) -> None:
    events.record(session, conversation_id=message.conversation_id, kind=events.MESSAGE_UPDATE,
                  data={"message_id": str(message.id), "reason": reason})


async def _own_live_message(session: AsyncSession, me: ConversationMember, message_id: int | None) -> ChatMessage:
    message = await _visible_message(session, me, message_id, lock=True)
    if message.deleted_at is not None:
        raise Unprocessable("This message was deleted")
    if message.account_id != me.account_id or message.kind != "text":
        raise Forbidden("You can only change your own messages")
    return message


async def edit(
    session: AsyncSession, *, editor_id: int, conversation_id: int | None, message_id: int | None, text: str,
    settings: Settings,
) -> ChatMessage:
    """A new text for your own message; the old one is kept in its history, and it shows as edited."""
    me = await _membership(session, conversation_id, editor_id)
    await require_not_blocked(session, me)
    message = await _own_live_message(session, me, message_id)
    if len(text) > settings.max_chat_message_chars:
        raise Unprocessable(f"A message can be at most {settings.max_chat_message_chars} characters")
    if not text.strip() and not message.media:
        raise Unprocessable("A message needs text or an image")
    if text == message.text:
        return message
    session.add(ChatMessageEdit(message_id=message.id, text=message.text, content=message.content,
                                created_at=message.edited_at or message.created_at))
    message.text = text
    message.content, _ = await render_text(session, text=text, settings=settings)
    message.edited_at = utcnow()
    await session.flush()
    _changed(session, message, "edit")
    return message


async def delete_message(
    session: AsyncSession, *, actor_id: int, conversation_id: int | None, message_id: int | None,
    settings: Settings,
) -> ChatMessage:
    """Delete for everyone: the text, images, reactions and edit history go; a tombstone stays so
    replies and the conversation's flow still make sense. The sender, or a group's owner or admin."""
    me = await _membership(session, conversation_id, actor_id)
    message = await _visible_message(session, me, message_id, lock=True)
    if message.deleted_at is not None:
        return message
    moderator = me.conversation.kind == "group" and me.role in ("owner", "admin")
    if message.kind != "text" or (message.account_id != actor_id and not moderator):
        raise Forbidden("You can only delete your own messages")
    message.text = message.content = ""
    message.deleted_at = utcnow()
    message.pinned_at = None
    gone = list(message.media)
    for media in gone:
        await session.delete(media)
    await session.flush()
    await _remove_unused_files(session, gone, settings)
    await session.execute(delete(ChatReaction).where(ChatReaction.message_id == message.id))
    await session.execute(delete(ChatMessageEdit).where(ChatMessageEdit.message_id == message.id))
    await session.flush()
    session.expire(message, ["media"])
    _changed(session, message, "delete")
    return (await messages_by_id(session, [message.id]))[message.id]


async def _remove_unused_files(session: AsyncSession, gone: list[MediaAttachment], settings: Settings) -> None:
    """Remove a deleted message's image files once the delete commits — unless a forwarded copy
    still shows them (forwarding shares the files)."""
    paths = {p for m in gone for p in (m.file_path, m.preview_path)}
    if not paths:
        return
    still = set(await session.scalars(select(MediaAttachment.file_path).where(MediaAttachment.file_path.in_(paths))))
    still |= set(await session.scalars(select(MediaAttachment.preview_path).where(
        MediaAttachment.preview_path.in_(paths))))
    for path in paths - still:
        on_commit(session, lambda path=path: (settings.media_dir / path).unlink(missing_ok=True))


def checked_emoji(raw: str) -> str:
    """One emoji (with its modifiers and joiners): a symbol, not words or markup."""
    emoji = unicodedata.normalize("NFC", raw.strip())
    symbolic = any(unicodedata.category(c) in ("So", "Sk") or c == "\u20e3" for c in emoji)
    if not emoji or len(emoji) > MAX_EMOJI_CODEPOINTS or not symbolic or any(c.isspace() for c in emoji) \
            or any(c.isascii() and c.isalpha() for c in emoji):
        raise Unprocessable("A reaction must be a single emoji")
    return emoji


async def react(
    session: AsyncSession, *, actor_id: int, conversation_id: int | None, message_id: int | None, emoji: str,
    add: bool,
) -> ChatMessage:
    """Each member may add each emoji once; adding it again or removing it twice changes nothing."""
    me = await _membership(session, conversation_id, actor_id)
    await require_not_blocked(session, me)
    emoji = checked_emoji(emoji)
    message = await _visible_message(session, me, message_id, lock=True)
    if message.deleted_at is not None or message.kind != "text":
        raise Unprocessable("You cannot react to this message")
    if add:
        changed = await insert_once(session, ChatReaction(message_id=message.id, account_id=actor_id, emoji=emoji))
    else:
        result = await session.execute(delete(ChatReaction).where(
            ChatReaction.message_id == message.id, ChatReaction.account_id == actor_id, ChatReaction.emoji == emoji))
        changed = bool(result.rowcount)
    if changed:
        _changed(session, message, "reaction")
    return message


async def set_pinned(
    session: AsyncSession, *, actor_id: int, conversation_id: int | None, message_id: int | None, pinned: bool,
) -> ChatMessage:
    me = await _membership(session, conversation_id, actor_id)
    await require_not_blocked(session, me)
    if me.conversation.kind == "group" and me.role not in ("owner", "admin"):
        raise Forbidden("Only the group's owner and admins may pin messages")
    message = await _visible_message(session, me, message_id, lock=True)
    if message.deleted_at is not None or message.kind != "text":
        raise Unprocessable("You cannot pin this message")
    if (message.pinned_at is not None) != pinned:
        message.pinned_at = utcnow() if pinned else None
        await session.flush()
        _changed(session, message, "pin")
    return message


# --- reading ------------------------------------------------------------------------------------


async def get(session: AsyncSession, *, viewer_id: int, conversation_id: int | None, message_id: int | None
              ) -> ChatMessage:
    me = await _membership(session, conversation_id, viewer_id)
    return await _visible_message(session, me, message_id)


async def history(
    session: AsyncSession, *, viewer_id: int, conversation_id: int | None, page: PageParams,
    query: str | None = None, pinned_only: bool = False,
) -> Page[ChatMessage]:
    """Newest first, from when the viewer joined; `query` finds messages containing it (any script,
    any case), leaving deleted ones out."""
    me = await _membership(session, conversation_id, viewer_id)
    statement = select(ChatMessage).options(*_loaded()).where(
        ChatMessage.conversation_id == me.conversation_id, ChatMessage.seq >= me.since_seq)
    if query is not None:
        needle = query.strip()
        if not needle or len(needle) > MAX_SEARCH:
            raise Unprocessable(f"q must be 1–{MAX_SEARCH} characters")
        escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(ChatMessage.deleted_at.is_(None), ChatMessage.kind == "text",
                                    (await _lowered(session, ChatMessage.text)).like(f"%{escaped}%", escape="\\"))
    if pinned_only:
        statement = statement.where(ChatMessage.pinned_at.is_not(None))
    rows = page.finish(list(await session.scalars(page.apply(statement, ChatMessage.id))))
    return Page.of(rows, [m.id for m in rows])


async def _lowered(session: AsyncSession, column):
    """`lower(column)` for every script. PostgreSQL's lower() folds "CAFÉ" to "café"; SQLite's folds
    only ASCII, so a search for "café" would miss "CAFÉ" there. On SQLite it is Python's str.lower
    (what the needle went through), registered once on each pooled connection."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return func.lower(column)

    def register(sync_connection) -> None:
        pooled = sync_connection.connection  # the pool's record: its `info` lives as long as the connection
        if not pooled.info.get("agora_lower"):
            pooled.dbapi_connection.create_function("agora_lower", 1, str.lower, deterministic=True)
            pooled.info["agora_lower"] = True

    await connection.run_sync(register)
    return func.agora_lower(column)


async def edits(session: AsyncSession, *, viewer_id: int, conversation_id: int | None, message_id: int | None
                ) -> tuple[ChatMessage, list[ChatMessageEdit]]:
    message = await get(session, viewer_id=viewer_id, conversation_id=conversation_id, message_id=message_id)
    earlier = await session.scalars(select(ChatMessageEdit).where(ChatMessageEdit.message_id == message.id)
                                    .order_by(ChatMessageEdit.id))
    return message, list(earlier)


async def messages_by_id(session: AsyncSession, ids: list[int]) -> dict[int, ChatMessage]:
    if not ids:
        return {}
    rows = await session.scalars(select(ChatMessage).options(*_loaded()).where(ChatMessage.id.in_(ids)))
    return {m.id: m for m in rows}


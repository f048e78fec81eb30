"""Chat ready for a template: inbox rows, message items and read receipts.

Built from the chat services and their JSON entities (agora.chat.entities), so an unread count, a
reaction's "mine" or a reply quote means on the page exactly what it means in the API. What is
worded here (previews, the lines a group writes about itself) is worded in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agora.chat.conversations import MANAGERS
from agora.chat.entities import MISSING_GROUP_AVATAR, render_messages
from agora.config import Settings
from agora.models import ChatMessage, ConversationMember
from agora.web.i18n import N_
from agora.web.i18n import gettext as _
from agora.web.wallet_data import chat_cards

# The picker's few emoji: the ones most chats offer first.
COMMON_REACTIONS = ("👍", "❤️", "😂", "😮", "😢", "🙏")
PREVIEW_CHARS = 80
# Messages from the same sender within this long read as one run: the name shows once.
RUN_GAP = timedelta(minutes=5)

# The lines a group writes about itself; `%(actor)s`, `%(accounts)s` become linked names.
SYSTEM_SENTENCES = {
    "created": N_("%(actor)s created the group"),
    "added": N_("%(actor)s added %(accounts)s"),
    "removed": N_("%(actor)s removed %(accounts)s"),
    "left": N_("%(actor)s left"),
    "renamed": N_("%(actor)s renamed the group to “%(name)s”"),
    "made_admin": N_("%(actor)s made %(accounts)s an admin"),
    "made_member": N_("%(actor)s made %(accounts)s a member"),
    "made_owner": N_("%(actor)s made %(accounts)s the owner"),
}
OTHER_CHANGE = N_("%(actor)s changed the group")


def moment(value: str | None) -> datetime | None:
    """A time from the JSON entities (ISO 8601 with Z) back as a datetime for the date filters."""
    return datetime.fromisoformat(value) if value else None


def local_url(url: str, settings: Settings) -> str:
    """The entities' absolute URLs as site paths, so a page works whatever host it was opened on."""
    base = settings.base_url.rstrip("/")
    return url[len(base):] if base and url.startswith(base + "/") else url


# --- messages -----------------------------------------------------------------------------------


@dataclass(slots=True)
class MessageItem:
    """One message as the conversation view shows it."""

    message: ChatMessage  # with its account and media loaded
    reactions: list[dict[str, Any]]  # {"name": emoji, "count": n, "me": bool}, first added first
    reply_to: dict[str, Any] | None  # {"id", "acct", "text", "deleted"}
    action: dict[str, Any] | None  # system lines: {"type", "name", "accounts": [account JSON]}
    sentence: str | None  # system lines: the msgid, translated by the template with linked names
    mine: bool
    continued: bool = False  # same sender as the message above, shortly after: no name again
    money: dict[str, Any] | None = None  # a payment card's live state (wallet_data.chat_cards)


async def message_items(session: AsyncSession, found: list[ChatMessage], *, viewer_id: int,
                        settings: Settings) -> list[MessageItem]:
    """`found` oldest first (as the view reads), each with what the API would say about it."""
    rendered = await render_messages(session, found, viewer_id=viewer_id, settings=settings)
    cards = await chat_cards(session, found, viewer_id=viewer_id)
    items: list[MessageItem] = []
    for message, body in zip(found, rendered, strict=True):
        action = body.get("action")
        sentence = None
        if message.kind == "system":
            sentence = SYSTEM_SENTENCES.get((action or {}).get("type") or "", OTHER_CHANGE)
        items.append(MessageItem(message, body["reactions"], body["reply_to"], action, sentence,
                                 mine=message.account_id == viewer_id, money=cards.get(message.id)))
    mark_runs(items)
    return items


def may_pin(member: ConversationMember) -> bool:
    """Whether "Pin" shows: either side of a direct chat, only a group's owner and admins (the rule
    messages.set_pinned enforces; the page only leaves out a button that would be refused)."""
    return member.conversation.kind == "direct" or member.role in MANAGERS


def mark_runs(items: list[MessageItem]) -> None:
    previous: MessageItem | None = None
    for item in items:
        item.continued = (previous is not None and item.message.kind == "text" and previous.message.kind == "text"
                          and previous.message.account_id == item.message.account_id
                          and item.message.created_at - previous.message.created_at < RUN_GAP)
        previous = item


# --- read receipts --------------------------------------------------------------------------------


@dataclass(slots=True)
class Receipt:
    """"Seen" under the viewer's last message: who of the others has read up to it."""

    message_id: int | None  # the viewer's last message shown, or None
    seen_by: int  # how many others read up to it
    readers: dict[str, str] = field(default_factory=dict)  # account id -> last read message id (for the script)


def receipt(items: list[MessageItem], read_markers: list[dict[str, str]]) -> Receipt:
    readers = {m["account_id"]: m["last_read_id"] for m in read_markers}
    last_mine = next((i.message.id for i in reversed(items)
                      if i.mine and i.message.kind == "text" and i.message.deleted_at is None), None)
    seen = sum(1 for read in readers.values() if last_mine is not None and int(read) >= last_mine)
    return Receipt(last_mine, seen, readers)


# --- the inbox ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    """One conversation in the inbox (or the requests list)."""

    id: str
    kind: str
    title: str
    handle: str | None  # @username of the other member of a direct chat
    faces: list[str]  # avatar addresses
    unread: int
    muted: bool
    preview: str
    when: datetime | None


def title_of(conversation: dict[str, Any]) -> str:
    """A group's name, else its members' names; the other member's name for a direct chat."""
    if conversation["kind"] == "group" and conversation["name"]:
        return conversation["name"]
    names = [a["display_name"] or a["username"] for a in conversation["accounts"]]
    if conversation["kind"] == "direct":
        return names[0] if names else _("Deleted account")
    return ", ".join(names) if names else _("Just you")


def system_text(message: dict[str, Any]) -> str:
    """A system line as plain text (the inbox preview)."""
    action = message.get("action") or {}
    sentence = SYSTEM_SENTENCES.get(action.get("type") or "", OTHER_CHANGE)
    return _(sentence) % {"actor": "@" + message["account"]["username"],
                          "accounts": ", ".join("@" + a["username"] for a in action.get("accounts", [])),
                          "name": action.get("name") or ""}


def preview_of(message: dict[str, Any] | None, viewer_id: int) -> str:
    if message is None:
        return _("No messages yet")
    if message["kind"] == "system":
        return system_text(message)
    if message["deleted"]:
        text = _("This message was deleted")
    elif message["text"].strip():
        text = " ".join(message["text"].split())
        text = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1] + "…"
    else:
        text = _("Photo")
    return _("You: %(text)s") % {"text": text} if message["account"]["id"] == str(viewer_id) else text


def inbox_row(conversation: dict[str, Any], viewer_id: int, settings: Settings) -> Row:
    last = conversation["last_message"]
    others = conversation["accounts"]
    own_picture = conversation["kind"] == "group" and not (conversation["avatar"] or "").endswith(MISSING_GROUP_AVATAR)
    # A group without a picture of its own shows two of its members.
    faces = [local_url(conversation["avatar"], settings)] if own_picture else [
        local_url(a["avatar"], settings) for a in others[:2]]
    return Row(id=conversation["id"], kind=conversation["kind"], title=title_of(conversation),
               handle=others[0]["username"] if conversation["kind"] == "direct" and others else None,
               faces=faces, unread=conversation["unread_count"], muted=conversation["muted"],
               preview=preview_of(last, viewer_id),
               when=moment(last["created_at"]) if last else moment(conversation["created_at"]))

"""The demo community's chats: a few direct conversations and groups, replayed through the chat
services at the moments they "happened", so a visitor signed in as `demo` finds an inbox with
unread badges, a message request, reactions, a pinned message and a group in Chinese."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agora.chat import conversations, events, messages
from agora.config import Settings
from agora.kit.time import clock_at
from agora.models import Account

CHATS = "chats.json"


async def load_chats(session: AsyncSession, settings: Settings, *, data: Any, by_name: dict[str, Account],
                     now: datetime) -> int:
    """Replay every chat in `data` (the parsed chats.json); returns how many messages were sent."""
    sent = 0
    for spec in data:
        first = now - timedelta(minutes=max(m["minutes_ago"] for m in spec["messages"]) + 5)
        with clock_at(first):
            conversation_id = await _start(session, settings, spec, by_name)
            await events.sequence_now(session)
        for item in spec["messages"]:
            with clock_at(now - timedelta(minutes=item["minutes_ago"])):
                message, _ = await messages.send(
                    session, sender_id=by_name[item["from"]].id, conversation_id=conversation_id,
                    draft=messages.Draft(text=item["text"]), settings=settings)
                # One transaction loads the whole demo: number the events now, so the reactions
                # below find the message as members will (by its place in the log).
                await events.sequence_now(session)
                for who, emoji in item.get("reactions", {}).items():
                    await messages.react(session, actor_id=by_name[who].id, conversation_id=conversation_id,
                                         message_id=message.id, emoji=emoji, add=True)
                if item.get("pin"):
                    await messages.set_pinned(session, actor_id=by_name[item["from"]].id,
                                              conversation_id=conversation_id, message_id=message.id, pinned=True)
            sent += 1
    return sent


async def _start(session: AsyncSession, settings: Settings, spec: dict[str, Any], by_name: dict[str, Account]) -> int:
    if spec["kind"] == "direct":
        starter, other = (by_name[name] for name in spec["members"])
        return (await conversations.start_direct(session, starter=starter, other_id=other.id)).id
    owner = by_name[spec["owner"]]
    group = await conversations.create_group(
        session, creator=owner, name=spec["name"], description=spec.get("description", ""),
        member_ids=[by_name[name].id for name in spec["members"]], settings=settings)
    for name in spec["members"]:
        if name != "demo":  # the others joined gladly; demo meets the group as the data says
            await conversations.accept(session, actor=by_name[name], conversation_id=group.id)
    for name in spec.get("admins", []):
        await conversations.set_role(session, actor=owner, conversation_id=group.id, account_id=by_name[name].id,
                                     role="admin")
    return group.id

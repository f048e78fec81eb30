"""A member's earlier questions to the assistant, so that a follow-up ("and when does it close?") is
read with them (agora/ai/assistant/followup.py decides whether it is one).

In a chat: the asker's own text messages in that chat from the last hour before this one (in a group,
only those that mention the assistant). In a thread: the asker's own posts that mention the assistant
among the posts this one replies to. Never other members' words, and never the assistant's answers:
those quote posts, and read back as the asker's words a quoted post could steer the next search.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.ai.assistant.followup import MAX_LOOKBACK
from agora.kit.ids import first_id_at
from agora.models import ChatMessage, Status
from agora.social.visibility import PUBLICLY_READABLE

from .intents import mentions, without_mention

RECENT = timedelta(hours=1)  # an older question is another conversation
THREAD_LEVELS = 2 * MAX_LOOKBACK  # posts walked up a thread: the asker's and the assistant's answers alternate


async def earlier_in_chat(session: AsyncSession, *, message: ChatMessage, assistant: str, group: bool) -> list[str]:
    """The asker's earlier questions in this chat, oldest first."""
    rows = await session.scalars(
        select(ChatMessage.text).where(
            ChatMessage.conversation_id == message.conversation_id, ChatMessage.account_id == message.account_id,
            ChatMessage.kind == "text", ChatMessage.deleted_at.is_(None), ChatMessage.id < message.id,
            ChatMessage.id >= first_id_at(message.created_at - RECENT))
        .order_by(ChatMessage.id.desc()).limit(4 * MAX_LOOKBACK))
    asked = [text for text in rows if not group or mentions(text, assistant)][:MAX_LOOKBACK]
    return [without_mention(text, assistant) for text in reversed(asked)]


async def earlier_in_thread(session: AsyncSession, *, status: Status, assistant: str, public: bool) -> list[str]:
    """The asker's earlier questions to the assistant up this post's thread, oldest first; for a
    public reply (`public`), only public or unlisted ones: a private post's words stay out of it."""
    asked: list[str] = []
    parent_id = status.in_reply_to_id
    for _ in range(THREAD_LEVELS):
        if parent_id is None or len(asked) >= MAX_LOOKBACK:
            break
        row = (await session.execute(select(Status.account_id, Status.text, Status.in_reply_to_id, Status.visibility)
                                     .where(Status.id == parent_id))).first()
        if row is None:
            break
        readable = not public or row.visibility in PUBLICLY_READABLE
        if row.account_id == status.account_id and readable and mentions(row.text, assistant):
            asked.append(without_mention(row.text, assistant))
        parent_id = row.in_reply_to_id
    return list(reversed(asked))

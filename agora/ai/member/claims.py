"""Exactly once: the claim row that goes in with the assistant's reply (see models.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, and_
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.db import insert_once
from agora.kit.ids import first_id_at
from agora.kit.time import utcnow
from agora.models.ai import AssistantReply

# Mentions and messages older than this are not answered: a server that had the assistant off (or
# just upgraded) does not flood old threads with late answers when it starts.
WINDOW = timedelta(hours=24)


def window_start() -> int:
    return first_id_at(utcnow() - WINDOW)


def unclaimed(kind: str, source_id: ColumnElement[int]) -> tuple[type[AssistantReply], ColumnElement[bool]]:
    """For an outer join: `AssistantReply` and the condition that finds this source's claim."""
    return AssistantReply, and_(AssistantReply.source_kind == kind, AssistantReply.source_id == source_id)


async def claim(session: AsyncSession, *, kind: str, source_id: int) -> AssistantReply | None:
    """The claim on this source, or None if another worker (or an earlier run) has it."""
    row = AssistantReply(source_kind=kind, source_id=source_id)
    return row if await insert_once(session, row) else None

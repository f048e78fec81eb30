"""Exactly once: the claim row that goes in with the assistant's reply (AssistantReply in models/ai.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, and_
from sqlalchemy.ext.asyncio import AsyncSession

from agora.ai.assistant import Answer, Reading
from agora.ai.assistant.generative import EngineLike
from agora.ai.audit import record_answer
from agora.config import Settings
from agora.kit.db import Database, insert_once
from agora.kit.errors import AgoraError
from agora.kit.ids import first_id_at
from agora.kit.time import utcnow
from agora.models import Account
from agora.models.ai import AssistantReply

log = logging.getLogger("agora.ai")

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


class Plan(Protocol):
    """What the assistant read to answer, and what the audit log records of it."""

    asker_id: int
    question: str
    reading: Reading
    surface: str


P = TypeVar("P", bound=Plan)


async def answer_once(db: Database, *, kind: str, source_id: int, assistant_id: int, settings: Settings,
                      engine: EngineLike | None, plan: Callable[[AsyncSession, Account], Awaitable[P | None]],
                      deliver: Callable[[AsyncSession, Account, P, Answer], Awaitable[int]]) -> bool:
    """Answer one post or message exactly once; True if this call claimed it (replied or decided not to).

    Three steps: `plan` reads in a read transaction; the answer is composed with no transaction
    open (it may run a model for seconds: reading.py); then the claim, the reply (`deliver`, returning
    its id) and the audit row commit together, so a second worker finds the claim taken. A refusal
    while delivering (the source deleted, a block since) keeps the claim alone: it comes before
    anything is written."""
    async with db.transaction(write=False) as session:
        planned = await plan(session, await session.get_one(Account, assistant_id))
    answer = None if planned is None else await planned.reading.compose(settings=settings, engine=engine)
    async with db.transaction() as session:
        claimed = await claim(session, kind=kind, source_id=source_id)
        if claimed is None:
            return False
        if planned is None or answer is None:
            return True
        try:
            claimed.reply_id = await deliver(session, await session.get_one(Account, assistant_id), planned, answer)
        except AgoraError as error:
            log.info("assistant did not answer", extra={"kind": kind, "source_id": source_id, "why": str(error)})
            return True
        await record_answer(session, asker_id=planned.asker_id, surface=planned.surface, question=planned.question,
                            answer=answer)
    return True

"""The assistant's audit log: every answer an AI gave, who asked, from what, with which model.

`record_answer` adds the row in the caller's transaction, so an answer and its record are kept or
lost together. Every surface that answers calls it: the /v1 API ("api": the assistant and the raw
models alike), the web page ("web"), mentions ("mention"), chats ("chat") and summaries ("summary").

Only operators read the log (the /admin/ai/audit page, its export, and `agora ai audit` on the
server): it holds members' questions, which are as private as their messages.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.ai.assistant.answer import EXTRACTIVE, Answer
from agora.config import Settings
from agora.kit.time import iso
from agora.models import Account, AiAudit
from agora.models.ai import SURFACES

RAW = "raw"  # the mode of a plain chat completion from a model: no retrieval, no citations
EXTRACTIVE_VERSION = "all-MiniLM-L6-v2"  # what picks an extractive answer's sentences (agora.search.embeddings)
EXPORT_BATCH = 500
EXPORT_FIELDS = ("id", "created_at", "asker_id", "asker", "surface", "question", "cited", "retrieved", "model",
                 "model_version", "mode", "refused", "output")


def _model_version(answer: Answer) -> str:
    """A generative answer's model id is its version (a run id, or the upstream server's model); an
    extractive answer was chosen by the sentence-embedding model."""
    return EXTRACTIVE_VERSION if answer.mode == EXTRACTIVE else answer.model


async def record_answer(session: AsyncSession, *, asker_id: int | None, surface: str, question: str,
                        answer: Answer, model_version: str | None = None) -> None:
    """Add the answer's audit row to the caller's transaction."""
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}: one of {', '.join(SURFACES)}")
    session.add(AiAudit(
        asker_id=asker_id, surface=surface, question=question,
        sources={"cited": [c.status_id for c in answer.citations],
                 "retrieved": list(dict.fromkeys(answer.retrieved))},
        model=answer.model[:200], model_version=(model_version or _model_version(answer))[:200],
        mode=answer.mode, refused=answer.refused, output=answer.text))
    await session.flush()


def raw_answer(text: str, *, model: str) -> Answer:
    """A plain model completion as an Answer to record: no sources, no citations."""
    return Answer(text=text, mode=RAW, model=model)


def last_user_message(messages: list[dict[str, str]]) -> str:
    """What a chat completion is asked: the last user message (the conversation is the client's)."""
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")


# --- reading: for operators only ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Entry:
    row: AiAudit
    asker: str | None  # the asker's username; None for a deleted member (or no asker)

    @property
    def cited(self) -> list[int]:
        return [int(i) for i in (self.row.sources or {}).get("cited", [])]

    @property
    def retrieved(self) -> list[int]:
        return [int(i) for i in (self.row.sources or {}).get("retrieved", [])]

    def to_json(self) -> dict[str, Any]:
        row = self.row
        return {"id": str(row.id), "created_at": iso(row.created_at),
                "asker_id": None if row.asker_id is None else str(row.asker_id), "asker": self.asker,
                "surface": row.surface, "question": row.question, "cited": [str(i) for i in self.cited],
                "retrieved": [str(i) for i in self.retrieved], "model": row.model,
                "model_version": row.model_version, "mode": row.mode, "refused": row.refused, "output": row.output}


def _entries_query() -> Any:
    return select(AiAudit, Account.username).outerjoin(Account, Account.id == AiAudit.asker_id)


async def newest(session: AsyncSession, *, before: int | None = None, limit: int = 50) -> list[Entry]:
    """A page of the log, newest first; `before` is the id of the last row of the previous page."""
    query = _entries_query()
    if before is not None:
        query = query.where(AiAudit.id < before)
    rows = await session.execute(query.order_by(AiAudit.id.desc()).limit(limit))
    return [Entry(row, username) for row, username in rows]


async def entry(session: AsyncSession, *, audit_id: int) -> Entry | None:
    found = (await session.execute(_entries_query().where(AiAudit.id == audit_id))).first()
    return None if found is None else Entry(found[0], found[1])


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AiAudit)) or 0)


async def export_rows(transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]], *,
                      since: datetime | None = None) -> AsyncIterator[dict[str, Any]]:
    """Every row (since `since`), oldest first, read in batches, each batch in a short transaction
    of its own: an export of millions of rows holds no transaction open while a client reads slowly."""
    after = 0
    while True:
        async with transaction() as session:
            query = _entries_query().where(AiAudit.id > after)
            if since is not None:
                query = query.where(AiAudit.created_at >= since)
            batch = [Entry(row, username) for row, username in
                     await session.execute(query.order_by(AiAudit.id).limit(EXPORT_BATCH))]
        for item in batch:
            yield item.to_json()
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].row.id


def jsonl_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"


def csv_header() -> str:
    return _csv_line(list(EXPORT_FIELDS))


def csv_line(row: dict[str, Any]) -> str:
    return _csv_line([_csv_cell(row[name]) for name in EXPORT_FIELDS])


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts with = + - @ as a formula: members wrote these questions.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


# --- the assistant's state, for the operator -------------------------------------------------------

def engine_description(settings: Settings) -> dict[str, str | None]:
    """Where the assistant's text comes from, as `engine_for` picks it (without loading a model)."""
    from agora.ai.registry import promoted

    record = promoted(settings)
    promoted_id = record.id if record is not None and record.has_model else None
    if settings.ai_url:
        return {"engine": f"upstream {settings.ai_url}", "promoted": promoted_id}
    if promoted_id is not None:
        return {"engine": f"promoted run {promoted_id}", "promoted": promoted_id}
    return {"engine": "extractive only", "promoted": None}

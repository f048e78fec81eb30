"""`/admin/ai/audit`: the assistant's audit log, for operators (admin accounts) only.

Every answer an AI gave on this server, newest first, with who asked, the question, the model and
the output; each row opens a detail view with the whole output and the posts it cited. The log is
exported as JSON Lines or CSV (`/admin/ai/audit.jsonl`, `.csv`, `?since=YYYY-MM-DD`), streamed in
batches. To anyone else these addresses do not exist (404, as any page one may not see): members'
questions are as private as their messages. The page also says whether the assistant is on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from agora.ai import audit
from agora.kit.errors import NotFound, Unprocessable
from agora.kit.ids import parse_id
from agora.kit.runtime import runtime_of
from agora.models import Account, Status
from agora.web.render import page, prepare
from agora.web.session import Viewer, current_viewer

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare)])
PAGE_SIZE = 50
EXCERPT_CHARS = 160


async def require_operator(request: Request) -> Viewer:
    """The signed-in operator; to anyone else (members, visitors) the page does not exist."""
    viewer = await current_viewer(request)
    if viewer is None or not viewer.account.admin:
        raise NotFound()
    return viewer


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


async def _state(request: Request) -> dict[str, Any]:
    settings = runtime_of(request).settings
    engine = await asyncio.to_thread(audit.engine_description, settings)  # reads the registry's files
    return {"ai_enabled": settings.ai_enabled, "engine": engine["engine"], "promoted": engine["promoted"]}


@router.get("/admin/ai/audit")
async def audit_page(request: Request, _operator: Viewer = Depends(require_operator)) -> Response:
    raw_before = request.query_params.get("before")
    before = parse_id(raw_before) if raw_before else None
    if raw_before and before is None:
        raise Unprocessable("before must be an audit row id")
    async with runtime_of(request).db.transaction(write=False) as session:
        entries = await audit.newest(session, before=before, limit=PAGE_SIZE + 1)
        total = await audit.count(session)
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    return await page(request, "ai_audit.html", {
        **await _state(request), "entries": entries, "total": total, "excerpt": excerpt, "paged": before is not None,
        "older": str(entries[-1].row.id) if more and entries else None})


def _since(request: Request) -> datetime | None:
    raw = request.query_params.get("since")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise Unprocessable("since must be a date (YYYY-MM-DD) or an ISO 8601 time") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _export(request: Request, line: Callable[[dict[str, Any]], str], *, header: str, media_type: str,
            filename: str) -> StreamingResponse:
    db = runtime_of(request).db
    since = _since(request)

    async def body() -> AsyncIterator[bytes]:
        if header:
            yield header.encode()
        async for row in audit.export_rows(lambda: db.transaction(write=False), since=since):
            yield line(row).encode()

    return StreamingResponse(body(), media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.get("/admin/ai/audit.jsonl")
async def export_jsonl(request: Request, _operator: Viewer = Depends(require_operator)) -> Response:
    return _export(request, audit.jsonl_line, header="", media_type="application/x-ndjson",
                   filename="ai-audit.jsonl")


@router.get("/admin/ai/audit.csv")
async def export_csv(request: Request, _operator: Viewer = Depends(require_operator)) -> Response:
    return _export(request, audit.csv_line, header=audit.csv_header(), media_type="text/csv; charset=utf-8",
                   filename="ai-audit.csv")


@router.get("/admin/ai/audit/{audit_id}")
async def audit_entry(audit_id: str, request: Request, _operator: Viewer = Depends(require_operator)) -> Response:
    wanted = parse_id(audit_id)
    if wanted is None:
        raise NotFound()
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await audit.entry(session, audit_id=wanted)
        if found is None:
            raise NotFound()
        ids = list(dict.fromkeys([*found.cited, *found.retrieved]))
        authors = dict((await session.execute(
            select(Status.id, Account.username).join(Account, Account.id == Status.account_id)
            .where(Status.id.in_(ids)))).all()) if ids else {}
    # A deleted post keeps its id in the log but has no page any more: listed without a link.
    links = {status_id: f"/@{authors[status_id]}/{status_id}" if status_id in authors else None
             for status_id in ids}
    return await page(request, "ai_audit_entry.html", {"entry": found, "links": links})

"""Routes: post, read, edit, delete statuses; thread context; favourite, reblog, bookmark, pin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts import idempotency
from agora.accounts.auth import member, optional_viewer, rate_limited
from agora.accounts.entities import account_json
from agora.accounts.oauth import Grant
from agora.kit.errors import NotFound, Unprocessable
from agora.kit.http import page_params, paged, path_id
from agora.kit.ids import parse_id
from agora.kit.pagination import Page
from agora.kit.params import request_params, validate
from agora.kit.runtime import runtime_of
from agora.models import Account, Favourite, Status
from agora.social import interactions, statuses
from agora.social.entities import render_history, render_status, render_statuses, source_json
from agora.social.visibility import blocked_either_way, visible_to

router = APIRouter(tags=["statuses"])


def _ids(value: Any, field: str) -> list[int]:
    raw = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    parsed = [parse_id(v) for v in raw]
    if any(p is None for p in parsed):
        raise Unprocessable(f"{field} must be a list of ids")
    return [p for p in parsed if p is not None]


class StatusForm(BaseModel):
    status: str = Field("", max_length=100_000)  # the real limit is checked with a clear message
    spoiler_text: str = Field("", max_length=100_000)
    sensitive: bool | None = None
    visibility: str | None = None
    language: str | None = Field(None, max_length=100)
    in_reply_to_id: str | None = None
    quoted_status_id: str | None = None
    quote_id: str | None = None  # the older Fedibird name for the same thing
    poll: Any = None
    scheduled_at: Any = None

    @field_validator("status", "spoiler_text", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


def _draft(form: StatusForm, params: dict[str, Any], grant: Grant) -> statuses.Draft:
    if form.poll not in (None, "", {}):
        raise Unprocessable("polls are not supported on this server yet")
    if form.scheduled_at not in (None, ""):
        raise Unprocessable("scheduled posts are not supported on this server yet")
    reply_to = parse_id(form.in_reply_to_id) if form.in_reply_to_id else None
    if form.in_reply_to_id and reply_to is None:
        raise Unprocessable("in_reply_to_id must be an id")
    quote_raw = form.quoted_status_id or form.quote_id
    quoted = parse_id(quote_raw) if quote_raw else None
    if quote_raw and quoted is None:
        raise Unprocessable("quoted_status_id must be an id")
    return statuses.Draft(
        text=form.status, spoiler_text=form.spoiler_text, sensitive=form.sensitive, visibility=form.visibility,
        language=form.language or None, in_reply_to_id=reply_to, quoted_status_id=quoted,
        media_ids=_ids(params.get("media_ids"), "media_ids"), application_name=grant.app_name,
    )


async def _render(request: Request, session: AsyncSession, status_id: int, viewer: Account | None) -> dict[str, Any]:
    loaded = await statuses.get_visible(session, status_id=status_id, viewer_id=viewer.id if viewer else None)
    return await render_status(session, loaded, viewer_id=viewer.id if viewer else None,
                               settings=runtime_of(request).settings)


@router.post("/api/v1/statuses", dependencies=[Depends(rate_limited("statuses"))])
async def create_status(request: Request, grant: Grant = Depends(member("write:statuses"))) -> dict[str, Any]:
    params = await request_params(request)
    form = validate(StatusForm, params)
    draft = _draft(form, params, grant)
    key = request.headers.get("idempotency-key")
    fingerprint = idempotency.fingerprint({**form.model_dump(), "media_ids": draft.media_ids})
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        author = grant.account
        earlier = await idempotency.replayed(session, account_id=author.id, scope="status", key=key,
                                             request_hash=fingerprint)
        if earlier is None:
            status = await statuses.create(session, author=author, draft=draft, settings=runtime.settings)
            await idempotency.remember(session, account_id=author.id, scope="status", key=key,
                                       request_hash=fingerprint, resource_id=status.id)
            earlier = status.id
        return await _render(request, session, earlier, author)


@router.get("/api/v1/statuses/{status_id}")
async def get_status(request: Request, status_id: str) -> dict[str, Any]:
    viewer = await optional_viewer(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        return await _render(request, session, path_id(status_id), viewer)


@router.get("/api/v1/statuses")
async def get_statuses(request: Request) -> list[dict[str, Any]]:
    viewer = await optional_viewer(request)
    params = await request_params(request)
    ids = _ids(params.get("id"), "id")[:40]
    viewer_id = viewer.id if viewer else None
    async with runtime_of(request).db.transaction(write=False) as session:
        allowed = await statuses.visible_ids(session, ids=ids, viewer_id=viewer_id)
        found = await statuses.load(session, ids=[i for i in ids if i in allowed])
        return await render_statuses(session, found, viewer_id=viewer_id, settings=runtime_of(request).settings)


@router.put("/api/v1/statuses/{status_id}")
async def edit_status(request: Request, status_id: str, grant: Grant = Depends(member("write:statuses"))) -> dict:
    params = await request_params(request)
    form = validate(StatusForm, params)
    draft = _draft(form, params, grant)
    descriptions: dict[int, str] = {}
    attributes = params.get("media_attributes") or []
    for item in attributes if isinstance(attributes, list) else []:
        if isinstance(item, dict) and parse_id(item.get("id")) and isinstance(item.get("description"), str):
            descriptions[parse_id(item["id"])] = item["description"]  # type: ignore[index]
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        status = await statuses.edit(session, author=grant.account, status_id=path_id(status_id), draft=draft,
                                     media_descriptions=descriptions, settings=runtime.settings)
        return await _render(request, session, status.id, grant.account)


@router.delete("/api/v1/statuses/{status_id}")
async def delete_status(request: Request, status_id: str, grant: Grant = Depends(member("write:statuses"))) -> dict:
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        gone = await statuses.delete_status(session, author=grant.account, status_id=path_id(status_id))
        body = await render_status(session, gone, viewer_id=grant.account.id, settings=runtime.settings)
    body["text"] = gone.text  # Mastodon returns the source so clients can "delete and redraft"
    return body


@router.get("/api/v1/statuses/{status_id}/context")
async def status_context(request: Request, status_id: str) -> dict[str, Any]:
    viewer = await optional_viewer(request)
    viewer_id = viewer.id if viewer else None
    settings = runtime_of(request).settings
    async with runtime_of(request).db.transaction(write=False) as session:
        status = await statuses.get_visible(session, status_id=path_id(status_id), viewer_id=viewer_id)
        ancestors, descendants = await statuses.context(session, status=status, viewer_id=viewer_id)
        rendered = await render_statuses(session, ancestors + descendants, viewer_id=viewer_id, settings=settings)
    return {"ancestors": rendered[: len(ancestors)], "descendants": rendered[len(ancestors):]}


@router.get("/api/v1/statuses/{status_id}/history")
async def status_history(request: Request, status_id: str) -> list[dict[str, Any]]:
    viewer = await optional_viewer(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        status = await statuses.get_visible(session, status_id=path_id(status_id),
                                            viewer_id=viewer.id if viewer else None)
        edits = await statuses.history(session, status=status)
        return await render_history(session, status, edits, settings=runtime_of(request).settings)


@router.get("/api/v1/statuses/{status_id}/source")
async def status_source(request: Request, status_id: str, grant: Grant = Depends(member("read:statuses"))) -> dict:
    async with runtime_of(request).db.transaction(write=False) as session:
        status = await statuses.get_visible(session, status_id=path_id(status_id), viewer_id=grant.account.id)
    if status.account_id != grant.account.id:
        raise NotFound()
    return source_json(status)


def _action(operation, scope: str):
    async def endpoint(request: Request, status_id: str, grant: Grant = Depends(member(scope))) -> dict[str, Any]:
        async with runtime_of(request).db.transaction() as session:
            target = await operation(session, account=grant.account, status_id=path_id(status_id))
            return await _render(request, session, target.id, grant.account)
    return endpoint


for _name, _operation, _scope in (
    ("favourite", interactions.favourite, "write:favourites"),
    ("unfavourite", interactions.unfavourite, "write:favourites"),
    ("bookmark", interactions.bookmark, "write:bookmarks"),
    ("unbookmark", interactions.unbookmark, "write:bookmarks"),
    ("pin", interactions.pin, "write:accounts"),
    ("unpin", interactions.unpin, "write:accounts"),
):
    router.add_api_route(f"/api/v1/statuses/{{status_id}}/{_name}", _action(_operation, _scope), methods=["POST"],
                         name=_name)


@router.post("/api/v1/statuses/{status_id}/reblog")
async def reblog(request: Request, status_id: str, grant: Grant = Depends(member("write:statuses"))) -> dict:
    params = await request_params(request)
    visibility = params.get("visibility")
    if visibility is not None and not isinstance(visibility, str):
        raise Unprocessable("visibility must be a string")
    async with runtime_of(request).db.transaction() as session:
        boost = await statuses.reblog(session, account=grant.account, status_id=path_id(status_id),
                                      visibility=visibility)
        return await _render(request, session, boost.id, grant.account)


@router.post("/api/v1/statuses/{status_id}/unreblog")
async def unreblog(request: Request, status_id: str, grant: Grant = Depends(member("write:statuses"))) -> dict:
    async with runtime_of(request).db.transaction() as session:
        original = await statuses.unreblog(session, account=grant.account, status_id=path_id(status_id))
        return await _render(request, session, original.id, grant.account)


@router.get("/api/v1/statuses/{status_id}/favourited_by")
async def favourited_by(request: Request, status_id: str) -> JSONResponse:
    return await _reactors(request, status_id, favourites=True)


@router.get("/api/v1/statuses/{status_id}/reblogged_by")
async def reblogged_by(request: Request, status_id: str) -> JSONResponse:
    return await _reactors(request, status_id, favourites=False)


async def _reactors(request: Request, status_id: str, *, favourites: bool) -> JSONResponse:
    viewer = await optional_viewer(request)
    viewer_id = viewer.id if viewer else None
    page = page_params(request)
    settings = runtime_of(request).settings
    async with runtime_of(request).db.transaction(write=False) as session:
        status = await statuses.get_visible(session, status_id=path_id(status_id), viewer_id=viewer_id)
        if favourites:
            query = select(Favourite.id, Account).join(Account, Account.id == Favourite.account_id).where(
                Favourite.status_id == status.id)
            cursor = Favourite.id
            if viewer_id is not None:
                query = query.where(Account.id.not_in(blocked_either_way(viewer_id)))
        else:  # a boost is a post of its own: a followers-only boost is listed only for who may see it
            query = select(Status.id, Account).join(Account, Account.id == Status.account_id).where(
                Status.reblog_of_id == status.id, visible_to(viewer_id))
            cursor = Status.id
        rows = page.finish(list((await session.execute(page.apply(query, cursor))).all()))
    return paged(request, Page.of(rows, [r[0] for r in rows]), [account_json(r[1], settings) for r in rows])

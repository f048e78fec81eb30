"""Routes: notifications (list, get, dismiss, clear, unread count) and read markers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from agora.accounts.auth import member
from agora.accounts.oauth import Grant
from agora.kit.errors import Unprocessable
from agora.kit.http import page_params, paged, path_id
from agora.kit.ids import parse_id
from agora.kit.params import request_params
from agora.kit.runtime import runtime_of
from agora.kit.time import iso
from agora.social import notifications
from agora.social.entities import render_notifications

router = APIRouter(tags=["notifications"])


def _list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    return [str(v) for v in items]


@router.get("/api/v1/notifications")
async def list_notifications(request: Request, grant: Grant = Depends(member("read:notifications"))) -> JSONResponse:
    params = await request_params(request)
    page = page_params(request)
    account_id = params.get("account_id")
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        result = await notifications.list_notifications(
            session, account_id=grant.account.id, page=page, types=_list(params.get("types")),
            exclude_types=_list(params.get("exclude_types")),
            from_account_id=parse_id(account_id) if account_id else None,
        )
        body = await render_notifications(session, result.items, viewer_id=grant.account.id, settings=runtime.settings)
    return paged(request, result, body)


@router.get("/api/v1/notifications/unread_count")
async def unread_count(request: Request, grant: Grant = Depends(member("read:notifications"))) -> dict[str, int]:
    async with runtime_of(request).db.transaction(write=False) as session:
        return {"count": await notifications.unread_count(session, account_id=grant.account.id)}


@router.post("/api/v1/notifications/clear")
async def clear(request: Request, grant: Grant = Depends(member("write:notifications"))) -> dict:
    async with runtime_of(request).db.transaction() as session:
        await notifications.clear(session, account_id=grant.account.id)
    return {}


@router.get("/api/v1/notifications/{notification_id}")
async def get_notification(request: Request, notification_id: str,
                           grant: Grant = Depends(member("read:notifications"))) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await notifications.get_notification(session, account_id=grant.account.id,
                                                     notification_id=path_id(notification_id))
        return (await render_notifications(session, [found], viewer_id=grant.account.id,
                                           settings=runtime.settings))[0]


@router.post("/api/v1/notifications/{notification_id}/dismiss")
async def dismiss(request: Request, notification_id: str,
                  grant: Grant = Depends(member("write:notifications"))) -> dict:
    async with runtime_of(request).db.transaction() as session:
        await notifications.dismiss(session, account_id=grant.account.id, notification_id=path_id(notification_id))
    return {}


def _marker_json(markers) -> dict[str, Any]:
    return {m.timeline: {"last_read_id": str(m.last_read_id), "version": m.version, "updated_at": iso(m.updated_at)}
            for m in markers}


@router.get("/api/v1/markers")
async def get_markers(request: Request, grant: Grant = Depends(member("read:statuses"))) -> dict[str, Any]:
    params = await request_params(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await notifications.get_markers(session, account_id=grant.account.id,
                                                timelines=_list(params.get("timeline")))
    return _marker_json(found)


@router.post("/api/v1/markers")
async def save_markers(request: Request, grant: Grant = Depends(member("write:statuses"))) -> dict[str, Any]:
    params = await request_params(request)
    wanted: dict[str, int] = {}
    for timeline in notifications.MARKER_TIMELINES:
        value = params.get(timeline)
        if value is None:
            continue
        last_read = parse_id(value.get("last_read_id")) if isinstance(value, dict) else None
        if last_read is None:
            raise Unprocessable(f"{timeline}[last_read_id] must be an id")
        wanted[timeline] = last_read
    if not wanted:
        raise Unprocessable("give home[last_read_id] or notifications[last_read_id]")
    async with runtime_of(request).db.transaction() as session:
        saved = [await notifications.save_marker(session, account_id=grant.account.id, timeline=t, last_read_id=i)
                 for t, i in wanted.items()]
    return _marker_json(saved)

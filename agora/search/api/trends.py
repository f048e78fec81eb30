"""Routes: Mastodon's trends — `GET /api/v1/trends/tags` (and its old name `/api/v1/trends`),
`/api/v1/trends/statuses`, and `/api/v1/trends/links` (always empty: Agora makes no link cards).

Public, as on Mastodon; with a token the viewer's blocks and mutes apply. Pages by `offset`, and
says where the next page is in a `Link` header, as Mastodon does for trends.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agora.accounts.auth import optional_viewer
from agora.accounts.service import tag_url
from agora.config import Settings
from agora.kit.http import offset_params
from agora.kit.runtime import runtime_of
from agora.search import trends
from agora.social.entities import render_statuses
from agora.social.statuses import load

router = APIRouter(tags=["trends"])



def _respond(request: Request, body: list[Any], *, limit: int, offset: int) -> JSONResponse:
    response = JSONResponse(body)
    if len(body) == limit:  # a full page: there may be more
        base_url = runtime_of(request).settings.base_url.rstrip("/")
        params = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k != "offset"]
        params.append(("offset", str(offset + limit)))
        response.headers["Link"] = f'<{base_url}{request.url.path}?{urlencode(params)}>; rel="next"'
    return response


def history_json(history: tuple[trends.DayUse, ...]) -> list[dict[str, str]]:
    """Mastodon's Tag history: newest day first, every figure a string."""
    return [{"day": str(int(d.day.timestamp())), "uses": str(d.uses), "accounts": str(d.accounts)}
            for d in history]


def tag_json(tag_id: int, name: str, history: tuple[trends.DayUse, ...], settings: Settings, *,
             signed_in: bool) -> dict[str, Any]:
    """Mastodon's Tag entity. `following` only for a signed-in viewer (Agora has no followed tags yet)."""
    body: dict[str, Any] = {"id": str(tag_id), "name": name, "url": tag_url(settings, name),
                            "history": history_json(history)}
    if signed_in:
        body["following"] = False
    return body


async def _tags(request: Request) -> JSONResponse:
    limit, offset = offset_params(request, default=10, maximum=20)
    viewer = await optional_viewer(request)
    runtime = runtime_of(request)
    config = trends.TrendConfig.from_settings(runtime.settings)
    async with runtime.db.transaction(write=False) as session:
        found = await trends.trending_tags(session, limit=limit, offset=offset, config=config)
    body = [tag_json(t.id, t.name, t.history, runtime.settings, signed_in=viewer is not None) for t in found]
    return _respond(request, body, limit=limit, offset=offset)


@router.get("/api/v1/trends/tags")
async def trending_tags(request: Request) -> JSONResponse:
    return await _tags(request)


@router.get("/api/v1/trends")
async def trends_alias(request: Request) -> JSONResponse:
    """Mastodon's name for trending tags before 3.5; clients still call it."""
    return await _tags(request)


@router.get("/api/v1/trends/statuses")
async def trending_statuses(request: Request) -> JSONResponse:
    limit, offset = offset_params(request, default=20, maximum=40)
    viewer = await optional_viewer(request)
    viewer_id = viewer.id if viewer else None
    runtime = runtime_of(request)
    config = trends.TrendConfig.from_settings(runtime.settings)
    async with runtime.db.transaction(write=False) as session:
        ids = await trends.trending_status_ids(session, viewer_id=viewer_id, limit=limit, offset=offset,
                                               config=config)
        body = await render_statuses(session, await load(session, ids=ids), viewer_id=viewer_id,
                                     settings=runtime.settings)
    return _respond(request, body, limit=limit, offset=offset)


@router.get("/api/v1/trends/links")
async def trending_links(request: Request) -> JSONResponse:
    offset_params(request, default=10, maximum=20)  # the same answer to bad paging as its siblings
    return JSONResponse([])

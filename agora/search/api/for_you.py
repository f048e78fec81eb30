"""Route: `GET /api/v1/timelines/for_you` — Agora's ranked timeline (an extension to Mastodon's API).

The same Status entities and the same paging parameters as `/api/v1/timelines/home`, with the
`max_id` of the `Link` header meaning "after this post in your ranking" (see `search/for_you.py`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from agora.accounts.auth import member
from agora.accounts.oauth import Grant
from agora.kit.http import page_params, paged
from agora.kit.runtime import runtime_of
from agora.search import for_you
from agora.social.entities import render_statuses

router = APIRouter(tags=["timelines"])


@router.get("/api/v1/timelines/for_you")
async def for_you_timeline(request: Request, grant: Grant = Depends(member("read:statuses"))) -> JSONResponse:
    page = page_params(request)  # a bad limit or cursor is a 422 before any work
    runtime = runtime_of(request)
    viewer_id = grant.account.id
    config = for_you.ForYouConfig.from_settings(runtime.settings)
    async with runtime.db.transaction(write=False) as session:
        result = await for_you.read(session, viewer_id=viewer_id, page=page, config=config)
        body = await render_statuses(session, result.items, viewer_id=viewer_id, settings=runtime.settings)
    return paged(request, result, body)

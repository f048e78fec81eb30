"""Routes: upload an image (`/api/v2/media`), read and describe it (`/api/v1/media/:id`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from agora.accounts.auth import member, rate_limited
from agora.accounts.oauth import Grant
from agora.kit.errors import Unprocessable
from agora.kit.http import path_id
from agora.kit.params import request_params, upload
from agora.kit.runtime import runtime_of
from agora.media import service

router = APIRouter(tags=["media"])


async def _upload(request: Request, grant: Grant) -> dict[str, Any]:
    runtime = runtime_of(request)
    params = await request_params(request)
    file = upload(params, "file")
    if file is None:
        raise Unprocessable("file: an image file is required (multipart/form-data field 'file')")
    data = await file.read(runtime.settings.max_image_bytes + 1)
    description = params.get("description") or ""
    if not isinstance(description, str):
        raise Unprocessable("description must be text")
    focus = service.parse_focus(params.get("focus"))
    image = await service.prepare_upload(data=data, settings=runtime.settings)
    async with runtime.db.transaction() as session:
        media = await service.store_upload(session, account_id=grant.account.id, image=image,
                                           description=description, focus=focus, settings=runtime.settings)
    return service.media_json(media, runtime.settings)


@router.post("/api/v2/media", dependencies=[Depends(rate_limited("media"))])
async def upload_v2(request: Request, grant: Grant = Depends(member("write:media"))) -> JSONResponse:
    # Images are processed before we answer, so this is always 200 (Mastodon answers 202 for video).
    return JSONResponse(await _upload(request, grant))


@router.post("/api/v1/media", dependencies=[Depends(rate_limited("media"))])
async def upload_v1(request: Request, grant: Grant = Depends(member("write:media"))) -> dict[str, Any]:
    return await _upload(request, grant)


@router.get("/api/v1/media/{media_id}")
async def get_media(request: Request, media_id: str, grant: Grant = Depends(member("write:media"))) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        media = await service.own_media(session, account_id=grant.account.id, media_id=path_id(media_id))
    return service.media_json(media, runtime.settings)


@router.put("/api/v1/media/{media_id}")
async def update_media(request: Request, media_id: str, grant: Grant = Depends(member("write:media"))) -> dict:
    runtime = runtime_of(request)
    params = await request_params(request)
    description = params.get("description")
    if description is not None and not isinstance(description, str):
        raise Unprocessable("description must be text")
    async with runtime.db.transaction() as session:
        media = await service.own_media(session, account_id=grant.account.id, media_id=path_id(media_id))
        await service.update_media(session, media=media, description=description, focus=params.get("focus"))
    return service.media_json(media, runtime.settings)

"""Routes: home, public and hashtag timelines; favourites and bookmarks lists."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from agora.accounts.auth import member, optional_viewer
from agora.accounts.oauth import Grant
from agora.kit.http import page_params, paged, truthy
from agora.kit.runtime import runtime_of
from agora.models import Bookmark, Favourite
from agora.social import timelines
from agora.social.entities import render_statuses

router = APIRouter(tags=["timelines"])


async def _respond(request: Request, feed: timelines.Feed, viewer_id: int | None) -> JSONResponse:
    page = page_params(request)
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        result = await timelines.read(session, feed=feed, page=page)
        body = await render_statuses(session, result.items, viewer_id=viewer_id, settings=runtime.settings)
    return paged(request, result, body)


@router.get("/api/v1/timelines/home")
async def home(request: Request, grant: Grant = Depends(member("read:statuses"))) -> JSONResponse:
    feed = timelines.home_feed(grant.account.id, following_count=grant.account.following_count)
    return await _respond(request, feed, grant.account.id)


@router.get("/api/v1/timelines/public")
async def public(request: Request) -> JSONResponse:
    viewer = await optional_viewer(request)
    viewer_id = viewer.id if viewer else None
    if truthy(request.query_params.get("remote")):  # a single server has no remote posts
        return JSONResponse([])
    feed = timelines.public_feed(viewer_id, only_media=truthy(request.query_params.get("only_media")))
    return await _respond(request, feed, viewer_id)


@router.get("/api/v1/timelines/tag/{hashtag}")
async def tag(request: Request, hashtag: str) -> JSONResponse:
    viewer = await optional_viewer(request)
    viewer_id = viewer.id if viewer else None
    return await _respond(request, timelines.tag_feed(viewer_id, hashtag.lstrip("#").casefold()[:100]), viewer_id)


async def _reactions(request: Request, grant: Grant, kind: type[Favourite] | type[Bookmark]) -> JSONResponse:
    page = page_params(request)
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        result = await timelines.reacted(session, viewer_id=grant.account.id, kind=kind, page=page)
        body = await render_statuses(session, result.items, viewer_id=grant.account.id, settings=runtime.settings)
    return paged(request, result, body)


@router.get("/api/v1/favourites")
async def favourites(request: Request, grant: Grant = Depends(member("read:favourites"))) -> JSONResponse:
    return await _reactions(request, grant, Favourite)


@router.get("/api/v1/bookmarks")
async def bookmarks(request: Request, grant: Grant = Depends(member("read:bookmarks"))) -> JSONResponse:
    return await _reactions(request, grant, Bookmark)

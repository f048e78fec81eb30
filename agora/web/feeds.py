"""A page of posts ready for a template: the posts, what the viewer did to them, the next cursor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.http import page_params
from agora.kit.pagination import Page, PageParams
from agora.models import Status
from agora.social import timelines
from agora.social.entities import ViewerState, viewer_state
from agora.web.render import fragment, fragment_kind, page


@dataclass(slots=True)
class PostList:
    statuses: list[Status]
    state: ViewerState
    more_url: str | None  # the next (older) page, for infinite scroll and the plain "more" link


async def with_state(session: AsyncSession, statuses: list[Status], viewer_id: int | None) -> PostList:
    return PostList(statuses, await viewer_state(session, statuses, viewer_id), None)


async def read_feed(session: AsyncSession, request: Request, *, feed: timelines.Feed,
                    viewer_id: int | None, page: PageParams | None = None) -> PostList:
    page = page or page_params(request)
    found = await timelines.read(session, feed=feed, page=page)
    posts = await with_state(session, found.items, viewer_id)
    posts.more_url = next_page_url(request, found, page)
    return posts


async def answer_posts(request: Request, template: str, posts: PostList, **context: object) -> Response:
    """The whole page, or only the cards (and the next "more" link) when the browser asks for a piece."""
    if fragment_kind(request) in ("list", "new"):
        return await fragment(request, "_post_list.html", {"posts": posts})
    return await page(request, template, {"posts": posts, **context})


def next_page_url(request: Request, found: Page[Any], params: PageParams, **extra: str) -> str | None:
    """This page's address for the next (older) page, keeping its other parameters and adding
    `extra`; None when this page was the last (it came back short)."""
    if found.next_max_id is None or len(found.items) < params.limit:
        return None
    query = {k: v for k, v in request.query_params.items() if k not in ("max_id", "since_id", "min_id", "fragment")}
    return f"{request.url.path}?{urlencode({**query, **extra, 'max_id': str(found.next_max_id)})}"

"""Timelines in the browser: home (Following, or For you), explore (the public timeline), hashtags
and bookmarks. Home and explore carry the trends panel in their side column.

Each answers three ways: the whole page; only the posts plus the next "more" link when infinite
scroll asks (`X-Agora-Fragment: list`); only the posts newer than `since_id` when the live
"new posts" bar is clicked (`X-Agora-Fragment: new`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from agora.kit.http import page_params, path_id
from agora.kit.pagination import PageParams
from agora.kit.runtime import runtime_of
from agora.models import Bookmark
from agora.social import statuses, timelines
from agora.web.feeds import answer_posts, next_page_url, read_feed, with_state
from agora.web.home_feeds import for_you_posts, home_feed_choice, remember_home_feed
from agora.web.i18n import gettext as _
from agora.web.render import fragment_kind, prepare
from agora.web.search_data import side_trends
from agora.web.session import Viewer, current_viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])
NEW_POSTS_LIMIT = 40


@router.get("/home")
async def home(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    # The live "new posts" bar belongs to Following: a ranked feed has no "newer than" to show.
    choice = "following" if fragment_kind(request) == "new" else home_feed_choice(request)
    params = page_params(request)
    if fragment_kind(request) == "new":
        # Newest first, at most one screenful: the bar shows what arrived since the page loaded.
        params = PageParams(limit=NEW_POSTS_LIMIT, since_id=params.since_id)
    async with runtime_of(request).db.transaction(write=False) as session:
        if choice == "for_you":
            posts = await for_you_posts(session, request, viewer_id=viewer.id, page=params)
        else:
            feed = timelines.home_feed(viewer.id, following_count=viewer.account.following_count)
            posts = await read_feed(session, request, feed=feed, viewer_id=viewer.id, page=params)
        if fragment_kind(request) == "new":
            posts.more_url = None
        trends = await side_trends(session, request, viewer.id)
    response = await answer_posts(request, "home.html", posts, feed=choice, trends=trends)
    remember_home_feed(request, response, choice)
    return response


@router.get("/explore")
async def explore(request: Request) -> Response:
    viewer = await current_viewer(request)
    viewer_id = viewer.id if viewer else None
    async with runtime_of(request).db.transaction(write=False) as session:
        posts = await read_feed(session, request, feed=timelines.public_feed(viewer_id), viewer_id=viewer_id)
        trends = await side_trends(session, request, viewer_id)
    return await answer_posts(request, "feed.html", posts, title=_("Explore"),
                         lead=_("Public posts from everyone on this server, newest first."), trends=trends)


@router.get("/tags/{tag}")
async def tag(request: Request, tag: str) -> Response:
    viewer = await current_viewer(request)
    viewer_id = viewer.id if viewer else None
    name = tag.lstrip("#")[:100]
    async with runtime_of(request).db.transaction(write=False) as session:
        posts = await read_feed(session, request, feed=timelines.tag_feed(viewer_id, name.casefold()),
                                viewer_id=viewer_id)
    return await answer_posts(request, "feed.html", posts, title="#" + name,
                         lead=_("Public posts tagged #%(tag)s.") % {"tag": name})


@router.get("/bookmarks")
async def bookmarks(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    async with runtime_of(request).db.transaction(write=False) as session:
        params = page_params(request)
        found = await timelines.reacted(session, viewer_id=viewer.id, kind=Bookmark, page=params)
        posts = await with_state(session, found.items, viewer.id)
    posts.more_url = next_page_url(request, found, params)
    return await answer_posts(request, "feed.html", posts, title=_("Bookmarks"),
                         lead=_("Posts you saved. Only you can see this list."))


@router.get("/statuses/{status_id}")
async def status_link(request: Request, status_id: str) -> Response:
    """A post by id alone (a reply's "replying to" link) → its canonical address under its author."""
    viewer = await current_viewer(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        status = await statuses.get_visible(session, status_id=path_id(status_id),
                                            viewer_id=viewer.id if viewer else None)
    return RedirectResponse(f"/@{status.account.username}/{status.id}", status_code=302)

"""Home's two feeds: "Following" (the people you follow, newest first: `social.timelines`) and
"For you" (ranked: `search.for_you`), and which one this browser chose.

The switch at the top of Home links `?feed=for_you` / `?feed=following`; the choice is kept in a
cookie, so the Home link in the navigation opens the feed last chosen in this browser. A cookie, not
the account: it is a way of reading, like a tab left open, and a phone and a laptop may differ.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.pagination import PageParams
from agora.kit.runtime import runtime_of
from agora.search import for_you
from agora.web.feeds import PostList, next_page_url, with_state

HOME_FEEDS = ("following", "for_you")
HOME_FEED_COOKIE = "agora_home_feed"
HOME_FEED_COOKIE_MAX_AGE = 365 * 86400


def home_feed_choice(request: Request) -> str:
    """`?feed=` when the switch was pressed, else this browser's last choice, else Following."""
    chosen = request.query_params.get("feed") or request.cookies.get(HOME_FEED_COOKIE)
    return chosen if chosen in HOME_FEEDS else "following"


def remember_home_feed(request: Request, response: Response, choice: str) -> None:
    """Keep the feed chosen with the switch (only when it changed: no cookie on every page)."""
    if request.query_params.get("feed") == choice and request.cookies.get(HOME_FEED_COOKIE) != choice:
        response.set_cookie(HOME_FEED_COOKIE, choice, max_age=HOME_FEED_COOKIE_MAX_AGE, samesite="lax", path="/",
                            secure=request.url.scheme == "https")


async def for_you_posts(session: AsyncSession, request: Request, *, viewer_id: int, page: PageParams) -> PostList:
    """A page of For you, paged as the API pages it (`max_id` = the last post shown continues the
    same ranking; a page without it ranks afresh), so scrolling never repeats a post."""
    config = for_you.ForYouConfig.from_settings(runtime_of(request).settings)
    found = await for_you.read(session, viewer_id=viewer_id, page=page, config=config)
    posts = await with_state(session, found.items, viewer_id)
    posts.more_url = next_page_url(request, found, page)
    return posts

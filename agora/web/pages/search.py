"""Search in the browser: `/search?q=…&type=top|latest|people|tags`, and the trends when nothing is asked.

Every list comes from the search services, which already keep to what the viewer may find (a
followers-only post of someone they do not follow is not in the HTML at all). A query the parser
refuses (`BadQuery`: a date that is not a date, a search too long) is shown on the page, beside the
box, with what was typed kept — a 422 page, never the error page. Pages by `offset` (search results
are ranked, not a timeline, so there is no id cursor); infinite scroll asks for the next piece with
`X-Agora-Fragment: list`, as the timelines do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from agora.kit.errors import Unprocessable
from agora.kit.runtime import runtime_of
from agora.search import hybrid, lexical
from agora.search.query import BadQuery
from agora.social.statuses import load
from agora.web.feeds import with_state
from agora.web.i18n import refusal
from agora.web.render import fragment, fragment_kind, page, prepare
from agora.web.search_data import accounts_with_relations, side_trends, tag_lines, trends_panel
from agora.web.session import current_viewer

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare)])

TABS = ("top", "latest", "people", "tags")
PAGE_SIZE = 20
TOP_PEOPLE = 3  # the Top tab starts with a few matching members, as X's does
TREND_TAGS = 10
TREND_POSTS = 10
MAX_OFFSET = lexical.MAX_OFFSET


def _offset(request: Request) -> int:
    raw = request.query_params.get("offset", "")
    if not raw:
        return 0
    if not raw.isdigit() or len(raw) > 6 or int(raw) > MAX_OFFSET:
        raise Unprocessable(f"offset must be a whole number from 0 to {MAX_OFFSET}")
    return int(raw)


def _more_url(q: str, tab: str, offset: int, found: int) -> str | None:
    """The next page's address, or None when this page came back short (it was the last)."""
    if found < PAGE_SIZE or offset + PAGE_SIZE > MAX_OFFSET:
        return None
    return "/search?" + urlencode({"q": q, "type": tab, "offset": offset + PAGE_SIZE})


@router.get("/search")
async def search(request: Request) -> Response:
    viewer = await current_viewer(request)
    viewer_id = viewer.id if viewer else None
    q = request.query_params.get("q", "").strip()
    tab = request.query_params.get("type", "top")
    tab = tab if tab in TABS else "top"
    offset = _offset(request)
    runtime = runtime_of(request)
    context: dict[str, Any] = {"q": q, "tab": tab, "search_error": None, "posts": None, "accounts": [],
                               "rels": {}, "tags": [], "more_url": None, "mode": "graph", "trends": None,
                               "side_trends": None}
    status = 200
    async with runtime.db.transaction(write=False) as session:
        if not q:
            found = await trends_panel(session, viewer_id=viewer_id, settings=runtime.settings,
                                       tags=TREND_TAGS, posts=TREND_POSTS)
            context["trends"] = found
            context["posts"] = await with_state(session, found.posts, viewer_id)
            return await page(request, "search.html", context)
        try:
            if tab in ("top", "latest"):
                ids = await hybrid.search_statuses(session, q, viewer_id=viewer_id, limit=PAGE_SIZE,
                                                   offset=offset, sort="latest" if tab == "latest" else "top")
                posts = await with_state(session, await load(session, ids=ids), viewer_id)
                posts.more_url = _more_url(q, tab, offset, len(ids))
                context["posts"] = posts
                if tab == "top" and offset == 0 and fragment_kind(request) is None:
                    people = await lexical.search_account_ids(session, q, viewer_id=viewer_id, limit=TOP_PEOPLE)
                    context["accounts"], context["rels"] = await accounts_with_relations(
                        session, people, viewer_id=viewer_id)
            elif tab == "people":
                people = await lexical.search_account_ids(session, q, viewer_id=viewer_id, limit=PAGE_SIZE,
                                                          offset=offset)
                context["accounts"], context["rels"] = await accounts_with_relations(
                    session, people, viewer_id=viewer_id)
                context["more_url"] = _more_url(q, tab, offset, len(people))
            else:
                names = await lexical.search_tag_names(session, q, limit=PAGE_SIZE, offset=offset)
                context["tags"] = await tag_lines(session, names)
                context["more_url"] = _more_url(q, tab, offset, len(names))
            context["side_trends"] = await side_trends(session, request, viewer_id)
        except BadQuery as exc:
            # The services speak English; the page says so in the reader's language where it can.
            context["search_error"] = refusal(exc.message)
            status = exc.status_code
    if fragment_kind(request) == "list" and context["search_error"] is None:
        return await _piece(request, tab, context)
    return await page(request, "search.html", context, status=status)


async def _piece(request: Request, tab: str, context: dict[str, Any]) -> Response:
    """Only the next page's items and its "more" link (infinite scroll)."""
    if tab in ("top", "latest"):
        return await fragment(request, "_post_list.html", {"posts": context["posts"]})
    if tab == "people":
        return await fragment(request, "_account_list.html", context)
    return await fragment(request, "_search_tags.html", context)

"""The front door (`/`), and `_soon` for a place in the navigation that a later feature fills: it
says honestly what it will be rather than pretending (the wallet, search and the assistant have their
own pages now: `pages/wallet.py`, `pages/search.py`, `pages/assistant.py`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from agora.instance.about import facts
from agora.kit.runtime import runtime_of
from agora.social import timelines
from agora.web.feeds import read_feed
from agora.web.i18n import gettext as _
from agora.web.render import page, prepare
from agora.web.session import Viewer, current_viewer, require_viewer

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare)])


@router.get("/")
async def index(request: Request) -> Response:
    """Signed in: your home timeline. Signed out: what this server is, and how to join."""
    if await current_viewer(request) is not None:
        return RedirectResponse("/home", status_code=303)
    async with runtime_of(request).db.transaction(write=False) as session:
        server = await facts(session)
        posts = await read_feed(session, request, feed=timelines.public_feed(None), viewer_id=None)
    posts.more_url = None  # the rest is on Explore (linked below the posts), not scrolled in here
    return await page(request, "landing.html", {"facts": server, "posts": posts})


def _soon(path: str, title: str, lead: str) -> None:
    async def place(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
        return await page(request, "soon.html", {"title": _(title), "lead": _(lead)})

    router.add_api_route(path, place, methods=["GET"], name=f"soon:{path}")


"""The front door (`/`) and the places in the navigation that later features fill: the assistant
(the wallet and search have their own pages, `pages/wallet.py`, `pages/search.py`). Each says
honestly what it will be rather than pretending."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from agora.instance.about import facts
from agora.kit.runtime import runtime_of
from agora.social import timelines
from agora.web.feeds import read_feed
from agora.web.i18n import N_
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


_soon("/assistant", N_("Assistant"), N_("Ask questions and get answers that cite the community's posts."))

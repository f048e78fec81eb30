"""A post in its thread, and what a member does to one post from the browser: like, repost,
bookmark, edit, delete, and the page of its earlier versions.

Every button on a post card posts here. With htmx the answer is the card itself, re-rendered, which
replaces the one on the page (`hx-target="closest article"`); without JavaScript, a 303 back to the
page the form was on.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.errors import BadRequest, NotFound, Unprocessable
from agora.kit.http import path_id
from agora.kit.ids import parse_id
from agora.kit.runtime import runtime_of
from agora.models import Status
from agora.social import interactions, statuses
from agora.social.entities import viewer_state
from agora.web import forms
from agora.web.i18n import gettext as _
from agora.web.i18n import refusal
from agora.web.render import back, fragment, is_htmx, page, prepare
from agora.web.session import Viewer, current_viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])

# Reactions that act on the post a card shows (the services resolve a boost to the boosted post).
REACTIONS = {
    "favourite": interactions.favourite,
    "unfavourite": interactions.unfavourite,
    "bookmark": interactions.bookmark,
    "unbookmark": interactions.unbookmark,
}
ACTIONS = {*REACTIONS, "reblog", "unreblog"}
# htmx names the element it swaps (HX-Target): a card is `<article id="post-{card id}">`.
_CARD_ELEMENT = re.compile(r"post-(\d{1,19})")


def permalink(status: Status) -> str:
    return f"/@{status.account.username}/{status.id}"


def _misplaced(status: Status, username: str, suffix: str = "") -> RedirectResponse | None:
    """A boost's id, or a post under another name: send the browser to the post's own address."""
    post = status.reblog if status.reblog_of_id is not None else status
    if post is status and username == status.account.username:
        return None
    return RedirectResponse(permalink(post) + suffix, status_code=302)


async def _readable(session: AsyncSession, raw_id: str, viewer_id: int | None) -> Status:
    """A post the viewer may see, by a URL id; 404 for anything else (never 403: that would confirm it)."""
    # The visibility rule already hides suspended and unapproved authors' posts from everyone.
    return await statuses.get_visible(session, status_id=path_id(raw_id), viewer_id=viewer_id)


async def _own(session: AsyncSession, viewer: Viewer, post_id: int) -> Status:
    """The viewer's own post (not a boost); someone else's is simply not found."""
    status = await statuses.get_visible(session, status_id=post_id, viewer_id=viewer.id)
    if status.account_id != viewer.id or status.reblog_of_id is not None:
        raise NotFound()
    return status


# --- the thread -----------------------------------------------------------------------------------

@router.get("/@{username}/{status_id}")
async def thread(request: Request, username: str, status_id: str) -> Response:
    viewer = await current_viewer(request)
    viewer_id = viewer.id if viewer else None
    async with runtime_of(request).db.transaction(write=False) as session:
        status = await _readable(session, status_id, viewer_id)
        if (moved := _misplaced(status, username)) is not None:
            return moved
        ancestors, replies = await statuses.context(session, status=status, viewer_id=viewer_id)
        state = await viewer_state(session, [*ancestors, status, *replies], viewer_id)
    return await page(request, "thread.html", {
        "status": status, "ancestors": ancestors, "replies": replies, "state": state,
        "form": {}, "errors": {}})


@router.get("/@{username}/{status_id}/history")
async def history(request: Request, username: str, status_id: str) -> Response:
    viewer = await current_viewer(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        status = await _readable(session, status_id, viewer.id if viewer else None)
        if (moved := _misplaced(status, username, "/history")) is not None:
            return moved
        versions = await statuses.history(session, status=status)
    # Newest first: the reader came from the post as it is now.
    versions.sort(key=lambda v: (v.created_at, v.id or 0), reverse=True)
    return await page(request, "history.html", {"status": status, "versions": versions})


# --- reactions ------------------------------------------------------------------------------------

async def _react(session: AsyncSession, viewer: Viewer, action: str, card_id: int) -> int | None:
    """Do `action` to the post on card `card_id`; returns the boosted post's id when the card was a boost."""
    if action == "reblog":
        try:
            await statuses.reblog(session, account=viewer.account, status_id=card_id, visibility=None)
        except Unprocessable as refused:
            # Not 422: htmx swaps a 422 into the card; a 400 shows the message as a toast instead.
            raise BadRequest(_("This post cannot be reposted.")) from refused
        return None
    if action == "unreblog":
        original = await statuses.unreblog(session, account=viewer.account, status_id=card_id)
        return original.id if original.id != card_id else None
    await REACTIONS[action](session, account=viewer.account, status_id=card_id)
    return None


@router.post("/web/statuses/{status_id}/delete")
async def delete(request: Request, status_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    post_id = path_id(status_id)
    async with runtime_of(request).db.transaction() as session:
        await statuses.delete_status(session, author=viewer.account, status_id=post_id)
    own_page = f"/@{viewer.account.username}/{post_id}".casefold()

    def on_own_page(url: str | None) -> bool:
        path = urlsplit(url or "").path.casefold()
        return path == own_page or path.startswith(own_page + "/")

    if is_htmx(request):
        response = Response(status_code=200)  # empty: the card is swapped for nothing
        if on_own_page(request.headers.get("hx-current-url")):
            response.headers["HX-Redirect"] = "/home"  # the page itself is gone, not just a card on it
        return response
    if on_own_page(request.headers.get("referer")):
        return RedirectResponse("/home", status_code=303)
    return back(request)


@router.get("/web/statuses/{status_id}/card")
async def card(request: Request, status_id: str) -> Response:
    """One card as it is now (the edit form's Cancel puts it back)."""
    viewer = await current_viewer(request)
    viewer_id = viewer.id if viewer else None
    async with runtime_of(request).db.transaction(write=False) as session:
        shown = await _readable(session, status_id, viewer_id)
        state = await viewer_state(session, [shown], viewer_id)
    return await fragment(request, "_status.html", {"s": shown, "state": state})


# --- editing --------------------------------------------------------------------------------------

async def _card_for(session: AsyncSession, post: Status, candidate: int | None) -> int:
    """Which card the edit form stands in for: the post itself, or a boost of it on a timeline."""
    if candidate is None or candidate == post.id:
        return post.id
    wraps = await session.scalar(select(Status.reblog_of_id).where(Status.id == candidate))
    return candidate if wraps == post.id else post.id


async def _edit_form(request: Request, context: dict[str, Any], *, status: int = 200) -> Response:
    if is_htmx(request):
        return await fragment(request, "_edit.html", context, status=status)
    return await page(request, "edit.html", context, status=status)


@router.get("/@{username}/{status_id}/edit")
async def edit_form(request: Request, username: str, status_id: str,
                    viewer: Viewer = Depends(require_viewer)) -> Response:
    hx_target = _CARD_ELEMENT.fullmatch(request.headers.get("hx-target") or "")
    async with runtime_of(request).db.transaction(write=False) as session:
        post = await _own(session, viewer, path_id(status_id))
        card_id = await _card_for(session, post, parse_id(hx_target.group(1)) if hx_target else None)
    if username != post.account.username:
        return RedirectResponse(permalink(post) + "/edit", status_code=302)
    form = {"status": post.text, "spoiler_text": post.spoiler_text}
    return await _edit_form(request, {"status": post, "card_id": card_id, "form": form, "errors": {}})


@router.post("/web/statuses/{status_id}/edit")
async def edit(request: Request, status_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    form = await request.form()
    runtime = runtime_of(request)
    kept = {"status": forms.text(form, "status"), "spoiler_text": forms.text(form, "spoiler_text", limit=10_000)}
    # Read first, in its own transaction: a refused edit rolls back, and the form is shown with this copy.
    async with runtime.db.transaction(write=False) as session:
        post = await _own(session, viewer, path_id(status_id))
        card_id = await _card_for(session, post, forms.an_id(form, "card"))
    errors = forms.post_text_errors(kept["status"], kept["spoiler_text"], runtime.settings,
                                    has_media=bool(post.media))
    if not errors:
        spoiler = kept["spoiler_text"].strip()
        # A warning marks the post sensitive; removing it un-marks a text post, while a post with
        # images keeps the sensitivity its author chose.
        draft = statuses.Draft(text=kept["status"], spoiler_text=spoiler,
                               sensitive=True if spoiler else (None if post.media else False),
                               media_ids=[m.id for m in post.media])
        try:
            async with runtime.db.transaction() as session:
                await statuses.edit(session, author=viewer.account, status_id=post.id, draft=draft,
                                    media_descriptions={}, settings=runtime.settings)
                if is_htmx(request):
                    shown = await statuses.get_visible(session, status_id=card_id, viewer_id=viewer.id)
                    state = await viewer_state(session, [shown], viewer.id)
        except Unprocessable as refused:
            errors["form"] = refusal(refused.message)
    if errors:
        return await _edit_form(request, {"status": post, "card_id": card_id, "form": kept, "errors": errors},
                                status=422)
    if not is_htmx(request):
        return RedirectResponse(permalink(post), status_code=303)
    return await fragment(request, "_status.html", {"s": shown, "state": state})


# Last: its `{action}` would otherwise claim /delete and /edit above.
@router.post("/web/statuses/{status_id}/{action}")
async def react(request: Request, status_id: str, action: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    if action == "react":  # the card's one form: the clicked button names the action
        action = forms.text(await request.form(), "do", limit=20)
    if action not in ACTIONS:
        raise NotFound()
    card_id = path_id(status_id)
    async with runtime_of(request).db.transaction() as session:
        original_id = await _react(session, viewer, action, card_id)
        if not is_htmx(request):
            return back(request)
        try:
            shown = await statuses.get_visible(session, status_id=card_id, viewer_id=viewer.id)
        except NotFound:
            if original_id is None:
                raise
            # The card was the viewer's own repost, which unreblog just removed: show the post itself.
            shown = await statuses.get_visible(session, status_id=original_id, viewer_id=viewer.id)
        state = await viewer_state(session, [shown], viewer.id)
    return await fragment(request, "_status.html", {"s": shown, "state": state})

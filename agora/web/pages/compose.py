"""Posting from the browser: the compose page and the form every compose box (home, reply, quote) sends."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from agora.accounts import idempotency
from agora.accounts.auth import rate_limited
from agora.config import Settings
from agora.kit.errors import AgoraError, Conflict, NotFound
from agora.kit.ids import parse_id
from agora.kit.runtime import runtime_of
from agora.media.images import ProcessedImage
from agora.media.service import MAX_DESCRIPTION, prepare_upload, store_upload
from agora.models import Status
from agora.models.statuses import VISIBILITIES
from agora.social import statuses
from agora.social.entities import viewer_state
from agora.web import forms
from agora.web.forms import FieldErrors
from agora.web.i18n import gettext as _
from agora.web.i18n import refusal
from agora.web.render import fragment, is_htmx, page, prepare
from agora.web.session import Viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])
WEB_APP = "Web"
# Where htmx puts a new post: the top of a timeline, or the end of a thread's replies. From the
# compose page itself ("page") there is nowhere to put it: the browser goes where the post is.
TARGETS = {"timeline": "afterbegin:#timeline", "replies": "beforeend:#replies", "page": None, "inline": None}


async def _related(request: Request, viewer: Viewer, reply_id: int | None, quote_id: int | None) -> dict[str, Any]:
    """The post being replied to or quoted (404 if the viewer may not see it)."""
    found: dict[str, Status | None] = {"reply_to": None, "quote": None}
    async with runtime_of(request).db.transaction(write=False) as session:
        for name, status_id in (("reply_to", reply_id), ("quote", quote_id)):
            if status_id is not None:
                found[name] = await statuses.get_visible(session, status_id=status_id, viewer_id=viewer.id)
        shown = [s for s in found.values() if s is not None]
        state = await viewer_state(session, shown, viewer.id)
    return {**found, "state": state}


@router.get("/compose")
async def compose_page(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    reply_id = parse_id(request.query_params.get("in_reply_to") or "")
    quote_id = parse_id(request.query_params.get("quote") or "")
    related = await _related(request, viewer, reply_id, quote_id)
    if is_htmx(request) and (reply_id or quote_id):
        # Reply or quote from a card: a box right under it, no page change (like X's reply dialog).
        return await fragment(request, "_compose.html", {**related, "form": {}, "errors": {}, "target": "inline"})
    return await page(request, "compose.html", {**related, "form": {}, "errors": {}, "target": "page"})


def _check(form: FormData, settings: Settings) -> FieldErrors:
    """The refusals we can name a field for, in the reader's language, before touching the database."""
    chosen = forms.files(form, "media")
    errors = forms.post_text_errors(forms.text(form, "status"), forms.text(form, "spoiler_text"), settings,
                                    has_media=bool(chosen), empty=_("Write something or add an image."))
    if forms.text(form, "visibility", limit=20) not in VISIBILITIES:
        errors["visibility"] = _("Choose who can see this post.")
    if len(chosen) > settings.max_media_attachments:
        errors["media"] = _("You can attach at most %(max)d images.") % {"max": settings.max_media_attachments}
    elif any(len(alt) > MAX_DESCRIPTION for alt in forms.texts(form, "alt")):
        errors["media"] = _("An image description can be at most %(max)d characters.") % {"max": MAX_DESCRIPTION}
    return errors


@router.post("/web/statuses", dependencies=[Depends(rate_limited("statuses"))])
async def create(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    form = await request.form()
    runtime = runtime_of(request)
    target = forms.text(form, "target", limit=20)
    target = target if target in TARGETS else "timeline"
    reply_id, quote_id = forms.an_id(form, "in_reply_to_id"), forms.an_id(form, "quoted_status_id")
    errors = _check(form, runtime.settings)
    if (forms.text(form, "in_reply_to_id") and reply_id is None) or (
            forms.text(form, "quoted_status_id") and quote_id is None):
        errors["form"] = _("The post you are replying to or quoting is no longer available.")
    created: int | None = None
    if not errors:
        try:  # images are checked and re-encoded before the write transaction opens
            images = [await prepare_upload(data=await f.read(runtime.settings.max_image_bytes + 1),
                                           settings=runtime.settings) for f in forms.files(form, "media")]
        except AgoraError as refused:
            errors["media"] = refusal(refused.message)
    if not errors:
        try:
            created = await _post(request, viewer, form, images, reply_id=reply_id, quote_id=quote_id)
        except Conflict:
            created = None  # the same form, sent twice at once: the other request is making the post
        except AgoraError as refused:
            errors["form"] = refusal(refused.message)
    if errors:
        return await _refused(request, viewer, form, errors, reply_id=reply_id, quote_id=quote_id, target=target)
    destination = f"/statuses/{reply_id}" if reply_id else "/home"
    if not is_htmx(request):
        return RedirectResponse(destination, status_code=303)
    if created is None or target == "page":
        return Response(status_code=200, headers={"HX-Redirect": destination})
    async with runtime.db.transaction(write=False) as session:
        status = await statuses.get_visible(session, status_id=created, viewer_id=viewer.id)
        # The post it answers, as it is now: its reply count just went up.
        parent = await statuses.get_visible(session, status_id=reply_id, viewer_id=viewer.id) if reply_id else None
        state = await viewer_state(session, [status, *([parent] if parent else [])], viewer.id)
    if target == "inline":  # the box under a card becomes the new post, and the card is refreshed
        return await fragment(request, "_inline_result.html", {"s": status, "state": state, "parent": parent})
    # A fresh box in place of the sent one (still a reply box under a thread), and the new post
    # swapped in out-of-band where it belongs.
    return await fragment(request, "_compose_result.html", {
        "reply_to": parent, "quote": None, "s": status, "state": state, "form": {}, "errors": {},
        "target": target, "oob": TARGETS[target]})


async def _post(request: Request, viewer: Viewer, form: FormData, images: list[ProcessedImage], *,
                reply_id: int | None, quote_id: int | None) -> int:
    runtime = runtime_of(request)
    alts = forms.texts(form, "alt", limit=MAX_DESCRIPTION)
    draft_fields = {name: forms.text(form, name) for name in ("status", "spoiler_text", "visibility")}
    key = forms.text(form, "key", limit=64) or None
    fingerprint = idempotency.fingerprint({**draft_fields, "reply": reply_id, "quote": quote_id,
                                           "media": [len(i.original) for i in images]})
    async with runtime.db.transaction() as session:
        earlier = await idempotency.replayed(session, account_id=viewer.id, scope="web-status", key=key,
                                             request_hash=fingerprint)
        if earlier is not None:
            return earlier
        media_ids = []
        for position, image in enumerate(images):
            alt = alts[position] if position < len(alts) else ""
            media = await store_upload(session, account_id=viewer.id, image=image, description=alt.strip(),
                                       focus=(0.0, 0.0), settings=runtime.settings)
            media_ids.append(media.id)
        draft = statuses.Draft(
            text=draft_fields["status"], spoiler_text=draft_fields["spoiler_text"].strip(),
            sensitive=bool(draft_fields["spoiler_text"].strip()) or None,
            visibility=draft_fields["visibility"], in_reply_to_id=reply_id, quoted_status_id=quote_id,
            media_ids=media_ids, application_name=WEB_APP)
        status = await statuses.create(session, author=viewer.account, draft=draft, settings=runtime.settings)
        await idempotency.remember(session, account_id=viewer.id, scope="web-status", key=key,
                                   request_hash=fingerprint, resource_id=status.id)
        return status.id


async def _refused(request: Request, viewer: Viewer, form: FormData, errors: FieldErrors, *,
                   reply_id: int | None, quote_id: int | None, target: str) -> Response:
    """The form again, with what the member typed and a message beside each refused field."""
    try:
        related = await _related(request, viewer, reply_id, quote_id)
    except NotFound:
        related = {"reply_to": None, "quote": None, "state": None}
        errors.setdefault("form", _("The post you are replying to or quoting is no longer available."))
    kept = {name: forms.text(form, name) for name in ("status", "spoiler_text", "visibility")}
    kept["alt"] = forms.texts(form, "alt")
    if forms.files(form, "media"):
        errors.setdefault("media", _("Please choose your images again."))
    context = {**related, "form": kept, "errors": errors, "target": target}
    if is_htmx(request):
        return await fragment(request, "_compose.html", context, status=422)
    return await page(request, "compose.html", {**context, "target": "page"}, status=422)

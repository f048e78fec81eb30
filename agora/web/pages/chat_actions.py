"""What a member does in chat from the browser: start a chat or a group, send (with an image), edit,
react, delete, pin, forward, mark read, say "typing", answer a message request, mute, and manage a group.

Each is an ordinary form post that answers a 303 back (no JavaScript needed). The page script sends
messages with fetch and reactions with htmx; those get the re-rendered message instead. Every
action goes through the chat services, which check membership and roles exactly as for the API.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.auth import rate_limited
from agora.accounts.service import accounts_by_username, get_account_by_username
from agora.chat import conversations, messages
from agora.kit.errors import AgoraError, BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from agora.kit.http import path_id
from agora.kit.runtime import runtime_of
from agora.media.service import MAX_DESCRIPTION, prepare_upload, store_upload
from agora.models import Account
from agora.web import forms
from agora.web.chat_data import COMMON_REACTIONS, may_pin, message_items
from agora.web.i18n import gettext as _
from agora.web.i18n import refusal
from agora.web.pages.chat import conversation_context, go, show_conversation
from agora.web.render import fragment, is_htmx, page, prepare
from agora.web.session import Viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])
LIMITED = [Depends(rate_limited("chat"))]
_SEPARATORS = re.compile(r"[\s,;]+")
MAX_NAMED = 50  # usernames one form may name at once


def usernames(raw: str) -> list[str]:
    """"@bob, carol dave" → ["bob", "carol", "dave"] (each once, in the order typed)."""
    return list(dict.fromkeys(n.lstrip("@") for n in _SEPARATORS.split(raw) if n.strip("@")))


async def named_accounts(session: AsyncSession, names: list[str]) -> tuple[list[Account], str | None]:
    """The members called `names`, and the first name no member has (None when all were found)."""
    found = await accounts_by_username(session, usernames=names)
    missing = next((n for n in names if n.lower() not in found), None)
    return [found[n.lower()] for n in names if n.lower() in found], missing


def no_member_called(name: str) -> str:
    return _("No member is called @%(name)s.") % {"name": name}


# --- starting a chat ------------------------------------------------------------------------------


async def _new_form(request: Request, mode: str, form: dict[str, str], errors: dict[str, str]) -> Response:
    """The dialog's form again with its messages (htmx swaps it in the dialog), or its own page."""
    context = {"mode": mode, "form": form, "errors": errors}
    if is_htmx(request):
        return await fragment(request, "_chat_new.html", context, status=422)
    return await page(request, "chat_new.html", context, status=422)


@router.post("/web/chat/direct", dependencies=LIMITED)
async def start_direct(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    form = await request.form()
    name = forms.text(form, "username", limit=200).strip().lstrip("@")
    error = _("Enter the username of the member you want to write to.") if not name else None
    if error is None:
        try:
            async with runtime_of(request).db.transaction() as session:
                other = await get_account_by_username(session, username=name)
                started = await conversations.start_direct(session, starter=viewer.account, other_id=other.id)
            return go(request, f"/chat/{started.id}")
        except NotFound:
            error = no_member_called(name)
        except AgoraError as refused:
            error = refusal(refused.message)
    return await _new_form(request, "direct", {"username": name}, {"username": error})


@router.post("/web/chat/group", dependencies=LIMITED)
async def start_group(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    form = await request.form()
    runtime = runtime_of(request)
    kept = {"name": forms.text(form, "name", limit=1000).strip(), "members": forms.text(form, "members", limit=5000)}
    names = usernames(kept["members"])
    errors: dict[str, str] = {}
    if len(kept["name"]) > runtime.settings.max_group_name_chars:
        errors["name"] = _("A group name can be at most %(max)d characters.") % {
            "max": runtime.settings.max_group_name_chars}
    if not names:
        errors["members"] = _("Add at least one member.")
    elif len(names) > MAX_NAMED:
        errors["members"] = _("Add at most %(max)d members at once.") % {"max": MAX_NAMED}
    if not errors:
        try:
            async with runtime.db.transaction() as session:
                accounts, missing = await named_accounts(session, names)
                if missing is None:
                    group = await conversations.create_group(
                        session, creator=viewer.account, name=kept["name"], description="",
                        member_ids=[a.id for a in accounts], settings=runtime.settings)
                    return go(request, f"/chat/{group.id}")
            errors["members"] = no_member_called(missing)
        except AgoraError as refused:
            errors["members"] = refusal(refused.message)
    return await _new_form(request, "group", kept, errors)


# --- messages -------------------------------------------------------------------------------------


async def _message_fragment(request: Request, viewer: Viewer, message_id: int, conversation_id: int, *,
                            status: int = 200, editing: dict[str, Any] | None = None) -> Response:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await messages.get(session, viewer_id=viewer.id, conversation_id=conversation_id,
                                   message_id=message_id)
        mine = await conversations.membership(session, conversation_id=conversation_id, account_id=viewer.id)
        items = await message_items(session, [found], viewer_id=viewer.id, settings=runtime.settings)
    return await fragment(request, "_chat_messages.html", {"items": items, "reactions": COMMON_REACTIONS,
                                                           "conversation_id": conversation_id, "editing": editing,
                                                           "can_pin": may_pin(mine)}, status=status)


class _AlreadySent(Exception):
    """Leaves the send's transaction when a client_id resend carried an image again."""

    def __init__(self, message_id: int) -> None:
        super().__init__()
        self.message_id = message_id


@router.post("/web/chat/{conversation_id}/messages", dependencies=LIMITED)
async def send(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    """Send. The form's `client_id` (made by the page script, or rendered into the form without it)
    makes a second send of the same message return the first instead of writing it twice."""
    cid = path_id(conversation_id)
    form = await request.form()
    runtime = runtime_of(request)
    limit = runtime.settings.max_chat_message_chars
    text = forms.text(form, "text", limit=limit + 1)
    chosen = forms.files(form, "media")
    alt = forms.text(form, "alt", limit=MAX_DESCRIPTION + 1).strip()
    draft = messages.Draft(text=text, client_id=forms.text(form, "client_id", limit=messages.MAX_CLIENT_ID) or None,
                           reply_to_id=forms.an_id(form, "reply_to_id"))
    error = None
    if not text.strip() and not chosen:
        error = _("Write a message.")
    elif len(text) > limit:
        error = _("A message can be at most %(max)d characters.") % {"max": limit}
    elif len(chosen) > runtime.settings.max_media_attachments:
        error = _("You can attach at most %(max)d images.") % {"max": runtime.settings.max_media_attachments}
    elif len(alt) > MAX_DESCRIPTION:
        error = _("An image description can be at most %(max)d characters.") % {"max": MAX_DESCRIPTION}
    else:
        try:  # images are checked and re-encoded before the write transaction opens (as compose does)
            images = [await prepare_upload(data=await f.read(runtime.settings.max_image_bytes + 1),
                                           settings=runtime.settings) for f in chosen]
            async with runtime.db.transaction() as session:
                for image in images:
                    stored = await store_upload(session, account_id=viewer.id, image=image, description=alt,
                                                focus=(0.0, 0.0), settings=runtime.settings)
                    draft.media_ids.append(stored.id)
                sent, _created = await messages.send(session, sender_id=viewer.id, conversation_id=cid, draft=draft,
                                                     settings=runtime.settings)
                sent_id = sent.id
                if not _created and images:
                    raise _AlreadySent(sent_id)  # a resend: roll back its copy of the image (files and rows)
        except _AlreadySent as resent:
            sent_id = resent.message_id
        except NotFound:
            raise
        except AgoraError as refused:
            error = refusal(refused.message)
    if error is not None:
        if is_htmx(request):  # the script shows it under the box and keeps what was typed
            return PlainTextResponse(error, status_code=422)
        context = await conversation_context(request, viewer, cid, reply_to_id=draft.reply_to_id)
        context.update(form={"text": text}, errors={"text": error})
        return await show_conversation(request, viewer, context, status=422)
    if not is_htmx(request):
        return RedirectResponse(f"/chat/{cid}#chat-send", status_code=303)
    return await _message_fragment(request, viewer, sent_id, cid, status=201 if _created else 200)


@router.post("/web/chat/{conversation_id}/messages/{message_id}/react", dependencies=LIMITED)
async def react(request: Request, conversation_id: str, message_id: str,
                viewer: Viewer = Depends(require_viewer)) -> Response:
    """`do` is "add:👍" or "remove:👍": the button says which, so a double click cannot undo itself."""
    cid, mid = path_id(conversation_id), path_id(message_id)
    verb, _sep, emoji = forms.text(await request.form(), "do", limit=100).partition(":")
    if verb not in ("add", "remove"):
        raise BadRequest(_("Choose a reaction."))
    return await _change_message(request, viewer, cid, mid, lambda session: messages.react(
        session, actor_id=viewer.id, conversation_id=cid, message_id=mid, emoji=emoji, add=verb == "add"))


async def _change_message(request: Request, viewer: Viewer, cid: int, mid: int,
                          change: Callable[[AsyncSession], Awaitable[object]]) -> Response:
    """Run `change` on a message, then show it: the updated message for htmx, else back to it."""
    try:
        async with runtime_of(request).db.transaction() as session:
            await change(session)
    except Unprocessable as refused:  # not 422: htmx would swap the message text into the bubble
        raise BadRequest(refusal(refused.message)) from refused
    if not is_htmx(request):
        return RedirectResponse(f"/chat/{cid}#msg-{mid}", status_code=303)
    return await _message_fragment(request, viewer, mid, cid)


@router.post("/web/chat/{conversation_id}/messages/{message_id}/edit", dependencies=LIMITED)
async def edit(request: Request, conversation_id: str, message_id: str,
               viewer: Viewer = Depends(require_viewer)) -> Response:
    """A new text for your own message: it shows "Edited" on every screen. A refusal (empty, too
    long) comes back in the edit form, what was typed kept."""
    cid, mid = path_id(conversation_id), path_id(message_id)
    runtime = runtime_of(request)
    limit = runtime.settings.max_chat_message_chars
    text = forms.text(await request.form(), "text", limit=limit + 1)
    error = _("A message can be at most %(max)d characters.") % {"max": limit} if len(text) > limit else None
    if error is None:
        try:
            async with runtime.db.transaction() as session:
                await messages.edit(session, editor_id=viewer.id, conversation_id=cid, message_id=mid, text=text,
                                    settings=runtime.settings)
        except Unprocessable as refused:  # empty without an image, or deleted meanwhile
            error = _("Write a message.") if not text.strip() else refusal(refused.message)
    editing = {"id": mid, "text": text, "error": error}
    if error is not None and is_htmx(request):
        return await _message_fragment(request, viewer, mid, cid, status=422, editing=editing)
    if error is not None:
        context = await conversation_context(request, viewer, cid)
        context["editing"] = editing
        return await show_conversation(request, viewer, context, status=422)
    if not is_htmx(request):
        return RedirectResponse(f"/chat/{cid}#msg-{mid}", status_code=303)
    return await _message_fragment(request, viewer, mid, cid)


@router.post("/web/chat/{conversation_id}/messages/{message_id}/delete", dependencies=LIMITED)
async def delete(request: Request, conversation_id: str, message_id: str,
                 viewer: Viewer = Depends(require_viewer)) -> Response:
    """Delete for everyone: the message becomes "This message was deleted" on every screen."""
    cid, mid = path_id(conversation_id), path_id(message_id)
    return await _change_message(request, viewer, cid, mid, lambda session: messages.delete_message(
        session, actor_id=viewer.id, conversation_id=cid, message_id=mid, settings=runtime_of(request).settings))


async def _set_pinned(request: Request, viewer: Viewer, conversation_id: str, message_id: str,
                      pinned: bool) -> Response:
    cid, mid = path_id(conversation_id), path_id(message_id)
    return await _change_message(request, viewer, cid, mid, lambda session: messages.set_pinned(
        session, actor_id=viewer.id, conversation_id=cid, message_id=mid, pinned=pinned))


@router.post("/web/chat/{conversation_id}/messages/{message_id}/pin", dependencies=LIMITED)
async def pin(request: Request, conversation_id: str, message_id: str,
              viewer: Viewer = Depends(require_viewer)) -> Response:
    """Pin for everyone: either side of a direct chat, a group's owner and admins (others get 403)."""
    return await _set_pinned(request, viewer, conversation_id, message_id, True)


@router.post("/web/chat/{conversation_id}/messages/{message_id}/unpin", dependencies=LIMITED)
async def unpin(request: Request, conversation_id: str, message_id: str,
                viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _set_pinned(request, viewer, conversation_id, message_id, False)


@router.post("/web/chat/{conversation_id}/messages/{message_id}/forward", dependencies=LIMITED)
async def forward(request: Request, conversation_id: str, message_id: str,
                  viewer: Viewer = Depends(require_viewer)) -> Response:
    """Forward to `to`, another of your conversations, then go there. The picker's `client_id`
    makes a second press of the same button (a double click, a resend) forward it once."""
    form = await request.form()
    target = forms.an_id(form, "to")
    if target is None:
        raise BadRequest(_("Choose a conversation."))
    runtime = runtime_of(request)
    draft = messages.Draft(forward_of_id=path_id(message_id),
                           client_id=forms.text(form, "client_id", limit=messages.MAX_CLIENT_ID) or None)
    cid = path_id(conversation_id)
    try:
        async with runtime.db.transaction() as session:
            # The message must be in the conversation the address names (send checks only that you can read it).
            await messages.get(session, viewer_id=viewer.id, conversation_id=cid, message_id=draft.forward_of_id)
            await messages.send(session, sender_id=viewer.id, conversation_id=target, draft=draft,
                                settings=runtime.settings)
    except (Unprocessable, Conflict) as refused:  # e.g. a blocked chat, or a full one
        raise BadRequest(refusal(refused.message)) from refused
    return go(request, f"/chat/{target}#chat-send")


@router.post("/web/chat/{conversation_id}/read")
async def read(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    """The page script reports what the member has seen (only while the page is visible)."""
    form = await request.form()
    message_id = forms.an_id(form, "message_id")
    if forms.text(form, "message_id", limit=30) and message_id is None:
        raise BadRequest("message_id must be an id")
    async with runtime_of(request).db.transaction() as session:
        await conversations.mark_read(session, actor=viewer.account, conversation_id=path_id(conversation_id),
                                      message_id=message_id)
    return Response(status_code=204)


@router.post("/web/chat/{conversation_id}/typing")
async def typing(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    """"… is typing": the script sends it at most every three seconds while the member types."""
    async with runtime_of(request).db.transaction(write=False) as session:
        await conversations.typing(session, actor=viewer.account, conversation_id=path_id(conversation_id))
    return Response(status_code=204)


# --- requests and groups --------------------------------------------------------------------------


async def _group_refused(request: Request, viewer: Viewer, conversation_id: int, message: str) -> Response:
    """The conversation again, its info panel open with the refusal in it."""
    context = await conversation_context(request, viewer, conversation_id)
    context.update(info_error=message, info_open=True)
    return await show_conversation(request, viewer, context, status=422)


@router.post("/web/chat/{conversation_id}/accept", dependencies=LIMITED)
async def accept(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    cid = path_id(conversation_id)
    async with runtime_of(request).db.transaction() as session:
        await conversations.accept(session, actor=viewer.account, conversation_id=cid)
    return go(request, f"/chat/{cid}")


@router.post("/web/chat/{conversation_id}/decline", dependencies=LIMITED)
async def decline(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    async with runtime_of(request).db.transaction() as session:
        await conversations.decline(session, actor=viewer.account, conversation_id=path_id(conversation_id))
    return go(request, "/chat?tab=requests")


@router.post("/web/chat/{conversation_id}/leave", dependencies=LIMITED)
async def leave(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    async with runtime_of(request).db.transaction() as session:
        await conversations.leave(session, actor=viewer.account, conversation_id=path_id(conversation_id))
    return go(request, "/chat")


async def _set_muted(request: Request, viewer: Viewer, conversation_id: str, muted: bool) -> Response:
    cid = path_id(conversation_id)
    async with runtime_of(request).db.transaction() as session:
        await conversations.set_muted(session, actor=viewer.account, conversation_id=cid, muted=muted)
    return go(request, f"/chat/{cid}")


@router.post("/web/chat/{conversation_id}/mute", dependencies=LIMITED)
async def mute(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    """A muted chat still gets its messages, but leaves the unread badge alone."""
    return await _set_muted(request, viewer, conversation_id, True)


@router.post("/web/chat/{conversation_id}/unmute", dependencies=LIMITED)
async def unmute(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _set_muted(request, viewer, conversation_id, False)


@router.post("/web/chat/{conversation_id}/rename", dependencies=LIMITED)
async def rename(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    cid = path_id(conversation_id)
    name = forms.text(await request.form(), "name", limit=1000)
    try:
        async with runtime_of(request).db.transaction() as session:
            await conversations.update_info(session, actor=viewer.account, conversation_id=cid, name=name,
                                            description=None, avatar_path=None, settings=runtime_of(request).settings)
    except Unprocessable as refused:  # too long
        return await _group_refused(request, viewer, cid, refusal(refused.message))
    return go(request, f"/chat/{cid}")


@router.post("/web/chat/{conversation_id}/members", dependencies=LIMITED)
async def add_members(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    cid = path_id(conversation_id)
    names = usernames(forms.text(await request.form(), "members", limit=5000))
    if not names or len(names) > MAX_NAMED:
        return await _group_refused(request, viewer, cid, _("Enter one or more usernames."))
    runtime = runtime_of(request)
    missing = None
    try:
        async with runtime.db.transaction() as session:
            accounts, missing = await named_accounts(session, names)
            if missing is None:
                await conversations.add_members(session, actor=viewer.account, conversation_id=cid,
                                                account_ids=[a.id for a in accounts], settings=runtime.settings)
    except (Unprocessable, Forbidden) as refused:  # the limit, or someone who blocks you
        return await _group_refused(request, viewer, cid, refusal(refused.message))
    if missing is not None:
        return await _group_refused(request, viewer, cid, no_member_called(missing))
    return go(request, f"/chat/{cid}")


@router.post("/web/chat/{conversation_id}/members/{account_id}/remove", dependencies=LIMITED)
async def remove_member(request: Request, conversation_id: str, account_id: str,
                        viewer: Viewer = Depends(require_viewer)) -> Response:
    cid = path_id(conversation_id)
    async with runtime_of(request).db.transaction() as session:
        await conversations.remove_member(session, actor=viewer.account, conversation_id=cid,
                                          account_id=path_id(account_id))
    return go(request, f"/chat/{cid}")

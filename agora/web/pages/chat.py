"""Chat in the browser: the inbox (and message requests), a conversation, and the pieces the page
script fetches as the live stream tells it something changed.

Live updates ride the page's one event stream, `/web/live` (see pages/live.py), which carries the
`chat` stream too. An event only says *that* something happened; the script then asks here for the
HTML (new messages after the last one it has, one message re-rendered), so everything shown is
rendered by the server, in the reader's language, through the same membership checks as the API.
Search inside a conversation is a page of its own. The form posts (send, edit, react, mute, manage a
group …) are in chat_actions.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from agora.chat import conversations, events, messages
from agora.chat.entities import render_conversation, render_conversations
from agora.kit.errors import NotFound
from agora.kit.http import page_params, path_id
from agora.kit.ids import parse_id
from agora.kit.pagination import PageParams
from agora.kit.runtime import runtime_of
from agora.media.service import MAX_DESCRIPTION
from agora.web.chat_data import COMMON_REACTIONS, inbox_row, may_pin, message_items, receipt, title_of
from agora.web.feeds import next_page_url
from agora.web.i18n import gettext as _
from agora.web.render import fragment, fragment_kind, is_htmx, page, prepare
from agora.web.session import Viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])
PAGE = 40  # messages per page of a conversation
NEW_LIMIT = 100  # messages one "what is new" fetch returns at most
SEARCH_PAGE = 20  # search results per page
PINNED = 20  # pinned messages the info panel lists (newest first)


def go(request: Request, url: str) -> Response:
    """After a form that leads elsewhere: a redirect, or for htmx, its way of saying the same."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


# --- the inbox ------------------------------------------------------------------------------------


def _tab(request: Request) -> str:
    return "requests" if request.query_params.get("tab") == "requests" else "inbox"


@router.get("/chat")
async def inbox(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    tab = _tab(request)
    params = page_params(request)
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        # Read first: the stream starts here, so a change made while the page renders still arrives.
        cursor = await events.head(session)
        found = await conversations.inbox(session, viewer_id=viewer.id, requests=tab == "requests", page=params)
        rendered = await render_conversations(session, found.items, viewer_id=viewer.id, settings=runtime.settings)
        waiting = await conversations.request_count(session, viewer_id=viewer.id)
        unread = await conversations.unread_total(session, viewer_id=viewer.id)
    context: dict[str, Any] = {
        "tab": tab, "rows": [inbox_row(c, viewer.id, runtime.settings) for c in rendered],
        "more_url": next_page_url(request, found, params), "waiting": waiting, "unread_total": unread}
    if fragment_kind(request) == "list":
        return await fragment(request, "_chat_list.html", context)
    return await page(request, "chat.html", {**context, "chat_cursor": cursor, "form": {}, "errors": {}})


@router.get("/chat/new")
async def new_message(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    """The "New message" dialog as a page of its own (without JavaScript, or opened in a new tab)."""
    return await page(request, "chat_new.html", {"mode": "direct", "form": {}, "errors": {}})


@router.get("/chat/new/group")
async def new_group(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await page(request, "chat_new.html", {"mode": "group", "form": {}, "errors": {}})


@router.get("/web/chat/unread")
async def unread(request: Request, viewer: Viewer = Depends(require_viewer)) -> JSONResponse:
    """The navigation badge's count, which the page script asks for when the stream says it moved."""
    async with runtime_of(request).db.transaction(write=False) as session:
        total = await conversations.unread_total(session, viewer_id=viewer.id)
        waiting = await conversations.request_count(session, viewer_id=viewer.id)
    return JSONResponse({"unread": total, "requests": waiting}, headers={"Cache-Control": "no-store"})


# --- a conversation -------------------------------------------------------------------------------


async def conversation_context(request: Request, viewer: Viewer, conversation_id: int, *,
                               before: int | None = None, reply_to_id: int | None = None) -> dict[str, Any]:
    """Everything the conversation page shows; 404 for anyone who is not a member."""
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        cursor = await events.head(session)
        mine = await conversations.membership(session, conversation_id=conversation_id, account_id=viewer.id)
        about = await render_conversation(session, mine, viewer_id=viewer.id, settings=runtime.settings)
        found = await messages.history(session, viewer_id=viewer.id, conversation_id=conversation_id,
                                       page=PageParams(limit=PAGE, max_id=before))
        items = await message_items(session, list(reversed(found.items)), viewer_id=viewer.id,
                                    settings=runtime.settings)
        members = await conversations.members(session, viewer_id=viewer.id, conversation_id=conversation_id)
        pinned = await messages.history(session, viewer_id=viewer.id, conversation_id=conversation_id,
                                        page=PageParams(limit=PINNED), pinned_only=True)
        pinned_items = await message_items(session, [m for m in pinned.items if m.deleted_at is None],
                                           viewer_id=viewer.id, settings=runtime.settings)
        replying = None
        if reply_to_id is not None:
            try:
                replying = await messages.get(session, viewer_id=viewer.id, conversation_id=conversation_id,
                                              message_id=reply_to_id)
            except NotFound:
                replying = None
    older = f"/chat/{conversation_id}?before={found.next_max_id}" if len(found.items) == PAGE else None
    others = [m for m in members if m.account_id != viewer.id]
    return {
        "conversation": about, "title": title_of(about), "me": mine, "items": items, "older_url": older,
        "members": members, "other": others[0].account if about["kind"] == "direct" and others else None,
        "receipt": receipt(items, about["read_markers"]), "chat_cursor": cursor,
        "reply_to": replying if replying is not None and replying.deleted_at is None else None,
        "reactions": COMMON_REACTIONS, "can_manage": about["kind"] == "group" and mine.role in conversations.MANAGERS,
        "can_pin": may_pin(mine), "pinned": pinned_items,
        "newest_id": found.items[0].id if found.items and before is None else None,
        "paged_back": before is not None,  # an older page: new messages are not appended to it
        "form": {}, "errors": {}, "editing": None, "max_description": MAX_DESCRIPTION,
    }


async def show_conversation(request: Request, viewer: Viewer, context: dict[str, Any], *,
                            status: int = 200) -> Response:
    """The page, having marked what it shows as read (so the badge on it already counts it). Not a
    message request: its sender does not learn that it was seen until it is accepted (as on X)."""
    newest, me = context["newest_id"], context["me"]
    if newest is not None and newest > me.last_read_id and status == 200 and me.state == "active":
        # A short write of its own, as the notifications page does: reading older pages takes no lock.
        async with runtime_of(request).db.transaction() as session:
            await conversations.mark_read(session, actor=viewer.account, conversation_id=me.conversation_id,
                                          message_id=newest)
    return await page(request, "chat_conversation.html", context, status=status)


@router.get("/chat/{conversation_id}")
async def conversation(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    before = parse_id(request.query_params.get("before") or "")
    reply_to = parse_id(request.query_params.get("reply_to") or "")
    context = await conversation_context(request, viewer, path_id(conversation_id), before=before,
                                         reply_to_id=reply_to)
    edit = parse_id(request.query_params.get("edit") or "")  # "Edit" without JavaScript: the form in place
    if edit is not None:
        context["editing"] = {"id": edit, "text": None, "error": None}
    return await show_conversation(request, viewer, context)


@router.get("/chat/{conversation_id}/messages")
async def new_messages(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    """The messages after `after` (the newest the page has), oldest first: what the stream announced."""
    after = parse_id(request.query_params.get("after") or "")
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        mine = await conversations.membership(session, conversation_id=path_id(conversation_id), account_id=viewer.id)
        found = await messages.history(session, viewer_id=viewer.id, conversation_id=path_id(conversation_id),
                                       page=PageParams(limit=NEW_LIMIT, min_id=after) if after is not None
                                       else PageParams(limit=PAGE))
        items = await message_items(session, list(reversed(found.items)), viewer_id=viewer.id,
                                    settings=runtime.settings)
    return await fragment(request, "_chat_messages.html", {"items": items, "reactions": COMMON_REACTIONS,
                                                           "conversation_id": path_id(conversation_id),
                                                           "can_pin": may_pin(mine)})


@router.get("/chat/{conversation_id}/messages/{message_id}")
async def one_message(request: Request, conversation_id: str, message_id: str,
                      viewer: Viewer = Depends(require_viewer)) -> Response:
    """One message as it is now (edited, deleted, reacted to); with `?edit=1`, your own message's
    edit form in its place ("Edit" with JavaScript)."""
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await messages.get(session, viewer_id=viewer.id, conversation_id=path_id(conversation_id),
                                   message_id=path_id(message_id))
        mine = await conversations.membership(session, conversation_id=found.conversation_id, account_id=viewer.id)
        items = await message_items(session, [found], viewer_id=viewer.id, settings=runtime.settings)
    editing = {"id": found.id, "text": None, "error": None} if request.query_params.get("edit") else None
    return await fragment(request, "_chat_messages.html", {"items": items, "reactions": COMMON_REACTIONS,
                                                           "conversation_id": found.conversation_id,
                                                           "editing": editing, "can_pin": may_pin(mine)})


@router.get("/chat/{conversation_id}/search")
async def search(request: Request, conversation_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    """Messages of this conversation containing `q`, newest first; each links to its place in it."""
    cid = path_id(conversation_id)
    query = (request.query_params.get("q") or "").strip()
    before = parse_id(request.query_params.get("before") or "")
    runtime = runtime_of(request)
    error, results, more = None, [], None
    async with runtime.db.transaction(write=False) as session:
        mine = await conversations.membership(session, conversation_id=cid, account_id=viewer.id)
        about = await render_conversation(session, mine, viewer_id=viewer.id, settings=runtime.settings)
        if len(query) > messages.MAX_SEARCH:
            error = _("Search for at most %(max)d characters.") % {"max": messages.MAX_SEARCH}
        elif query:
            found = await messages.history(session, viewer_id=viewer.id, conversation_id=cid, query=query,
                                           page=PageParams(limit=SEARCH_PAGE, max_id=before))
            results = await message_items(session, found.items, viewer_id=viewer.id, settings=runtime.settings)
            if len(found.items) == SEARCH_PAGE:
                more = f"/chat/{cid}/search?{urlencode({'q': query, 'before': found.next_max_id})}"
    context = {"conversation": about, "title": title_of(about), "query": query, "results": results,
               "more_url": more, "search_error": error}
    return await page(request, "chat_search.html", context, status=422 if error else 200)


@router.get("/chat/{conversation_id}/messages/{message_id}/forward")
async def forward_picker(request: Request, conversation_id: str, message_id: str,
                         viewer: Viewer = Depends(require_viewer)) -> Response:
    """"Forward": the message, and your conversations to choose from (a page, so it works without
    JavaScript); each is a form that forwards it there (chat_actions.forward)."""
    params = page_params(request)
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await messages.get(session, viewer_id=viewer.id, conversation_id=path_id(conversation_id),
                                   message_id=path_id(message_id))
        if found.deleted_at is not None or found.kind != "text":
            raise NotFound("Message not found")
        items = await message_items(session, [found], viewer_id=viewer.id, settings=runtime.settings)
        chats = await conversations.inbox(session, viewer_id=viewer.id, requests=False, page=params)
        rendered = await render_conversations(session, chats.items, viewer_id=viewer.id, settings=runtime.settings)
    context = {"item": items[0], "rows": [inbox_row(c, viewer.id, runtime.settings) for c in rendered],
               "more_url": next_page_url(request, chats, params)}
    return await page(request, "chat_forward.html", context)

"""Routes: `/api/v1/chats` — conversations, members, messages, reactions, receipts, the event log.

Agora's extension of the Mastodon API (Mastodon has no chat). Lists page with `max_id` / `min_id`
and `Link` headers like every Mastodon list; live events come on the `chat` stream
(`/api/v1/streaming/chat` or the WebSocket), and `GET /api/v1/chats/events` replays them by cursor.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.auth import member, rate_limited
from agora.accounts.entities import account_json
from agora.accounts.oauth import Grant
from agora.accounts.service import get_account_by_username
from agora.chat import conversations, events, messages
from agora.chat.entities import (
    render_conversation,
    render_conversations,
    render_events,
    render_message,
    render_messages,
)
from agora.kit.errors import Unprocessable
from agora.kit.http import page_params, paged, path_id, truthy
from agora.kit.ids import parse_id
from agora.kit.params import request_params, upload, validate
from agora.kit.runtime import runtime_of
from agora.kit.time import iso
from agora.media.service import prepare_profile_image, store_profile_image

router = APIRouter(tags=["chat"])
READ = member("read:chats")
WRITE = member("write:chats")
LIMITED = [Depends(rate_limited("chat"))]
MAX_EVENTS = 500


def ids_of(value: Any, field: str) -> list[int]:
    raw = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    parsed = [parse_id(v) for v in raw]
    if any(p is None for p in parsed):
        raise Unprocessable(f"{field} must be a list of ids")
    return [p for p in parsed if p is not None]


async def _conversation_body(request: Request, session: AsyncSession, grant: Grant, conversation_id: int
                             ) -> dict[str, Any]:
    mine = await conversations.membership(session, conversation_id=conversation_id, account_id=grant.account.id)
    return await render_conversation(session, mine, viewer_id=grant.account.id, settings=runtime_of(request).settings)


# --- conversations ------------------------------------------------------------------------------


@router.get("/api/v1/chats")
async def list_conversations(request: Request, grant: Grant = Depends(READ)) -> JSONResponse:
    """Your inbox, most recently active first; `?requests=true` for message requests."""
    page = page_params(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await conversations.inbox(session, viewer_id=grant.account.id,
                                          requests=truthy(request.query_params.get("requests")), page=page)
        body = await render_conversations(session, found.items, viewer_id=grant.account.id,
                                          settings=runtime_of(request).settings)
    return paged(request, found, body)


@router.get("/api/v1/chats/unread")
async def unread(request: Request, grant: Grant = Depends(READ)) -> dict[str, int]:
    """Unread messages in your inbox (muted chats left out), and how many requests wait."""
    async with runtime_of(request).db.transaction(write=False) as session:
        total = await conversations.unread_total(session, viewer_id=grant.account.id)
        waiting = await conversations.request_count(session, viewer_id=grant.account.id)
    return {"unread": total, "requests": waiting}


class StartForm(BaseModel):
    kind: str = "direct"
    account_id: str | None = None
    acct: str | None = Field(None, max_length=100)
    name: str = Field("", max_length=10_000)
    description: str = Field("", max_length=100_000)

    @field_validator("name", "description", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


@router.post("/api/v1/chats", dependencies=LIMITED)
async def start_conversation(request: Request, grant: Grant = Depends(WRITE)) -> dict[str, Any]:
    """`{"account_id": …}` (or `acct`) opens the direct chat with that member, creating it once;
    `{"kind": "group", "name": …, "account_ids": […]}` creates a group."""
    params = await request_params(request)
    form = validate(StartForm, params)
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        if form.kind == "group":
            group = await conversations.create_group(
                session, creator=grant.account, name=form.name, description=form.description,
                member_ids=ids_of(params.get("account_ids"), "account_ids"), settings=runtime.settings)
            conversation_id = group.id
        elif form.kind == "direct":
            other_id = parse_id(form.account_id) if form.account_id else None
            if other_id is None and form.acct:
                other_id = (await get_account_by_username(session, username=form.acct.lstrip("@"))).id
            if other_id is None:
                raise Unprocessable("account_id or acct is required")
            conversation_id = (await conversations.start_direct(session, starter=grant.account,
                                                                other_id=other_id)).id
        else:
            raise Unprocessable("kind must be direct or group")
        return await _conversation_body(request, session, grant, conversation_id)


@router.get("/api/v1/chats/events")
async def replay_events(request: Request, grant: Grant = Depends(READ)) -> dict[str, Any]:
    """Everything after `cursor`, oldest first — what a client missed while away. Without a cursor:
    none, and the cursor to start from. Page on with the returned cursor while `more` is true."""
    raw = request.query_params.get("cursor")
    try:
        limit = max(1, min(int(request.query_params.get("limit") or 100), MAX_EVENTS))
        cursor = int(raw) if raw not in (None, "") else None
    except ValueError:
        raise Unprocessable("cursor and limit must be integers") from None
    # Bounded above too: a number past 64 bits cannot be compared in SQL (a 500, not an answer).
    if cursor is not None and not 0 <= cursor < 2**63:
        raise Unprocessable("cursor must be a non-negative 64-bit integer")
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        if cursor is None:
            return {"events": [], "cursor": str(await events.head(session)), "more": False}
        log = await events.events_after(session, viewer_id=grant.account.id, cursor=cursor, limit=limit)
        rendered = await render_events(session, log, viewer_id=grant.account.id, settings=runtime.settings)
    body = [{"event": name, "payload": payload} for _, name, payload in rendered]
    return {"events": body, "cursor": str(log[-1].seq if log else cursor), "more": len(log) == limit}


@router.get("/api/v1/chats/{conversation_id}")
async def get_conversation(request: Request, conversation_id: str, grant: Grant = Depends(READ)) -> dict:
    async with runtime_of(request).db.transaction(write=False) as session:
        return await _conversation_body(request, session, grant, path_id(conversation_id))


class InfoForm(BaseModel):
    name: str | None = Field(None, max_length=10_000)
    description: str | None = Field(None, max_length=100_000)


@router.patch("/api/v1/chats/{conversation_id}", dependencies=LIMITED)
async def update_conversation(request: Request, conversation_id: str, grant: Grant = Depends(WRITE)) -> dict:
    """Rename, describe, or (multipart `avatar`) picture a group: its owner and admins."""
    params = await request_params(request)
    form = validate(InfoForm, {k: v for k, v in params.items() if k in ("name", "description")})
    runtime = runtime_of(request)
    image = upload(params, "avatar")
    png = await prepare_profile_image(data=await image.read(), kind="avatar", settings=runtime.settings) \
        if image is not None else None
    async with runtime.db.transaction() as session:
        # Check the right to change it before writing a file for it.
        me = await conversations.membership(session, conversation_id=path_id(conversation_id),
                                            account_id=grant.account.id)
        conversations.require_manager(me)
        avatar = await store_profile_image(session, png=png, kind="avatar", settings=runtime.settings) \
            if png is not None else None
        await conversations.update_info(session, actor=grant.account, conversation_id=me.conversation_id,
                                        name=form.name, description=form.description, avatar_path=avatar,
                                        settings=runtime.settings)
        return await _conversation_body(request, session, grant, me.conversation_id)


def _conversation_action(operation, **fixed: Any):
    async def endpoint(request: Request, conversation_id: str, grant: Grant = Depends(WRITE)) -> dict[str, Any]:
        async with runtime_of(request).db.transaction() as session:
            await operation(session, actor=grant.account, conversation_id=path_id(conversation_id), **fixed)
            return await _conversation_body(request, session, grant, path_id(conversation_id))
    return endpoint


for _name, _operation, _fixed in (
    ("accept", conversations.accept, {}),
    ("mute", conversations.set_muted, {"muted": True}),
    ("unmute", conversations.set_muted, {"muted": False}),
):
    router.add_api_route(f"/api/v1/chats/{{conversation_id}}/{_name}", _conversation_action(_operation, **_fixed),
                         methods=["POST"], name=f"chat_{_name}", dependencies=LIMITED)


@router.post("/api/v1/chats/{conversation_id}/decline", dependencies=LIMITED)
async def decline(request: Request, conversation_id: str, grant: Grant = Depends(WRITE)) -> dict[str, Any]:
    async with runtime_of(request).db.transaction() as session:
        await conversations.decline(session, actor=grant.account, conversation_id=path_id(conversation_id))
    return {}


@router.post("/api/v1/chats/{conversation_id}/leave", dependencies=LIMITED)
async def leave(request: Request, conversation_id: str, grant: Grant = Depends(WRITE)) -> dict[str, Any]:
    async with runtime_of(request).db.transaction() as session:
        await conversations.leave(session, actor=grant.account, conversation_id=path_id(conversation_id))
    return {}


@router.post("/api/v1/chats/{conversation_id}/read")
async def mark_read(request: Request, conversation_id: str, grant: Grant = Depends(WRITE)) -> dict[str, Any]:
    """Read up to `message_id` (default: the newest message). Receipts never move backwards."""
    params = await request_params(request)
    raw = params.get("message_id")
    message_id = parse_id(raw) if raw not in (None, "") else None
    if raw not in (None, "") and message_id is None:
        raise Unprocessable("message_id must be an id")
    async with runtime_of(request).db.transaction() as session:
        me = await conversations.mark_read(session, actor=grant.account, conversation_id=path_id(conversation_id),
                                           message_id=message_id)
    return {"last_read_id": str(me.last_read_id) if me.last_read_id else None}


@router.post("/api/v1/chats/{conversation_id}/typing")
async def typing(request: Request, conversation_id: str, grant: Grant = Depends(WRITE)) -> dict[str, Any]:
    """Tell the others you are typing; send again every few seconds while you are."""
    async with runtime_of(request).db.transaction(write=False) as session:
        await conversations.typing(session, actor=grant.account, conversation_id=path_id(conversation_id))
    return {}


# --- members ------------------------------------------------------------------------------------


@router.get("/api/v1/chats/{conversation_id}/members")
async def list_members(request: Request, conversation_id: str, grant: Grant = Depends(READ)) -> list[dict]:
    settings = runtime_of(request).settings
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await conversations.members(session, viewer_id=grant.account.id,
                                            conversation_id=path_id(conversation_id))
    return [{"account": account_json(m.account, settings), "role": m.role, "state": m.state,
             "last_read_id": str(m.last_read_id) if m.last_read_id else None} for m in found]


@router.post("/api/v1/chats/{conversation_id}/members", dependencies=LIMITED)
async def add_members(request: Request, conversation_id: str, grant: Grant = Depends(WRITE)) -> dict[str, Any]:
    params = await request_params(request)
    account_ids = ids_of(params.get("account_ids"), "account_ids")
    if not account_ids:
        raise Unprocessable("account_ids is required")
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        await conversations.add_members(session, actor=grant.account, conversation_id=path_id(conversation_id),
                                        account_ids=account_ids, settings=runtime.settings)
        return await _conversation_body(request, session, grant, path_id(conversation_id))


@router.delete("/api/v1/chats/{conversation_id}/members/{account_id}", dependencies=LIMITED)
async def remove_member(request: Request, conversation_id: str, account_id: str, grant: Grant = Depends(WRITE)
                        ) -> dict[str, Any]:
    async with runtime_of(request).db.transaction() as session:
        await conversations.remove_member(session, actor=grant.account, conversation_id=path_id(conversation_id),
                                          account_id=path_id(account_id))
        return await _conversation_body(request, session, grant, path_id(conversation_id))


@router.put("/api/v1/chats/{conversation_id}/members/{account_id}", dependencies=LIMITED)
async def set_role(request: Request, conversation_id: str, account_id: str, grant: Grant = Depends(WRITE)
                   ) -> dict[str, Any]:
    """`{"role": "admin" | "member" | "owner"}` — the owner only; "owner" hands the group over."""
    params = await request_params(request)
    async with runtime_of(request).db.transaction() as session:
        await conversations.set_role(session, actor=grant.account, conversation_id=path_id(conversation_id),
                                     account_id=path_id(account_id), role=str(params.get("role", "")))
        return await _conversation_body(request, session, grant, path_id(conversation_id))


# --- messages -----------------------------------------------------------------------------------


@router.get("/api/v1/chats/{conversation_id}/messages")
async def list_messages(request: Request, conversation_id: str, grant: Grant = Depends(READ)) -> JSONResponse:
    """History, newest first; `q` searches it, `pinned=true` lists the pinned messages."""
    page = page_params(request)
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await messages.history(session, viewer_id=grant.account.id, conversation_id=path_id(conversation_id),
                                       page=page, query=request.query_params.get("q"),
                                       pinned_only=truthy(request.query_params.get("pinned")))
        body = await render_messages(session, found.items, viewer_id=grant.account.id, settings=runtime.settings)
    return paged(request, found, body)


class MessageForm(BaseModel):
    text: str = Field("", max_length=1_000_000)  # the real limit is checked with a clear message
    client_id: str | None = Field(None, min_length=1, max_length=messages.MAX_CLIENT_ID)
    reply_to_id: str | None = None
    forward_of_id: str | None = None

    @field_validator("text", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


def message_draft(params: dict[str, Any], *, idempotency_key: str | None = None) -> messages.Draft:
    form = validate(MessageForm, params)
    client_id = form.client_id or idempotency_key
    if client_id is not None and not 0 < len(client_id) <= messages.MAX_CLIENT_ID:
        raise Unprocessable(f"client_id must be 1–{messages.MAX_CLIENT_ID} characters")
    drafted = messages.Draft(text=form.text, client_id=client_id, media_ids=ids_of(params.get("media_ids"),
                                                                                   "media_ids"))
    for name in ("reply_to_id", "forward_of_id"):
        raw = getattr(form, name)
        if raw:
            parsed = parse_id(raw)
            if parsed is None:
                raise Unprocessable(f"{name} must be an id")
            setattr(drafted, name, parsed)
    return drafted


@router.post("/api/v1/chats/{conversation_id}/messages", dependencies=LIMITED)
async def send_message(request: Request, conversation_id: str, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Send. A `client_id` (or `Idempotency-Key` header) makes a retry return the first message
    (200) instead of sending it twice (201 the first time)."""
    draft = message_draft(await request_params(request), idempotency_key=request.headers.get("idempotency-key"))
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        message, created = await messages.send(session, sender_id=grant.account.id,
                                               conversation_id=path_id(conversation_id), draft=draft,
                                               settings=runtime.settings)
        body = await render_message(session, message, viewer_id=grant.account.id, settings=runtime.settings)
    return JSONResponse(body, status_code=201 if created else 200)


def _message_target(conversation_id: str, message_id: str) -> dict[str, int]:
    return {"conversation_id": path_id(conversation_id), "message_id": path_id(message_id)}


@router.get("/api/v1/chats/{conversation_id}/messages/{message_id}")
async def get_message(request: Request, conversation_id: str, message_id: str, grant: Grant = Depends(READ)
                      ) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await messages.get(session, viewer_id=grant.account.id,
                                   **_message_target(conversation_id, message_id))
        return await render_message(session, found, viewer_id=grant.account.id, settings=runtime.settings)


@router.get("/api/v1/chats/{conversation_id}/messages/{message_id}/history")
async def message_history(request: Request, conversation_id: str, message_id: str, grant: Grant = Depends(READ)
                          ) -> list[dict[str, Any]]:
    """Every version, oldest first, the current one last."""
    async with runtime_of(request).db.transaction(write=False) as session:
        message, earlier = await messages.edits(session, viewer_id=grant.account.id,
                                                **_message_target(conversation_id, message_id))
    versions = [{"text": e.text, "content": e.content, "created_at": iso(e.created_at)} for e in earlier]
    return [*versions, {"text": message.text, "content": message.content,
                        "created_at": iso(message.edited_at or message.created_at)}]


@router.put("/api/v1/chats/{conversation_id}/messages/{message_id}", dependencies=LIMITED)
async def edit_message(request: Request, conversation_id: str, message_id: str, grant: Grant = Depends(WRITE)
                       ) -> dict[str, Any]:
    form = validate(MessageForm, await request_params(request))
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        edited = await messages.edit(session, editor_id=grant.account.id, text=form.text, settings=runtime.settings,
                                     **_message_target(conversation_id, message_id))
        return await render_message(session, edited, viewer_id=grant.account.id, settings=runtime.settings)


@router.delete("/api/v1/chats/{conversation_id}/messages/{message_id}", dependencies=LIMITED)
async def delete_message(request: Request, conversation_id: str, message_id: str, grant: Grant = Depends(WRITE)
                         ) -> dict[str, Any]:
    """Delete for everyone; the message stays as a tombstone ("This message was deleted")."""
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        gone = await messages.delete_message(session, actor_id=grant.account.id, settings=runtime.settings,
                                             **_message_target(conversation_id, message_id))
        return await render_message(session, gone, viewer_id=grant.account.id, settings=runtime.settings)


async def _react(request: Request, conversation_id: str, message_id: str, emoji: str, grant: Grant, add: bool
                 ) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        target = await messages.react(session, actor_id=grant.account.id, emoji=emoji, add=add,
                                      **_message_target(conversation_id, message_id))
        return await render_message(session, target, viewer_id=grant.account.id, settings=runtime.settings)


@router.put("/api/v1/chats/{conversation_id}/messages/{message_id}/reactions/{emoji}", dependencies=LIMITED)
async def add_reaction(request: Request, conversation_id: str, message_id: str, emoji: str,
                       grant: Grant = Depends(WRITE)) -> dict[str, Any]:
    """React with one emoji (URL-encoded in the path). Once per member and emoji; repeats are no-ops."""
    return await _react(request, conversation_id, message_id, emoji, grant, add=True)


@router.delete("/api/v1/chats/{conversation_id}/messages/{message_id}/reactions/{emoji}", dependencies=LIMITED)
async def remove_reaction(request: Request, conversation_id: str, message_id: str, emoji: str,
                          grant: Grant = Depends(WRITE)) -> dict[str, Any]:
    return await _react(request, conversation_id, message_id, emoji, grant, add=False)


def _pin_action(pinned: bool):
    async def endpoint(request: Request, conversation_id: str, message_id: str, grant: Grant = Depends(WRITE)
                       ) -> dict[str, Any]:
        runtime = runtime_of(request)
        async with runtime.db.transaction() as session:
            target = await messages.set_pinned(session, actor_id=grant.account.id, pinned=pinned,
                                               **_message_target(conversation_id, message_id))
            return await render_message(session, target, viewer_id=grant.account.id, settings=runtime.settings)
    return endpoint


for _name, _pinned in (("pin", True), ("unpin", False)):
    router.add_api_route(f"/api/v1/chats/{{conversation_id}}/messages/{{message_id}}/{_name}", _pin_action(_pinned),
                         methods=["POST"], name=f"chat_message_{_name}", dependencies=LIMITED)

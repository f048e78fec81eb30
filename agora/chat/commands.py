"""Chat commands sent over the streaming WebSocket: send, typing, read — the same services and
limits as the REST routes, answered on the same connection.

`{"type": "chat.send", "conversation_id": "…", "text": "…", "client_id": "…"}` is answered with
`{"type": "chat.sent", "client_id": "…", "message": {…}}`; a refusal with
`{"type": "chat.error", "client_id": "…", "error": "…", "status": 422}`. The message itself also
arrives as a `chat.message` event, like everyone else's, so a client may use either.
"""

from __future__ import annotations

import logging
from typing import Any

from agora.accounts import scopes as scope_rules
from agora.accounts.oauth import Grant
from agora.chat import conversations, messages
from agora.chat.api import message_draft
from agora.chat.entities import render_message
from agora.kit.errors import AgoraError, Forbidden, TooManyRequests, Unauthorized, Unprocessable
from agora.kit.ids import parse_id
from agora.kit.runtime import Runtime

log = logging.getLogger("agora.chat")


async def handle(runtime: Runtime, grant: Grant | None, command: dict[str, Any]) -> dict[str, Any]:
    client_id = command.get("client_id") if isinstance(command.get("client_id"), str) else None
    try:
        return await _run(runtime, grant, command)
    except AgoraError as exc:  # answered on the connection, which carries on
        return {"type": "chat.error", "command": command.get("type"), "client_id": client_id,
                "error": exc.message, "status": exc.status_code}
    except Exception:  # the database is overloaded or away: say so; a retry with the client id is safe
        log.exception("a chat command failed", extra={"command": command.get("type")})
        return {"type": "chat.error", "command": command.get("type"), "client_id": client_id,
                "error": "The server could not do this just now; try again", "status": 503}


async def _run(runtime: Runtime, grant: Grant | None, command: dict[str, Any]) -> dict[str, Any]:
    if grant is None or grant.account is None:
        raise Unauthorized("Sign in to chat")
    if not scope_rules.allows(set(grant.scopes), "write:chats"):
        raise Forbidden("Access token does not have the required scopes")
    account = grant.account
    conversation_id = parse_id(command.get("conversation_id"))
    kind = command.get("type")
    if kind == "chat.typing":
        async with runtime.db.transaction(write=False) as session:
            await conversations.typing(session, actor=account, conversation_id=conversation_id)
        return {"type": "chat.typing.sent", "conversation_id": str(conversation_id)}
    if kind == "chat.read":
        raw = command.get("message_id")
        message_id = parse_id(raw) if raw not in (None, "") else None
        if raw not in (None, "") and message_id is None:  # not "everything": say what was wrong
            raise Unprocessable("message_id must be an id")
        async with runtime.db.transaction() as session:
            me = await conversations.mark_read(session, actor=account, conversation_id=conversation_id,
                                               message_id=message_id)
        return {"type": "chat.read.sent", "conversation_id": str(conversation_id),
                "last_read_id": str(me.last_read_id) if me.last_read_id else None}
    if kind == "chat.send":
        await _within_budget(runtime, account.id)
        draft = message_draft({k: v for k, v in command.items() if k != "type"})
        async with runtime.db.transaction() as session:
            message, _ = await messages.send(session, sender_id=account.id, conversation_id=conversation_id,
                                             draft=draft, settings=runtime.settings)
            body = await render_message(session, message, viewer_id=account.id, settings=runtime.settings)
        return {"type": "chat.sent", "client_id": draft.client_id, "message": body}
    raise AgoraError("type must be chat.send, chat.typing or chat.read")


async def _within_budget(runtime: Runtime, account_id: int) -> None:
    """The same per-member budget as the REST routes (`rate_limit_chat`), so a socket is no way round it."""
    settings = runtime.settings
    if not settings.rate_limit_enabled:
        return
    verdict = await runtime.limiter.hit(f"chat:a{account_id}", limit=settings.rate_limit_chat,
                                        window=settings.rate_limit_chat_window)
    if not verdict.allowed:
        raise TooManyRequests("Too many messages: wait a moment")

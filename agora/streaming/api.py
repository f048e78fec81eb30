"""Routes: `/api/v1/streaming/*` over Server-Sent Events, and the multiplexed WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse, StreamingResponse

from agora.accounts.auth import bearer_token, grant_for
from agora.chat import commands as chat_commands
from agora.chat.delivery import ChatFeed, parse_cursor
from agora.kit.errors import AgoraError
from agora.kit.runtime import Runtime, runtime_of
from agora.streaming.gateway import Listener
from agora.streaming.streams import Stream

router = APIRouter(tags=["streaming"])
log = logging.getLogger("agora.streaming")
MAX_WS_FRAME = 256 * 1024  # room for a chat message at its longest, even as \uXXXX escapes
MAX_WS_STREAMS = 32


@router.get("/api/v1/streaming/health", response_class=PlainTextResponse)
async def health() -> str:
    return "OK"


@router.get("/api/v1/streaming/{stream_name:path}")
async def sse(request: Request, stream_name: str) -> StreamingResponse:
    runtime = runtime_of(request)
    stream = Stream.parse(stream_name, request.query_params.get("tag"))
    viewer_id = stream.authorise(await grant_for(request))
    listener = Listener(runtime, viewer_id, bearer_token(request))
    listener.streams.append(stream)
    if stream.name == "chat" and viewer_id is not None:
        # EventSource resends the last `id:` it saw as Last-Event-ID when it reconnects by itself.
        # Last-Event-ID first: after a reconnect it is newer than the `cursor` in the stream's URL.
        cursor = request.headers.get("last-event-id") or request.query_params.get("cursor")
        listener.chat = ChatFeed(runtime, viewer_id, parse_cursor(cursor))
    return event_stream(runtime, listener, stream)


def event_stream(runtime: Runtime, listener: Listener, stream: Stream) -> StreamingResponse:
    """One stream over Server-Sent Events (also the web app's live updates)."""
    heartbeat = runtime.settings.streaming_heartbeat_seconds

    async def body() -> AsyncIterator[str]:
        async with runtime.bus.subscribe(stream.channels(listener.viewer_id)) as subscription:
            if listener.chat is not None:
                await listener.chat.attach(subscription)
            yield ":)\n\n"  # opens the stream at once, so clients know they are connected
            async for event in listener.events(subscription, heartbeat):
                if event is None:
                    yield ":thump\n\n"
                else:
                    resume = f"id: {event.cursor}\n" if event.cursor is not None else ""
                    yield f"{resume}event: {event.event}\ndata: {event.payload}\n\n"

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.websocket("/api/v1/streaming")
async def websocket(ws: WebSocket) -> None:
    runtime = runtime_of(ws)
    try:
        grant = await grant_for(ws)
    except AgoraError:
        await ws.close(code=4001, reason="invalid access token")
        return
    protocol = ws.headers.get("sec-websocket-protocol")
    await ws.accept(subprotocol=protocol.split(",")[0].strip() if protocol else None)
    viewer_id = grant.account.id if grant is not None and grant.account is not None else None
    listener = Listener(runtime, viewer_id, bearer_token(ws) if grant is not None else None)

    async def send_error(message: str) -> None:
        await ws.send_text(json.dumps({"error": message}))

    async with runtime.bus.subscribe([]) as subscription:

        async def subscribe(stream: Stream, cursor: object = None) -> None:
            stream.authorise(grant)
            if stream in listener.streams:
                return
            if len(listener.streams) >= MAX_WS_STREAMS:
                raise AgoraError(f"at most {MAX_WS_STREAMS} streams per connection")
            if stream.name == "chat" and viewer_id is not None:
                listener.chat = ChatFeed(runtime, viewer_id, parse_cursor(cursor))
                await listener.chat.attach(subscription)
            listener.streams.append(stream)
            await subscription.add(stream.channels(viewer_id))

        async def unsubscribe(stream: Stream) -> None:
            if stream.name == "chat" and listener.chat is not None:
                await subscription.remove(listener.chat.channels())
                listener.chat = None
            if stream in listener.streams:
                listener.streams.remove(stream)
                still = {c for s in listener.streams for c in s.channels(viewer_id)}
                await subscription.remove([c for c in stream.channels(viewer_id) if c not in still])

        initial = ws.query_params.get("stream")
        if initial:
            try:
                await subscribe(Stream.parse(initial, ws.query_params.get("tag")), ws.query_params.get("cursor"))
            except AgoraError as exc:
                await send_error(exc.message)

        async def pump() -> None:
            heartbeat = runtime.settings.streaming_heartbeat_seconds
            try:
                async for event in listener.events(subscription, heartbeat):
                    if event is not None:
                        await ws.send_text(json.dumps({"stream": event.stream, "event": event.event,
                                                       "payload": event.payload}))
            except Exception:  # never leave a socket open whose stream has died: close it, so it resumes
                log.exception("a WebSocket stream failed")
                with contextlib.suppress(Exception):
                    await ws.close(code=1011, reason="stream failed; reconnect")
                return
            with contextlib.suppress(Exception):
                await ws.close(code=1013, reason="stream closed")

        sender = asyncio.create_task(pump())
        budget = FrameBudget()
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(message.get("code", 1000))
                if not budget.take():
                    if budget.exhausted:
                        await ws.close(code=1008, reason="too many frames")
                        break
                    await send_error("too many frames: slow down")
                    continue
                # A binary frame is read as UTF-8 text, as Mastodon does (receive_text() would crash).
                raw = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
                try:
                    command = _parse_command(raw)
                    kind = command.get("type")
                    if isinstance(kind, str) and kind.startswith("chat."):
                        await ws.send_text(json.dumps(await chat_commands.handle(runtime, grant, command)))
                        continue
                    stream = Stream.parse(str(command.get("stream", "")), command.get("tag"))
                    if kind == "subscribe":
                        await subscribe(stream, command.get("cursor"))
                    elif kind == "unsubscribe":
                        await unsubscribe(stream)
                    else:
                        raise AgoraError("type must be subscribe, unsubscribe, chat.send, chat.typing or chat.read")
                except AgoraError as exc:  # a bad frame is answered; the connection carries on
                    await send_error(exc.message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender


class FrameBudget:
    """Frames a client may send: a burst of BURST, then RATE a second. A client over budget is told
    to slow down and its frames are dropped; one that keeps going regardless is disconnected."""

    BURST = 60
    RATE = 20.0
    PATIENCE = 200  # dropped frames before we give up on the connection

    def __init__(self) -> None:
        self.tokens = float(self.BURST)
        self.at = time.monotonic()
        self.dropped = 0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.BURST, self.tokens + (now - self.at) * self.RATE)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False

    @property
    def exhausted(self) -> bool:
        return self.dropped > self.PATIENCE


def _parse_command(raw: str) -> dict[str, Any]:
    if len(raw) > MAX_WS_FRAME:
        raise AgoraError("frame is too large")
    try:
        command = json.loads(raw)
    except ValueError:
        raise AgoraError("frame is not valid JSON") from None
    if not isinstance(command, dict):
        raise AgoraError("frame must be a JSON object")
    if command.get("tag") is not None and not isinstance(command.get("tag"), str):
        raise AgoraError("tag must be a string")
    return command

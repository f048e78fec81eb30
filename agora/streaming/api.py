"""Routes: `/api/v1/streaming/*` over Server-Sent Events, and the multiplexed WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse, StreamingResponse

from agora.accounts.auth import bearer_token, grant_for
from agora.kit.errors import AgoraError
from agora.kit.runtime import Runtime, runtime_of
from agora.streaming.gateway import Listener
from agora.streaming.streams import Stream

router = APIRouter(tags=["streaming"])
MAX_WS_FRAME = 4096
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
    return event_stream(runtime, listener, stream)


def event_stream(runtime: Runtime, listener: Listener, stream: Stream) -> StreamingResponse:
    """One stream over Server-Sent Events (also the web app's live updates)."""
    heartbeat = runtime.settings.streaming_heartbeat_seconds

    async def body() -> AsyncIterator[str]:
        async with runtime.bus.subscribe(stream.channels(listener.viewer_id)) as subscription:
            yield ":)\n\n"  # opens the stream at once, so clients know they are connected
            async for event in listener.events(subscription, heartbeat):
                if event is None:
                    yield ":thump\n\n"
                else:
                    yield f"event: {event.event}\ndata: {event.payload}\n\n"

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

        async def subscribe(stream: Stream) -> None:
            stream.authorise(grant)
            if stream in listener.streams:
                return
            if len(listener.streams) >= MAX_WS_STREAMS:
                raise AgoraError(f"at most {MAX_WS_STREAMS} streams per connection")
            listener.streams.append(stream)
            await subscription.add(stream.channels(viewer_id))

        async def unsubscribe(stream: Stream) -> None:
            if stream in listener.streams:
                listener.streams.remove(stream)
                still = {c for s in listener.streams for c in s.channels(viewer_id)}
                await subscription.remove([c for c in stream.channels(viewer_id) if c not in still])

        initial = ws.query_params.get("stream")
        if initial:
            try:
                await subscribe(Stream.parse(initial, ws.query_params.get("tag")))
            except AgoraError as exc:
                await send_error(exc.message)

        async def pump() -> None:
            heartbeat = runtime.settings.streaming_heartbeat_seconds
            async for event in listener.events(subscription, heartbeat):
                if event is not None:
                    await ws.send_text(json.dumps({"stream": event.stream, "event": event.event,
                                                   "payload": event.payload}))
            await ws.close(code=1013, reason="stream closed")

        sender = asyncio.create_task(pump())
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(message.get("code", 1000))
                # A binary frame is read as UTF-8 text, as Mastodon does (receive_text() would crash).
                raw = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
                try:
                    command = _parse_command(raw)
                    stream = Stream.parse(str(command.get("stream", "")), command.get("tag"))
                    if command.get("type") == "subscribe":
                        await subscribe(stream)
                    elif command.get("type") == "unsubscribe":
                        await unsubscribe(stream)
                    else:
                        raise AgoraError("type must be subscribe or unsubscribe")
                except AgoraError as exc:  # a bad frame is answered; the connection carries on
                    await send_error(exc.message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender


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

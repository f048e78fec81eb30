"""One listener's stream: bus messages in, Mastodon events out, each checked for this viewer.

A status event names a post; before sending it we ask the same timeline rule a page reload uses
whether this viewer may see it here, then render it for them. So privacy does not depend on who
the publisher thought the audience was.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agora.accounts.oauth import resolve_bearer
from agora.chat.delivery import ChatFeed
from agora.kit.bus import BusMessage, Subscription
from agora.kit.errors import NotFound, Unauthorized
from agora.kit.ids import parse_id
from agora.kit.runtime import Runtime
from agora.social import notifications, statuses, timelines
from agora.social.entities import render_notifications, render_status
from agora.streaming.streams import Stream

log = logging.getLogger("agora.streaming")


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    stream: list[str]
    event: str
    payload: str  # Mastodon sends the payload as a JSON string inside the frame
    cursor: int | None = None  # chat events: where a reconnecting client resumes (the SSE id)


class Listener:
    def __init__(self, runtime: Runtime, viewer_id: int | None, token: str | None = None) -> None:
        self.runtime = runtime
        self.viewer_id = viewer_id
        self.token = token  # re-checked at every heartbeat, so a revoked token stops its streams
        self.streams: list[Stream] = []
        self.chat: ChatFeed | None = None  # set while the `chat` stream is open

    async def still_authorised(self) -> bool:
        if self.token is None:
            return True
        try:
            async with self.runtime.db.transaction(write=False) as session:
                await resolve_bearer(session, token=self.token)
        except Unauthorized:
            return False
        except Exception:  # the database is busy or away: keep the stream, ask again next heartbeat
            log.warning("could not re-check a stream's token; will retry", exc_info=True)
        return True

    def routes(self, channel: str) -> list[Stream]:
        return [s for s in self.streams if channel in s.channels(self.viewer_id)]

    async def translate(self, message: BusMessage) -> list[OutgoingEvent]:
        if self.chat is not None and self.chat.handles(message):
            return [OutgoingEvent(["chat"], e.name, json.dumps(e.payload), e.cursor)
                    for e in await self.chat.translate(message)]
        out: list[OutgoingEvent] = []
        for stream in self.routes(message.channel):
            event = await self._event_for(stream, message)
            if event is not None:
                out.append(event)
        return out

    async def _event_for(self, stream: Stream, message: BusMessage) -> OutgoingEvent | None:
        if message.event == "notification":
            if self.viewer_id is None:
                return None
            body = await self._notification(parse_id(message.payload.get("notification_id")))
            return OutgoingEvent(stream.wire_name(), "notification", json.dumps(body)) if body else None
        status_id = parse_id(message.payload.get("status_id"))
        if status_id is None or stream.name == "user:notification":
            return None
        if message.event == "delete":
            return OutgoingEvent(stream.wire_name(), "delete", str(status_id))
        body = await self._status(stream, status_id)
        return OutgoingEvent(stream.wire_name(), message.event, json.dumps(body)) if body else None

    async def _status(self, stream: Stream, status_id: int) -> dict | None:
        async with self.runtime.db.transaction(write=False) as session:
            if not await timelines.matches(session, feed=stream.feed(self.viewer_id), status_id=status_id):
                return None
            status = await statuses.get_visible(session, status_id=status_id, viewer_id=self.viewer_id)
            return await render_status(session, status, viewer_id=self.viewer_id, settings=self.runtime.settings)

    async def _notification(self, notification_id: int | None) -> dict | None:
        if notification_id is None or self.viewer_id is None:
            return None
        async with self.runtime.db.transaction(write=False) as session:
            try:
                found = await notifications.get_notification(session, account_id=self.viewer_id,
                                                             notification_id=notification_id)
            except NotFound:  # dismissed, or its post deleted, before we got to it
                return None
            return (await render_notifications(session, [found], viewer_id=self.viewer_id,
                                               settings=self.runtime.settings))[0]

    async def events(self, subscription: Subscription, heartbeat: float) -> AsyncIterator[OutgoingEvent | None]:
        """Events as they come; None every `heartbeat` seconds of silence (send a keep-alive).

        Ends when the subscription closes, or when the token has been revoked or has expired
        (checked once per heartbeat interval, busy or idle)."""
        checked_at = time.monotonic()
        while True:
            message = await subscription.get(timeout=heartbeat)
            if time.monotonic() - checked_at >= heartbeat:
                if not await self.still_authorised():
                    return
                checked_at = time.monotonic()
            if message is None:
                if subscription.closed:  # we fell too far behind, or the server is stopping
                    return
                yield None
                if self.chat is None:
                    continue
                message = self.chat.poll()
            try:
                translated = await self.translate(message)
            except Exception:
                log.exception("a bus message the stream could not translate",
                              extra={"channel": message.channel, "event": message.event})
                if self.chat is not None and self.chat.handles(message):
                    # Chat must not skip: end the stream, and the client resumes from its cursor.
                    return
                continue  # one post deleted mid-render must not end a timeline stream
            for event in translated:
                yield event

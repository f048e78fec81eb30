"""Streaming tests: real SSE and WebSocket connections to a live server, read by background tasks.

Every wait has a deadline (`WAIT`), so a broken stream fails the test quickly instead of hanging.
"Never arrives" is proven without sleeping: after the action under test the test publishes a
*marker* post that must arrive, and a stream delivers in publish order, so once the marker is in,
anything published before it that was going to arrive has arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agora.kit.bus import RedisBus
from tests.factories import Member

WAIT = 5.0  # the most any one wait may take; delivery is normally well under a second


@dataclass(frozen=True)
class SSEEvent:
    event: str
    data: str
    id: str | None = None  # the `id:` line: where a reconnecting client resumes (chat events)

    def json(self) -> Any:
        return json.loads(self.data)


class Recorder:
    """Everything a stream delivered, in order, with a way to wait (bounded) for a given item."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.ended = False
        self._changed = asyncio.Event()

    def _record(self, item: Any) -> None:
        self.received.append(item)
        self._changed.set()

    def _end(self) -> None:
        self.ended = True
        self._changed.set()

    async def until(self, matches: Callable[[Any], bool], *, what: str = "an item") -> Any:
        """The first received item that `matches` (already received or yet to come), within `WAIT`."""
        await self.wait(lambda: any(matches(item) for item in self.received), what)
        return next(item for item in self.received if matches(item))

    async def wait(self, condition: Callable[[], bool], what: str) -> None:
        """Wait until `condition()` holds, re-checking whenever the stream delivers; fail after `WAIT`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not condition():
            if self.ended:
                raise AssertionError(f"stream ended before {what} arrived; got {self.received!r}")
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no {what} within {WAIT}s; got {self.received!r}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)


class SSEStream(Recorder):
    """One open `text/event-stream`: events go to `received`, comment lines (keep-alives) to `comments`."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__()
        self.response = response
        self.comments: list[str] = []
        self.opened = asyncio.Event()

    async def read(self) -> None:
        event, data, id_ = "message", [], None
        try:
            async for line in self.response.aiter_lines():
                if line.startswith("id:"):
                    id_ = line[3:].strip()
                elif line.startswith(":"):
                    self.comments.append(line)
                    self.opened.set()
                    self._changed.set()
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif line == "" and data:
                    self._record(SSEEvent(event, "\n".join(data), id_))
                    event, data, id_ = "message", [], None
        except (httpx.HTTPError, asyncio.CancelledError):
            pass
        finally:
            self._end()

    def event(self, kind: str, id_: str | None = None) -> Callable[[SSEEvent], bool]:
        """Matches an event of this kind; with `id_`, the one about that status or notification."""
        def matches(item: SSEEvent) -> bool:
            if item.event != kind:
                return False
            if id_ is None:
                return True
            return item.data == id_ if kind == "delete" else item.json()["id"] == id_
        return matches

    def ids(self, kind: str, items: list[SSEEvent] | None = None) -> list[str]:
        chosen = self.received if items is None else items
        return [e.data if kind == "delete" else e.json()["id"] for e in chosen if e.event == kind]

    async def wait_comments(self, count: int) -> None:
        await self.wait(lambda: len(self.comments) >= count, f"{count} comment lines (got {self.comments})")


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@asynccontextmanager
async def open_sse(base_url: str, stream: str, *, token: str | None = None,
                   params: dict[str, str] | None = None, cookies: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None) -> AsyncIterator[SSEStream]:
    """GET /api/v1/streaming/<stream> (or `stream` itself when it is a path, like the web app's
    /web/live); yields once the server has subscribed (its opening comment)."""
    timeout = httpx.Timeout(WAIT, read=WAIT * 2)  # keep-alives come every second in tests
    path = stream if stream.startswith("/") else f"/api/v1/streaming/{stream}"
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, cookies=cookies) as http, \
            http.stream("GET", path, headers={**_headers(token), **(headers or {})}, params=params) as response:
        assert response.status_code == 200, (response.status_code, await response.aread())
        assert response.headers["content-type"].startswith("text/event-stream")
        sse = SSEStream(response)
        reader = asyncio.create_task(sse.read())
        try:
            await asyncio.wait_for(sse.opened.wait(), WAIT)
            yield sse
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class WSStream(Recorder):
    """One open /api/v1/streaming WebSocket; JSON frames go to `received` (errors included)."""

    def __init__(self, ws: ClientConnection) -> None:
        super().__init__()
        self.ws = ws
        self.close_code: int | None = None

    async def read(self) -> None:
        try:
            async for message in self.ws:
                self._record(json.loads(message))
        except (ConnectionClosed, asyncio.CancelledError):
            pass
        finally:
            if self.ws.close_code is not None:
                self.close_code = self.ws.close_code
            self._end()

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def errors(self) -> list[dict]:
        return [f for f in self.received if "error" in f]

    async def send_and_expect_error(self, frame: Any) -> dict:
        """Send a frame the server must refuse, and wait for its `{"error": …}` answer."""
        before = len(self.errors())
        await self.send(frame)
        await self.until(lambda _: len(self.errors()) > before, what="an error frame")
        return self.errors()[before]

    async def sync(self) -> None:
        """Wait until the server has acted on every frame sent so far.

        Frames are handled one at a time, in order, and a malformed one is answered; so when the
        answer to a deliberately malformed frame arrives, earlier (un)subscriptions are in place.
        """
        await self.send_and_expect_error("sync")

    @staticmethod
    def frame(event: str, stream: list[str], id_: str | None = None) -> Callable[[dict], bool]:
        def matches(item: dict) -> bool:
            if item.get("event") != event or item.get("stream") != stream:
                return False
            if id_ is None:
                return True
            payload = item["payload"]
            return payload == id_ if event == "delete" else json.loads(payload)["id"] == id_
        return matches

    def ids(self, event: str, stream: list[str], items: list[dict] | None = None) -> list[str]:
        chosen = self.received if items is None else items
        return [f["payload"] if event == "delete" else json.loads(f["payload"])["id"]
                for f in chosen if f.get("event") == event and f.get("stream") == stream]


def ws_url(base_url: str, **query: str) -> str:
    url = base_url.replace("http://", "ws://", 1) + "/api/v1/streaming"
    return url + ("?" + str(httpx.QueryParams(query)) if query else "")


@asynccontextmanager
async def open_ws(base_url: str, **query: str) -> AsyncIterator[WSStream]:
    async with connect(ws_url(base_url, **query), open_timeout=WAIT, close_timeout=WAIT,
                       ping_interval=None) as ws:
        stream = WSStream(ws)
        reader = asyncio.create_task(stream.read())
        try:
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class Api:
    """The few HTTP calls the streaming tests make, against a live server."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, who: Member, text: str, **fields: Any) -> dict:
        response = await self.http.post("/api/v1/statuses", headers=who.headers, json={"status": text, **fields})
        assert response.status_code == 200, response.text
        return response.json()

    async def edit(self, who: Member, status_id: str, text: str) -> dict:
        response = await self.http.put(f"/api/v1/statuses/{status_id}", headers=who.headers, json={"status": text})
        assert response.status_code == 200, response.text
        return response.json()

    async def delete(self, who: Member, status_id: str) -> None:
        response = await self.http.delete(f"/api/v1/statuses/{status_id}", headers=who.headers)
        assert response.status_code == 200, response.text

    async def act(self, who: Member, path: str) -> dict:
        response = await self.http.post(path, headers=who.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def follow(self, who: Member, target: Member) -> None:
        relationship = await self.act(who, f"/api/v1/accounts/{target.id}/follow")
        assert relationship["following"] is True

    async def block(self, who: Member, target: Member) -> None:
        assert (await self.act(who, f"/api/v1/accounts/{target.id}/block"))["blocking"] is True

    async def favourite(self, who: Member, status_id: str) -> None:
        await self.act(who, f"/api/v1/statuses/{status_id}/favourite")


@asynccontextmanager
async def api_for(base_url: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=base_url, timeout=WAIT * 2) as http:
        yield Api(http)


def bus_channels(live_server) -> set[str]:
    """The channels the live server's bus has listeners on (read from the test's thread)."""
    return set(live_server.server.config.app.state.runtime.bus._subscribers)


async def listeners(client: redis.Redis, channel: str) -> int:
    """How many Redis connections are subscribed to this bus channel."""
    [(_name, count)] = await client.pubsub_numsub(RedisBus.PREFIX + channel)
    return int(count)


async def until_listeners(client: redis.Redis, channel: str, *, at_least: int = 1, exactly: int | None = None) -> None:
    """Wait (bounded) until Redis has acted on a SUBSCRIBE or UNSUBSCRIBE for `channel`.

    A bus sends SUBSCRIBE without waiting for Redis to confirm it, so a test that publishes from
    elsewhere waits for the confirmation first (Mastodon's streaming server has the same window).
    """
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        count = await listeners(client, channel)
        if (count == exactly) if exactly is not None else (count >= at_least):
            return
        assert asyncio.get_running_loop().time() < deadline, f"{channel}: {count} Redis listeners"
        await asyncio.sleep(0.02)

"""The event bus: in-process by default, Redis pub/sub when `AGORA_REDIS_URL` is set.

Every process keeps one local registry of subscribers. With Redis, publishing goes through Redis and
each process's single reader task feeds its local subscribers, so any worker can serve any stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis

log = logging.getLogger("agora.bus")

_QUEUE_SIZE = 1000  # a subscriber this far behind is dropped rather than allowed to eat memory


@dataclass(frozen=True, slots=True)
class BusMessage:
    channel: str
    event: str
    payload: Any

    def encode(self) -> str:
        return json.dumps({"channel": self.channel, "event": self.event, "payload": self.payload})

    @classmethod
    def decode(cls, raw: str | bytes) -> BusMessage:
        data = json.loads(raw)
        return cls(channel=data["channel"], event=data["event"], payload=data["payload"])


class Subscription:
    """What one listener receives: messages on any of its channels, in publish order."""

    def __init__(self, bus: Bus, channels: set[str]) -> None:
        self.bus = bus
        self.channels = channels
        self.queue: asyncio.Queue[BusMessage | None] = asyncio.Queue(_QUEUE_SIZE)
        self.overflowed = False
        self.closed = False

    def deliver(self, message: BusMessage) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            self.close()

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    async def add(self, channels: Iterable[str]) -> None:
        new = set(channels) - self.channels
        self.channels |= new
        await self.bus._attach(self, new)

    async def remove(self, channels: Iterable[str]) -> None:
        gone = set(channels) & self.channels
        self.channels -= gone
        await self.bus._detach(self, gone)

    async def get(self, timeout: float | None = None) -> BusMessage | None:  # noqa: ASYNC109 - a poll, not a deadline
        """The next message; None on timeout or when the subscription was closed."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def __aiter__(self) -> AsyncIterator[BusMessage]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BusMessage]:
        while (message := await self.queue.get()) is not None:
            yield message


class Bus:
    """In-process bus; also the local fan-out half of the Redis bus."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                sub.close()
        self._subscribers.clear()

    async def publish(self, messages: Iterable[BusMessage]) -> None:
        for message in messages:
            self._fan_out(message)

    def _fan_out(self, message: BusMessage) -> None:
        for sub in list(self._subscribers.get(message.channel, ())):
            sub.deliver(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channels: Iterable[str]) -> AsyncIterator[Subscription]:
        sub = Subscription(self, set())
        await sub.add(channels)
        try:
            yield sub
        finally:
            await self._detach(sub, set(sub.channels))
            sub.close()

    async def _attach(self, sub: Subscription, channels: set[str]) -> None:
        for channel in channels:
            self._subscribers[channel].add(sub)

    async def _detach(self, sub: Subscription, channels: set[str]) -> None:
        for channel in channels:
            subs = self._subscribers.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[channel]


class RedisBus(Bus):
    PREFIX = "agora:"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._redis: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._redis = redis.from_url(self.url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        # A pub/sub connection cannot `listen()` before it subscribes to something.
        await self._pubsub.subscribe(self.PREFIX + "__keepalive__")
        self._reader = asyncio.create_task(self._read_forever(), name="agora-redis-bus")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        await super().stop()

    async def publish(self, messages: Iterable[BusMessage]) -> None:
        batch = list(messages)
        if not batch:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for message in batch:
                pipe.publish(self.PREFIX + message.channel, message.encode())
            await pipe.execute()

    async def _attach(self, sub: Subscription, channels: set[str]) -> None:
        fresh = [c for c in channels if c not in self._subscribers]
        await super()._attach(sub, channels)
        if fresh:
            try:
                await self._pubsub.subscribe(*(self.PREFIX + c for c in fresh))
            except Exception:
                # Undo the local registration, or the channel would look subscribed and stay deaf.
                await super()._detach(sub, channels)
                sub.channels -= channels
                raise

    async def _detach(self, sub: Subscription, channels: set[str]) -> None:
        await super()._detach(sub, channels)
        idle = [c for c in channels if c not in self._subscribers]
        if idle and self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(*(self.PREFIX + c for c in idle))

    async def _read_forever(self) -> None:
        while True:
            try:
                async for raw in self._pubsub.listen():
                    if raw.get("type") != "message":
                        continue
                    try:
                        self._fan_out(BusMessage.decode(raw["data"]))
                    except (ValueError, KeyError):
                        log.warning("dropped a malformed bus message")
            except asyncio.CancelledError:
                raise
            except Exception:  # connection lost: keep serving, try again shortly
                log.exception("redis bus reader failed; retrying")
                await asyncio.sleep(1)


def create_bus(redis_url: str | None) -> Bus:
    return RedisBus(redis_url) if redis_url else Bus()

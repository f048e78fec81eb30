"""Chat benchmark, the baselines that need no server: the event bus alone (in-process and through
Redis), and one message's service work in this process (the send, and each member's wake-up).

A chat message's wake-up signal crosses the bus once per conversation; the bus round trips are the
floor under the send-to-deliver latency. The service costs say what a message costs the server's
CPU before any HTTP or WebSocket: with them, figures from different machines can be compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event

from agora.kit.bus import Bus, BusMessage, RedisBus, Subscription
from bench.chat_setup import Group, Member


@contextlib.asynccontextmanager
async def _subscribed(bus: Bus, channel: str, count: int) -> AsyncIterator[list[Subscription]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(bus.subscribe([channel])) for _ in range(count)]


async def bus_round_trips(redis_url: str | None, *, messages: int, subscribers: int) -> list[float]:
    """Seconds from publish to the last of `subscribers` receiving it, one message at a time. With
    `redis_url`, one bus publishes and another (as in a second process) delivers."""
    channel = f"bench-chat-floor-{os.getpid()}"
    publisher: Bus = RedisBus(redis_url) if redis_url else Bus()
    receiver: Bus = RedisBus(redis_url) if redis_url else publisher
    await publisher.start()
    if receiver is not publisher:
        await receiver.start()
    timings: list[float] = []
    try:
        async with _subscribed(receiver, channel, subscribers) as subs:
            if redis_url:  # the SUBSCRIBE has been sent; give Redis a moment to register it
                await asyncio.sleep(0.2)
            for n in range(messages + 10):  # the first 10 warm up
                started = time.perf_counter()
                await publisher.publish([BusMessage(channel, "chat", {"seq": n})])
                for sub in subs:
                    if await sub.get(timeout=5) is None:
                        raise RuntimeError("the bus lost a message")
                if n >= 10:
                    timings.append(time.perf_counter() - started)
    finally:
        if receiver is not publisher:
            await receiver.stop()
        await publisher.stop()
    return timings


@dataclass
class ServiceCost:
    """One message's work in this process, without HTTP, WebSocket or bus: the send (as the
    WebSocket's chat.send does it) and each member's wake-up (ChatFeed reading the log after it)."""

    database: str
    send: list[float] = field(default_factory=list)  # s per send transaction, rendered for the sender
    wake: list[float] = field(default_factory=list)  # s per member wake-up
    send_statements: int = 0
    wake_statements: list[str] = field(default_factory=list)  # one wake-up's SQL, abridged


def _abridged(statement: str) -> str:
    """`SELECT … FROM chat_events JOIN …` -> "chat_events"; BEGIN stays BEGIN."""
    words = statement.split()
    if "FROM" not in words:
        return words[0] if words else ""
    tables = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("FROM", "JOIN") and words[i + 1] != "(SELECT"]
    return " + ".join(dict.fromkeys(t.strip("(),") for t in tables))


async def service_costs(database: str, database_url: str, data_dir: Path, members: list[Member], group: Group,
                        *, messages: int) -> ServiceCost:
    from agora.chat import messages as chat_messages
    from agora.chat.api import message_draft
    from agora.chat.delivery import ChatFeed
    from agora.chat.entities import render_message
    from agora.kit.runtime import Runtime
    from bench.chat_setup import seed_settings

    runtime = Runtime.create(seed_settings(database_url, data_dir))
    await runtime.start()
    cost = ServiceCost(database)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    try:
        feeds = [ChatFeed(runtime, members[i].id, None) for i in group.members]
        for feed in feeds:
            await feed.translate(BusMessage("start", "chat", {"seq": None}))  # at the head of the log
        event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
        signal = BusMessage("bench", "chat", {"seq": 2**62})  # "the log has grown": every feed reads
        for n in range(messages + 5):  # the first 5 warm up
            sender = members[group.senders[n % len(group.senders)]]
            statements.clear()
            started = time.perf_counter()
            async with runtime.db.transaction() as session:
                message, _ = await chat_messages.send(
                    session, sender_id=sender.id, conversation_id=int(group.id), settings=runtime.settings,
                    draft=message_draft({"text": f"in-process {n}", "client_id": f"in-process-{n}"}))
                await render_message(session, message, viewer_id=sender.id, settings=runtime.settings)
            if n >= 5:
                cost.send.append(time.perf_counter() - started)
                cost.send_statements = len(statements)
            for feed in feeds:
                statements.clear()
                started = time.perf_counter()
                if not await feed.translate(signal):
                    raise RuntimeError("a wake-up after a new message found nothing")
                if n >= 5:
                    cost.wake.append(time.perf_counter() - started)
                    cost.wake_statements = [_abridged(s) for s in statements]
    finally:
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)
        await runtime.stop()
    return cost

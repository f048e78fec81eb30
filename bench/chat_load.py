"""Chat benchmark, the load: member WebSockets holding the `chat` stream, senders at a steady
offered rate, and the bookkeeping that turns every receipt into latency and an exactly-once check.

Every message's text is unique (it doubles as its client id), so each `chat.message` frame is
matched to the moment it was sent in this process: latency is one clock, send to receipt. A
delivery is one member's socket receiving one message; a group of 10 makes 10 per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from bench.chat_setup import Group, Member

CONNECT_BATCH = 50  # handshakes in flight at once while connecting a level's new sockets
OPEN_TIMEOUT = 60.0


def ws_url(base_url: str, token: str) -> str:
    return base_url.replace("http://", "ws://", 1) + f"/api/v1/streaming?stream=chat&access_token={token}"


@dataclass
class Sent:
    group: int
    at: float  # perf_counter() just before the frame was written
    acked_at: float | None = None
    error: str | None = None


@dataclass
class Ledger:
    """What one measurement sent and what every socket received; `expect` says who should receive."""

    expect: dict[int, tuple[int, ...]]  # group index -> member indexes holding a stream
    sent: dict[str, Sent] = field(default_factory=dict)
    # text -> [(member index, received at, cursor)]: duplicates stay, so they can be counted
    got: dict[str, list[tuple[int, float, int]]] = field(default_factory=lambda: defaultdict(list))
    delivered: int = 0
    strays: list[str] = field(default_factory=list)  # a message on a socket not in its group
    unknown: int = 0  # chat.message frames for texts this ledger did not send (system messages)
    reads: int = 0  # chat.read frames (a sender with unread messages marks them read by answering)
    errors: list[str] = field(default_factory=list)
    disorder: list[str] = field(default_factory=list)  # a socket's cursors went backwards
    closed: list[str] = field(default_factory=list)  # connections the server ended (each resumed by cursor)
    complete: dict[str, asyncio.Event] = field(default_factory=dict)  # for one-at-a-time sends

    @property
    def expected(self) -> int:
        return sum(len(self.expect.get(s.group, ())) for s in self.sent.values())

    def __post_init__(self) -> None:
        self.members = {group: set(members) for group, members in self.expect.items()}

    def receive(self, member: int, text: str, cursor: int, at: float) -> None:
        sent = self.sent.get(text)
        if sent is None:
            self.unknown += 1
            return
        if member not in self.members.get(sent.group, ()):
            self.strays.append(f"member {member} received {text!r} of group {sent.group}")
            return
        received = self.got[text]
        received.append((member, at, cursor))
        self.delivered += 1
        waiter = self.complete.get(text)
        if waiter is not None and len(received) >= len(self.expect[sent.group]):
            waiter.set()


class Socket:
    """One member's WebSocket on the `chat` stream, read by a background task. When the server ends
    the connection, the socket does what a client should: reconnects with the cursor of the last
    event it received, so the replay must bring exactly what it missed."""

    def __init__(self, member: Member, group: Group, base_url: str) -> None:
        self.member = member
        self.group = group.index
        self.conversation_id = group.id
        self.base_url = base_url
        self.ws: ClientConnection | None = None
        self.ledger: Ledger | None = None
        self.ready = asyncio.Event()
        self.cursor = 0  # the newest logged event received (chat.ready's cursor before the first)
        self.last_frame_at = 0.0
        self.stopping = False
        self.reply: asyncio.Future[dict[str, Any]] | None = None  # the next error frame, for the WS floor
        self.reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        url = ws_url(self.base_url, self.member.token) + (f"&cursor={self.cursor}" if self.cursor else "")
        self.ready.clear()
        self.ws = await connect(url, open_timeout=OPEN_TIMEOUT, ping_interval=None, close_timeout=2,
                                max_size=4 * 1024 * 1024)
        self.reader = asyncio.create_task(self._read(self.ws))
        await asyncio.wait_for(self.ready.wait(), OPEN_TIMEOUT)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                at = self.last_frame_at = time.perf_counter()
                self._handle(json.loads(raw), at)
        except ConnectionClosed:
            pass
        if not self.stopping:  # the server ended it: note why, and resume from the cursor
            reason = f"member {self.member.index}: closed by the server (code {ws.close_code}, " \
                     f"{ws.close_reason!r}); reconnected from cursor {self.cursor}"
            if self.ledger is not None:
                self.ledger.closed.append(reason)
            asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        for attempt in range(5):
            try:
                await self.open()
                return
            except (OSError, WebSocketException, TimeoutError):
                await asyncio.sleep(0.5 * (attempt + 1))
        if self.ledger is not None:
            self.ledger.errors.append(f"member {self.member.index}: could not reconnect")

    def _logged(self, cursor: int) -> None:
        if cursor <= self.cursor and self.ledger is not None:
            self.ledger.disorder.append(f"member {self.member.index}: cursor {cursor} after {self.cursor}")
        self.cursor = max(self.cursor, cursor)

    def _handle(self, frame: dict[str, Any], at: float) -> None:
        event = frame.get("event")
        ledger = self.ledger
        if event == "chat.message":
            payload = json.loads(frame["payload"])
            self._logged(int(payload["cursor"]))
            if ledger is not None:
                ledger.receive(self.member.index, payload["message"]["text"], int(payload["cursor"]), at)
        elif event in ("chat.read", "chat.message.update", "chat.conversation", "chat.conversation.remove"):
            self._logged(int(json.loads(frame["payload"])["cursor"]))
            if ledger is not None and event == "chat.read":
                ledger.reads += 1
        elif event == "chat.ready":
            self.cursor = max(self.cursor, int(json.loads(frame["payload"])["cursor"]))
            self.ready.set()
        elif frame.get("type") == "chat.sent":
            if ledger is not None and (sent := ledger.sent.get(frame.get("client_id") or "")) is not None:
                sent.acked_at = at
        elif frame.get("type") == "chat.error" or "error" in frame:
            if self.reply is not None and not self.reply.done():
                self.reply.set_result(frame)
                return
            if ledger is not None:
                sent = ledger.sent.get(frame.get("client_id") or "")
                if sent is not None:
                    sent.error = str(frame.get("error"))
                ledger.errors.append(f"member {self.member.index}: {frame}"[:300])

    async def send(self, frame: dict[str, Any] | str) -> None:
        assert self.ws is not None
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def close(self) -> None:
        self.stopping = True
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        if self.ws is not None:
            with contextlib.suppress(WebSocketException, OSError, TimeoutError):
                await asyncio.wait_for(self.ws.close(), 3)


async def open_sockets(sockets: list[Socket]) -> float:
    """Connect these sockets, CONNECT_BATCH at a time, each up to its `chat.ready`; seconds taken."""
    started = time.perf_counter()
    for start in range(0, len(sockets), CONNECT_BATCH):
        await asyncio.gather(*(s.open() for s in sockets[start:start + CONNECT_BATCH]))
    return time.perf_counter() - started


async def close_sockets(sockets: list[Socket]) -> None:
    for start in range(0, len(sockets), 200):
        await asyncio.gather(*(s.close() for s in sockets[start:start + 200]))


def text_for(tag: str, group: int, member: int, n: int) -> str:
    return f"{tag} g{group} m{member} n{n}"


async def _sender(socket: Socket, ledger: Ledger, tag: str, rate: float, start: float, stop: float) -> None:
    """Open loop: the n-th message is due at start + n / rate whatever happened to the ones before
    (a slow server does not slow the offered load down, it builds a backlog)."""
    interval = 1 / rate
    due = start + random.random() * interval  # senders spread over the interval, not in lockstep
    n = 0
    while due < stop:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        text = text_for(tag, socket.group, socket.member.index, n)
        ledger.sent[text] = Sent(socket.group, time.perf_counter())
        try:
            await socket.send({"type": "chat.send", "conversation_id": socket.conversation_id,
                               "text": text, "client_id": text})
        except ConnectionClosed:  # reconnecting (see Socket): this one is lost, the next may go through
            ledger.sent[text].error = "the connection was closed before the frame was sent"
        n += 1
        due += interval


@dataclass
class Window:
    """One load level's raw results, before statistics."""

    ledger: Ledger
    started: float  # the first message was due
    measure_from: float  # after the warm-up
    measure_to: float  # the last message was due
    drained_at: float  # when the last expected delivery arrived, or the drain gave up
    drained: bool


async def steady_load(sockets: list[Socket], groups: list[Group], *, tag: str, rate_per_group: float,
                      warmup: float, seconds: float, drain: float) -> Window:
    """Each active group's senders share `rate_per_group` messages/s for warmup + seconds, then wait
    (up to `drain` s without progress) for every expected delivery."""
    by_member = {s.member.index: s for s in sockets}
    active = [g for g in groups if all(i in by_member for i in g.members)]
    ledger = Ledger({g.index: g.members for g in active})
    for s in sockets:
        s.ledger = ledger
    start = time.perf_counter() + 0.2
    stop = start + warmup + seconds
    per_sender = rate_per_group / len(active[0].senders)
    tasks = [asyncio.create_task(_sender(by_member[i], ledger, tag, per_sender, start, stop))
             for g in active for i in g.senders]
    await asyncio.gather(*tasks)
    drained = await _drain(ledger, drain)
    return Window(ledger, start, start + warmup, stop, time.perf_counter(), drained)


async def _drain(ledger: Ledger, patience: float) -> bool:
    """Wait until every expected delivery is in; give up after `patience` s without a new one."""
    last, last_change = -1, time.perf_counter()
    while ledger.delivered < ledger.expected:
        if ledger.delivered != last:
            last, last_change = ledger.delivered, time.perf_counter()
        elif time.perf_counter() - last_change > patience:
            return False
        await asyncio.sleep(0.05)
    return True


async def one_at_a_time(group_sockets: list[Socket], group: Group, *, tag: str, count: int) -> Window:
    """The unloaded floor: one message at a time in one group, the next once all members have it."""
    ledger = Ledger({group.index: tuple(s.member.index for s in group_sockets)})
    for s in group_sockets:
        s.ledger = ledger
    sender = next(s for s in group_sockets if s.member.index == group.senders[0])
    start = time.perf_counter()
    drained = True
    for n in range(count):
        text = text_for(tag, group.index, sender.member.index, n)
        ledger.complete[text] = done = asyncio.Event()
        ledger.sent[text] = Sent(group.index, time.perf_counter())
        await sender.send({"type": "chat.send", "conversation_id": group.id, "text": text, "client_id": text})
        try:
            await asyncio.wait_for(done.wait(), 10)
        except TimeoutError:
            drained = False
            break
        await asyncio.sleep(0.02)  # let the acknowledgement and read receipts settle
    end = time.perf_counter()
    return Window(ledger, start, start, end, end, drained)


async def ws_floor(socket: Socket, count: int) -> list[float]:
    """Round trips of a malformed frame, answered by the server's WebSocket loop without touching
    the database or the bus: what the transport alone costs."""
    timings = []
    for _ in range(count):
        socket.reply = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        await socket.send("floor")
        await asyncio.wait_for(socket.reply, 10)
        timings.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    socket.reply = None
    return timings


def check_exactly_once(window: Window, sockets: list[Socket]) -> tuple[Counter[str], list[str]]:
    """Counts of each kind of problem, and the first few described.

    Exactly-once kinds: *missing* (a member never received a message that reached the log: someone
    received it, or its send was acknowledged), *twice*, *stray* (outside its group), *out of order*,
    *cursor mismatch*. Other kinds: a send refused or lost with its connection (nobody received
    it, no acknowledgement), a delivered message never acknowledged, a connection the server ended."""
    ledger = window.ledger
    by_member = {s.member.index: s for s in sockets}
    counts: Counter[str] = Counter()
    examples: list[str] = []

    def note(kind: str, text: str) -> None:
        counts[kind] += 1
        if len(examples) < 12:
            examples.append(f"{kind}: {text}")

    for text, sent in ledger.sent.items():
        got = ledger.got.get(text, [])
        if not got and sent.acked_at is None:
            note("send failed", f"{text!r}: {sent.error or 'no chat.sent, and no member received it'}")
            continue
        per_member = Counter(m for m, _, _ in got)
        for member in ledger.expect.get(sent.group, ()):
            if per_member[member] == 0:
                socket = by_member.get(member)
                quiet = f"; its socket's last frame came {window.drained_at - socket.last_frame_at:.1f} s before " \
                        "the check" if socket is not None else ""
                note("missing", f"{text!r} never reached member {member}{quiet}")
            elif per_member[member] > 1:
                note("twice", f"{text!r} reached member {member} {per_member[member]} times")
        cursors = {c for _, _, c in got}
        if len(cursors) > 1:
            note("cursor mismatch", f"{text!r} arrived with cursors {sorted(cursors)}")
        if sent.acked_at is None:
            note("not acknowledged", f"{text!r} was delivered but its sender got no chat.sent"
                 + (f" ({sent.error})" if sent.error else ""))
    for stray in ledger.strays:
        note("stray", stray)
    for problem in ledger.disorder:
        note("out of order", problem)
    for closed in ledger.closed:
        note("connection closed by the server", closed)
    for error in ledger.errors:
        note("error frame", error)
    return counts, examples

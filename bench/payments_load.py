"""Payments benchmark, the Agora side: members with wallets, the transfer load over HTTP, the audit.

Members are registered and given tokens through the real services in this process (no sign-up
limits, cheap Argon2), then topped up through the real route (POST /api/v1/wallet/top_up, in process
over ASGI). The load is POST /api/v1/transfers against `uvicorn agora.app:create_app` in a subprocess
(`bench.load.Server`), from C concurrent clients on keep-alive connections, each request with its own
Idempotency-Key, between random pairs of a small set of members: hot accounts, as in pgbench.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import event

from agora.accounts import oauth, service
from agora.accounts.secrets import Passwords
from agora.app import create_app
from agora.config import Settings
from agora.kit.runtime import Runtime
from agora.payments.audit import AuditReport, audit
from bench.chat_results import process_cpu
from bench.chat_setup import seed_settings
from bench.load import LoadClient
from bench.results import pct

SCOPES = ["read:payments", "write:payments"]
TOP_UP = 1_000_000  # the most one top-up may be (payments_max_top_up); amounts sent are 1–100
CURRENCY = "usd"
# The server's settings for the run: no rate limits, and no daily cap a busy bench could reach
# (each hot member pays thousands of times a minute; the limit's query still runs on every transfer).
SERVER_ENV = {"AGORA_RATE_LIMIT_ENABLED": "false", "AGORA_PAYMENTS_DAILY_LIMIT": str(10**15)}


@dataclass(frozen=True)
class Member:
    id: int
    token: str


@dataclass
class Level:
    """One backend at one client count: Agora's transfers, or a baseline's transactions."""

    backend: str
    what: str  # "agora", "pgbench", "sqlite3"
    clients: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    elapsed: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)  # every answer that was not a 200
    reported_tps: float | None = None  # the tool's own figure (pgbench), when it gives one
    other_share: float = 0.0  # share of the machine's CPU that processes outside the bench used meanwhile
    pg_states: Counter[str] = field(default_factory=Counter)  # sampled states of the server's connections
    server_pid: int | None = None  # Agora's server process, whose CPU time the window records
    server_cpu: float = 0.0  # CPU-seconds the server process used in the measured window

    @property
    def tps(self) -> float:
        if self.reported_tps is not None:
            return self.reported_tps
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def p50(self) -> float:
        return pct(self.latencies, 50)

    @property
    def p99(self) -> float:
        return pct(self.latencies, 99)

    @property
    def cpu_ms_per_transfer(self) -> float:
        return self.server_cpu / len(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def failed(self) -> int:
        return sum(self.statuses.values())


@dataclass
class Backend:
    name: str  # "PostgreSQL" or "SQLite"
    version: str
    levels: list[Level] = field(default_factory=list)
    statements: int = 0  # SQL statements one transfer sends, counted in process
    transactions: int = 0  # database transactions one transfer opens
    audit: AuditReport | None = None
    sent: int = 0  # successful transfers in all, warm-ups included
    workers: int = 1  # uvicorn worker processes serving it

    def find(self, what: str, clients: int) -> Level | None:
        return next((lv for lv in self.levels if lv.what == what and lv.clients == clients), None)


# --- seeding ------------------------------------------------------------------------------------


async def seed(database_url: str, data_dir: Path, count: int) -> tuple[list[Member], int, int]:
    """`count` funded members; also (statements, transactions) one transfer costs, counted in process."""
    settings = seed_settings(database_url, data_dir)
    runtime = Runtime.create(settings)
    await runtime.start()
    passwords = Passwords.for_settings(settings)
    members: list[Member] = []
    try:
        async with runtime.db.transaction() as session:
            for i in range(count):
                account = await service.register(session, form=service.Registration(
                    f"payer{i}", f"payer{i}@bench.example", "correct horse battery"),
                    settings=settings, passwords=passwords, by_operator=True)
                issued = await oauth.issue_token(session, app=None, account=account, scopes=SCOPES)
                members.append(Member(account.id, issued.access_token))
    finally:
        await runtime.stop()
    app = create_app(settings)
    app_runtime: Runtime = app.state.runtime
    await app_runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for m in members:
                response = await client.post("/api/v1/wallet/top_up", json={"amount": TOP_UP, "currency": CURRENCY},
                                             headers={"Authorization": f"Bearer {m.token}",
                                                      "Idempotency-Key": uuid.uuid4().hex})
                if response.status_code != 200:
                    raise RuntimeError(f"top-up failed: {response.status_code} {response.text[:300]}")
            statements, transactions = await _count_one_transfer(client, app_runtime, members)
    finally:
        await app_runtime.stop()
    return members, statements, transactions


async def _count_one_transfer(client: httpx.AsyncClient, runtime: Runtime, members: list[Member]) -> tuple[int, int]:
    counts = Counter[str]()
    engine = runtime.db.engine.sync_engine

    def statement(*_args: object) -> None:
        counts["statements"] += 1

    def begin(*_args: object) -> None:
        counts["transactions"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    try:
        response = await client.post("/api/v1/transfers", json=_transfer(members[0], members[1], 1),
                                     headers={"Authorization": f"Bearer {members[0].token}",
                                              "Idempotency-Key": uuid.uuid4().hex})
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", begin)
    if response.status_code != 200:
        raise RuntimeError(f"transfer failed: {response.status_code} {response.text[:300]}")
    return counts["statements"], counts["transactions"]


def _transfer(sender: Member, recipient: Member, amount: int) -> dict[str, object]:
    del sender  # the token says who pays
    return {"to": str(recipient.id), "amount": amount, "currency": CURRENCY, "note": "bench"}


# --- the load -----------------------------------------------------------------------------------


class PostClient(LoadClient):
    """`bench.load.LoadClient`'s bare keep-alive connections, for a JSON POST: httpx would spend more
    of the two cores than the server it measures (see bench/README.md)."""

    async def post(self, target: str, token: str, key: str, body: bytes) -> int:
        conn = await self.free.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
                self.open.append(conn[1])
            reader, writer = conn
            writer.write(f"POST {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                         f"Authorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n"
                         f"Content-Type: application/json\r\nAccept: application/json\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            status = int(head[0].split(" ", 2)[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
            if "content-length" in headers:
                await reader.readexactly(int(headers["content-length"]))
            else:  # chunked
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            if headers.get("connection", "").lower() == "close":
                writer.close()
                conn = None
            return status
        except BaseException:
            if conn is not None:
                conn[1].close()
            conn = None
            raise
        finally:
            self.free.put_nowait(conn)


async def transfer_load(base_url: str, members: list[Member], level: Level, *, seconds: float,
                        warmup: float, rng: random.Random) -> int:
    """C clients sending 1–100 cent transfers between random pairs for `seconds` after `warmup`;
    fills `level` and returns how many transfers succeeded in all (warm-up included)."""
    client = PostClient(base_url, level.clients)
    succeeded = 0
    measuring = False
    deadline = time.perf_counter() + warmup + seconds

    async def one_client() -> None:
        nonlocal succeeded
        while time.perf_counter() < deadline:
            sender, recipient = rng.sample(members, 2)
            body = json.dumps(_transfer(sender, recipient, rng.randint(1, 100))).encode()
            started = time.perf_counter()
            try:
                status = await client.post("/api/v1/transfers", sender.token, uuid.uuid4().hex, body)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                if measuring:
                    level.statuses[type(exc).__name__] += 1
                continue
            if status == 200:
                succeeded += 1
                if measuring:
                    level.latencies.append(time.perf_counter() - started)
            elif measuring:
                level.statuses[str(status)] += 1

    try:
        clients = [asyncio.create_task(one_client()) for _ in range(level.clients)]
        await asyncio.sleep(warmup)
        measuring = True
        started = time.perf_counter()
        cpu = server_cpu(level.server_pid) if level.server_pid else 0.0
        await asyncio.gather(*clients)
        level.elapsed = time.perf_counter() - started
        if level.server_pid:
            level.server_cpu = server_cpu(level.server_pid) - cpu
    finally:
        await client.close()
    return succeeded


async def sample_connections(dsn: str, database: str, level: Level, stop: asyncio.Event) -> None:
    """Every 20 ms, what the server's PostgreSQL connections are doing: running a statement, waiting on a
    row lock, or idle inside a transaction (waiting for the app's Python to send the next statement)."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        while not stop.is_set():
            for state, wait in await conn.fetch(
                    "SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'", database):
                key = ("waiting on a lock" if wait == "Lock" else "running a statement" if state == "active"
                       else "idle in transaction (app's turn)" if state == "idle in transaction"
                       else "idle, no transaction")
                level.pg_states[key] += 1
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def load_and_sample(base_url: str, members: list[Member], level: Level, *, seconds: float, warmup: float,
                          rng: random.Random, pg: tuple[str, str] | None) -> int:
    """`transfer_load`, with `sample_connections` beside it on PostgreSQL (`pg`: its dsn and database)."""
    if pg is None:
        return await transfer_load(base_url, members, level, seconds=seconds, warmup=warmup, rng=rng)
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_connections(*pg, level, stop))
    try:
        return await transfer_load(base_url, members, level, seconds=seconds, warmup=warmup, rng=rng)
    finally:
        stop.set()
        await sampler


def server_pids(pid: int) -> list[int]:
    """The server's process and, under `--workers`, its worker processes (uvicorn's supervisor forks
    them; /proc lists a task's children)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid, *(int(c) for c in children.read_text().split())] if children.exists() else [pid]


def server_cpu(pid: int) -> float:
    """CPU-seconds the server has used so far, all its processes together."""
    return sum(process_cpu(p) or 0.0 for p in server_pids(pid))


async def run_audit(database_url: str) -> AuditReport:
    runtime = Runtime.create(Settings(database_url=database_url, log_level="warning", log_json=False))
    try:
        async with runtime.db.transaction(write=False) as session:
            return await audit(session)
    finally:
        await runtime.db.dispose()

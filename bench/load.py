"""The load: the server under test, the HTTP client that drives it, and the loop that times page pairs.

Every layer is timed the same way: one "pair" is page 1 for a member, then page 2 from its cursor;
`drive` runs a warm-up, then as many pairs as allowed with N concurrent workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from bench import REPO
from bench.machine import OtherWork
from bench.results import Level


class HttpError(Exception):
    pass


class LoadClient:
    """The load generator's HTTP client: `get(target, token)` -> (status, Link header, body).

    The default is a bare HTTP/1.1 keep-alive client on asyncio streams, one connection per
    concurrent client. httpx (`--client httpx`) costs much more CPU per request and its pool slows
    down as concurrency grows (on a 2-core machine GET /health went from ~480 to ~180 req/s between 1
    and 32 clients with httpx, and stayed at ~2,200 req/s with this client), and the client shares
    the machine with the server, so with httpx the figures would measure the client."""

    def __init__(self, base_url: str, concurrency: int) -> None:
        parsed = urlsplit(base_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(concurrency):
            self.free.put_nowait(None)  # connections open on first use
        self.open: list[asyncio.StreamWriter] = []

    async def get(self, target: str, token: str) -> tuple[int, str | None, bytes]:
        conn = await self.free.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
                self.open.append(conn[1])
            reader, writer = conn
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                         f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n".encode())
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            status = int(head[0].split(" ", 2)[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            else:  # chunked
                parts = []
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    parts.append(await reader.readexactly(size + 2))
                await reader.readuntil(b"\r\n")
                body = b"".join(p[:-2] for p in parts)
            if headers.get("connection", "").lower() == "close":
                writer.close()
                conn = None
            return status, headers.get("link"), body
        except BaseException:
            if conn is not None:
                conn[1].close()
            conn = None
            raise
        finally:
            self.free.put_nowait(conn)

    async def close(self) -> None:
        for writer in self.open:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()


class HttpxClient(LoadClient):
    def __init__(self, base_url: str, concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120)

    async def get(self, target: str, token: str) -> tuple[int, str | None, bytes]:
        response = await self.client.get(target, headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.headers.get("link"), response.content

    async def close(self) -> None:
        await self.client.aclose()


def make_client(kind: str, base_url: str, concurrency: int) -> LoadClient:
    """`--client`: "raw" (the bare client) or "httpx"."""
    return HttpxClient(base_url, concurrency) if kind == "httpx" else LoadClient(base_url, concurrency)


def next_max_id(link: str | None) -> int | None:
    found = re.search(r'<([^>]+)>;\s*rel="next"', link or "")
    if not found:
        return None
    return int(parse_qs(urlsplit(found.group(1)).query)["max_id"][0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`uvicorn agora.app:create_app --factory` in its own process, configured through AGORA_*."""

    def __init__(self, database_url: str, data_dir: Path, *, workers: int = 1) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "AGORA_DATABASE_URL": database_url, "AGORA_DATA_DIR": str(data_dir),
                    "AGORA_BASE_URL": self.url, "AGORA_RATE_LIMIT_ENABLED": "false",
                    "AGORA_LOG_LEVEL": "warning", "AGORA_LOG_JSON": "false"}
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "agora.app:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning", "--no-access-log",
                 *(["--workers", str(self.workers)] if self.workers > 1 else [])],
                env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        OtherWork.mine.add(self.proc.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# One "pair": page 1 for a member, then page 2 from its cursor. Appends timings to the level.
Pair = Callable[[int, Level], Awaitable[None]]


async def drive(pair: Pair, level: Level, *, pairs: int, seconds: float) -> None:
    """A concurrent warm-up (one pair per client), then up to `pairs` pairs or `seconds`."""
    scratch = Level(level.backend, level.mode, level.concurrency)
    await asyncio.gather(*(pair(i, scratch) for i in range(level.concurrency)))
    level.errors.extend(scratch.errors)
    counter = itertools.count(level.concurrency)
    deadline = time.perf_counter() + seconds
    started_pairs = 0

    async def worker() -> None:
        nonlocal started_pairs
        while time.perf_counter() < deadline and started_pairs < pairs:
            started_pairs += 1
            await pair(next(counter), level)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(level.concurrency)))
    level.elapsed = time.perf_counter() - started


def timed_pair(fetch: Callable[[int, int | None], Awaitable[int | None]]) -> Pair:
    """Page 1 then, when there is one, page 2; `fetch(i, max_id)` returns the next cursor."""

    async def pair(i: int, level: Level) -> None:
        cursor: int | None = None
        for page, timings in ((1, level.page1), (2, level.page2)):
            if page == 2 and cursor is None:
                return
            started = time.perf_counter()
            try:
                cursor = await fetch(i, cursor)
            except Exception as exc:
                level.errors.append(f"{level.backend} {level.mode} page {page}: {exc!r}"[:300])
                return
            timings.append(time.perf_counter() - started)

    return pair

"""Fixtures: a clean database per test (SQLite always, PostgreSQL too when configured), the app
in-process over httpx, a live uvicorn server for real clients, and members with tokens."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from agora.app import create_app
from agora.cli import run_migrations
from agora.config import Settings
from agora.kit.runtime import Runtime
from agora.models import Base
from tests.demo_db import DemoCopy, DemoDatabases
from tests.factories import Member, make_member

POSTGRES_URL = os.environ.get("AGORA_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("AGORA_TEST_REDIS_URL") or "redis://127.0.0.1:6379/9"
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database file; each test gets a copy (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "agora.db"
    run_migrations(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> str | None:
    if not POSTGRES_URL:
        return None

    async def reset() -> None:
        engine = create_async_engine(POSTGRES_URL)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())
    run_migrations(POSTGRES_URL)
    return POSTGRES_URL


async def _truncate_postgres(url: str) -> None:
    engine = create_async_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path, sqlite_template: Path, postgres_ready: str | None) -> str:
    if backend == "postgres":
        assert postgres_ready is not None
        asyncio.run(_truncate_postgres(postgres_ready))
        return postgres_ready
    target = tmp_path / "agora.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


def make_settings(database_url: str, data_dir: Path, base_url: str = "http://testserver", **overrides) -> Settings:
    values = dict(
        database_url=database_url, data_dir=data_dir, base_url=base_url, log_json=False, log_level="warning",
        # Fast hashing in tests (the production cost is in the defaults), and budgets that a test
        # only hits when it means to.
        argon2_time_cost=1, argon2_memory_kib=1024, rate_limit_requests=100_000, rate_limit_ip_requests=1_000_000,
        rate_limit_sign_in=1000, rate_limit_sign_up=1000, rate_limit_statuses=10_000, rate_limit_media=1000,
        rate_limit_ai=1000,
        streaming_heartbeat_seconds=1.0,
        # The background embedder would embed every test's posts in a thread beside the test (CPU, and
        # statements on the test's database): only the tests of semantic freshness turn it on.
        embedder_enabled=False,
    )
    return Settings(**{**values, **overrides})


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """A started app of its own (for tests that need other settings) and an HTTP client for it."""
    application = create_app(settings)
    await application.state.runtime.start()
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, application.state.runtime
    finally:
        await application.state.runtime.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


@pytest.fixture
async def app(settings: Settings):
    application = create_app(settings)
    runtime: Runtime = application.state.runtime
    await runtime.start()
    yield application
    await runtime.stop()


@pytest.fixture
async def runtime(app) -> Runtime:
    return app.state.runtime


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def alice(runtime: Runtime) -> Member:
    return await make_member(runtime, "alice")


@pytest.fixture
async def bob(runtime: Runtime) -> Member:
    return await make_member(runtime, "bob")


@pytest.fixture
async def carol(runtime: Runtime) -> Member:
    return await make_member(runtime, "carol")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn serving the app on a free port in a thread, for real clients (Mastodon.py…)."""

    def __init__(self, settings_for_url) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings: Settings = settings_for_url(self.url)
        config = uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning",
                                ws_ping_interval=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(lambda url: make_settings(database_url, tmp_path / "live", base_url=url)) as server:
        yield server


@pytest.fixture
async def redis_client() -> AsyncIterator[redis.Redis]:
    """A real Redis for the tests that need one (two servers sharing events); skips without one."""
    client = redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        await client.ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        await client.aclose()
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc}); set AGORA_TEST_REDIS_URL to run these")
    yield client
    await client.aclose()


@pytest.fixture
def redis_servers(database_url: str, tmp_path: Path, redis_client) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two live servers on one database and one Redis: any worker may serve any stream."""
    def settings_for(name: str):
        return lambda url: make_settings(database_url, tmp_path / name, base_url=url, redis_url=REDIS_URL)

    with LiveServer(settings_for("a")) as a, LiveServer(settings_for("b")) as b:
        yield a, b


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
                   postgres_ready: str | None) -> Iterator[DemoDatabases]:
    """The demo community loaded and embedded once per backend per session (built on first ask).

    Session-scoped because the load and the embedding take about two minutes per backend and three
    evaluations need the same demo; sharing is safe because no test gets the build itself, only a
    private copy of it (`demo_database`)."""
    databases = DemoDatabases(tmp_path_factory.mktemp("demo"), sqlite_template, postgres_ready, make_settings)
    yield databases
    databases.close()


@pytest.fixture
def demo_database(backend: str, tmp_path: Path, demo_databases: DemoDatabases) -> Iterator[DemoCopy]:
    """This test's own copy of the loaded and embedded demo database (dropped after it on PostgreSQL)."""
    url = demo_databases.copy(backend, tmp_path)
    yield DemoCopy(url=url, build=demo_databases.build(backend))
    demo_databases.drop(url)

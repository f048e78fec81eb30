"""The demo community, loaded and embedded once per database backend per test session, and copied
for each test that asks for it (the `demo_database` fixture in tests/conftest.py).

Loading the demo through the real services and embedding its posts with the real model takes about
two minutes per backend on the 2-core CI machine; three evaluations (search relevance, assistant
grounding, the AI pipeline) used to do it each. They now share one build: the load and the
embedding are exactly what `agora demo` and `agora search embed` do, made once, and every test gets
a private copy (SQLite: a copy of the file; PostgreSQL: `CREATE DATABASE … TEMPLATE`, which copies
the database at the file level), so a test that writes cannot change what another one sees.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from agora.cli import run_migrations
from agora.demo.loader import DemoSummary, load_demo
from agora.kit.db import Database
from agora.search.embedder import embed_missing


@dataclass(frozen=True)
class DemoCopy:
    """A test's private copy of the demo database, and the build it was copied from."""

    url: str
    build: DemoBuild


@dataclass
class DemoBuild:
    """One loaded and embedded demo database (never handed to a test itself: tests get copies)."""

    url: str
    summary: DemoSummary
    embedded: int
    load_seconds: float
    embed_seconds: float


class DemoDatabases:
    """Builds the demo once per backend on first ask, and hands out private copies of it."""

    def __init__(self, base: Path, sqlite_template: Path, postgres_url: str | None, make_settings) -> None:
        self.base = base
        self.sqlite_template = sqlite_template
        self.postgres_url = postgres_url
        self.make_settings = make_settings
        self.builds: dict[str, DemoBuild] = {}
        self.copies = itertools.count()
        self.postgres_name = f"{make_url(postgres_url).database}_demo" if postgres_url else ""

    def build(self, backend: str) -> DemoBuild:
        if backend not in self.builds:
            self.builds[backend] = self._build(backend)
        return self.builds[backend]

    def _build(self, backend: str) -> DemoBuild:
        if backend == "postgres":
            assert self.postgres_url is not None
            self._admin(f'DROP DATABASE IF EXISTS "{self.postgres_name}" WITH (FORCE)',
                        f'CREATE DATABASE "{self.postgres_name}"')
            url = self._postgres_url(self.postgres_name)
            run_migrations(url)
        else:
            path = self.base / "demo.db"
            shutil.copy(self.sqlite_template, path)
            url = f"sqlite+aiosqlite:///{path}"
        settings = self.make_settings(url, self.base / f"{backend}-data")
        return asyncio.run(_load_and_embed(settings))

    def copy(self, backend: str, target_dir: Path) -> str:
        """A private database holding the demo, for one test; `drop` it when the test is done."""
        build = self.build(backend)
        if backend == "postgres":
            name = f"{self.postgres_name}_{next(self.copies)}"
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                        f'CREATE DATABASE "{name}" TEMPLATE "{self.postgres_name}"')
            return self._postgres_url(name)
        # SQLite runs in WAL mode: the backup API copies a consistent image whatever the -wal holds.
        target = target_dir / "agora.db"
        source = sqlite3.connect(make_url(build.url).database)
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()
        return f"sqlite+aiosqlite:///{target}"

    def drop(self, url: str) -> None:
        if url.startswith("postgresql"):
            self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        if "postgres" in self.builds:
            self._admin(f'DROP DATABASE IF EXISTS "{self.postgres_name}" WITH (FORCE)')

    def _postgres_url(self, name: str) -> str:
        return make_url(self.postgres_url).set(database=name).render_as_string(hide_password=False)

    def _admin(self, *statements: str) -> None:
        """CREATE/DROP DATABASE, which cannot run inside a transaction, over the test database's server."""

        async def run() -> None:
            engine = create_async_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
            try:
                async with engine.connect() as conn:
                    for statement in statements:
                        await conn.execute(text(statement))
            finally:
                await engine.dispose()

        asyncio.run(run())


async def _load_and_embed(settings) -> DemoBuild:
    started = time.perf_counter()
    summary = await load_demo(settings)
    loaded = time.perf_counter()
    db = Database(settings.resolved_database_url)
    try:
        embedded = await embed_missing(db)
    finally:
        await db.dispose()
    return DemoBuild(url=settings.resolved_database_url, summary=summary, embedded=embedded,
                     load_seconds=loaded - started, embed_seconds=time.perf_counter() - loaded)

"""The database engine and the unit of work: one transaction per request or task.

Services only `flush()`; `Database.transaction()` commits at the edge and then hands the events the
services queued (`queue_event`) to the bus, so no one ever hears of a write that rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Table, event, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

EventSink = Callable[[list[Any]], Awaitable[None]]


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")  # another process (the CLI) may hold the write lock
        cursor.close()
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin: this makes reads
        # transactional and SAVEPOINTs work (SQLAlchemy's documented recipe for pysqlite/aiosqlite).
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        # Writers take the lock up front, so a reader never has to upgrade (which SQLite answers
        # with an immediate SQLITE_BUSY instead of waiting).
        write = connection.get_execution_options().get("agora_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # Pooled: opening an aiosqlite connection (a thread, a file handle, the PRAGMAs) costs
            # ~3 ms, ten times an empty transaction on a pooled one (bench/timeline.py measured it).
            self.engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size)
            _configure_sqlite(self.engine)
        else:
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
            )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # SQLite has a single writer. Serialising our own writers in-process turns "database is
        # locked" races into an orderly queue; PostgreSQL needs no such help.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self.event_sink: EventSink | None = None

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        if write and self._write_lock is not None:
            async with self._write_lock, self._run(write=True) as session:
                yield session
        else:
            async with self._run(write=write) as session:
                yield session

    @asynccontextmanager
    async def _run(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            if write and self.is_sqlite:
                await session.connection(execution_options={"agora_write": True})
            try:
                yield session
                if write:
                    await session.commit()
                    for done in session.info.pop("on_commit", []):
                        with contextlib.suppress(Exception):
                            done()
                # A read-only transaction simply ends when the session closes; an explicit rollback
                # would expire the objects the caller is about to serialise.
            except BaseException:
                await session.rollback()
                for undo in session.info.pop("on_rollback", []):
                    with contextlib.suppress(Exception):
                        undo()
                raise
            events = session.info.pop("events", [])
        if events and self.event_sink is not None:
            await self.event_sink(events)

    async def dispose(self) -> None:
        await self.engine.dispose()


def on_rollback(session: AsyncSession, undo: Callable[[], None]) -> None:
    """Run `undo` if the current transaction rolls back (e.g. remove a file written for it)."""
    session.info.setdefault("on_rollback", []).append(undo)


def on_commit(session: AsyncSession, done: Callable[[], None]) -> None:
    """Run `done` once the current transaction has committed (e.g. remove a file it stopped using)."""
    session.info.setdefault("on_commit", []).append(done)


def queue_event(session: AsyncSession, event_: Any) -> None:
    """Publish `event_` once the current transaction has committed (and never if it rolls back)."""
    session.info.setdefault("events", []).append(event_)


async def insert_once(session: AsyncSession, row: Any) -> bool:
    """Insert `row` unless a unique constraint says it already exists: False then, not an error.

    A "does it exist?" check cannot see a concurrent transaction's uncommitted row; on PostgreSQL
    both requests pass it and the second INSERT waits, then fails. The SAVEPOINT keeps that failure
    from aborting the rest of the request. Queue no events inside: a rolled-back savepoint keeps them.
    """
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
        return True
    except IntegrityError:
        return False


async def insert_unless_exists(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """`INSERT … ON CONFLICT DO NOTHING`: True if the row went in, False if a unique key held it already.

    `insert_once` for hot paths: one statement instead of three (no SAVEPOINT round trips). On
    PostgreSQL a concurrent transaction's uncommitted row makes it wait for that transaction, then
    skip (it committed) or insert (it rolled back). Column defaults written in Python still apply.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    result = await session.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


def sql_int(value: int) -> ColumnElement[Any]:
    """An integer written into the SQL, not bound: PostgreSQL matches a GROUP BY expression to the
    select list only when both are written alike, and two bind parameters never are."""
    return literal_column(str(int(value)), BigInteger)


class unindexed(FunctionElement):
    """`column` as a term SQLite's planner will not answer from an index (`+column`).

    Timelines filter on coarse columns (visibility, "is not a reply") that match most rows. Without
    statistics SQLite would drive the query from those indexes and sort every match; marked like
    this it walks the primary key newest-first and stops at the page size, as PostgreSQL does.
    Other databases see the plain column.
    """

    inherit_cache = True
    name = "unindexed"


@compiles(unindexed)
def _unindexed_default(element: unindexed, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)

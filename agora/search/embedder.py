"""The background embedder: keeps `status_vectors` and the ANN index up to date with the posts.

It finds posts without an up-to-date vector (new, edited since embedded, or made by another model),
embeds them in batches in a worker thread, stores the vectors and adds them to the index. Posting
never waits for it: it hears of writes after they commit (it wraps the database's event sink, which
sees every status event whatever its channel), and otherwise polls every `embedder_interval_seconds`.

What it looks at each round, cheapest first:
- ids it heard of (created or edited in this process);
- recent posts (ids from the last `_RECENT` minutes — a primary-key range), which also catches posts
  made by other processes sharing the database;
- every post, at start and then every `embedder_sweep_seconds`, which catches old posts edited
  elsewhere and imports written with old ids.

Direct messages are never embedded (semantic search does not serve them), nor boosts (no text).
A delete event removes the post from the index at once; the vector row goes with the status (FK
cascade).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.background import BackgroundTask
from agora.kit.db import Database
from agora.kit.ids import first_id_at
from agora.kit.time import utcnow
from agora.models import Status, StatusVector
from agora.search.embeddings import MODEL_NAME, embed_async, load_async, to_bytes
from agora.search.vectors import RUNTIME_KEY, VectorIndex, index_for_engine

log = logging.getLogger("agora.search")

EMBEDDED_VISIBILITIES = ("public", "unlisted", "private")
_RECENT = timedelta(minutes=10)  # longer than any transaction stays open between id and commit
RUNTIME_EMBEDDER_KEY = "search.embedder"


@dataclass(frozen=True, slots=True)
class Pending:
    status_id: int
    text: str
    edited_at: datetime | None


def embedding_text(spoiler_text: str, text: str) -> str:
    """What a post is about: its content warning (a summary, when there is one) and its text."""
    return f"{spoiler_text}\n{text}".strip() if spoiler_text else text


def _needs_vector() -> ColumnElement[bool]:
    return and_(
        Status.visibility.in_(EMBEDDED_VISIBILITIES),
        Status.reblog_of_id.is_(None),
        or_(StatusVector.status_id.is_(None),
            StatusVector.model != MODEL_NAME,
            StatusVector.source_edited_at.is_distinct_from(Status.edited_at)),
    )


async def find_pending(session: AsyncSession, *, limit: int, ids: Iterable[int] = (),
                       min_id: int | None = None) -> list[Pending]:
    """Posts whose vector is missing or stale, newest first: among `ids`, from `min_id` on, or all."""
    query = (select(Status.id, Status.spoiler_text, Status.text, Status.edited_at)
             .outerjoin(StatusVector, StatusVector.status_id == Status.id)
             .where(_needs_vector()).order_by(Status.id.desc()).limit(limit))
    wanted = list(ids)
    if wanted:
        query = query.where(Status.id.in_(wanted))
    elif min_id is not None:
        query = query.where(Status.id >= min_id)
    rows = (await session.execute(query)).all()
    return [Pending(r.id, embedding_text(r.spoiler_text, r.text), r.edited_at) for r in rows]


async def store(session: AsyncSession, pending: list[Pending], vectors: Any) -> list[int]:
    """Write the vectors (replacing old ones) of the posts that still exist; returns their ids."""
    ids = [p.status_id for p in pending]
    existing = set(await session.scalars(select(Status.id).where(Status.id.in_(ids))))
    await session.execute(delete(StatusVector).where(StatusVector.status_id.in_(ids)))
    kept: list[int] = []
    for item, vector in zip(pending, vectors, strict=True):
        if item.status_id in existing:  # deleted while we embedded it: nothing to store
            session.add(StatusVector(status_id=item.status_id, model=MODEL_NAME, vector=to_bytes(vector),
                                     source_edited_at=item.edited_at))
            kept.append(item.status_id)
    await session.flush()
    return kept


class Embedder(BackgroundTask):
    """One per process and database. `run_forever` is the task; `notice` is fed the bus events."""

    name = "agora-embedder"

    def __init__(self, db: Database, index: VectorIndex, *, batch_size: int = 32, interval: float = 1.0,
                 sweep_seconds: float = 60.0) -> None:
        super().__init__(db)
        self.index = index
        self.batch_size = batch_size
        self.interval = interval
        self.sweep_seconds = sweep_seconds
        self._heard: set[int] = set()
        self._next_sweep = 0.0  # sweep everything on the first round
        self.embedded = 0  # posts embedded by this embedder (for logs and tests)

    # -- hearing of writes --------------------------------------------------------------------
    def notice(self, events: Iterable[Any]) -> None:
        """Status events after a commit: deletes leave the index at once, the rest wake us up."""
        removed: list[int] = []
        for message in events:
            kind = getattr(message, "event", None)
            payload = getattr(message, "payload", None)
            if kind not in ("update", "status.update", "delete") or not isinstance(payload, dict):
                continue
            try:
                status_id = int(payload.get("status_id"))
            except (TypeError, ValueError):
                continue
            if kind == "delete":
                removed.append(status_id)
                self._heard.discard(status_id)
            else:
                self._heard.add(status_id)
        if removed:
            self.index.remove(sorted(set(removed)))
        if self._heard:
            self.wake.set()

    # -- the work -----------------------------------------------------------------------------
    async def step(self, *, sweep: bool = False) -> int:
        """Embed one batch of what is pending; returns how many posts it looked at (0: none pending)."""
        heard = list(self._heard)[: self.batch_size]
        async with self.db.transaction(write=False) as session:
            pending = await find_pending(session, limit=self.batch_size, ids=heard) if heard else []
            self._heard.difference_update(heard)
            if not pending:  # nothing heard of (or it was up to date): look for what we did not hear of
                min_id = None if sweep else first_id_at(utcnow() - _RECENT)
                pending = await find_pending(session, limit=self.batch_size, min_id=min_id)
        if not pending:
            return 0
        await load_async()  # (once) so the batch's timing below is the embedding alone
        started = time.perf_counter()
        vectors = await embed_async([p.text for p in pending], batch_size=self.batch_size)
        embedded_at = time.perf_counter()
        try:
            async with self.db.transaction() as session:
                kept = await store(session, pending, vectors)
        except IntegrityError:  # a post deleted between our check and insert (PostgreSQL): next round
            log.warning("embedder batch raced a delete; will retry", extra={"posts": len(pending)})
            return 0
        by_id = {p.status_id: v for p, v in zip(pending, vectors, strict=True)}
        self.index.upsert(kept, [by_id[i] for i in kept] if kept else [])
        self.embedded += len(kept)
        seconds = embedded_at - started
        log.info("embedded a batch of posts", extra={
            "posts": len(kept), "embed_seconds": round(seconds, 3),
            "posts_per_second": round(len(pending) / seconds, 1) if seconds > 0 else None,
            "index_size": len(self.index)})
        return len(pending)

    async def catch_up(self) -> int:
        """Embed everything pending (all posts), batch after batch; returns how many."""
        total = 0
        while done := await self.step(sweep=True):
            total += done
        return total

    async def run_forever(self) -> None:
        async with self.db.transaction(write=False) as session:
            await self.index.rebuild(session)
        while True:
            try:
                sweep = time.monotonic() >= self._next_sweep
                done = await self.step(sweep=sweep)
                if sweep and done == 0:
                    self._next_sweep = time.monotonic() + self.sweep_seconds
                if done:
                    continue  # more may be waiting: no pause between full batches
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad round (database restarting…) must not end the task
                log.exception("embedder round failed; retrying")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.interval)


def start_embedder(runtime: Any) -> Embedder:
    """Start the embedder for a runtime (the app's lifespan calls this); keeps it and its index."""
    settings = runtime.settings
    index = index_for_engine(runtime.db.engine)
    embedder = Embedder(runtime.db, index, batch_size=settings.embedder_batch_size,
                        interval=settings.embedder_interval_seconds, sweep_seconds=settings.embedder_sweep_seconds)
    runtime.shared[RUNTIME_KEY] = index
    runtime.shared[RUNTIME_EMBEDDER_KEY] = embedder
    embedder.start()
    return embedder


async def embed_missing(db: Database, *, batch_size: int = 64) -> int:
    """Embed every post that lacks an up-to-date vector, now (for the CLI and the benchmark)."""
    index = index_for_engine(db.engine)
    if not index.loaded:
        async with db.transaction(write=False) as session:
            await index.rebuild(session)
    return await Embedder(db, index, batch_size=batch_size).catch_up()

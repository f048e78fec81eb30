"""The in-process ANN index over post embeddings (usearch HNSW, cosine), derived from the database.

`status_vectors` is the source of truth; this index is a cache of it, one per process and database
(a `Database` has one engine, so the index is found from a session's engine — and a runtime also
keeps it in `runtime.shared`). It is rebuilt from the database on start and then kept up to date
by the background embedder (adds, re-embeds) and by delete events (removals at once). Search
results are still re-checked against the database by `semantic`, so an index that lags can cost a
result slot but never show a deleted or hidden post.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from usearch.index import Index

from agora.models import StatusVector
from agora.search.embeddings import DIMENSIONS, MODEL_NAME, from_bytes

log = logging.getLogger("agora.search")

RUNTIME_KEY = "search.vectors"
# HNSW settings: usearch's defaults (connectivity 16, expansion 128 on add, 64 on search) give
# recall@10 well above 0.95 on sentence embeddings; search expansion is raised a little because
# semantic search over-fetches (4 × limit) before visibility filtering.
_CONNECTIVITY = 16
_EXPANSION_ADD = 128
_EXPANSION_SEARCH = 128
_LOAD_CHUNK = 5000
# Below this many vectors a brute-force scan takes about a millisecond and is never wrong, so the graph
# is not consulted: a small community's results do not move between index builds.
EXACT_BELOW = 20_000


def _new_usearch() -> Index:
    return Index(ndim=DIMENSIONS, metric="cos", dtype="f32", connectivity=_CONNECTIVITY,
                 expansion_add=_EXPANSION_ADD, expansion_search=_EXPANSION_SEARCH)


def _keys(ids: list[int] | np.ndarray) -> np.ndarray:
    return np.asarray(ids, dtype=np.uint64)


class VectorIndex:
    """Status id → unit vector, searchable by cosine similarity. Safe to use from any thread."""

    def __init__(self, *, exact_below: int = EXACT_BELOW) -> None:
        self.exact_below = exact_below  # 0: always the HNSW graph (what the recall measurements test)
        self._index = _new_usearch()
        self._lock = threading.Lock()  # usearch calls are short; one lock keeps add/remove/search simple
        self._rebuild_lock: asyncio.Lock | None = None
        # While a rebuild builds a fresh index off the lock, changes made meanwhile are journalled and
        # replayed onto it, so none is lost in the swap.
        self._journal: list[tuple[str, Any, Any]] | None = None
        self.loaded = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._index)

    def __contains__(self, status_id: int) -> bool:
        with self._lock:
            return bool(self._index.contains(status_id))

    def upsert(self, ids: list[int], vectors: np.ndarray) -> None:
        """Add or replace the vectors of `ids` (one row of `vectors` each)."""
        if not ids:
            return
        keys = _keys(ids)
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), DIMENSIONS)
        with self._lock:
            self._upsert_locked(self._index, keys, matrix)
            if self._journal is not None:
                self._journal.append(("upsert", keys, matrix))

    def remove(self, ids: list[int]) -> None:
        if not ids:
            return
        keys = _keys(ids)
        with self._lock:
            self._index.remove(keys)
            if self._journal is not None:
                self._journal.append(("remove", keys, None))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The `k` nearest status ids with their cosine similarity, most similar first."""
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(DIMENSIONS)
        with self._lock:
            if len(self._index) == 0 or k <= 0:
                return []
            size = len(self._index)
            matches = self._index.search(query, min(k, size), exact=size < self.exact_below)
        return [(int(key), float(1.0 - distance)) for key, distance in zip(matches.keys, matches.distances,
                                                                          strict=True)]

    @staticmethod
    def _upsert_locked(index: Index, keys: np.ndarray, matrix: np.ndarray) -> None:
        # usearch refuses duplicate keys: a re-embedded post replaces its old vector.
        index.remove(keys)
        index.add(keys, matrix)

    async def rebuild(self, session: AsyncSession, *, force: bool = True) -> int:
        """Load every vector of the current model from the database into a fresh index; swap it in.

        `force=False` skips the work when another caller has loaded the index meanwhile.
        """
        if self._rebuild_lock is None:
            self._rebuild_lock = asyncio.Lock()
        async with self._rebuild_lock:
            if self.loaded and not force:
                return len(self)
            started = time.perf_counter()
            with self._lock:
                self._journal = []
            try:
                fresh = _new_usearch()
                count = 0
                result = await session.stream(
                    select(StatusVector.status_id, StatusVector.vector)
                    .where(StatusVector.model == MODEL_NAME)
                    .execution_options(yield_per=_LOAD_CHUNK))
                async for chunk in result.partitions(_LOAD_CHUNK):
                    keys = _keys([row[0] for row in chunk])
                    matrix = np.stack([from_bytes(row[1]) for row in chunk])
                    # Graph construction is the slow part: off the event loop.
                    await asyncio.to_thread(fresh.add, keys, matrix)
                    count += len(chunk)
                with self._lock:
                    for op, keys, matrix in self._journal:
                        if op == "upsert":
                            self._upsert_locked(fresh, keys, matrix)
                        else:
                            fresh.remove(keys)
                    self._index = fresh
                    self.loaded = True
            finally:
                with self._lock:
                    self._journal = None
            log.info("vector index rebuilt", extra={"vectors": count,
                                                    "seconds": round(time.perf_counter() - started, 3)})
            return count


# One index per database engine in this process (weak: a disposed Database takes its index along).
_indexes: weakref.WeakKeyDictionary[Any, VectorIndex] = weakref.WeakKeyDictionary()


def _engine_key(bind: Any) -> Any:
    return getattr(bind, "sync_engine", bind)


def index_for_engine(engine: Any) -> VectorIndex:
    """The index for this database in this process (created empty, unloaded, on first ask)."""
    key = _engine_key(engine)
    index = _indexes.get(key)
    if index is None:
        index = _indexes[key] = VectorIndex()
    return index


async def loaded_index(session: AsyncSession) -> VectorIndex:
    """The index for the session's database, rebuilt from it first if this process has not yet."""
    index = index_for_engine(session.bind)
    if not index.loaded:
        await index.rebuild(session, force=False)
    return index


def exact_search(ids: np.ndarray, matrix: np.ndarray, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Brute-force cosine over unit vectors: the ground truth ANN recall is measured against."""
    scores = matrix @ np.asarray(vector, dtype=np.float32).reshape(DIMENSIONS)
    top = np.argsort(-scores)[:k]
    return [(int(ids[i]), float(scores[i])) for i in top]

"""What the search benchmark measures on one database: indexing throughput, query latency per mode,
and the ANN index's recall against exact search over the same vectors."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from agora.kit.db import Database
from agora.models import StatusVector
from agora.search import hybrid
from agora.search.embedder import embed_missing
from agora.search.embeddings import DIMENSIONS, embed, from_bytes
from agora.search.indexing import reindex_all
from agora.search.vectors import VectorIndex, exact_search
from bench import log
from bench.results import pct

MODES = ("lexical", "semantic", "hybrid")
PAGE = 20  # results per query, as a client's first page


@dataclass
class Latencies:
    mode: str
    seconds: list[float] = field(default_factory=list)
    results: int = 0  # posts returned in all
    concurrent_qps: float = 0.0

    @property
    def p50(self) -> float:
        return pct(self.seconds, 50)  # pct answers in milliseconds

    @property
    def p99(self) -> float:
        return pct(self.seconds, 99)

    @property
    def qps(self) -> float:
        return len(self.seconds) / sum(self.seconds) if self.seconds else 0.0


@dataclass
class Measured:
    backend: str
    posts: int
    lexical_rate: float = 0.0  # posts indexed per second
    semantic_rate: float = 0.0  # posts embedded and stored per second
    ann_build_seconds: float = 0.0
    recall_at_10: float | None = None
    modes: list[Latencies] = field(default_factory=list)


async def index_lexical(db: Database) -> float:
    started = time.perf_counter()
    async with db.transaction() as session:
        count = await reindex_all(session)
    rate = count / (time.perf_counter() - started)
    log(f"  lexical index: {count:,} posts, {rate:,.0f} posts/s")
    return rate


async def index_semantic(db: Database) -> float:
    started = time.perf_counter()
    count = await embed_missing(db, batch_size=64)
    rate = count / (time.perf_counter() - started)
    log(f"  semantic index: {count:,} posts embedded and stored, {rate:,.0f} posts/s")
    return rate


async def _all_vectors(db: Database) -> tuple[np.ndarray, np.ndarray]:
    async with db.transaction(write=False) as session:
        rows = (await session.execute(select(StatusVector.status_id, StatusVector.vector))).all()
    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    matrix = np.stack([from_bytes(r[1]) for r in rows]) if rows else np.zeros((0, DIMENSIONS), np.float32)
    return ids, matrix


async def ann_build_and_recall(db: Database, query_texts: list[str]) -> tuple[float, float]:
    """Seconds to rebuild the ANN index from the database; its recall@10 against brute force."""
    index = VectorIndex(exact_below=0)  # the HNSW graph, whatever the corpus size
    started = time.perf_counter()
    async with db.transaction(write=False) as session:
        await index.rebuild(session)
    build = time.perf_counter() - started
    ids, matrix = await _all_vectors(db)
    vectors = await asyncio.to_thread(embed, query_texts)
    hits = 0
    for vector in vectors:
        exact = {i for i, _ in exact_search(ids, matrix, vector, 10)}
        hits += len(exact & {i for i, _ in index.search(vector, 10)})
    recall = hits / (10 * len(vectors)) if len(vectors) else 0.0
    log(f"  ANN index rebuilt from the database in {build:.1f}s; recall@10 vs exact search {recall:.3f} "
        f"over {len(vectors)} queries")
    return build, recall


async def _one(db: Database, q: str, mode: str, viewer_id: int) -> int:
    async with db.transaction(write=False) as session:
        return len(await hybrid.search_statuses(session, q, viewer_id=viewer_id, limit=PAGE, offset=0, mode=mode))


async def query_latencies(db: Database, queries: list[str], viewers: list[int], mode: str, *,
                          concurrency: int) -> Latencies:
    """Each query once from one client (latency), then all again from `concurrency` clients (queries/s)."""
    rng = random.Random(7)
    measured = Latencies(mode)
    await _one(db, queries[0], mode, viewers[0])  # warm: the model, the index, the statement cache
    for q in queries:
        started = time.perf_counter()
        measured.results += await _one(db, q, mode, rng.choice(viewers))
        measured.seconds.append(time.perf_counter() - started)
    pending = list(queries)

    async def client() -> None:
        while pending:
            await _one(db, pending.pop(), mode, rng.choice(viewers))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    measured.concurrent_qps = len(queries) / (time.perf_counter() - started)
    log(f"  {mode:8}: p50 {measured.p50:.1f} ms, p99 {measured.p99:.1f} ms, {measured.qps:,.0f} q/s one client, "
        f"{measured.concurrent_qps:,.0f} q/s with {concurrency}; {measured.results / len(queries):.1f} results/query")
    return measured

"""Semantic search: posts nearest in meaning to a text, by cosine similarity of sentence embeddings.

The ANN index proposes candidates (over-fetched: many may be hidden from this viewer); the database
then keeps only those the viewer may find — the same discovery rule as keyword search
(`lexical.discoverable_posts`: visible to the viewer, not muted or blocked, not a boost, others'
unlisted posts and opted-out (`indexable = False`) authors left out) — and, being the source of
truth, drops any post deleted since the index last heard of it. Direct messages are never embedded.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.models import Status, StatusVector
from agora.search.embeddings import MODEL_NAME, embed, embed_async, from_bytes
from agora.search.lexical import discoverable_posts
from agora.search.vectors import VectorIndex, loaded_index

__all__ = ["MIN_SIMILARITY", "embed", "embed_query", "search_near", "search_status_ids", "vectors_of"]

# Below this, all-MiniLM-L6-v2 calls two texts unrelated (random English sentences score ~0–0.15):
# showing them would only add noise to the hybrid ranking.
MIN_SIMILARITY = 0.2
OVERFETCH = 4  # candidates per wanted result, before visibility filtering
MAX_CANDIDATES = 10_000  # widening stops here: a viewer who may see almost nothing gets few results
MAX_LIMIT = 1000


async def embed_query(text: str) -> np.ndarray:
    return (await embed_async([text]))[0]


async def search_status_ids(
    session: AsyncSession, text: str, *, viewer_id: int | None, limit: int,
    conditions: Iterable[ColumnElement[bool]] = (), min_similarity: float = MIN_SIMILARITY,
    index: VectorIndex | None = None,
) -> list[tuple[int, float]]:
    """(status id, cosine similarity) of the posts nearest to `text` that the viewer may find, best first.

    `conditions`: further SQL conditions on `Status` (the query syntax's from:/#tag/since:/lang:
    filters, say). `index`: defaults to this process's index for the session's database, rebuilt from
    the database on first use.
    """
    text = text.strip()
    if not text or limit <= 0:
        return []
    index = index if index is not None else await loaded_index(session)
    if len(index) == 0:  # nothing embedded (yet, or the embedder is off): no need to run the model
        return []
    return await search_near(session, await embed_query(text), viewer_id=viewer_id, limit=limit,
                             conditions=conditions, min_similarity=min_similarity, index=index)


async def search_near(
    session: AsyncSession, vector: np.ndarray, *, viewer_id: int | None, limit: int,
    conditions: Iterable[ColumnElement[bool]] = (), min_similarity: float = MIN_SIMILARITY,
    index: VectorIndex | None = None,
) -> list[tuple[int, float]]:
    """As `search_status_ids`, from a vector (a post's, or the mean of posts a member engaged with)."""
    limit = max(0, min(limit, MAX_LIMIT))
    if limit == 0:
        return []
    index = index if index is not None else await loaded_index(session)
    extra = list(conditions)
    wanted = limit * OVERFETCH
    while True:
        candidates = [(i, s) for i, s in index.search(vector, wanted) if s >= min_similarity]
        allowed = await _findable(session, [i for i, _ in candidates], viewer_id=viewer_id, conditions=extra)
        found = [(i, s) for i, s in candidates if i in allowed]
        # Stop when there are enough, or when widening cannot bring more (the index ran out, or the
        # candidates already reach below the similarity floor).
        exhausted = (len(candidates) < wanted or wanted >= len(index) or wanted >= MAX_CANDIDATES)
        if len(found) >= limit or exhausted:
            return found[:limit]
        wanted = min(wanted * OVERFETCH, MAX_CANDIDATES)


async def vectors_of(session: AsyncSession, ids: Iterable[int]) -> dict[int, np.ndarray]:
    """The stored vectors of these posts (those embedded with the current model)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(StatusVector.status_id, StatusVector.vector).where(
        StatusVector.status_id.in_(wanted), StatusVector.model == MODEL_NAME))
    return {status_id: from_bytes(raw) for status_id, raw in rows}


async def _findable(session: AsyncSession, ids: list[int], *, viewer_id: int | None,
                    conditions: list[ColumnElement[bool]]) -> set[int]:
    if not ids:
        return set()
    statement = select(Status.id).where(Status.id.in_(ids), discoverable_posts(viewer_id), *conditions)
    return set(await session.scalars(statement))

"""Semantic search: posts found by meaning, kept fresh by the background embedder, private as the rest.

Real model (all-MiniLM-L6-v2 from its package, offline), real databases, the real API for posting,
editing, deleting and following; the embedder runs as the server runs it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from agora.app import create_app
from agora.kit.runtime import Runtime
from agora.models import StatusVector
from agora.search import semantic
from agora.search.embedder import Embedder, embed_missing, start_embedder
from agora.search.embeddings import DIMENSIONS, embed
from agora.search.vectors import VectorIndex, exact_search, index_for_engine
from tests.conftest import app_client, make_settings
from tests.factories import Member, make_member, post

CAT = "my cat sleeps on the keyboard every afternoon"
UNRELATED = ["quarterly tax forms are due on friday, do not forget the receipts",
             "the football match went to penalties last night",
             "new sourdough recipe: more water, longer proof"]
QUERY = "kitten napping on a laptop"
WAIT = 60.0  # generous: the first embedding in a process loads the model, and CI shares 2 cores


async def search(runtime: Runtime, text: str, viewer: Member | None, limit: int = 10) -> list[int]:
    async with runtime.db.transaction(write=False) as session:
        found = await semantic.search_status_ids(session, text, viewer_id=int(viewer.id) if viewer else None,
                                                 limit=limit)
    return [status_id for status_id, _ in found]


async def until(condition, within: float = WAIT) -> float:
    """Poll `condition` (async, -> bool) until true; returns the seconds it took, fails on timeout."""
    started = time.monotonic()
    while not await condition():
        assert time.monotonic() - started < within, "not within the time allowed"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture
async def embedder(runtime: Runtime) -> AsyncIterator[Embedder]:
    await asyncio.to_thread(embed, ["warm up"])  # load the model first, so timings measure the embedder
    running = start_embedder(runtime)
    yield running
    await running.stop()


async def test_a_post_is_found_by_meaning_and_ranks_above_unrelated_posts(client, runtime, alice, bob):
    cat = await post(client, alice, CAT)
    others = [await post(client, alice, text) for text in UNRELATED]
    assert await embed_missing(runtime.db) == 4

    found = await search(runtime, QUERY, bob)
    assert found, "nothing found"
    assert found[0] == int(cat["id"]), "the cat post is not the best match"
    assert all(int(o["id"]) not in found[:1] for o in others)
    async with runtime.db.transaction(write=False) as session:
        scored = await semantic.search_status_ids(session, QUERY, viewer_id=None, limit=10, min_similarity=-1.0)
    similarity = dict(scored)
    assert all(similarity[int(cat["id"])] > similarity[int(o["id"])] + 0.2 for o in others)
    # "More like this post": from its stored vector, the post itself first.
    async with runtime.db.transaction(write=False) as session:
        stored = await semantic.vectors_of(session, [int(cat["id"])])
        near = await semantic.search_near(session, stored[int(cat["id"])], viewer_id=int(bob.id), limit=3)
    assert near[0][0] == int(cat["id"]) and near[0][1] > 0.99
    # Nothing like it: nothing found (below the similarity floor), rather than noise.
    assert await search(runtime, "quantum chromodynamics lattice gauge theory", bob) == []


async def test_a_new_post_is_findable_within_seconds_and_an_edit_is_re_embedded(client, runtime, alice, bob, embedder):
    cat = await post(client, alice, CAT)
    cat_id = int(cat["id"])

    async def found_cat() -> bool:
        return cat_id in await search(runtime, QUERY, bob)

    seconds = await until(found_cat)
    assert seconds < 10, f"took {seconds:.1f} s"

    edited = await client.put(f"/api/v1/statuses/{cat_id}", headers=alice.headers,
                              json={"status": "the quarterly tax return is due on friday"})
    assert edited.status_code == 200, edited.text

    async def found_by_new_meaning() -> bool:
        return cat_id in await search(runtime, "tax deadline paperwork", bob)

    await until(found_by_new_meaning)
    assert cat_id not in await search(runtime, QUERY, bob), "still found by what it no longer says"
    async with runtime.db.transaction(write=False) as session:
        row = await session.get(StatusVector, cat_id)
    assert row is not None and row.source_edited_at is not None


async def test_the_server_runs_the_embedder(database_url: str, tmp_path: Path):
    """As `agora serve` runs: the app's lifespan starts the embedder and stops it at shutdown."""
    application = create_app(make_settings(database_url, tmp_path / "served", embedder_enabled=True))
    runtime: Runtime = application.state.runtime
    publish = runtime.db.event_sink
    async with application.router.lifespan_context(application):
        alice, bob = await make_member(runtime, "alice"), await make_member(runtime, "bob")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://testserver") as client:
            cat_id = int((await post(client, alice, CAT))["id"])

            async def found_cat() -> bool:
                return cat_id in await search(runtime, QUERY, bob)

            await until(found_cat)
        embedder = runtime.shared["search.embedder"]
    assert embedder.embedded >= 1
    assert runtime.db.event_sink is publish, "the stopped embedder still listens to the database's events"


async def test_a_deleted_post_vanishes_at_once(client, runtime, alice, bob, embedder):
    cat = await post(client, alice, CAT)
    cat_id = int(cat["id"])

    async def found_cat() -> bool:
        return cat_id in await search(runtime, QUERY, bob)

    await until(found_cat)
    deleted = await client.delete(f"/api/v1/statuses/{cat_id}", headers=alice.headers)
    assert deleted.status_code == 200, deleted.text

    assert cat_id not in await search(runtime, QUERY, bob)
    assert cat_id not in embedder.index, "the index still holds the deleted post"
    async with runtime.db.transaction(write=False) as session:
        assert await session.get(StatusVector, cat_id) is None


async def test_a_deleted_post_never_surfaces_even_from_a_stale_index(client, runtime, alice, bob):
    cat = await post(client, alice, CAT)
    await embed_missing(runtime.db)
    index = index_for_engine(runtime.db.engine)
    stale = np.stack([embed([CAT])[0]])
    # No embedder is listening here, so the index does not hear of the delete: the database check must.
    assert (await client.delete(f"/api/v1/statuses/{cat['id']}", headers=alice.headers)).status_code == 200
    index.upsert([int(cat["id"])], stale)
    assert int(cat["id"]) not in await search(runtime, QUERY, bob)


async def test_only_what_the_searcher_may_see(client, runtime, alice, bob, carol):
    private = await post(client, alice, CAT, visibility="private")
    direct = await post(client, alice, f"@bob {CAT}", visibility="direct")
    public = await post(client, carol, "our kitten naps on my laptop all day")
    follow = await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=carol.headers)
    assert follow.status_code == 200, follow.text
    await embed_missing(runtime.db)
    private_id, direct_id, public_id = int(private["id"]), int(direct["id"]), int(public["id"])

    assert private_id not in await search(runtime, QUERY, bob), "a non-follower found a private post"
    assert private_id not in await search(runtime, QUERY, None)
    assert private_id in await search(runtime, QUERY, carol), "a follower cannot find it"
    assert private_id in await search(runtime, QUERY, alice), "the author cannot find it"
    assert direct_id not in await search(runtime, QUERY, bob), "a direct message surfaced in search"

    # Muting (or blocking) an author hides their posts; opting out of search hides them from others.
    assert public_id in await search(runtime, QUERY, bob)
    assert (await client.post(f"/api/v1/accounts/{carol.id}/mute", headers=bob.headers)).status_code == 200
    assert public_id not in await search(runtime, QUERY, bob)
    opted_out = await client.patch("/api/v1/accounts/update_credentials", headers=carol.headers,
                                   json={"indexable": False})
    assert opted_out.status_code == 200, opted_out.text
    assert public_id not in await search(runtime, QUERY, alice)
    assert public_id in await search(runtime, QUERY, carol), "an opted-out member cannot find their own post"


async def test_the_index_rebuilt_from_the_database_after_a_restart_answers_the_same(
        client, runtime, alice, bob, database_url: str, tmp_path: Path):
    for text in [CAT, *UNRELATED, "a cat video went viral today", "two kittens asleep in a box"]:
        await post(client, alice, text)
    await embed_missing(runtime.db)
    async with runtime.db.transaction(write=False) as session:
        before = await semantic.search_status_ids(session, QUERY, viewer_id=int(bob.id), limit=5)

    async with app_client(make_settings(database_url, tmp_path / "restarted")) as (_http, restarted):
        index = index_for_engine(restarted.db.engine)
        assert index is not index_for_engine(runtime.db.engine) and not index.loaded
        async with restarted.db.transaction(write=False) as session:
            after = await semantic.search_status_ids(session, QUERY, viewer_id=int(bob.id), limit=5)
        assert len(index) == 6

    assert [i for i, _ in after] == [i for i, _ in before] and len(before) >= 3
    assert np.allclose([s for _, s in after], [s for _, s in before], atol=1e-4)


async def test_search_input_that_finds_nothing(runtime, bob):
    assert await search(runtime, "", bob) == []
    assert await search(runtime, "   ", bob) == []
    assert await search(runtime, "x" * 100_000, bob) == []  # clipped before the model; nothing indexed


def test_embeddings_are_unit_length_float32():
    vectors = embed(["hello world", "", "你好，世界"])
    assert vectors.shape == (3, DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_ann_recall_against_exact_search():
    rng = np.random.default_rng(6)
    matrix = rng.standard_normal((600, DIMENSIONS)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = np.arange(10**15, 10**15 + 600, dtype=np.int64)  # snowflake-sized keys
    index = VectorIndex(exact_below=0)  # the HNSW graph itself, not the small-index brute force
    index.upsert(ids.tolist(), matrix)
    queries = rng.standard_normal((50, DIMENSIONS)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    hits = 0
    for query in queries:
        truth = {i for i, _ in exact_search(ids, matrix, query, 10)}
        hits += len(truth & {i for i, _ in index.search(query, 10)})
    recall = hits / (10 * len(queries))
    assert recall >= 0.9, f"recall@10 {recall:.3f}"
    # Removal takes effect at once.
    index.remove([int(ids[0])])
    assert int(ids[0]) not in {i for i, _ in index.search(matrix[0], 10)}
    # A small index answers by brute force: exactly the true neighbours.
    small = VectorIndex()
    small.upsert(ids.tolist(), matrix)
    assert [i for i, _ in small.search(queries[0], 10)] == [i for i, _ in exact_search(ids, matrix, queries[0], 10)]

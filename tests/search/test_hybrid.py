"""Hybrid ranking: reciprocal rank fusion of the keyword and meaning rankings, its tie-breakers, and
how each mode and sort treats a query — through the service, with the real model and databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from agora.kit.runtime import Runtime
from agora.kit.time import clock_at, utcnow
from agora.models import Account
from agora.search import hybrid
from agora.search.embedder import embed_missing
from agora.search.query import BadQuery
from agora.social import interactions, statuses
from agora.social.statuses import Draft
from tests.factories import Member

DAY = date(2026, 12, 1)


def test_rrf_scores_are_reciprocal_ranks_with_k_60() -> None:
    scores = hybrid.rrf([([10, 20], 1.0), ([20, 30], 1.0)])
    assert scores[10] == pytest.approx(1 / 61)
    assert scores[20] == pytest.approx(1 / 62 + 1 / 61)  # found by both: the best of all
    assert scores[30] == pytest.approx(1 / 62)
    assert hybrid.RRF_K == 60


def test_a_post_both_rankings_found_beats_a_post_only_one_ranked_first() -> None:
    ties = {i: (DAY, 0) for i in range(1, 6)}
    assert hybrid.fuse([1, 2, 3], [4, 2, 5], ties)[0] == 2


def test_ties_go_to_the_newer_day_then_to_more_engagement_then_to_the_newer_id() -> None:
    # 1 is first in the keyword list only, 2 first in the meaning list only: equal fused scores.
    assert hybrid.fuse([1], [2], {1: (DAY, 0), 2: (DAY - timedelta(days=1), 99)}) == [1, 2]  # newer day wins
    assert hybrid.fuse([1], [2], {1: (DAY, 3), 2: (DAY, 7)}) == [2, 1]  # same day: more engagement wins
    assert hybrid.fuse([1], [2], {1: (DAY, 5), 2: (DAY, 5)}) == [2, 1]  # all equal: the newer id
    assert hybrid.fuse([1], [2], {1: (DAY, 5)}) == [1, 2]  # one deleted meanwhile: last among equals


async def write(runtime: Runtime, who: Member, text: str, *, days_ago: float = 0) -> int:
    with clock_at(utcnow() - timedelta(days=days_ago)):
        async with runtime.db.transaction() as session:
            author = await session.get(Account, int(who.id))
            created = await statuses.create(session, author=author, draft=Draft(text=text), settings=runtime.settings)
            return created.id


async def find(runtime: Runtime, q: str, viewer: Member | None, **kwargs) -> list[int]:
    async with runtime.db.transaction(write=False) as session:
        return await hybrid.search_statuses(session, q, viewer_id=int(viewer.id) if viewer else None,
                                            limit=kwargs.pop("limit", 10), **kwargs)


async def test_hybrid_puts_the_post_matching_words_and_meaning_first(runtime, alice, bob) -> None:
    both = await write(runtime, alice, "Our cat naps on the warm laptop keyboard all afternoon", days_ago=3)
    words_only = await write(runtime, alice, "The laptop battery report for the quarterly audit", days_ago=1)
    meaning_only = await write(runtime, alice, "My kitten dozes on my computer every day", days_ago=2)
    await write(runtime, alice, "Football results from the weekend")
    await embed_missing(runtime.db)

    lexical = await find(runtime, "cat laptop", bob, mode="lexical")
    assert lexical == [both]  # every word must appear
    semantic = await find(runtime, "cat laptop", bob, mode="semantic")
    assert {both, meaning_only} <= set(semantic[:3])
    fused = await find(runtime, "cat laptop", bob)
    assert fused[0] == both and meaning_only in fused
    assert words_only not in lexical and words_only not in fused[:1]
    # Latest: the same matches, newest first.
    latest = await find(runtime, "cat laptop", bob, sort="latest")
    assert latest == sorted(set(lexical) | set(semantic), reverse=True)


async def test_engagement_breaks_a_tie_between_posts_of_the_same_day(runtime, alice, bob, carol) -> None:
    plain = await write(runtime, alice, "pelican spotted at the harbour")
    liked = await write(runtime, alice, "pelican spotted at the marina")
    async with runtime.db.transaction() as session:
        for who in (bob, carol):
            await interactions.favourite(session, account=await session.get(Account, int(who.id)), status_id=plain)
    async with runtime.db.transaction(write=False) as session:
        ties = await hybrid._tie_breakers(session, [plain, liked])
    assert ties[plain][1] == 2 and ties[liked][1] == 0 and ties[plain][0] == ties[liked][0]
    assert hybrid.fuse([liked], [plain], ties) == [plain, liked]


async def test_operators_alone_list_matches_newest_first_in_every_mode(runtime, alice, bob) -> None:
    old = await write(runtime, alice, "an older post", days_ago=2)
    new = await write(runtime, alice, "a newer post")
    await write(runtime, bob, "someone else's post")
    for mode in hybrid.MODES:
        assert await find(runtime, "from:alice", bob, mode=mode) == [new, old]
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    assert await find(runtime, f"from:alice since:{since}", bob) == [new]


async def test_paging_and_an_empty_or_malformed_query(runtime, alice, bob) -> None:
    ids = [await write(runtime, alice, f"lighthouse keeper log {i}") for i in range(5)]
    pages = [await find(runtime, "lighthouse", bob, limit=2, offset=o, sort="latest") for o in (0, 2, 4)]
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]
    assert await find(runtime, "", bob) == []
    assert await find(runtime, "   ", bob) == []
    with pytest.raises(BadQuery):
        await find(runtime, "since:yesterday lighthouse", bob)
    with pytest.raises(ValueError):
        await find(runtime, "lighthouse", bob, mode="magic")


async def test_a_quoted_phrase_holds_for_posts_found_by_meaning_too(runtime, alice, bob) -> None:
    quoted = await write(runtime, alice, "the night bus was late again, cold at the stop")
    near = await write(runtime, alice, "waited forty minutes for the late-night coach home")
    await embed_missing(runtime.db)
    assert near in await find(runtime, "night bus late", bob, mode="semantic")
    for mode in hybrid.MODES:
        assert await find(runtime, '"night bus" late', bob, mode=mode) == [quoted]

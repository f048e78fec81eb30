"""PostgreSQL ranks only the newest `lexical.CANDIDATES` visible matches (SQLite ranks them all):
the cut keeps the best-ranked of those, every filter applies before it, so posts the viewer may not
find never take a candidate's place, and a page deeper than the cut widens it."""

from __future__ import annotations

import pytest

from agora.kit.runtime import Runtime
from agora.search import lexical
from agora.social import graph
from tests.factories import Member
from tests.search.test_lexical import find, relate, write

LONG = "A long day of meetings, emails, trains, lunch and finally some kayak time"


async def _posts(runtime: Runtime, alice: Member, carol: Member) -> tuple[int, int, int, int]:
    """Alice's strongest match first (so the oldest), then three newer ones, then carol's three newest."""
    oldest_best = await write(runtime, alice, "Kayak kayak kayak")
    long_one = await write(runtime, alice, LONG)
    strong = await write(runtime, alice, "Kayak! Kayak again")
    long_two = await write(runtime, alice, LONG)
    for _ in range(3):
        await write(runtime, carol, "kayak")
    return oldest_best, long_one, strong, long_two


async def test_the_cut_keeps_the_best_ranked_of_the_newest_visible_matches(
        runtime, backend, alice, bob, carol, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "CANDIDATES", 3)
    oldest_best, long_one, strong, long_two = await _posts(runtime, alice, carol)
    await relate(runtime, graph.mute, bob, carol)  # carol's newer posts must not fill the candidates
    found = await find(runtime, "kayak", bob, limit=3)  # a page inside the cut
    if backend == "postgres":
        # The three newest *visible* matches, best first (equal ranks: newest first); the older,
        # better post is past the cut.
        assert found == [strong, long_two, long_one]
    else:  # FTS5's bm25 ranks every match
        assert found[0] == oldest_best and set(found) < {oldest_best, long_one, strong, long_two}


async def test_operators_filter_before_the_cut(runtime, backend, alice, bob, carol,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "CANDIDATES", 3)
    oldest_best, long_one, strong, long_two = await _posts(runtime, alice, carol)
    found = await find(runtime, f"kayak from:{alice.username}", bob, limit=3)
    expected = [strong, long_two, long_one] if backend == "postgres" else [oldest_best, strong, long_two]
    assert set(found) == set(expected) and found[0] == expected[0]
    # A page reaching past the cut widens it (to offset + limit): paging never runs dry early.
    assert len(await find(runtime, f"kayak from:{alice.username}", bob, limit=2, offset=2)) == 2

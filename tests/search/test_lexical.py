"""Keyword search through the services, on SQLite and PostgreSQL: what a member finds, and what
they must never find."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text, update

from agora.kit.runtime import Runtime
from agora.kit.time import clock_at
from agora.models import Account
from agora.search import indexing, lexical
from agora.search.query import BadQuery, parse
from agora.social import graph, statuses
from agora.social.statuses import Draft
from tests.factories import Member


async def write(runtime: Runtime, who: Member, body: str, **draft) -> int:
    async with runtime.db.transaction() as session:
        author = await session.get(Account, int(who.id))
        status = await statuses.create(session, author=author, draft=Draft(text=body, **draft),
                                       settings=runtime.settings)
        return status.id


async def find(runtime: Runtime, q: str, viewer: Member | None = None, **kwargs) -> list[int]:
    async with runtime.db.transaction(write=False) as session:
        return await lexical.search_status_ids(session, parse(q), viewer_id=int(viewer.id) if viewer else None,
                                               limit=kwargs.pop("limit", 20), **kwargs)


async def people(runtime: Runtime, q: str, viewer: Member | None = None, **kwargs) -> list[int]:
    async with runtime.db.transaction(write=False) as session:
        return await lexical.search_account_ids(session, q, viewer_id=int(viewer.id) if viewer else None,
                                                limit=20, **kwargs)


async def tags(runtime: Runtime, q: str) -> list[str]:
    async with runtime.db.transaction(write=False) as session:
        return await lexical.search_tag_names(session, q, limit=20)


async def set_account(runtime: Runtime, who: Member, **values) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == int(who.id)).values(**values))


async def relate(runtime: Runtime, action, who: Member, target: Member) -> None:
    async with runtime.db.transaction() as session:
        actor = await session.get(Account, int(who.id))
        keyword = {graph.follow: "follower", graph.block: "blocker", graph.mute: "muter"}[action]
        await action(session, **{keyword: actor}, target_id=int(target.id))


async def test_a_phrase_needs_its_words_together_and_in_order(runtime, alice, bob) -> None:
    together = await write(runtime, alice, "The quick brown fox jumps")
    apart = await write(runtime, alice, "Brown bread, and a quick walk")
    assert set(await find(runtime, "quick brown", bob)) == {together, apart}
    assert await find(runtime, '"quick brown"', bob) == [together]
    assert await find(runtime, "QUICK Brown fox", bob) == [together]  # case does not matter
    assert await find(runtime, "quick zebra", bob) == []  # every word must appear


async def test_the_closer_match_ranks_first(runtime, alice, bob) -> None:
    long = await write(runtime, alice, "A long day of meetings, emails, trains, lunch and finally some kayak time")
    short = await write(runtime, alice, "Kayak! Kayak again")
    await write(runtime, alice, "nothing to do with boats")
    assert await find(runtime, "kayak", bob) == [short, long]


async def test_from_and_hashtag_and_language_filters(runtime, alice, bob, carol) -> None:
    a_en = await write(runtime, alice, "Fresh bread this morning #Baking", language="en")
    a_de = await write(runtime, alice, "Frisches Brot heute #baking", language="de")
    b_en = await write(runtime, bob, "Bread is life", language="en")
    assert set(await find(runtime, "bread", carol)) == {a_en, b_en}
    assert await find(runtime, "bread from:bob", carol) == [b_en]
    assert await find(runtime, "from:alice@example.org bread", carol) == [a_en]
    assert set(await find(runtime, "#BAKING", carol)) == {a_en, a_de}
    assert await find(runtime, "#baking lang:de", carol) == [a_de]
    assert set(await find(runtime, "from:alice", carol)) == {a_en, a_de}  # filters alone: newest first
    assert await find(runtime, "from:alice", carol) == [a_de, a_en]
    assert await find(runtime, "bread from:nobody", carol) == []


async def test_since_and_until_pick_days(runtime, alice, bob) -> None:
    with clock_at(datetime(2026, 9, 15, 12, tzinfo=UTC)):  # as an import backdates a post: its id and time
        old = await write(runtime, alice, "harvest festival report")
    new = await write(runtime, alice, "harvest festival again")
    assert await find(runtime, "harvest since:2026-10-01", bob) == [new]
    assert await find(runtime, "harvest until:2026-10-01", bob) == [old]
    assert await find(runtime, "harvest since:2026-09-15 until:2026-09-16", bob) == [old]
    assert set(await find(runtime, "harvest since:2026-09-01", bob)) == {old, new}


async def test_chinese_and_japanese_are_found_inside_unspaced_text(runtime, alice, bob) -> None:
    park = await write(runtime, alice, "我们今天去公园")
    cat = await write(runtime, alice, "黒い猫が好きです")
    assert await find(runtime, "公园", bob) == [park]
    assert await find(runtime, "今天去", bob) == [park]
    assert await find(runtime, "猫", bob) == [cat]
    assert await find(runtime, "猫が好き", bob) == [cat]
    assert await find(runtime, "公猫", bob) == []


async def test_an_edit_is_found_by_its_new_words_only(runtime, alice, bob) -> None:
    status_id = await write(runtime, alice, "Meet at the lighthouse")
    async with runtime.db.transaction() as session:
        author = await session.get(Account, int(alice.id))
        await statuses.edit(session, author=author, status_id=status_id, draft=Draft(text="Meet at the harbour"),
                            media_descriptions={}, settings=runtime.settings)
    assert await find(runtime, "harbour", bob) == [status_id]
    assert await find(runtime, "lighthouse", bob) == []


async def test_a_deleted_post_is_gone_at_once(runtime, alice, bob) -> None:
    status_id = await write(runtime, alice, "ephemeral thoughts")
    assert await find(runtime, "ephemeral", bob) == [status_id]
    async with runtime.db.transaction() as session:
        author = await session.get(Account, int(alice.id))
        await statuses.delete_status(session, author=author, status_id=status_id)
    assert await find(runtime, "ephemeral", bob) == []
    assert await find(runtime, "ephemeral", alice) == []


async def test_private_posts_only_for_followers_and_direct_only_for_those_addressed(runtime, alice, bob, carol) -> None:
    private = await write(runtime, alice, "secret picnic plans", visibility="private")
    direct = await write(runtime, alice, "@bob secret picnic address", visibility="direct")
    await relate(runtime, graph.follow, carol, alice)
    assert await find(runtime, "secret picnic", None) == []
    assert await find(runtime, "secret picnic", bob) == [direct]  # not a follower, but addressed
    assert await find(runtime, "secret picnic", carol) == [private]  # a follower, not addressed
    assert set(await find(runtime, "secret picnic", alice)) == {private, direct}


async def test_unlisted_posts_are_not_discovered_by_others(runtime, alice, bob) -> None:
    quiet = await write(runtime, alice, "quiet unlisted musing", visibility="unlisted")
    assert await find(runtime, "musing", bob) == []
    assert await find(runtime, "musing", None) == []
    assert await find(runtime, "musing", alice) == [quiet]


async def test_blocked_and_muted_authors_are_not_found(runtime, alice, bob, carol) -> None:
    await write(runtime, alice, "volcano photos")
    await write(runtime, bob, "volcano photos too")
    await relate(runtime, graph.block, carol, alice)
    await relate(runtime, graph.mute, carol, bob)
    assert await find(runtime, "volcano", carol) == []
    assert len(await find(runtime, "volcano", None)) == 2
    # A block hides both ways: alice no longer finds carol's posts either.
    await write(runtime, carol, "volcano trip")
    assert len(await find(runtime, "volcano", alice)) == 2


async def test_members_who_opt_out_of_indexing_are_found_only_by_themselves(runtime, alice, bob) -> None:
    status_id = await write(runtime, alice, "gardening diary entry #garden")
    await set_account(runtime, alice, indexable=False)
    assert await find(runtime, "gardening", bob) == []
    assert await find(runtime, "#garden", bob) == []
    assert await find(runtime, "gardening", None) == []
    assert await find(runtime, "gardening", alice) == [status_id]


@pytest.mark.parametrize("q", ['"', '"""', "*", "NEAR(a b)", "near(bread, 2)", "text:foo", "body:bread",
                               ") OR (", "'; DROP TABLE statuses; --", "bread*", "^bread", "a AND OR NOT",
                               "{body} : bread", "- bread", "bread\x00", "''", "\\", "💥🔥", "#", "from:",
                               "lang:", "\u202e"])
async def test_fts_syntax_typed_by_a_member_is_never_executed(runtime, alice, bob, q) -> None:
    bread = await write(runtime, alice, "bread and foo")
    found = await find(runtime, q, bob)  # never raises: at worst, finds nothing
    assert set(found) <= {bread}
    assert await find(runtime, "bread", bob) == [bread]  # and the table is still there


async def test_a_huge_query_is_refused_clearly(runtime, bob) -> None:
    with pytest.raises(BadQuery) as caught:
        await find(runtime, "bread " * 2000, bob)
    assert caught.value.status_code == 422
    with pytest.raises(BadQuery):
        await people(runtime, "x" * 10_000, bob)


async def test_paging_through_results(runtime, alice, bob) -> None:
    ids = [await write(runtime, alice, f"pagination sample {n}") for n in range(5)]
    first = await find(runtime, "pagination", bob, limit=2)
    second = await find(runtime, "pagination", bob, limit=2, offset=2)
    rest = await find(runtime, "pagination", bob, limit=2, offset=4)
    assert len(first) == 2 and len(second) == 2 and len(rest) == 1
    assert set(first + second + rest) == set(ids)


async def test_mastodon_paging_and_author_parameters(runtime, alice, bob) -> None:
    older = await write(runtime, alice, "tide tables")
    middle = await write(runtime, bob, "tide tables")
    newer = await write(runtime, alice, "tide tables")
    assert set(await find(runtime, "tide", bob, account_id=int(alice.id))) == {older, newer}
    assert set(await find(runtime, "tide", bob, max_id=newer)) == {older, middle}
    assert set(await find(runtime, "tide", bob, min_id=older)) == {middle, newer}
    assert await find(runtime, "tide", bob, min_id=older, max_id=newer) == [middle]


async def test_suspended_members_are_found_by_no_one(runtime, alice, bob) -> None:
    await write(runtime, alice, "suspicious offers #deals")
    await set_account(runtime, alice, suspended=True)
    assert await find(runtime, "suspicious", bob) == []
    assert await people(runtime, "alice", bob) == []
    assert await tags(runtime, "deal") == []


async def test_reindexing_restores_a_lost_index(runtime, alice, bob) -> None:
    status_id = await write(runtime, alice, "rebuild me 再建")
    async with runtime.db.transaction() as session:
        table = "status_fts" if runtime.db.is_sqlite else "status_search"
        await session.execute(text(f"DELETE FROM {table}"))
    assert await find(runtime, "rebuild", bob) == []
    async with runtime.db.transaction() as session:
        assert await indexing.reindex_all(session, batch=1) >= 1
    assert await find(runtime, "rebuild", bob) == [status_id]
    assert await find(runtime, "再建", bob) == [status_id]


async def test_account_search_by_name_prefix_and_bio(runtime, alice, bob, carol) -> None:
    await set_account(runtime, alice, display_name="Alice Liddell", note="I write about 园艺 and teapots")
    await set_account(runtime, bob, display_name="Robert Teal")
    assert await people(runtime, "ali", carol) == [int(alice.id)]
    assert await people(runtime, "@alice@example.org", carol) == [int(alice.id)]
    assert await people(runtime, "lidd", carol) == [int(alice.id)]  # a word of the display name
    assert await people(runtime, "teapot", carol) == [int(alice.id)]  # the bio
    assert await people(runtime, "园艺", carol) == [int(alice.id)]
    await set_account(runtime, carol, display_name="王小明")
    assert await people(runtime, "小明", alice) == [int(carol.id)]  # no spaces in Chinese names
    # The username beats a display name, which beats a bio.
    await set_account(runtime, carol, note="a teal fan")
    found = await people(runtime, "tea", alice)
    assert found[0] == int(bob.id) and set(found) == {int(alice.id), int(bob.id), int(carol.id)}
    assert await people(runtime, "robert", None) == [int(bob.id)]
    assert await people(runtime, "%", carol) == []  # LIKE wildcards are plain characters
    assert await people(runtime, "_", carol) == []


async def test_account_search_ranks_username_first(runtime, alice, bob, carol) -> None:
    await set_account(runtime, bob, display_name="Carolina fan")
    assert await people(runtime, "carol", alice) == [int(carol.id), int(bob.id)]


async def test_account_search_respects_opt_out_blocks_and_following(runtime, alice, bob, carol) -> None:
    await set_account(runtime, alice, discoverable=False)
    assert await people(runtime, "alice", bob) == []
    assert await people(runtime, "alice", None) == []
    assert await people(runtime, "alice", alice) == [int(alice.id)]
    await relate(runtime, graph.block, bob, carol)
    assert await people(runtime, "carol", bob) == []
    assert await people(runtime, "bob", carol) == []
    await set_account(runtime, alice, discoverable=True)
    assert await people(runtime, "alice", bob, following=True) == []
    await relate(runtime, graph.follow, bob, alice)
    assert await people(runtime, "alice", bob, following=True) == [int(alice.id)]
    assert await people(runtime, "alice", None, following=True) == []


async def test_hashtags_by_prefix_most_used_first_and_never_from_private_posts(runtime, alice, bob) -> None:
    await write(runtime, alice, "#Photography walk")
    await write(runtime, bob, "#photography again and #photo")
    await write(runtime, alice, "#photoshopped", visibility="private")
    await write(runtime, alice, "#phonebanking", visibility="direct")
    assert await tags(runtime, "pho") == ["Photography", "photo"]
    assert await tags(runtime, "#photo") == ["photo", "Photography"]  # an exact match first
    assert await tags(runtime, "photos") == []
    assert await tags(runtime, "%") == [] and await tags(runtime, "") == []

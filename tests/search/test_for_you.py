"""The ranked "For you" timeline over HTTP: what it shows, what it never shows, how it ranks and pages.

Real databases (SQLite, and PostgreSQL when configured), the real API for posting, following,
favouriting, muting and blocking; older posts are made through the real service at a chosen moment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from agora.kit.runtime import Runtime
from agora.kit.time import clock_at, utcnow
from agora.models import Account
from agora.search import for_you, for_you_candidates, trends
from agora.search.embedder import embed_missing
from agora.social import statuses
from agora.social.statuses import Draft
from tests.factories import Member, make_member, post

URL = "/api/v1/timelines/for_you"


@pytest.fixture(autouse=True)
def fresh_caches():
    for_you.clear_snapshots()
    trends.clear_cache()
    yield
    for_you.clear_snapshots()
    trends.clear_cache()


async def feed(client: httpx.AsyncClient, who: Member, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(URL, headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def feed_ids(client: httpx.AsyncClient, who: Member, **params: Any) -> list[str]:
    return [s["id"] for s in await feed(client, who, **params)]


async def act(client: httpx.AsyncClient, who: Member, path: str) -> None:
    response = await client.post(path, headers=who.headers)
    assert response.status_code == 200, response.text


async def follow(client: httpx.AsyncClient, who: Member, target: Member) -> None:
    await act(client, who, f"/api/v1/accounts/{target.id}/follow")


async def favourite(client: httpx.AsyncClient, who: Member, status: dict[str, Any]) -> None:
    await act(client, who, f"/api/v1/statuses/{status['id']}/favourite")


async def old_post(runtime: Runtime, who: Member, text: str, hours_ago: float) -> str:
    """A public post made `hours_ago`, through the real service."""
    async with runtime.db.transaction() as session:
        with clock_at(utcnow() - timedelta(hours=hours_ago)):
            author = await session.get(Account, int(who.id))
            status = await statuses.create(session, author=author, draft=Draft(text=text),
                                           settings=runtime.settings)
    return str(status.id)


async def test_followed_posts_and_posts_they_liked_appear_as_home_statuses(client, alice, bob, carol, runtime):
    dave = await make_member(runtime, "dave")
    await follow(client, alice, bob)
    from_bob = await post(client, bob, "morning run along the river")
    from_carol = await post(client, carol, "a long read about bridges")
    await favourite(client, bob, from_carol)  # alice follows bob, not carol
    stranger = await post(client, dave, "nobody alice follows liked this one")  # newer than carol's
    mine = await post(client, alice, "my own post")
    already = await post(client, bob, "alice has favourited this already")
    await favourite(client, alice, already)

    shown = await feed(client, alice)
    ids = [s["id"] for s in shown]
    assert from_bob["id"] in ids
    assert from_carol["id"] in ids
    # Liked by someone alice follows: ranked above a newer stranger's post nobody she follows liked.
    assert ids.index(from_carol["id"]) < ids.index(stranger["id"])
    # Seen: her own posts and what she already favourited.
    assert mine["id"] not in ids and already["id"] not in ids
    # The same Status entity as the home timeline.
    home = (await client.get("/api/v1/timelines/home", headers=alice.headers)).json()
    home_bob = next(s for s in home if s["id"] == from_bob["id"])
    ours = next(s for s in shown if s["id"] == from_bob["id"])
    assert ours == home_bob



async def test_posts_read_past_in_following_count_as_seen(client, alice, bob):
    await follow(client, alice, bob)
    read = await post(client, bob, "alice scrolled past this in Following")
    unread = await post(client, bob, "and not yet this one")
    assert {read["id"], unread["id"]} <= set(await feed_ids(client, alice))

    saved = await client.post("/api/v1/markers", headers=alice.headers, data={"home[last_read_id]": read["id"]})
    assert saved.status_code == 200, saved.text
    ids = await feed_ids(client, alice)
    assert unread["id"] in ids and read["id"] not in ids

async def test_muted_and_blocked_authors_never_appear(client, alice, bob, runtime):
    mallory = await make_member(runtime, "mallory")
    eve = await make_member(runtime, "eve")
    await follow(client, alice, bob)
    await follow(client, alice, mallory)
    muted = [await post(client, mallory, f"mallory says {i}") for i in range(3)]
    blocked = [await post(client, eve, f"eve says {i}") for i in range(3)]
    for status in [*muted, *blocked]:
        await favourite(client, bob, status)  # social proof must not bring them back
    assert {s["id"] for s in muted + blocked} <= set(await feed_ids(client, alice, limit=40))

    await act(client, alice, f"/api/v1/accounts/{mallory.id}/mute")
    await act(client, alice, f"/api/v1/accounts/{eve.id}/block")
    shown = await feed(client, alice, limit=40)
    assert not {s["account"]["id"] for s in shown} & {mallory.id, eve.id}
    # Nor from the kept ranking, on a later page.
    assert not {s["account"]["id"] for s in await feed(client, alice, limit=40, max_id=muted[0]["id"])} \
        & {mallory.id, eve.id}


async def test_private_and_direct_posts_stay_with_those_allowed(client, alice, bob, carol, runtime):
    dave = await make_member(runtime, "dave")
    await follow(client, alice, bob)
    await follow(client, bob, carol)
    await follow(client, alice, dave)
    secret = await post(client, carol, "followers only, from carol", visibility="private")
    await favourite(client, bob, secret)  # bob may see it; alice does not follow carol
    quiet = await post(client, carol, "unlisted, from carol", visibility="unlisted")
    await favourite(client, bob, quiet)
    dm = await post(client, bob, "@alice just between us", visibility="direct")
    friends_only = await post(client, dave, "followers only, from dave", visibility="private")

    ids = await feed_ids(client, alice, limit=40)
    assert secret["id"] not in ids
    assert quiet["id"] not in ids  # unlisted: not recommended to people who do not follow carol
    assert dm["id"] not in ids  # DMs belong in conversations, not in a feed
    assert friends_only["id"] in ids  # alice follows dave, so she may read it
    outsider = await make_member(runtime, "outsider")
    assert not {secret["id"], quiet["id"], dm["id"], friends_only["id"]} & set(
        await feed_ids(client, outsider, limit=40))


async def test_one_prolific_author_does_not_fill_the_first_page(client, alice, bob, runtime):
    others = [await make_member(runtime, f"friend{i}") for i in range(6)]
    for friend in others:
        await follow(client, alice, friend)
        await post(client, friend, f"one post from {friend.username}")
    await follow(client, alice, bob)
    for i in range(15):  # the newest posts of all, and two of alice's friends like each one
        status = await post(client, bob, f"bob again, number {i}")
        for friend in others[:2]:
            await favourite(client, friend, status)

    page = await feed(client, alice, limit=10)
    authors = [s["account"]["id"] for s in page]
    assert len(page) == 10
    assert authors.count(bob.id) <= 4
    assert len(set(authors)) >= 6


async def test_a_new_member_with_no_follows_gets_popular_public_posts(client, alice, bob, carol, runtime):
    plain = await post(client, bob, "a quiet public post")
    popular = await post(client, carol, "everyone loves this one")
    hidden = await post(client, carol, "only for my followers", visibility="private")
    for fan in [await make_member(runtime, f"fan{i}") for i in range(4)]:
        await favourite(client, fan, popular)

    newcomer = await make_member(runtime, "newcomer")
    ids = await feed_ids(client, newcomer)
    assert ids[:2] == [popular["id"], plain["id"]]
    assert hidden["id"] not in ids


async def test_engagement_outranks_a_slightly_newer_post_and_old_posts_sink(client, alice, bob, carol, runtime):
    await follow(client, alice, bob)
    await follow(client, alice, carol)
    engaged = await old_post(runtime, bob, "what is your favourite bridge?", hours_ago=2)
    newer = await old_post(runtime, carol, "what is your favourite tunnel?", hours_ago=1)
    stale = await old_post(runtime, carol, "what is your favourite road?", hours_ago=40)
    await old_post(runtime, bob, "what is your favourite river?", hours_ago=41)  # as many posts as carol
    fans = [await make_member(runtime, f"fan{i}") for i in range(5)]
    for fan in fans:
        await act(client, fan, f"/api/v1/statuses/{engaged}/favourite")
    for fan in fans[:3]:
        await post(client, fan, "the old stone one", in_reply_to_id=engaged)

    ids = await feed_ids(client, alice, limit=40)
    assert ids.index(engaged) < ids.index(newer) < ids.index(stale)


async def test_pages_follow_the_link_header_without_repeating_a_post(client, alice, runtime):
    authors = [await make_member(runtime, f"writer{i}") for i in range(4)]
    for writer in authors[:3]:
        await follow(client, alice, writer)
    for i in range(8):
        for writer in authors:
            await post(client, writer, f"{writer.username} post {i}")

    seen: list[str] = []
    params: dict[str, str] = {"limit": "5"}
    for _ in range(20):
        response = await client.get(URL, headers=alice.headers, params=params)
        assert response.status_code == 200
        page = [s["id"] for s in response.json()]
        if not page:
            break
        seen += page
        link = response.links.get("next")
        assert link is not None
        params = dict(httpx.URL(link["url"]).params)
        assert params["max_id"] == page[-1]
    assert len(seen) == len(set(seen)) == 32
    # Asking for "newer than" a ranked feed answers nothing rather than repeating it.
    assert await feed_ids(client, alice, min_id=seen[0]) == []


@pytest.mark.parametrize("params", [{"limit": "lots"}, {"max_id": "abc"}, {"max_id": "-5"},
                                    {"since_id": "1e9"}, {"max_id": "9" * 30}])
async def test_bad_parameters_are_422(client, alice, params):
    response = await client.get(URL, headers=alice.headers, params=params)
    assert response.status_code == 422
    assert "error" in response.json()


async def test_it_needs_a_member_with_read_access(client, runtime):
    assert (await client.get(URL)).status_code == 401
    writer = await make_member(runtime, "writeonly", scopes=("write",))
    assert (await client.get(URL, headers=writer.headers)).status_code == 403


async def test_posts_near_what_you_liked_rank_above_unrelated_ones(client, alice, bob, carol, runtime):
    liked = await post(client, bob, "my cat sleeps on the keyboard every afternoon")
    await favourite(client, alice, liked)
    kitten = await post(client, carol, "our kitten naps on my laptop all day long")
    taxes = await post(client, carol, "quarterly tax forms are due on friday, keep the receipts")  # newer
    assert await embed_missing(runtime.db) >= 3

    ids = await feed_ids(client, alice)
    assert ids.index(kitten["id"]) < ids.index(taxes["id"])
    async with runtime.db.transaction(write=False) as session:
        gathered = await for_you_candidates.gather(session, viewer_id=int(alice.id), now=utcnow(), window_days=3,
                                                   trend_config=trends.DEFAULT_CONFIG)
    assert "similar" in gathered.candidates[int(kitten["id"])].sources
    assert "similar" not in gathered.candidates[int(taxes["id"])].sources
    assert int(liked["id"]) not in gathered.candidates  # already favourited: seen

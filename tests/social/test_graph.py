"""The social graph over HTTP: follow, follow requests, blocks, mutes, and the lists that page them."""

from __future__ import annotations

import re

import httpx
import pytest

from agora.kit.runtime import Runtime
from tests.factories import Member, make_member, post


async def act(client: httpx.AsyncClient, who: Member, target: Member | str, action: str,
              **body) -> httpx.Response:
    target_id = target if isinstance(target, str) else target.id
    return await client.post(f"/api/v1/accounts/{target_id}/{action}", headers=who.headers, json=body)


async def relationship(client: httpx.AsyncClient, who: Member, target: Member) -> dict:
    response = await client.get("/api/v1/accounts/relationships", headers=who.headers,
                                params={"id[]": target.id})
    assert response.status_code == 200, response.text
    [rel] = response.json()
    assert rel["id"] == target.id
    return rel


async def counts(client: httpx.AsyncClient, who: Member) -> tuple[int, int]:
    account = (await client.get(f"/api/v1/accounts/{who.id}")).json()
    return account["followers_count"], account["following_count"]


async def usernames(client: httpx.AsyncClient, path: str, who: Member | None = None) -> list[str]:
    response = await client.get(path, headers=who.headers if who else None)
    assert response.status_code == 200, response.text
    return [a["username"] for a in response.json()]


async def timeline_ids(client: httpx.AsyncClient, who: Member, which: str) -> set[str]:
    response = await client.get(f"/api/v1/timelines/{which}", headers=who.headers)
    assert response.status_code == 200, response.text
    return {s["id"] for s in response.json()}


async def test_follow_and_unfollow_update_counts_and_relationship(client, alice: Member, bob: Member) -> None:
    followed = await act(client, alice, bob, "follow")
    assert followed.status_code == 200, followed.text
    assert followed.json()["following"] is True and followed.json()["requested"] is False
    assert await counts(client, alice) == (0, 1)
    assert await counts(client, bob) == (1, 0)
    seen_by_alice = await relationship(client, alice, bob)
    seen_by_bob = await relationship(client, bob, alice)
    assert (seen_by_alice["following"], seen_by_alice["followed_by"]) == (True, False)
    assert (seen_by_bob["following"], seen_by_bob["followed_by"]) == (False, True)
    assert await usernames(client, f"/api/v1/accounts/{bob.id}/followers") == ["alice"]
    assert await usernames(client, f"/api/v1/accounts/{alice.id}/following") == ["bob"]

    again = await act(client, alice, bob, "follow")  # following twice is a no-op, not a second edge
    assert again.status_code == 200 and again.json()["following"] is True
    assert await counts(client, bob) == (1, 0)

    unfollowed = await act(client, alice, bob, "unfollow")
    assert unfollowed.status_code == 200 and unfollowed.json()["following"] is False
    assert await counts(client, alice) == (0, 0)
    assert await counts(client, bob) == (0, 0)
    assert (await relationship(client, bob, alice))["followed_by"] is False
    assert await usernames(client, f"/api/v1/accounts/{bob.id}/followers") == []
    # Unfollowing someone you do not follow changes nothing and is not an error.
    assert (await act(client, alice, bob, "unfollow")).status_code == 200
    assert await counts(client, alice) == (0, 0)


async def test_follow_yourself_or_nobody_is_refused(client, alice: Member) -> None:
    assert (await act(client, alice, alice, "follow")).status_code == 403
    missing = await act(client, alice, "123456789", "follow")
    assert missing.status_code == 404 and "error" in missing.json()
    assert await counts(client, alice) == (0, 0)


async def test_locked_account_gets_a_follow_request_it_can_authorize(client, runtime: Runtime,
                                                                      alice: Member) -> None:
    lord = await make_member(runtime, "lord", locked=True)
    asked = await act(client, alice, lord, "follow")
    assert asked.status_code == 200
    assert (asked.json()["following"], asked.json()["requested"]) == (False, True)
    assert await counts(client, lord) == (0, 0)
    assert (await relationship(client, lord, alice))["requested_by"] is True

    notes = (await client.get("/api/v1/notifications", headers=lord.headers)).json()
    assert [(n["type"], n["account"]["username"]) for n in notes] == [("follow_request", "alice")]
    assert await usernames(client, "/api/v1/follow_requests", lord) == ["alice"]
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=lord.headers)).json()
    assert me["source"]["follow_requests_count"] == 1
    # A second follow does not make a second request or notification.
    await act(client, alice, lord, "follow")
    assert await usernames(client, "/api/v1/follow_requests", lord) == ["alice"]

    authorized = await client.post(f"/api/v1/follow_requests/{alice.id}/authorize", headers=lord.headers)
    assert authorized.status_code == 200, authorized.text
    assert authorized.json()["followed_by"] is True
    assert (await relationship(client, alice, lord))["following"] is True
    assert (await relationship(client, alice, lord))["requested"] is False
    assert await counts(client, lord) == (1, 0)
    assert await counts(client, alice) == (0, 1)
    assert await usernames(client, "/api/v1/follow_requests", lord) == []
    # The request notification is gone once answered.
    notes = (await client.get("/api/v1/notifications", headers=lord.headers)).json()
    assert [n["type"] for n in notes] == []
    # Authorizing again: there is no request any more.
    again = await client.post(f"/api/v1/follow_requests/{alice.id}/authorize", headers=lord.headers)
    assert again.status_code == 404 and "error" in again.json()


async def test_rejected_follow_request_leaves_nothing(client, runtime: Runtime, alice: Member,
                                                       bob: Member) -> None:
    lord = await make_member(runtime, "lord", locked=True)
    await act(client, alice, lord, "follow")
    # Only the owner can answer a request made to them.
    stolen = await client.post(f"/api/v1/follow_requests/{alice.id}/authorize", headers=bob.headers)
    assert stolen.status_code == 404
    rejected = await client.post(f"/api/v1/follow_requests/{alice.id}/reject", headers=lord.headers)
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["followed_by"], rejected.json()["requested_by"]) == (False, False)
    rel = await relationship(client, alice, lord)
    assert (rel["following"], rel["requested"]) == (False, False)
    assert await counts(client, lord) == (0, 0)
    assert await usernames(client, "/api/v1/follow_requests", lord) == []
    assert (await client.get("/api/v1/notifications", headers=lord.headers)).json() == []


async def test_withdrawing_a_follow_request(client, runtime: Runtime, alice: Member) -> None:
    lord = await make_member(runtime, "lord", locked=True)
    await act(client, alice, lord, "follow")
    withdrawn = await act(client, alice, lord, "unfollow")
    assert withdrawn.json()["requested"] is False
    assert await usernames(client, "/api/v1/follow_requests", lord) == []


async def test_block_severs_follows_both_ways_and_stops_new_ones(client, alice: Member, bob: Member) -> None:
    await act(client, alice, bob, "follow")
    await act(client, bob, alice, "follow")
    assert await counts(client, alice) == (1, 1)
    blocked = await act(client, alice, bob, "block")
    assert blocked.status_code == 200
    rel = blocked.json()
    assert (rel["blocking"], rel["following"], rel["followed_by"]) == (True, False, False)
    assert await counts(client, alice) == (0, 0)
    assert await counts(client, bob) == (0, 0)
    assert (await relationship(client, bob, alice))["blocked_by"] is True

    refused = await act(client, bob, alice, "follow")
    assert refused.status_code == 403 and "error" in refused.json()
    refused = await act(client, alice, bob, "follow")  # the blocker cannot follow either until unblocking
    assert refused.status_code == 403
    assert await counts(client, alice) == (0, 0)
    assert await usernames(client, "/api/v1/blocks", alice) == ["bob"]

    unblocked = await act(client, alice, bob, "unblock")
    assert unblocked.json()["blocking"] is False
    assert await usernames(client, "/api/v1/blocks", alice) == []
    assert (await act(client, bob, alice, "follow")).json()["following"] is True


async def test_block_hides_each_others_posts(client, alice: Member, bob: Member, carol: Member) -> None:
    await act(client, alice, bob, "follow")
    await act(client, bob, alice, "follow")
    await act(client, alice, carol, "follow")
    await act(client, bob, carol, "follow")
    by_alice = await post(client, alice, "alice speaks")
    by_bob = await post(client, bob, "bob speaks")
    by_carol = await post(client, carol, "carol speaks")
    boost_of_bob = (await client.post(f"/api/v1/statuses/{by_bob['id']}/reblog",
                                      headers=carol.headers)).json()
    assert {by_bob["id"], boost_of_bob["id"]} <= await timeline_ids(client, alice, "home")

    await act(client, alice, bob, "block")

    for which in ("home", "public"):
        seen_by_alice = await timeline_ids(client, alice, which)
        assert by_bob["id"] not in seen_by_alice and boost_of_bob["id"] not in seen_by_alice
        assert by_carol["id"] in seen_by_alice
        seen_by_bob = await timeline_ids(client, bob, which)
        assert by_alice["id"] not in seen_by_bob
        assert by_carol["id"] in seen_by_bob
    # Nor can either fetch the other's post directly.
    assert (await client.get(f"/api/v1/statuses/{by_bob['id']}", headers=alice.headers)).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{by_alice['id']}", headers=bob.headers)).status_code == 404
    # ... or act on it.
    assert (await client.post(f"/api/v1/statuses/{by_alice['id']}/favourite",
                              headers=bob.headers)).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{by_alice['id']}")).status_code == 200  # others still can


async def test_block_hides_notifications_from_the_blocked(client, alice: Member, bob: Member,
                                                          carol: Member) -> None:
    mine = await post(client, alice, "hello")
    # What bob did before the block goes too (as in Mastodon), carol's stays.
    await act(client, bob, alice, "follow")
    await client.post(f"/api/v1/statuses/{mine['id']}/favourite", headers=bob.headers)
    await act(client, carol, alice, "follow")
    assert len((await client.get("/api/v1/notifications", headers=alice.headers)).json()) == 3
    await act(client, alice, bob, "block")
    await post(client, bob, "@alice hey")
    await client.post(f"/api/v1/statuses/{mine['id']}/favourite", headers=bob.headers)
    notes = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    assert [(n["type"], n["account"]["username"]) for n in notes] == [("follow", "carol")]
    unread = await client.get("/api/v1/notifications/unread_count", headers=alice.headers)
    assert unread.json()["count"] == 1


async def test_mute_hides_posts_from_timelines_but_not_direct_fetch(client, alice: Member, bob: Member,
                                                                    carol: Member) -> None:
    await act(client, alice, bob, "follow")
    await act(client, alice, carol, "follow")
    by_bob = await post(client, bob, "bob is loud")
    by_carol = await post(client, carol, "carol is quiet")
    boost = (await client.post(f"/api/v1/statuses/{by_bob['id']}/reblog", headers=carol.headers)).json()
    assert {by_bob["id"], boost["id"]} <= await timeline_ids(client, alice, "home")

    muted = await act(client, alice, bob, "mute")
    assert muted.status_code == 200
    assert (muted.json()["muting"], muted.json()["muting_notifications"], muted.json()["following"]) == (
        True, True, True)  # a mute is not an unfollow
    for which in ("home", "public"):
        seen = await timeline_ids(client, alice, which)
        assert by_bob["id"] not in seen and boost["id"] not in seen
        assert by_carol["id"] in seen
    direct = await client.get(f"/api/v1/statuses/{by_bob['id']}", headers=alice.headers)
    assert direct.status_code == 200 and direct.json()["id"] == by_bob["id"]
    # The muted member sees nothing different.
    assert by_bob["id"] in await timeline_ids(client, bob, "home")
    assert await usernames(client, "/api/v1/mutes", alice) == ["bob"]

    await act(client, alice, bob, "unmute")
    assert by_bob["id"] in await timeline_ids(client, alice, "home")
    assert await usernames(client, "/api/v1/mutes", alice) == []


@pytest.mark.parametrize(("hide", "expected"), [(True, []), (False, ["mention"])])
async def test_mute_with_or_without_notifications(client, alice: Member, bob: Member, hide: bool,
                                                  expected: list[str]) -> None:
    muted = await act(client, alice, bob, "mute", notifications=hide)
    assert muted.json()["muting_notifications"] is hide
    await post(client, bob, "@alice are you there")
    notes = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    assert [n["type"] for n in notes] == expected


async def test_block_and_mute_yourself_are_refused(client, alice: Member) -> None:
    for action in ("block", "mute"):
        refused = await act(client, alice, alice, action)
        assert refused.status_code == 422 and "error" in refused.json()
    assert await usernames(client, "/api/v1/blocks", alice) == []
    assert await usernames(client, "/api/v1/mutes", alice) == []


async def test_remove_from_followers(client, alice: Member, bob: Member) -> None:
    await act(client, bob, alice, "follow")
    assert await counts(client, alice) == (1, 0)
    removed = await act(client, alice, bob, "remove_from_followers")
    assert removed.status_code == 200
    assert removed.json()["followed_by"] is False
    assert await counts(client, alice) == (0, 0)
    assert await counts(client, bob) == (0, 0)
    assert (await relationship(client, bob, alice))["following"] is False
    assert await usernames(client, f"/api/v1/accounts/{alice.id}/followers") == []


def _next_link(response: httpx.Response) -> str | None:
    match = re.search(r'<([^>]+)>;\s*rel="next"', response.headers.get("link", ""))
    return match.group(1) if match else None


async def _walk(client: httpx.AsyncClient, url: str,
                headers: dict[str, str] | None = None) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        batch = response.json()
        assert len(batch) <= 10
        if not batch:
            break
        pages += 1
        seen.extend(a["username"] for a in batch)
        next_url = _next_link(response)
        assert pages < 10, "pagination never ends"
    return seen, pages


async def test_followers_and_following_page_through_link_headers(client, runtime: Runtime,
                                                                  alice: Member) -> None:
    crowd = [await make_member(runtime, f"fan{i:02d}") for i in range(25)]
    for fan in crowd:
        assert (await act(client, fan, alice, "follow")).status_code == 200
        assert (await act(client, alice, fan, "follow")).status_code == 200
    expected = sorted(f.username for f in crowd)
    for path in (f"/api/v1/accounts/{alice.id}/followers", f"/api/v1/accounts/{alice.id}/following"):
        first = await client.get(path, params={"limit": 10})
        assert len(first.json()) == 10
        assert 'rel="next"' in first.headers["link"] and 'rel="prev"' in first.headers["link"]
        assert "limit=10" in _next_link(first)  # the other parameters survive
        seen, pages = await _walk(client, f"{path}?limit=10")
        assert len(seen) == len(set(seen)), "a member was listed twice"
        assert sorted(seen) == expected
        assert pages == 3
        assert seen[0] == "fan24"  # newest follow first


async def test_blocks_and_mutes_lists_page(client, runtime: Runtime, alice: Member) -> None:
    others = [await make_member(runtime, f"pest{i:02d}") for i in range(12)]
    for other in others:
        await act(client, alice, other, "block")
        await act(client, alice, other, "mute")
    for path in ("/api/v1/blocks", "/api/v1/mutes"):
        seen, pages = await _walk(client, f"{path}?limit=10", alice.headers)
        assert sorted(seen) == sorted(o.username for o in others) and len(seen) == 12
        assert pages == 2
    # Lists are private to their owner.
    assert (await client.get("/api/v1/blocks")).status_code == 401

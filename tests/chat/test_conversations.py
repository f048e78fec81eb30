"""Conversations through the REST API: one direct chat per pair, message requests, blocks, and
groups — invite, remove, leave, roles, ownership, the member limit, name, description and avatar."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agora.kit.runtime import Runtime
from tests.chat.helpers import (
    block,
    conversation,
    direct,
    events_since,
    follow,
    group,
    head,
    history,
    inbox,
    member_roles,
    png,
    send,
)
from tests.conftest import app_client, make_settings
from tests.factories import Member, make_member


@pytest.fixture
async def dave(runtime: Runtime) -> Member:
    return await make_member(runtime, "dave")


async def _unread(client: httpx.AsyncClient, who: Member) -> dict[str, int]:
    response = await client.get("/api/v1/chats/unread", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


# --- direct chats -------------------------------------------------------------------------------


async def test_a_pair_has_one_direct_chat_whoever_starts_it(client, alice, bob):
    first = await direct(client, alice, bob)
    again = await direct(client, alice, bob)
    from_bob = await direct(client, bob, alice)
    by_name = await client.post("/api/v1/chats", headers=alice.headers, json={"acct": "@bob"})
    assert by_name.status_code == 200, by_name.text
    assert first["id"] == again["id"] == from_bob["id"] == by_name.json()["id"]
    assert first["kind"] == "direct" and first["member_count"] == 2
    assert [a["username"] for a in first["accounts"]] == ["bob"]  # the other side, not me
    assert await inbox(client, alice) == [first["id"]]


async def test_no_direct_chat_with_yourself_or_a_missing_account(client, alice):
    myself = await client.post("/api/v1/chats", headers=alice.headers, json={"account_id": alice.id})
    assert myself.status_code == 422
    nobody = await client.post("/api/v1/chats", headers=alice.headers, json={"account_id": "123456789"})
    assert nobody.status_code == 404
    assert await inbox(client, alice) == []


async def test_a_dm_from_someone_you_do_not_follow_waits_in_requests(client, alice, bob):
    chat = await direct(client, alice, bob)
    assert await inbox(client, bob, requests=True) == []  # an empty chat bothers no one
    await send(client, alice, chat["id"], "hi bob, we met at the conference")
    assert await inbox(client, bob) == []
    assert await inbox(client, bob, requests=True) == [chat["id"]]
    assert (await conversation(client, bob, chat["id"]))["state"] == "request"
    # The nav badge counts the request, not its messages as unread.
    assert await _unread(client, bob) == {"unread": 0, "requests": 1}
    # The sender sees an ordinary chat.
    assert await inbox(client, alice) == [chat["id"]]
    assert (await conversation(client, alice, chat["id"]))["state"] == "active"


async def test_a_dm_from_someone_you_follow_goes_straight_to_the_inbox(client, alice, bob):
    await follow(client, bob, alice)
    chat = await direct(client, alice, bob)
    await send(client, alice, chat["id"], "hello")
    assert await inbox(client, bob) == [chat["id"]]
    assert await inbox(client, bob, requests=True) == []
    assert await _unread(client, bob) == {"unread": 1, "requests": 0}


async def test_accepting_a_request_moves_it_to_the_inbox(client, alice, bob):
    chat = await direct(client, alice, bob)
    await send(client, alice, chat["id"], "hello")
    cursor = await head(client, bob)
    accepted = await client.post(f"/api/v1/chats/{chat['id']}/accept", headers=bob.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "active"
    assert await inbox(client, bob) == [chat["id"]]
    assert await inbox(client, bob, requests=True) == []
    assert await _unread(client, bob) == {"unread": 1, "requests": 0}
    # Bob's other devices learn of it.
    changes = [(e["event"], e["payload"].get("change")) for e in await events_since(client, bob, cursor)]
    assert changes == [("chat.conversation", "accepted")]
    # Accepting again changes nothing, so tells no one.
    assert (await client.post(f"/api/v1/chats/{chat['id']}/accept", headers=bob.headers)).status_code == 200
    assert len(await events_since(client, bob, cursor)) == 1


async def test_declining_a_request_hides_the_chat(client, alice, bob):
    chat = await direct(client, alice, bob)
    await send(client, alice, chat["id"], "buy my stuff")
    cursor = await head(client, bob)
    declined = await client.post(f"/api/v1/chats/{chat['id']}/decline", headers=bob.headers)
    assert declined.status_code == 200, declined.text
    assert await inbox(client, bob) == [] and await inbox(client, bob, requests=True) == []
    assert (await client.get(f"/api/v1/chats/{chat['id']}", headers=bob.headers)).status_code == 404
    assert await _unread(client, bob) == {"unread": 0, "requests": 0}
    # The sender is not told; further messages reach no one.
    await send(client, alice, chat["id"], "hello??")
    assert [e["event"] for e in await events_since(client, bob, cursor)] == ["chat.conversation.remove"]
    assert await inbox(client, bob, requests=True) == []
    # Bob may change his mind by opening the chat himself: it is his again, with its messages.
    reopened = await direct(client, bob, alice)
    assert reopened["id"] == chat["id"] and reopened["state"] == "active"
    assert [m["text"] for m in await history(client, bob, chat["id"])] == ["hello??", "buy my stuff"]


async def test_only_a_request_can_be_declined(client, alice, bob):
    await follow(client, bob, alice)
    chat = await direct(client, alice, bob)
    await send(client, alice, chat["id"], "hi")
    response = await client.post(f"/api/v1/chats/{chat['id']}/decline", headers=bob.headers)
    assert response.status_code == 422
    assert await inbox(client, bob) == [chat["id"]]


async def test_replying_to_a_request_accepts_it(client, alice, bob):
    chat = await direct(client, alice, bob)
    await send(client, alice, chat["id"], "hi")
    cursor = await head(client, bob)
    await send(client, bob, chat["id"], "hi yourself")
    assert await inbox(client, bob) == [chat["id"]]
    # Bob's other devices move it out of their requests list, as after /accept.
    changes = [(e["event"], e["payload"].get("change")) for e in await events_since(client, bob, cursor)]
    assert ("chat.conversation", "accepted") in changes
    assert await inbox(client, bob, requests=True) == []
    assert (await conversation(client, bob, chat["id"]))["state"] == "active"


async def test_blocked_accounts_cannot_start_or_send_dms(client, alice, bob):
    chat = await direct(client, alice, bob)
    await send(client, alice, chat["id"], "before")
    await block(client, bob, alice)
    started = await client.post("/api/v1/chats", headers=alice.headers, json={"account_id": bob.id})
    assert started.status_code == 403
    sent = await client.post(f"/api/v1/chats/{chat['id']}/messages", headers=alice.headers, json={"text": "after"})
    assert sent.status_code == 403 and "error" in sent.json()
    # The block works both ways: the blocker cannot message the blocked account either.
    answer = await client.post(f"/api/v1/chats/{chat['id']}/messages", headers=bob.headers, json={"text": "go away"})
    assert answer.status_code == 403
    assert [m["text"] for m in await history(client, alice, chat["id"])] == ["before"]


async def test_a_block_keeps_you_out_of_the_blockers_groups(client, alice, bob, carol):
    await block(client, carol, alice)
    created = await client.post("/api/v1/chats", headers=alice.headers,
                                json={"kind": "group", "name": "g", "account_ids": [bob.id, carol.id]})
    assert created.status_code == 403
    assert await inbox(client, alice) == []  # nothing half made


# --- groups -------------------------------------------------------------------------------------


async def test_creating_a_group_makes_the_creator_owner_and_says_so(client, alice, bob, carol):
    await follow(client, bob, alice)
    g = await group(client, alice, bob, carol, name="  Climbing  ")
    assert g["kind"] == "group" and g["name"] == "Climbing" and g["role"] == "owner"
    assert g["member_count"] == 3
    assert await member_roles(client, alice, g["id"]) == {"alice": "owner", "bob": "member", "carol": "member"}
    # bob follows alice: straight in; carol does not: the group waits in her requests.
    assert await inbox(client, bob) == [g["id"]]
    assert await inbox(client, carol, requests=True) == [g["id"]]
    assert [m["text"] for m in await history(client, bob, g["id"])] == [
        "@alice added @bob, @carol", "@alice created the group"]


async def test_any_member_may_invite_and_the_new_member_is_told(client, alice, bob, carol, dave):
    g = await group(client, alice, bob)
    cursor = await head(client, dave)
    added = await client.post(f"/api/v1/chats/{g['id']}/members", headers=bob.headers,
                              json={"account_ids": [carol.id, dave.id]})
    assert added.status_code == 200, added.text
    assert added.json()["member_count"] == 4
    assert set(await member_roles(client, bob, g["id"])) == {"alice", "bob", "carol", "dave"}
    assert [e["event"] for e in await events_since(client, dave, cursor)] == ["chat.conversation", "chat.message"]
    assert (await history(client, alice, g["id"]))[0]["text"] == "@bob added @carol, @dave"
    # Adding someone already in changes nothing.
    again = await client.post(f"/api/v1/chats/{g['id']}/members", headers=bob.headers, json={"account_ids": [dave.id]})
    assert again.status_code == 200 and again.json()["member_count"] == 4
    assert (await history(client, alice, g["id"]))[0]["text"] == "@bob added @carol, @dave"


async def test_inviting_into_a_direct_chat_is_refused(client, alice, bob, carol):
    chat = await direct(client, alice, bob)
    response = await client.post(f"/api/v1/chats/{chat['id']}/members", headers=alice.headers,
                                 json={"account_ids": [carol.id]})
    assert response.status_code == 422
    assert (await conversation(client, alice, chat["id"]))["member_count"] == 2


async def _make_admin(client: httpx.AsyncClient, owner: Member, g: dict, who: Member) -> None:
    response = await client.put(f"/api/v1/chats/{g['id']}/members/{who.id}", headers=owner.headers,
                                json={"role": "admin"})
    assert response.status_code == 200, response.text


async def _remove(client: httpx.AsyncClient, actor: Member, g: dict, who: Member) -> httpx.Response:
    return await client.delete(f"/api/v1/chats/{g['id']}/members/{who.id}", headers=actor.headers)


@pytest.fixture
async def staffed(client, alice, bob, carol, dave) -> dict:
    """alice owns a group where bob and carol are admins and dave a member (all accepted)."""
    for who in (bob, carol, dave):
        await follow(client, who, alice)
    g = await group(client, alice, bob, carol, dave)
    await _make_admin(client, alice, g, bob)
    await _make_admin(client, alice, g, carol)
    return g


async def test_who_may_remove_whom(client, staffed, alice, bob, carol, dave):
    g = staffed
    assert (await _remove(client, dave, g, carol)).status_code == 403  # a member removes no one
    assert (await _remove(client, bob, g, carol)).status_code == 403  # an admin cannot remove an admin
    assert (await _remove(client, bob, g, alice)).status_code == 403  # … nor the owner
    assert (await _remove(client, bob, g, bob)).status_code == 422  # leaving is its own action
    assert await member_roles(client, alice, g["id"]) == {
        "alice": "owner", "bob": "admin", "carol": "admin", "dave": "member"}
    removed = await _remove(client, bob, g, dave)  # an admin removes a member
    assert removed.status_code == 200, removed.text
    assert removed.json()["member_count"] == 3
    assert (await _remove(client, alice, g, carol)).status_code == 200  # the owner removes an admin
    assert await member_roles(client, alice, g["id"]) == {"alice": "owner", "bob": "admin"}
    assert [m["text"] for m in await history(client, alice, g["id"])][:2] == [
        "@alice removed @carol", "@bob removed @dave"]
    # Removing someone no longer there is a clear 404.
    assert (await _remove(client, alice, g, dave)).status_code == 404


async def test_the_owner_leaving_hands_the_group_to_the_first_admin(client, staffed, alice, bob, carol, dave):
    g = staffed
    response = await client.post(f"/api/v1/chats/{g['id']}/leave", headers=alice.headers)
    assert response.status_code == 200, response.text
    assert await member_roles(client, bob, g["id"]) == {"bob": "owner", "carol": "admin", "dave": "member"}
    assert (await history(client, bob, g["id"]))[0]["text"] == "@alice left"
    assert g["id"] not in await inbox(client, alice)
    assert (await client.get(f"/api/v1/chats/{g['id']}/messages", headers=alice.headers)).status_code == 404
    # The new owner can do what owners do.
    assert (await _remove(client, bob, g, carol)).status_code == 200


async def test_without_admins_the_longest_standing_member_inherits(client, alice, bob, carol):
    await follow(client, bob, alice)
    await follow(client, carol, alice)
    g = await group(client, alice, bob)
    await client.post(f"/api/v1/chats/{g['id']}/members", headers=alice.headers, json={"account_ids": [carol.id]})
    assert (await client.post(f"/api/v1/chats/{g['id']}/leave", headers=alice.headers)).status_code == 200
    assert await member_roles(client, carol, g["id"]) == {"bob": "owner", "carol": "member"}


async def test_an_owner_leaving_only_invitees_hands_the_group_to_one(client, alice, bob, carol):
    g = await group(client, alice, bob, carol)  # neither follows alice: both only invited
    assert (await client.post(f"/api/v1/chats/{g['id']}/leave", headers=alice.headers)).status_code == 200
    assert await member_roles(client, bob, g["id"]) == {"bob": "owner", "carol": "member"}


async def test_leaving_a_direct_chat_is_refused(client, alice, bob):
    chat = await direct(client, alice, bob)
    assert (await client.post(f"/api/v1/chats/{chat['id']}/leave", headers=alice.headers)).status_code == 422


async def test_only_the_owner_sets_roles_and_can_hand_over_the_group(client, staffed, alice, bob, carol, dave):
    g = staffed
    by_admin = await client.put(f"/api/v1/chats/{g['id']}/members/{dave.id}", headers=bob.headers,
                                json={"role": "admin"})
    assert by_admin.status_code == 403
    bogus = await client.put(f"/api/v1/chats/{g['id']}/members/{dave.id}", headers=alice.headers,
                             json={"role": "emperor"})
    assert bogus.status_code == 422
    demoted = await client.put(f"/api/v1/chats/{g['id']}/members/{carol.id}", headers=alice.headers,
                               json={"role": "member"})
    assert demoted.status_code == 200
    handed = await client.put(f"/api/v1/chats/{g['id']}/members/{dave.id}", headers=alice.headers,
                              json={"role": "owner"})
    assert handed.status_code == 200, handed.text
    assert handed.json()["role"] == "admin"  # the old owner stays on as an admin
    assert await member_roles(client, dave, g["id"]) == {
        "dave": "owner", "alice": "admin", "bob": "admin", "carol": "member"}
    assert (await history(client, bob, g["id"]))[0]["text"] == "@alice made @dave the owner"
    # The old owner no longer decides roles; the new one does, and may remove the old one.
    again = await client.put(f"/api/v1/chats/{g['id']}/members/{carol.id}", headers=alice.headers,
                             json={"role": "admin"})
    assert again.status_code == 403
    assert (await _remove(client, dave, g, alice)).status_code == 200


async def test_a_pending_invitee_cannot_be_made_owner(client, alice, bob):
    g = await group(client, alice, bob)  # bob does not follow alice: a request
    response = await client.put(f"/api/v1/chats/{g['id']}/members/{bob.id}", headers=alice.headers,
                                json={"role": "owner"})
    assert response.status_code == 422
    assert await member_roles(client, alice, g["id"]) == {"alice": "owner", "bob": "member"}


@pytest.fixture
async def small_groups(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """An app whose groups hold at most three members."""
    async with app_client(make_settings(database_url, tmp_path / "small", max_group_members=3)) as made:
        yield made


async def test_a_group_cannot_grow_past_the_member_limit(small_groups):
    client, runtime = small_groups
    owner, *others = [await make_member(runtime, name) for name in ("olga", "pia", "quinn", "rafa")]
    too_many = await client.post("/api/v1/chats", headers=owner.headers,
                                 json={"kind": "group", "name": "big", "account_ids": [o.id for o in others]})
    assert too_many.status_code == 422 and "3" in too_many.json()["error"]
    assert await inbox(client, owner) == []
    g = await group(client, owner, others[0], others[1])
    full = await client.post(f"/api/v1/chats/{g['id']}/members", headers=owner.headers,
                             json={"account_ids": [others[2].id]})
    assert full.status_code == 422
    assert (await conversation(client, owner, g["id"]))["member_count"] == 3
    # A place freed is a place to fill.
    assert (await _remove(client, owner, g, others[0])).status_code == 200
    added = await client.post(f"/api/v1/chats/{g['id']}/members", headers=owner.headers,
                              json={"account_ids": [others[2].id]})
    assert added.status_code == 200 and added.json()["member_count"] == 3


async def test_renaming_and_describing_a_group(client, alice, bob):
    await follow(client, bob, alice)
    g = await group(client, alice, bob, name="Old")
    renamed = await client.patch(f"/api/v1/chats/{g['id']}", headers=alice.headers,
                                 json={"name": "New name", "description": "Weekend plans"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "New name" and renamed.json()["description"] == "Weekend plans"
    seen_by_bob = await conversation(client, bob, g["id"])
    assert (seen_by_bob["name"], seen_by_bob["description"]) == ("New name", "Weekend plans")
    newest = (await history(client, bob, g["id"]))[0]
    assert newest["kind"] == "system" and newest["text"] == "@alice renamed the group to “New name”"
    assert newest["action"]["type"] == "renamed" and newest["action"]["name"] == "New name"
    # A plain member may not; nor may anyone rename a direct chat; a name has a limit.
    by_member = await client.patch(f"/api/v1/chats/{g['id']}", headers=bob.headers, json={"name": "Mine"})
    assert by_member.status_code == 403
    too_long = await client.patch(f"/api/v1/chats/{g['id']}", headers=alice.headers, json={"name": "x" * 101})
    assert too_long.status_code == 422
    chat = await direct(client, alice, bob)
    assert (await client.patch(f"/api/v1/chats/{chat['id']}", headers=alice.headers,
                               json={"name": "us"})).status_code == 422
    assert (await conversation(client, bob, g["id"]))["name"] == "New name"


async def test_a_group_avatar_is_uploaded_as_multipart(client, alice, bob):
    await follow(client, bob, alice)
    g = await group(client, alice, bob)
    assert g["avatar"].endswith("/static/avatar-missing.png")
    response = await client.patch(f"/api/v1/chats/{g['id']}", headers=alice.headers,
                                  files={"avatar": ("me.png", png((200, 200)), "image/png")})
    assert response.status_code == 200, response.text
    avatar = response.json()["avatar"]
    assert avatar.startswith("http://testserver/media/") and avatar != g["avatar"]
    assert (await conversation(client, bob, g["id"]))["avatar"] == avatar
    image = await client.get(avatar)
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    # Not an image: refused, and the avatar stays.
    bad = await client.patch(f"/api/v1/chats/{g['id']}", headers=alice.headers,
                             files={"avatar": ("x.png", b"not an image", "image/png")})
    assert 400 <= bad.status_code < 500
    by_member = await client.patch(f"/api/v1/chats/{g['id']}", headers=bob.headers,
                                   files={"avatar": ("me.png", png(), "image/png")})
    assert by_member.status_code == 403
    assert (await conversation(client, bob, g["id"]))["avatar"] == avatar


async def test_declining_a_group_invitation_leaves_the_group(client, alice, bob, carol):
    g = await group(client, alice, bob, carol)
    assert (await client.post(f"/api/v1/chats/{g['id']}/decline", headers=bob.headers)).status_code == 200
    assert await member_roles(client, alice, g["id"]) == {"alice": "owner", "carol": "member"}
    assert (await conversation(client, alice, g["id"]))["member_count"] == 2
    assert await inbox(client, bob, requests=True) == []


async def test_a_member_who_left_can_be_invited_back_and_sees_only_what_follows(client, alice, bob):
    await follow(client, bob, alice)
    g = await group(client, alice, bob)
    await send(client, alice, g["id"], "before bob left")
    await client.post(f"/api/v1/chats/{g['id']}/leave", headers=bob.headers)
    await send(client, alice, g["id"], "while bob was away")
    back = await client.post(f"/api/v1/chats/{g['id']}/members", headers=alice.headers,
                             json={"account_ids": [bob.id]})
    assert back.status_code == 200 and back.json()["member_count"] == 2
    await send(client, alice, g["id"], "welcome back")
    texts = [m["text"] for m in await history(client, bob, g["id"])]
    assert texts == ["welcome back", "@alice added @bob"]


# --- the member's own view ----------------------------------------------------------------------


async def test_the_inbox_is_ordered_by_latest_activity_with_previews(client, alice, bob, carol):
    for who in (bob, carol):
        await follow(client, alice, who)
    with_bob = await direct(client, bob, alice)
    with_carol = await direct(client, carol, alice)
    await send(client, carol, with_carol["id"], "first")
    await send(client, bob, with_bob["id"], "second")
    assert await inbox(client, alice) == [with_bob["id"], with_carol["id"]]
    await send(client, carol, with_carol["id"], "third")
    listed = (await client.get("/api/v1/chats", headers=alice.headers)).json()
    assert [c["id"] for c in listed] == [with_carol["id"], with_bob["id"]]
    assert [c["last_message"]["text"] for c in listed] == ["third", "second"]
    assert [c["unread_count"] for c in listed] == [2, 1]
    # Paged like every Mastodon list.
    first = await client.get("/api/v1/chats", headers=alice.headers, params={"limit": 1})
    assert [c["id"] for c in first.json()] == [with_carol["id"]]
    following = first.links["next"]["url"]
    second = await client.get(following, headers=alice.headers)
    assert [c["id"] for c in second.json()] == [with_bob["id"]]


async def test_muted_chats_do_not_count_towards_unread(client, alice, bob, carol):
    for who in (bob, carol):
        await follow(client, alice, who)
    noisy = await direct(client, bob, alice)
    quiet = await direct(client, carol, alice)
    await send(client, bob, noisy["id"], "1")
    await send(client, bob, noisy["id"], "2")
    await send(client, carol, quiet["id"], "3")
    assert (await _unread(client, alice))["unread"] == 3
    muted = await client.post(f"/api/v1/chats/{noisy['id']}/mute", headers=alice.headers)
    assert muted.status_code == 200 and muted.json()["muted"] is True
    assert (await _unread(client, alice))["unread"] == 1
    assert (await conversation(client, alice, noisy["id"]))["unread_count"] == 2  # still shown on the chat
    await client.post(f"/api/v1/chats/{noisy['id']}/unmute", headers=alice.headers)
    assert (await _unread(client, alice))["unread"] == 3


# --- at the same moment -------------------------------------------------------------------------


async def test_both_sides_starting_at_once_still_make_one_chat(client, alice, bob):
    answers = await asyncio.gather(*[client.post("/api/v1/chats", headers=who.headers, json={"account_id": other.id})
                                     for who, other in ((alice, bob), (bob, alice)) * 3])
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1


async def test_members_added_at_once_are_all_counted(client, staffed, alice, bob, carol, runtime):
    g = staffed
    newcomers = [await make_member(runtime, f"new{i}") for i in range(6)]
    inviters = (alice, bob, carol)
    answers = await asyncio.gather(*[
        client.post(f"/api/v1/chats/{g['id']}/members", headers=inviters[i % 3].headers,
                    json={"account_ids": [n.id]}) for i, n in enumerate(newcomers)])
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    members = await member_roles(client, alice, g["id"])
    assert len(members) == 10
    assert (await conversation(client, alice, g["id"]))["member_count"] == 10


async def test_the_member_limit_holds_when_invitations_race(small_groups):
    client, runtime = small_groups
    owner, first, second, third = [await make_member(runtime, name) for name in ("olga", "pia", "quinn", "rafa")]
    for who in (first, second):
        await follow(client, who, owner)
    g = await group(client, owner, first)
    await _make_admin(client, owner, g, first)
    answers = await asyncio.gather(
        client.post(f"/api/v1/chats/{g['id']}/members", headers=owner.headers, json={"account_ids": [second.id]}),
        client.post(f"/api/v1/chats/{g['id']}/members", headers=first.headers, json={"account_ids": [third.id]}))
    assert sorted(a.status_code for a in answers) == [200, 422], [a.text for a in answers]
    assert len(await member_roles(client, owner, g["id"])) == 3
    assert (await conversation(client, owner, g["id"]))["member_count"] == 3


async def test_messages_and_group_changes_at_once_all_succeed(client, staffed, alice, bob, carol, dave, runtime):
    g = staffed
    newcomers = [await make_member(runtime, f"new{i}") for i in range(3)]
    calls = [client.post(f"/api/v1/chats/{g['id']}/messages", headers=who.headers, json={"text": f"from {i}"})
             for i, who in enumerate((alice, bob, carol, dave) * 2)]
    calls += [client.post(f"/api/v1/chats/{g['id']}/members", headers=who.headers, json={"account_ids": [n.id]})
              for who, n in zip((alice, bob, carol), newcomers, strict=True)]
    calls += [client.patch(f"/api/v1/chats/{g['id']}", headers=bob.headers, json={"name": "Busy"}),
              client.put(f"/api/v1/chats/{g['id']}/members/{dave.id}", headers=alice.headers, json={"role": "admin"}),
              client.post(f"/api/v1/chats/{g['id']}/read", headers=carol.headers)]
    answers = await asyncio.gather(*calls)
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers if a.status_code >= 300]
    assert (await conversation(client, alice, g["id"]))["member_count"] == 7
    texts = [m["text"] for m in await history(client, dave, g["id"], limit=40)]
    assert sorted(t for t in texts if t.startswith("from ")) == sorted(f"from {i}" for i in range(8))

"""Mastodon's streaming API over Server-Sent Events, against a live uvicorn server."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import update

from agora.accounts.secrets import digest
from agora.kit.runtime import Runtime
from agora.kit.time import utcnow
from agora.models import OAuthToken
from tests.factories import Member, make_member
from tests.streaming import WAIT, Api, bus_channels, open_sse


async def test_health_says_ok(live_server) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        response = await http.get("/api/v1/streaming/health")
    assert response.status_code == 200
    assert response.text == "OK"


async def test_user_stream_gets_a_followed_accounts_post_edit_and_delete(
        live_server, api: Api, alice: Member, bob: Member) -> None:
    await api.follow(bob, alice)
    async with open_sse(live_server.url, "user", token=bob.token) as stream:
        posted = await api.post(alice, "hello followers")
        update = await stream.until(stream.event("update", posted["id"]), what="the new post")
        body = update.json()
        assert body["account"]["username"] == "alice"
        assert body["content"] == "<p>hello followers</p>"
        assert body["visibility"] == "public"

        await api.edit(alice, posted["id"], "hello again")
        edited = await stream.until(stream.event("status.update", posted["id"]), what="the edit")
        assert edited.json()["content"] == "<p>hello again</p>"
        assert edited.json()["edited_at"] is not None

        await api.delete(alice, posted["id"])
        await stream.until(stream.event("delete", posted["id"]), what="the delete")
        assert [e.event for e in stream.received] == ["update", "status.update", "delete"]


async def test_a_favourite_of_my_post_arrives_as_a_notification(
        live_server, api: Api, alice: Member, bob: Member) -> None:
    mine = await api.post(alice, "like this")
    async with open_sse(live_server.url, "user", token=alice.token) as stream:
        await api.favourite(bob, mine["id"])
        event = await stream.until(stream.event("notification"), what="the notification")
        notification = event.json()
        assert notification["type"] == "favourite"
        assert notification["account"]["username"] == "bob"
        assert notification["status"]["id"] == mine["id"]


async def test_notification_stream_gets_notifications_but_not_posts(
        live_server, api: Api, alice: Member, bob: Member) -> None:
    await api.follow(alice, bob)
    mine = await api.post(alice, "like this")
    async with open_sse(live_server.url, "user/notification", token=alice.token) as stream, \
            open_sse(live_server.url, "user", token=alice.token) as user:
        theirs = await api.post(bob, "a post alice's home would show")
        await api.favourite(bob, mine["id"])
        await stream.until(stream.event("notification"), what="the notification")
        await user.until(user.event("notification"), what="the notification on the user stream")
        assert [e.event for e in stream.received] == ["notification"]
        assert user.ids("update") == [theirs["id"]]  # the same post did reach the full user stream


async def test_idle_stream_sends_heartbeat_comments(live_server, alice: Member) -> None:
    async with open_sse(live_server.url, "user", token=alice.token) as stream:
        await stream.wait_comments(3)  # the opening comment, then one per idle second
        assert stream.received == []
        assert all(line.startswith(":") for line in stream.comments)


async def test_public_streams_get_only_public_top_level_posts(
        live_server, api: Api, alice: Member, bob: Member, carol: Member) -> None:
    async with open_sse(live_server.url, "public", token=bob.token) as public, \
            open_sse(live_server.url, "public/local", token=bob.token) as local, \
            open_sse(live_server.url, "hashtag", token=bob.token, params={"tag": "cats"}) as cats, \
            open_sse(live_server.url, "hashtag", params={"tag": "Cats"}) as cats_signed_out:
        first = await api.post(alice, "public #cats")
        await api.post(alice, "unlisted #cats", visibility="unlisted")
        await api.post(alice, "private #cats", visibility="private")
        await api.post(alice, "@carol direct #cats", visibility="direct")
        await api.post(bob, "@alice a public reply", in_reply_to_id=first["id"])
        dogs = await api.post(carol, "public #dogs")
        marker = await api.post(carol, "marker #cats")

        for stream in (public, local, cats, cats_signed_out):
            await stream.until(stream.event("update", marker["id"]), what="the marker post")
        assert public.ids("update") == [first["id"], dogs["id"], marker["id"]]
        assert local.ids("update") == [first["id"], dogs["id"], marker["id"]]
        assert cats.ids("update") == [first["id"], marker["id"]]
        assert cats_signed_out.ids("update") == [first["id"], marker["id"]]
        assert all(e.json()["visibility"] == "public" for e in public.received)


async def test_private_post_reaches_followers_but_no_one_else(
        live_server, api: Api, alice: Member, bob: Member, carol: Member) -> None:
    await api.follow(bob, alice)
    async with open_sse(live_server.url, "user", token=bob.token) as follower, \
            open_sse(live_server.url, "user", token=carol.token) as stranger, \
            open_sse(live_server.url, "public", token=carol.token) as public:
        private = await api.post(alice, "for followers only", visibility="private")
        await api.edit(alice, private["id"], "still for followers only")
        alice_marker = await api.post(alice, "public marker")
        carol_marker = await api.post(carol, "carol's own post")

        await follower.until(follower.event("update", alice_marker["id"]), what="alice's marker")
        await stranger.until(stranger.event("update", carol_marker["id"]), what="carol's own post")
        await public.until(public.event("update", carol_marker["id"]), what="carol's marker")
        assert follower.ids("update") == [private["id"], alice_marker["id"]]
        assert follower.ids("status.update") == [private["id"]]
        assert stranger.ids("update") == [carol_marker["id"]]
        assert stranger.ids("status.update") == []
        assert public.ids("update") == [alice_marker["id"], carol_marker["id"]]
        assert public.ids("status.update") == []


async def test_direct_post_reaches_only_the_mentioned_member(
        live_server, api: Api, alice: Member, bob: Member, carol: Member) -> None:
    await api.follow(carol, alice)  # following is not enough to see a direct post
    async with open_sse(live_server.url, "user", token=bob.token) as mentioned, \
            open_sse(live_server.url, "user", token=carol.token) as follower, \
            open_sse(live_server.url, "public", token=carol.token) as public:
        direct = await api.post(alice, "@bob just between us", visibility="direct")
        marker = await api.post(bob, "bob's marker")
        await api.follow(carol, bob)
        carol_marker = await api.post(bob, "bob's second marker")

        await mentioned.until(mentioned.event("update", marker["id"]), what="bob's own post")
        await follower.until(follower.event("update", carol_marker["id"]), what="bob's post")
        await public.until(public.event("update", carol_marker["id"]), what="bob's post")
        assert mentioned.ids("update")[:2] == [direct["id"], marker["id"]]
        mention = next(e.json() for e in mentioned.received if e.event == "notification")
        assert (mention["type"], mention["status"]["id"]) == ("mention", direct["id"])
        assert direct["id"] not in follower.ids("update")
        assert follower.ids("update") == [carol_marker["id"]]
        assert direct["id"] not in public.ids("update")


async def test_a_blocked_members_posts_never_arrive(
        live_server, api: Api, alice: Member, bob: Member, carol: Member) -> None:
    await api.follow(bob, alice)
    await api.follow(bob, carol)
    await api.block(bob, alice)
    async with open_sse(live_server.url, "user", token=bob.token) as user, \
            open_sse(live_server.url, "public", token=bob.token) as public, \
            open_sse(live_server.url, "hashtag", token=bob.token, params={"tag": "news"}) as tag:
        await api.post(alice, "@bob look at this #news")
        marker = await api.post(carol, "marker #news")
        for stream in (user, public, tag):
            await stream.until(stream.event("update", marker["id"]), what="carol's marker")
            assert [e.json()["account"]["username"] for e in stream.received] == ["carol"]


async def test_a_muted_members_posts_never_arrive(
        live_server, api: Api, alice: Member, bob: Member, carol: Member) -> None:
    await api.follow(bob, alice)
    await api.follow(bob, carol)
    await api.act(bob, f"/api/v1/accounts/{alice.id}/mute")
    async with open_sse(live_server.url, "user", token=bob.token) as user, \
            open_sse(live_server.url, "public", token=bob.token) as public:
        await api.post(alice, "muted chatter")
        marker = await api.post(carol, "marker")
        for stream in (user, public):
            await stream.until(stream.event("update", marker["id"]), what="carol's marker")
            assert stream.ids("update") == [marker["id"]]


async def test_a_followed_accounts_boost_reaches_home_but_not_public_streams(
        live_server, api: Api, alice: Member, bob: Member, carol: Member) -> None:
    original = await api.post(alice, "worth sharing")
    await api.follow(bob, carol)
    async with open_sse(live_server.url, "user", token=bob.token) as user, \
            open_sse(live_server.url, "public", token=bob.token) as public:
        boost = await api.act(carol, f"/api/v1/statuses/{original['id']}/reblog")
        event = await user.until(user.event("update", boost["id"]), what="the boost")
        assert event.json()["reblog"]["id"] == original["id"]
        await api.act(carol, f"/api/v1/statuses/{original['id']}/unreblog")
        await user.until(user.event("delete", boost["id"]), what="the boost's removal")
        marker = await api.post(carol, "marker")
        await public.until(public.event("update", marker["id"]), what="carol's marker")
        assert public.ids("update") == [marker["id"]]


async def test_a_member_who_blocked_me_is_hidden_from_my_streams(
        live_server, api: Api, alice: Member, bob: Member, carol: Member) -> None:
    await api.block(alice, bob)
    async with open_sse(live_server.url, "public", token=bob.token) as public:
        await api.post(alice, "not for bob")
        marker = await api.post(carol, "marker")
        await public.until(public.event("update", marker["id"]), what="carol's marker")
        assert public.ids("update") == [marker["id"]]


async def test_stream_access_needs_a_valid_token_with_read_scope(live_server, runtime: Runtime) -> None:
    writer = await make_member(runtime, "writer", scopes=("write",))
    notifier = await make_member(runtime, "notifier", scopes=("read:notifications",))
    async with httpx.AsyncClient(base_url=live_server.url, timeout=WAIT) as http:
        missing = await http.get("/api/v1/streaming/user")
        assert missing.status_code == 401
        assert "error" in missing.json()
        invalid = await http.get("/api/v1/streaming/user", headers={"Authorization": "Bearer nonsense"})
        assert invalid.status_code == 401
        assert "error" in invalid.json()
        no_read = await http.get("/api/v1/streaming/user", headers=writer.headers)
        assert no_read.status_code == 403
        assert "error" in no_read.json()
        narrow = await http.get("/api/v1/streaming/user", headers=notifier.headers)
        assert narrow.status_code == 403
        no_tag = await http.get("/api/v1/streaming/hashtag", headers=writer.headers)
        assert no_tag.status_code == 422
        assert "error" in no_tag.json()
        unknown = await http.get("/api/v1/streaming/everything", headers=writer.headers)
        assert 400 <= unknown.status_code < 500
        assert "error" in unknown.json()
    # Browsers cannot set headers on an EventSource, so the token may come in the query instead.
    async with open_sse(live_server.url, "user/notification", params={"access_token": notifier.token}) as stream:
        assert stream.received == []


async def test_a_stream_is_released_when_the_client_goes_away(live_server, alice: Member) -> None:
    channel = f"timeline:{alice.id}"
    async with open_sse(live_server.url, "user", token=alice.token):
        assert channel in bus_channels(live_server)
    deadline = asyncio.get_running_loop().time() + WAIT
    while channel in bus_channels(live_server):
        assert asyncio.get_running_loop().time() < deadline, "the server kept listening for a gone client"
        await asyncio.sleep(0.05)


async def test_many_streams_of_one_member_all_get_the_post(
        live_server, api: Api, alice: Member, bob: Member) -> None:
    await api.follow(bob, alice)
    async with open_sse(live_server.url, "user", token=bob.token) as one, \
            open_sse(live_server.url, "user", token=bob.token) as two:
        posted = await api.post(alice, "to both tabs")
        for stream in (one, two):
            await stream.until(stream.event("update", posted["id"]), what="the post")
            assert stream.ids("update") == [posted["id"]]


async def test_revoking_the_token_ends_its_stream(live_server, runtime: Runtime, alice: Member) -> None:
    async with open_sse(live_server.url, "user", token=alice.token) as stream:
        await stream.wait_comments(2)  # alive: the opening comment and a heartbeat
        async with runtime.db.transaction() as session:
            await session.execute(update(OAuthToken).where(OAuthToken.token_hash == digest(alice.token))
                                  .values(revoked_at=utcnow()))
        await stream.wait(lambda: stream.ended, "the end of the stream")

"""Streaming fan-out through Redis: two servers share one database and one Redis, and a post made
through one reaches a stream held open on the other. Also RedisBus on its own.

Skipped when no Redis answers at AGORA_TEST_REDIS_URL (default redis://127.0.0.1:6379/9).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest

from agora.kit.bus import BusMessage, RedisBus
from tests.conftest import REDIS_URL, LiveServer
from tests.factories import Member
from tests.streaming import WAIT, Api, api_for, listeners, open_sse, open_ws, until_listeners

# RedisBus on its own ---------------------------------------------------------------------------------


@pytest.fixture
async def two_buses(redis_client) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    one, two = RedisBus(REDIS_URL), RedisBus(REDIS_URL)
    await one.start()
    await two.start()
    yield one, two
    await one.stop()
    await two.stop()


async def test_a_message_published_on_one_bus_reaches_a_subscriber_of_another(
        two_buses, redis_client) -> None:
    one, two = two_buses
    wanted, other = f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"
    async with one.subscribe([wanted]) as subscription:
        await until_listeners(redis_client, wanted)
        await two.publish([BusMessage(wanted, "update", {"status_id": "1"}),
                           BusMessage(other, "update", {"status_id": "2"}),
                           BusMessage(wanted, "delete", {"status_id": "1"})])
        first = await subscription.get(timeout=WAIT)
        second = await subscription.get(timeout=WAIT)
        assert first == BusMessage(wanted, "update", {"status_id": "1"})
        assert second == BusMessage(wanted, "delete", {"status_id": "1"})  # and nothing from `other`

        await subscription.add([other])
        await until_listeners(redis_client, other)
        await subscription.remove([wanted])
        await until_listeners(redis_client, wanted, exactly=0)
        await two.publish([BusMessage(wanted, "update", {"n": 1}), BusMessage(other, "update", {"n": 2})])
        assert await subscription.get(timeout=WAIT) == BusMessage(other, "update", {"n": 2})
    await until_listeners(redis_client, other, exactly=0)  # leaving unsubscribes from Redis too


async def test_each_local_subscriber_gets_its_own_copy(two_buses, redis_client) -> None:
    one, two = two_buses
    channel = f"test:{uuid.uuid4().hex}"
    async with one.subscribe([channel]) as a, one.subscribe([channel]) as b:
        await until_listeners(redis_client, channel)
        assert await listeners(redis_client, channel) == 1  # one Redis subscription per process
        await two.publish([BusMessage(channel, "update", {"status_id": "7"})])
        assert await a.get(timeout=WAIT) == await b.get(timeout=WAIT) == BusMessage(
            channel, "update", {"status_id": "7"})


async def test_a_malformed_message_does_not_stop_the_reader(two_buses, redis_client) -> None:
    one, two = two_buses
    channel = f"test:{uuid.uuid4().hex}"
    async with one.subscribe([channel]) as subscription:
        await until_listeners(redis_client, channel)
        await redis_client.publish(RedisBus.PREFIX + channel, b"not json at all")
        await redis_client.publish(RedisBus.PREFIX + channel, b'{"channel": "x"}')
        await two.publish([BusMessage(channel, "update", {"status_id": "3"})])
        assert await subscription.get(timeout=WAIT) == BusMessage(channel, "update", {"status_id": "3"})


# Two servers, one Redis -------------------------------------------------------------------------------


@pytest.fixture
def servers(redis_servers: tuple[LiveServer, LiveServer]) -> tuple[LiveServer, LiveServer]:
    return redis_servers


@pytest.fixture
async def api_b(servers) -> AsyncIterator[Api]:
    async with api_for(servers[1].url) as client:
        yield client


async def test_a_post_made_through_one_server_reaches_a_stream_on_the_other(
        servers, api_b: Api, redis_client, alice: Member, bob: Member, carol: Member) -> None:
    a, _b = servers
    await api_b.follow(bob, alice)
    mine = await api_b.post(bob, "bob's post")
    async with open_sse(a.url, "user", token=bob.token) as follower, \
            open_sse(a.url, "user", token=carol.token) as stranger, \
            open_sse(a.url, "public") as public:
        for channel in (f"timeline:{bob.id}", f"timeline:{carol.id}", "public"):
            await until_listeners(redis_client, channel)
        posted = await api_b.post(alice, "made on server B")
        private = await api_b.post(alice, "followers only, made on server B", visibility="private")
        await api_b.favourite(alice, mine["id"])
        marker = await api_b.post(carol, "carol's marker")

        update = await follower.until(follower.event("update", posted["id"]), what="the post from server B")
        assert update.json()["content"] == "<p>made on server B</p>"
        await follower.until(follower.event("update", private["id"]), what="the private post")
        note = await follower.until(follower.event("notification"), what="the favourite notification")
        assert (note.json()["type"], note.json()["account"]["username"]) == ("favourite", "alice")

        await stranger.until(stranger.event("update", marker["id"]), what="carol's own post")
        await public.until(public.event("update", marker["id"]), what="carol's marker")
        assert stranger.ids("update") == [marker["id"]]
        assert public.ids("update") == [posted["id"], marker["id"]]


async def test_a_websocket_on_one_server_hears_posts_made_through_the_other(
        servers, api_b: Api, redis_client, alice: Member, bob: Member) -> None:
    a, _b = servers
    await api_b.follow(bob, alice)
    async with open_ws(a.url, stream="user", access_token=bob.token) as ws:
        await ws.send({"type": "subscribe", "stream": "hashtag", "tag": "scale"})
        await ws.sync()
        await until_listeners(redis_client, "hashtag:scale")
        await until_listeners(redis_client, f"timeline:{bob.id}")
        posted = await api_b.post(alice, "fan-out #scale")
        await ws.until(ws.frame("update", ["user"], posted["id"]), what="the post on the user stream")
        await ws.until(ws.frame("update", ["hashtag", "scale"], posted["id"]), what="the post on #scale")


async def test_a_gone_client_leaves_no_redis_subscription_behind(servers, redis_client, alice: Member) -> None:
    a, _b = servers
    channel = f"timeline:{alice.id}"
    async with open_sse(a.url, "user", token=alice.token):
        await until_listeners(redis_client, channel)
    await until_listeners(redis_client, channel, exactly=0)

    async with open_ws(a.url, stream="user", access_token=alice.token) as ws:
        await ws.sync()
        await until_listeners(redis_client, channel)
    await until_listeners(redis_client, channel, exactly=0)


async def test_a_malformed_bus_message_from_another_process_does_not_kill_open_streams(
        servers, api_b: Api, redis_client, alice: Member) -> None:
    a, _b = servers
    async with open_ws(a.url, stream="public") as ws, open_sse(a.url, "public") as sse:
        await until_listeners(redis_client, "public")
        # What an older or buggy worker might publish: decodable, but not what the gateway expects.
        for payload in ("oops", ["status_id", "1"], {"status_id": {"id": 1}}, {"notification_id": None},
                        {"status_id": "999999999999"}):
            await redis_client.publish(RedisBus.PREFIX + "public", json.dumps(
                {"channel": "public", "event": "update", "payload": payload}))
        posted = await api_b.post(alice, "after the garbage")
        await ws.until(ws.frame("update", ["public"], posted["id"]), what="the post on the WebSocket")
        await sse.until(sse.event("update", posted["id"]), what="the post on the SSE stream")
        assert ws.ids("update", ["public"]) == [posted["id"]]
        assert sse.ids("update") == [posted["id"]]

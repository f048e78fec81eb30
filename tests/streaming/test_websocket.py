"""Mastodon's multiplexed WebSocket stream (/api/v1/streaming), against a live uvicorn server."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agora.kit.runtime import Runtime
from agora.streaming.api import MAX_WS_FRAME, MAX_WS_STREAMS
from tests.factories import Member, make_member
from tests.streaming import WAIT, Api, WSStream, bus_channels, open_ws, ws_url

USER = ["user"]
PUBLIC = ["public"]


def hashtag(tag: str) -> list[str]:
    return ["hashtag", tag]




async def test_one_connection_multiplexes_two_streams(live_server, api: Api, alice: Member, bob: Member) -> None:
    await api.follow(bob, alice)
    async with open_ws(live_server.url, stream="user", access_token=bob.token) as ws:
        await ws.send({"type": "subscribe", "stream": "hashtag", "tag": "cats"})
        await ws.sync()
        posted = await api.post(alice, "hello #cats")
        home = await ws.until(ws.frame("update", USER, posted["id"]), what="the post on the user stream")
        tagged = await ws.until(ws.frame("update", hashtag("cats"), posted["id"]), what="the post on #cats")
        for frame in (home, tagged):
            assert set(frame) == {"stream", "event", "payload"}
            assert isinstance(frame["payload"], str)  # Mastodon nests the entity as a JSON string
            status = json.loads(frame["payload"])
            assert status["account"]["username"] == "alice"
            assert status["id"] == posted["id"]
            assert status["tags"] == posted["tags"]

        mine = await api.post(bob, "bob's post")
        await api.favourite(alice, mine["id"])
        note = await ws.until(ws.frame("notification", USER), what="the favourite notification")
        assert json.loads(note["payload"])["type"] == "favourite"


async def test_unsubscribe_stops_delivery(live_server, api: Api, alice: Member, bob: Member) -> None:
    async with open_ws(live_server.url, access_token=bob.token) as ws:
        await ws.send({"type": "subscribe", "stream": "public"})
        await ws.send({"type": "subscribe", "stream": "hashtag", "tag": "cats"})
        await ws.sync()
        first = await api.post(alice, "one #cats")
        await ws.until(ws.frame("update", hashtag("cats"), first["id"]), what="the first post on #cats")

        await ws.send({"type": "unsubscribe", "stream": "hashtag", "tag": "cats"})
        await ws.sync()
        second = await api.post(alice, "two #cats")
        marker = await api.post(alice, "marker")
        await ws.until(ws.frame("update", PUBLIC, marker["id"]), what="the marker")
        assert ws.ids("update", PUBLIC) == [first["id"], second["id"], marker["id"]]
        assert ws.ids("update", hashtag("cats")) == [first["id"]]

        await ws.send({"type": "unsubscribe", "stream": "public"})
        await ws.send({"type": "subscribe", "stream": "hashtag", "tag": "cats"})
        await ws.sync()
        third = await api.post(alice, "three #cats")
        await ws.until(ws.frame("update", hashtag("cats"), third["id"]), what="the third post on #cats")
        assert third["id"] not in ws.ids("update", PUBLIC)


@pytest.mark.parametrize("frame", [
    pytest.param("this is not JSON", id="not-json"),
    pytest.param("[1, 2, 3]", id="json-list"),
    pytest.param('"subscribe"', id="json-string"),
    pytest.param({"type": "subscribe", "stream": "everything"}, id="unknown-stream"),
    pytest.param({"type": "subscribe", "stream": "hashtag"}, id="hashtag-without-tag"),
    pytest.param({"type": "subscribe", "stream": "hashtag", "tag": ["cats"]}, id="tag-not-a-string"),
    pytest.param({"type": "subscribe", "stream": "public", "pad": "x" * (MAX_WS_FRAME + 1)}, id="oversized"),
    pytest.param({"type": "shout", "stream": "public"}, id="unknown-type"),
    pytest.param({"type": "subscribe", "stream": "user"}, id="user-without-token"),
    pytest.param(b"\x00\x01binary", id="binary"),
])
async def test_a_malformed_frame_is_answered_and_the_connection_keeps_working(
        live_server, api: Api, alice: Member, frame) -> None:
    async with open_ws(live_server.url, stream="public") as ws:
        error = await ws.send_and_expect_error(frame)
        assert isinstance(error["error"], str) and error["error"]
        assert ws.close_code is None and not ws.ended

        await ws.send({"type": "subscribe", "stream": "hashtag", "tag": "cats"})
        await ws.sync()
        posted = await api.post(alice, "still here #cats")
        await ws.until(ws.frame("update", hashtag("cats"), posted["id"]), what="the post on #cats")
        await ws.until(ws.frame("update", PUBLIC, posted["id"]), what="the post on the public stream")


async def test_a_burst_of_bad_frames_does_not_break_the_connection(live_server, api: Api, alice: Member) -> None:
    async with open_ws(live_server.url, stream="public") as ws:
        for _ in range(50):
            await ws.send("{")
        await ws.until(lambda _: len(ws.errors()) == 50, what="fifty error frames")
        posted = await api.post(alice, "after the burst")
        await ws.until(ws.frame("update", PUBLIC, posted["id"]), what="the post")


async def test_one_connection_may_hold_only_so_many_streams(live_server, api: Api, alice: Member) -> None:
    async with open_ws(live_server.url) as ws:
        for n in range(MAX_WS_STREAMS):
            await ws.send({"type": "subscribe", "stream": "hashtag", "tag": f"t{n}"})
        error = await ws.send_and_expect_error({"type": "subscribe", "stream": "hashtag", "tag": "one_too_many"})
        assert str(MAX_WS_STREAMS) in error["error"]
        assert len(ws.errors()) == 1  # the first MAX_WS_STREAMS were all accepted
        posted = await api.post(alice, "#t0 #one_too_many")
        await ws.until(ws.frame("update", hashtag("t0"), posted["id"]), what="the post on #t0")
        marker = await api.post(alice, "#t1 marker")
        await ws.until(ws.frame("update", hashtag("t1"), marker["id"]), what="the marker on #t1")
        assert ws.ids("update", hashtag("one_too_many")) == []


async def test_an_invalid_token_is_refused(live_server) -> None:
    try:
        async with connect(ws_url(live_server.url, stream="public", access_token="nonsense"),
                           open_timeout=WAIT, ping_interval=None) as ws:
            await asyncio.wait_for(ws.recv(), WAIT)
    except InvalidStatus as refused:  # refused at the handshake (what the server does today)
        assert refused.response.status_code in (401, 403)
    except ConnectionClosed as closed:  # or let in and closed at once, as some servers do
        assert closed.rcvd is not None and closed.rcvd.code == 4001
    else:
        pytest.fail("a connection with an invalid token was let in")


async def test_user_stream_needs_a_token_with_read_scope(live_server, runtime: Runtime, api: Api,
                                                         alice: Member) -> None:
    writer = await make_member(runtime, "writer", scopes=("write",))
    async with open_ws(live_server.url, stream="user", access_token=writer.token) as ws:
        error = await ws.until(lambda f: "error" in f, what="the refusal")
        assert "scope" in error["error"]
        await ws.send({"type": "subscribe", "stream": "public"})  # what the token may see still works
        await ws.sync()
        posted = await api.post(alice, "public post")
        await ws.until(ws.frame("update", PUBLIC, posted["id"]), what="the public post")


async def test_token_as_subprotocol_is_accepted(live_server, api: Api, alice: Member, bob: Member) -> None:
    await api.follow(bob, alice)
    async with connect(ws_url(live_server.url, stream="user"), subprotocols=[bob.token],  # type: ignore[list-item]
                       open_timeout=WAIT, ping_interval=None) as raw:
        assert raw.subprotocol == bob.token
        ws = WSStream(raw)
        reader = asyncio.create_task(ws.read())
        try:
            await ws.sync()
            posted = await api.post(alice, "via subprotocol")
            await ws.until(ws.frame("update", USER, posted["id"]), what="the post")
        finally:
            reader.cancel()


async def test_private_and_direct_posts_reach_only_their_audience(
        live_server, api: Api, alice: Member, bob: Member, carol: Member) -> None:
    await api.follow(carol, alice)
    async with open_ws(live_server.url, stream="user", access_token=bob.token) as bob_ws, \
            open_ws(live_server.url, stream="user", access_token=carol.token) as carol_ws:
        for ws in (bob_ws, carol_ws):
            await ws.send({"type": "subscribe", "stream": "public"})
            await ws.sync()
        private = await api.post(alice, "followers only", visibility="private")
        direct = await api.post(alice, "@bob only you", visibility="direct")
        marker = await api.post(alice, "marker")
        for ws in (bob_ws, carol_ws):
            await ws.until(ws.frame("update", PUBLIC, marker["id"]), what="the marker")
        assert bob_ws.ids("update", USER) == [direct["id"]]
        assert bob_ws.ids("update", PUBLIC) == [marker["id"]]
        assert carol_ws.ids("update", USER)[:2] == [private["id"], marker["id"]]
        assert carol_ws.ids("update", PUBLIC) == [marker["id"]]


async def test_a_connection_is_released_when_the_client_goes_away(live_server, alice: Member) -> None:
    channel = f"timeline:{alice.id}"
    async with open_ws(live_server.url, stream="user", access_token=alice.token) as ws:
        await ws.send({"type": "subscribe", "stream": "hashtag", "tag": "gone"})
        await ws.sync()
        assert {channel, "hashtag:gone"} <= bus_channels(live_server)
    deadline = asyncio.get_running_loop().time() + WAIT
    while {channel, "hashtag:gone"} & bus_channels(live_server):
        assert asyncio.get_running_loop().time() < deadline, "the server kept listening for a gone client"
        await asyncio.sleep(0.05)

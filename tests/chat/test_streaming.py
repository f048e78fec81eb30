"""The `chat` stream over real connections to a live server: WebSocket and SSE, live delivery,
resuming by cursor, idempotent sends, two server processes through Redis, privacy and bad input.

"Never arrives" is proven without sleeping, as in tests/streaming: after the action under test
something that must arrive is sent, and the stream delivers in log order, so once that marker is
in, anything before it that was going to arrive has arrived.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agora.kit.runtime import Runtime
from tests.conftest import LiveServer, make_settings
from tests.factories import Member, make_member
from tests.streaming import WAIT, WSStream, open_sse, open_ws, until_listeners

CHAT = ["chat"]


@pytest.fixture
async def http(live_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=WAIT * 2) as client:
        yield client


async def call(http: httpx.AsyncClient, method: str, who: Member, path: str, **body: Any) -> Any:
    response = await http.request(method, path, headers=who.headers, json=body or None)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def start_direct(http: httpx.AsyncClient, a: Member, b: Member) -> str:
    return (await call(http, "POST", a, "/api/v1/chats", account_id=b.id))["id"]


async def start_group(http: httpx.AsyncClient, owner: Member, *others: Member) -> str:
    return (await call(http, "POST", owner, "/api/v1/chats", kind="group", name="Crew",
                       account_ids=[o.id for o in others]))["id"]


async def send(http: httpx.AsyncClient, who: Member, conversation_id: str, text: str, **fields: Any) -> dict:
    return await call(http, "POST", who, f"/api/v1/chats/{conversation_id}/messages", text=text, **fields)


def payloads(ws: WSStream, event: str = "chat.message") -> list[dict]:
    return [json.loads(f["payload"]) for f in ws.received if f.get("stream") == CHAT and f.get("event") == event]


def texts(ws: WSStream) -> list[str]:
    return [p["message"]["text"] for p in payloads(ws)]


async def until_text(ws: WSStream, text: str) -> dict:
    frame = await ws.until(lambda f: f.get("event") == "chat.message"
                           and json.loads(f["payload"])["message"]["text"] == text, what=f"message {text!r}")
    return json.loads(frame["payload"])


async def ready(ws: WSStream) -> str:
    """Wait for the end of the replay; the cursor the stream stands at."""
    frame = await ws.until(lambda f: f.get("event") == "chat.ready", what="chat.ready")
    return json.loads(frame["payload"])["cursor"]


async def test_two_members_chat_over_websockets(live_server, http, alice: Member, bob: Member) -> None:
    chat = await start_direct(http, alice, bob)
    async with open_ws(live_server.url, stream="chat", access_token=alice.token) as a, \
            open_ws(live_server.url, stream="chat", access_token=bob.token) as b:
        await ready(a)
        await ready(b)
        await a.send({"type": "chat.send", "conversation_id": chat, "text": "hi bob 👋", "client_id": "a-1"})
        ack = await a.until(lambda f: f.get("type") == "chat.sent", what="the send's acknowledgement")
        assert ack["client_id"] == "a-1" and ack["message"]["text"] == "hi bob 👋"
        got = await until_text(b, "hi bob 👋")
        assert got["message"]["account"]["username"] == "alice"
        assert got["message"]["id"] == ack["message"]["id"]
        assert int(got["cursor"]) > 0

        # Read receipt: bob reads alice's message, alice's stream says so.
        await b.send({"type": "chat.read", "conversation_id": chat, "message_id": ack["message"]["id"]})
        receipt = await a.until(lambda f: f.get("event") == "chat.read", what="bob's read receipt")
        assert json.loads(receipt["payload"]) | {"cursor": "x"} == {
            "cursor": "x", "conversation_id": chat, "account_id": bob.id, "last_read_id": ack["message"]["id"]}
        # Typing reaches the other member only, and carries who is typing.
        await b.send({"type": "chat.typing", "conversation_id": chat})
        typing = await a.until(lambda f: f.get("event") == "chat.typing", what="bob typing")
        assert json.loads(typing["payload"])["account"]["username"] == "bob"
        await b.send({"type": "chat.send", "conversation_id": chat, "text": "hey alice", "client_id": "b-1"})
        await until_text(a, "hey alice")
        await until_text(b, "hey alice")  # a member's own messages reach their other devices too
        assert not [f for f in b.received if f.get("event") == "chat.typing"]  # not echoed to the typist
        # Each member saw each message once.
        assert texts(a).count("hi bob 👋") == 1 and texts(b).count("hey alice") == 1


async def test_group_of_five_receive_each_message_once_in_one_order(live_server, http, runtime: Runtime) -> None:
    members = [await make_member(runtime, f"m{i}") for i in range(5)]
    chat = await start_group(http, members[0], *members[1:])
    async with _many(live_server.url, members) as streams:
        sent = [f"{who.username}-{n}" for who in members[:3] for n in range(5)]
        await asyncio.gather(*(send(http, who, chat, f"{who.username}-{n}", client_id=f"{who.username}-{n}")
                               for who in members[:3] for n in range(5)))
        for ws in streams:
            await ws.wait(lambda ws=ws: len(texts(ws)) >= len(sent), "all fifteen messages")
        orders = [[p["message"]["id"] for p in payloads(ws)] for ws in streams]
        for ws, order in zip(streams, orders, strict=True):
            assert sorted(texts(ws)) == sorted(sent)  # every message, none twice
            cursors = [int(p["cursor"]) for p in payloads(ws)]
            assert cursors == sorted(set(cursors))  # strictly increasing
            assert order == orders[0]  # the same order for everyone


class _many:
    """Open a chat WebSocket for each member and wait until each has caught up."""

    def __init__(self, url: str, members: list[Member]) -> None:
        self.url, self.members = url, members
        self._contexts: list[Any] = []

    async def __aenter__(self) -> list[WSStream]:
        streams = []
        for member in self.members:
            context = open_ws(self.url, stream="chat", access_token=member.token)
            streams.append(await context.__aenter__())
            self._contexts.append(context)
        for ws in streams:
            await ready(ws)
        return streams

    async def __aexit__(self, *exc: object) -> None:
        for context in reversed(self._contexts):
            await context.__aexit__(None, None, None)


async def test_reconnecting_with_the_cursor_delivers_exactly_what_was_missed(live_server, http, alice, bob) -> None:
    chat = await start_direct(http, alice, bob)
    first = await send(http, alice, chat, "one")
    async with open_ws(live_server.url, stream="chat", access_token=bob.token) as ws:
        await ready(ws)
        second = await send(http, alice, chat, "two")
        cursor = (await until_text(ws, "two"))["cursor"]
    # Away: messages, an edit and a delete happen.
    await send(http, alice, chat, "three")
    await send(http, alice, chat, "four")
    await call(http, "PUT", alice, f"/api/v1/chats/{chat}/messages/{second['id']}", text="two, edited")
    await call(http, "DELETE", alice, f"/api/v1/chats/{chat}/messages/{first['id']}")
    async with open_ws(live_server.url, stream="chat", access_token=bob.token, cursor=cursor) as ws:
        await ready(ws)
        await send(http, alice, chat, "five")  # and live again after the replay
        await until_text(ws, "five")
        events = [(f["event"], json.loads(f["payload"])) for f in ws.received
                  if f.get("stream") == CHAT and f["event"].startswith("chat.message")]
        assert [(e, p["message"]["text"]) for e, p in events] == [
            ("chat.message", "three"), ("chat.message", "four"), ("chat.message.update", "two, edited"),
            ("chat.message.update", ""), ("chat.message", "five")]
        assert events[3][1]["message"]["deleted"] is True and events[3][1]["reason"] == "delete"
        assert all(int(p["cursor"]) > int(cursor) for _, p in events)

    # SSE resumes the same way, from the Last-Event-ID an EventSource sends when it reconnects.
    async with open_sse(live_server.url, "chat", token=bob.token, headers={"Last-Event-ID": cursor}) as sse:
        await sse.until(lambda e: e.event == "chat.ready", what="chat.ready over SSE")
        replayed = [e for e in sse.received if e.event.startswith("chat.message")]
        assert [e.json()["message"]["text"] for e in replayed] == ["three", "four", "two, edited", "", "five"]
        assert [e.id for e in replayed] == [e.json()["cursor"] for e in replayed]


async def test_a_retried_send_makes_one_message(live_server, http, alice, bob) -> None:
    chat = await start_direct(http, alice, bob)
    async with open_ws(live_server.url, stream="chat", access_token=bob.token) as b, \
            open_ws(live_server.url, stream="chat", access_token=alice.token) as a:
        await ready(b)
        frame = {"type": "chat.send", "conversation_id": chat, "text": "only once", "client_id": "retry-1"}
        await a.send(frame)
        await a.send(frame)  # the client did not see the first acknowledgement and retries
        rest = await send(http, alice, chat, "only once", client_id="retry-1")  # and once more by REST
        await a.wait(lambda: len([f for f in a.received if f.get("type") == "chat.sent"]) == 2, "two acks")
        acks = [f["message"]["id"] for f in a.received if f.get("type") == "chat.sent"]
        assert acks == [rest["id"], rest["id"]]
        await send(http, alice, chat, "marker")
        await until_text(b, "marker")
        assert texts(b) == ["only once", "marker"]
    listed = await call(http, "GET", bob, f"/api/v1/chats/{chat}/messages")
    assert [m["text"] for m in listed] == ["marker", "only once"]


async def test_a_removed_member_stops_receiving_at_once(live_server, http, alice, bob, carol) -> None:
    chat = await start_group(http, alice, bob, carol)
    aside = await start_direct(http, bob, carol)
    async with open_ws(live_server.url, stream="chat", access_token=carol.token) as ws:
        await ready(ws)
        await send(http, alice, chat, "before")
        await until_text(ws, "before")
        await call(http, "DELETE", alice, f"/api/v1/chats/{chat}/members/{carol.id}")
        removed = await ws.until(lambda f: f.get("event") == "chat.conversation.remove", what="the removal")
        assert json.loads(removed["payload"])["conversation_id"] == chat
        await send(http, alice, chat, "after")
        await call(http, "POST", bob, f"/api/v1/chats/{chat}/typing")
        await send(http, bob, aside, "marker")
        await until_text(ws, "marker")
        assert "after" not in texts(ws)
        assert not [f for f in ws.received if f.get("event") == "chat.typing"]
    response = await http.get(f"/api/v1/chats/{chat}/messages", headers=carol.headers)
    assert response.status_code == 404


async def test_a_non_member_hears_nothing_of_a_conversation(live_server, http, alice, bob, carol) -> None:
    chat = await start_direct(http, alice, bob)
    own = await start_direct(http, carol, alice)
    async with open_ws(live_server.url, stream="chat", access_token=carol.token) as ws:
        await ready(ws)
        await send(http, alice, chat, "secret")
        await call(http, "POST", alice, f"/api/v1/chats/{chat}/typing")
        await send(http, alice, own, "marker")
        await until_text(ws, "marker")
        assert texts(ws) == ["marker"]
        assert not [f for f in ws.received if f.get("event") == "chat.typing"]
        answer = await ws.send_and_expect_error({"type": "chat.send", "conversation_id": chat, "text": "let me in"})
        assert answer["status"] == 404
        answer = await ws.send_and_expect_error({"type": "chat.typing", "conversation_id": chat})
        assert answer["status"] == 404


async def test_a_member_added_to_a_group_hears_it_at_once(live_server, http, alice, bob, carol) -> None:
    async with open_ws(live_server.url, stream="chat", access_token=carol.token) as ws:
        await ready(ws)
        chat = await start_group(http, alice, bob, carol)  # carol's stream learns of it from the log
        await send(http, alice, chat, "welcome, carol")  # at once: before carol may have subscribed
        got = await until_text(ws, "welcome, carol")
        assert got["conversation_id"] == chat
        assert texts(ws).count("welcome, carol") == 1


async def test_bad_frames_are_answered_and_the_connection_carries_on(live_server, http, alice, bob) -> None:
    chat = await start_direct(http, alice, bob)
    async with open_ws(live_server.url, stream="chat", access_token=alice.token) as ws:
        await ready(ws)
        for frame in ("not json", "[1, 2]", {"type": "chat.send"},
                      {"type": "chat.send", "conversation_id": "12345", "text": "who?"},
                      {"type": "chat.send", "conversation_id": chat, "text": ""},
                      {"type": "chat.send", "conversation_id": chat, "text": "hi", "client_id": ["no"]},
                      {"type": "chat.dance", "conversation_id": chat},
                      {"type": "chat.read", "conversation_id": chat, "message_id": "abc"},
                      {"type": "subscribe", "stream": "chat:secret"},
                      b"\xff\xfe binary"):
            answer = await ws.send_and_expect_error(frame)
            assert answer["error"]
        await ws.send({"type": "chat.send", "conversation_id": chat, "text": "still here", "client_id": "ok"})
        await until_text(ws, "still here")
    assert [m["text"] for m in await call(http, "GET", alice, f"/api/v1/chats/{chat}/messages")] == ["still here"]
    for bad in ("-4", "9" * 25):  # negative, and beyond what the database can count to
        async with open_ws(live_server.url, stream="chat", access_token=alice.token, cursor=bad) as ws:
            refused = await ws.until(lambda f: "error" in f, what=f"the refusal of cursor {bad}")
            assert "cursor" in refused["error"]


async def test_oversized_text_is_refused_by_its_limit(live_server, http, alice, bob) -> None:
    chat = await start_direct(http, alice, bob)
    limit = live_server.settings.max_chat_message_chars
    async with open_ws(live_server.url, stream="chat", access_token=alice.token) as ws:
        await ready(ws)
        answer = await ws.send_and_expect_error(
            {"type": "chat.send", "conversation_id": chat, "text": "y" * (limit + 1)})
        assert answer["status"] == 422 and str(limit) in answer["error"]


async def test_a_flooding_socket_is_slowed_then_dropped_and_others_carry_on(live_server, http, alice, bob) -> None:
    chat = await start_direct(http, alice, bob)
    async with open_ws(live_server.url, stream="chat", access_token=bob.token) as calm:
        await ready(calm)
        async with open_ws(live_server.url, stream="chat", access_token=alice.token) as flood:
            await ready(flood)
            for _ in range(400):
                await flood.send({"type": "chat.typing", "conversation_id": chat})
            await flood.wait(lambda: flood.ended, "the flooding socket to be closed")
            assert flood.close_code == 1008
            assert any(f.get("error") == "too many frames: slow down" for f in flood.received)
        await send(http, alice, chat, "after the flood")
        await until_text(calm, "after the flood")


async def test_sending_too_fast_is_refused_with_429(database_url, tmp_path, runtime: Runtime, alice, bob) -> None:
    # One window as long as the test: a run that crossed a window's edge would get a fresh budget.
    settings_for = lambda url: make_settings(database_url, tmp_path / "slow", base_url=url,  # noqa: E731
                                             rate_limit_chat=3, rate_limit_chat_window=10**9)
    with LiveServer(settings_for) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
            chat = await start_direct(http, alice, bob)
            async with open_ws(server.url, stream="chat", access_token=alice.token) as ws:
                await ready(ws)
                for n in range(5):
                    await ws.send({"type": "chat.send", "conversation_id": chat, "text": f"m{n}"})
                await ws.wait(lambda: len([f for f in ws.received if f.get("type") in ("chat.sent", "chat.error")])
                              == 5, "five answers")
            answers = [f for f in ws.received if f.get("type") in ("chat.sent", "chat.error")]
            assert [a["type"] for a in answers] == ["chat.sent"] * 2 + ["chat.error"] * 3  # 1 used to start
            assert {a["status"] for a in answers if a["type"] == "chat.error"} == {429}


async def test_a_message_crosses_between_two_server_processes(redis_servers, redis_client, alice, bob) -> None:
    a, b = redis_servers
    async with httpx.AsyncClient(base_url=a.url, timeout=WAIT) as http_a:
        chat = await start_direct(http_a, alice, bob)
        async with open_ws(b.url, stream="chat", access_token=bob.token) as ws:
            await ready(ws)
            await until_listeners(redis_client, f"chat:{chat}")
            sent = await send(http_a, alice, chat, "across processes")
            got = await until_text(ws, "across processes")
            assert got["message"]["id"] == sent["id"]

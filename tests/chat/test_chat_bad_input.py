"""Bad input to the chat API gets a clear 4xx with an `error` that says what was wrong, stores
nothing, and leaves the conversation working; text a person may really type (any script, emoji,
right-to-left marks) arrives exactly as sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from agora.kit.runtime import Runtime
from tests.chat.helpers import direct, events_since, follow, group, head, history, send, upload_image
from tests.conftest import app_client, make_settings
from tests.factories import Member, make_member


@pytest.fixture
async def chat(client, alice, bob) -> dict:
    await follow(client, bob, alice)
    return await direct(client, alice, bob)


def _messages(chat: dict) -> str:
    return f"/api/v1/chats/{chat['id']}/messages"


async def _refused(response: httpx.Response, *statuses: int) -> str:
    assert response.status_code in (statuses or (422,)), (response.status_code, response.text)
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body["error"]


async def _still_works(client: httpx.AsyncClient, chat: dict, alice: Member, bob: Member, expected: list[str]
                       ) -> None:
    """Nothing was stored, and the next good message goes through."""
    assert [m["text"] for m in await history(client, bob, chat["id"])] == expected
    await send(client, alice, chat["id"], "still here")
    assert (await history(client, bob, chat["id"]))[0]["text"] == "still here"


# --- text ---------------------------------------------------------------------------------------


async def test_oversized_text_is_refused_and_nothing_is_stored(client, chat, alice, bob):
    exactly = await client.post(_messages(chat), headers=alice.headers, json={"text": "x" * 10_000})
    assert exactly.status_code == 201
    cursor = await head(client, bob)
    error = await _refused(await client.post(_messages(chat), headers=alice.headers,
                                             json={"text": "x" * 10_001, "client_id": "big"}))
    assert "10000" in error.replace(",", "")
    await _refused(await client.post(_messages(chat), headers=alice.headers, json={"text": "界" * 200_000}))
    # Over the request size limit altogether: 413, still JSON.
    await _refused(await client.post(_messages(chat), headers=alice.headers, json={"text": "x" * 1_100_000}), 413)
    assert await events_since(client, bob, cursor) == []
    # The refused client id was not used up.
    retry = await client.post(_messages(chat), headers=alice.headers, json={"text": "smaller", "client_id": "big"})
    assert retry.status_code == 201
    await _still_works(client, chat, alice, bob, ["smaller", "x" * 10_000])


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   \n\t "}, {"text": None}, {"media_ids": []}])
async def test_an_empty_message_is_refused(client, chat, alice, bob, body):
    await _refused(await client.post(_messages(chat), headers=alice.headers, json=body))
    await _still_works(client, chat, alice, bob, [])


@pytest.mark.parametrize("text", [
    "مرحبا بالعالم — שלום עולם",  # right to left
    "abc \u202edcba\u202c \u200f",  # bidi override and mark
    "👋🏽 👨‍👩‍👧‍👦 🏳️‍🌈 1️⃣",  # skin tone, ZWJ family, flag, keycap
    "e\u0301 = é, ñ, Ǆ, ﬁ",  # combining accent, ligature: not normalised away
    "中文、日本語、한국어",
    "line one\nline two\r\n\ttabbed",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 outside the BMP 𓀀",
])
async def test_unicode_text_round_trips_exactly(client, chat, alice, bob, text):
    sent = await send(client, alice, chat["id"], text, client_id="u1")
    assert sent["text"] == text
    assert (await history(client, bob, chat["id"]))[0]["text"] == text
    # The same text sent again under its client id, \u-escaped this time, is the same message.
    again = await client.post(_messages(chat), headers={**alice.headers, "Content-Type": "application/json"},
                              content=json.dumps({"text": text, "client_id": "u1"}, ensure_ascii=True))
    assert again.status_code == 200 and again.json()["id"] == sent["id"]
    edited = await client.put(f"{_messages(chat)}/{sent['id']}", headers=alice.headers, json={"text": text + "!"})
    assert edited.status_code == 200 and edited.json()["text"] == text + "!"
    assert (await history(client, bob, chat["id"], q=text.split()[0]))[0]["id"] == sent["id"]


@pytest.mark.parametrize("where", ["text", "client_id"])
async def test_nul_characters_are_refused(client, chat, alice, bob, where):
    body = {"text": "hello", "client_id": "n1", where: "a\x00b"}
    error = await _refused(await client.post(_messages(chat), headers=alice.headers, json=body))
    assert "NUL" in error
    sent = await send(client, alice, chat["id"], "clean")
    assert (await _refused(await client.put(f"{_messages(chat)}/{sent['id']}", headers=alice.headers,
                                            json={"text": "x\x00"}))).startswith("text")
    await _refused(await client.put(f"{_messages(chat)}/{sent['id']}/reactions/%00", headers=bob.headers), 400, 422)
    await _still_works(client, chat, alice, bob, ["clean"])


# --- ids and types ------------------------------------------------------------------------------


@pytest.mark.parametrize("conversation_id", [
    "117000000000000000", "abc", "0", "-1", "1.5", "1e5", "９９", "99999999999999999999999", "%20"])
async def test_an_unknown_or_malformed_conversation_is_not_found(client, alice, conversation_id):
    for method, path in (("GET", ""), ("GET", "/messages"), ("POST", "/messages"), ("GET", "/members"),
                         ("POST", "/read"), ("PUT", "/messages/1/reactions/%F0%9F%91%8D")):
        response = await client.request(method, f"/api/v1/chats/{conversation_id}{path}", headers=alice.headers,
                                         json={"text": "hi"} if method == "POST" else None)
        await _refused(response, 404)


@pytest.mark.parametrize("message_id", ["abc", "0", "-3", "99999999999999999999999", "117000000000000000"])
async def test_an_unknown_or_malformed_message_is_not_found(client, chat, alice, message_id):
    for method, suffix in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/history"), ("POST", "/pin"),
                           ("PUT", "/reactions/%F0%9F%91%8D")):
        response = await client.request(method, f"{_messages(chat)}/{message_id}{suffix}", headers=alice.headers,
                                        json={"text": "x"} if method == "PUT" and not suffix else None)
        await _refused(response, 404)


@pytest.mark.parametrize("body", [
    {"text": 123}, {"text": ["hi"]}, {"text": {"a": 1}}, {"text": True},
    {"text": "hi", "client_id": 7}, {"text": "hi", "client_id": ""}, {"text": "hi", "client_id": ["a"]},
    {"text": "hi", "reply_to_id": "abc"}, {"text": "hi", "reply_to_id": ["1"]},
    {"text": "hi", "forward_of_id": "x"},
    {"text": "hi", "media_ids": "notanid"}, {"text": "hi", "media_ids": [{"id": 1}]}, {"text": "hi", "media_ids": [-1]},
])
async def test_wrong_types_in_a_message_are_refused(client, chat, alice, bob, body):
    await _refused(await client.post(_messages(chat), headers=alice.headers, json=body))
    await _still_works(client, chat, alice, bob, [])


@pytest.mark.parametrize("content, content_type, status", [
    (b"{not json", "application/json", 400),
    (b'["a", "list"]', "application/json", 400),
    (b'"text"', "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
])
async def test_a_body_that_is_not_a_json_object_is_a_400(client, chat, alice, bob, content, content_type, status):
    response = await client.post(_messages(chat), headers={**alice.headers, "Content-Type": content_type},
                                 content=content)
    await _refused(response, status)
    await _still_works(client, chat, alice, bob, [])


@pytest.mark.parametrize("body", [
    {"account_id": "abc"}, {"account_id": ["1"]}, {"account_id": 12.5}, {"kind": "channel", "account_id": "1"},
    {"kind": "group", "name": "x" * 101}, {"kind": "group", "description": "d" * 1001},
    {"kind": "group", "account_ids": "abc"}, {"kind": "group", "account_ids": [{"id": "1"}]},
    {"kind": "group", "account_ids": ["117000000000000000"]}, {"kind": ["group"]}, {"kind": "group", "name": 5},
    {"acct": "@nobody"},
])
async def test_starting_a_conversation_with_bad_input(client, alice, body):
    response = await client.post("/api/v1/chats", headers=alice.headers, json=body)
    await _refused(response, 404, 422)
    assert (await client.get("/api/v1/chats", headers=alice.headers)).json() == []


async def test_group_member_and_role_changes_with_bad_input(client, alice, bob, carol):
    await follow(client, bob, alice)
    g = await group(client, alice, bob)
    base = f"/api/v1/chats/{g['id']}/members"
    for body in ({}, {"account_ids": []}, {"account_ids": "x"}, {"account_ids": ["117000000000000000"]},
                 {"account_ids": [carol.id, "117000000000000000"]}):
        await _refused(await client.post(base, headers=alice.headers, json=body), 422)
    for body in ({}, {"role": 1}, {"role": "god"}, {"role": None}, {"role": ["admin"]}):
        await _refused(await client.put(f"{base}/{bob.id}", headers=alice.headers, json=body), 422)
    await _refused(await client.put(f"{base}/abc", headers=alice.headers, json={"role": "admin"}), 404)
    await _refused(await client.put(f"{base}/{carol.id}", headers=alice.headers, json={"role": "admin"}), 404)
    members = (await client.get(base, headers=alice.headers)).json()
    assert [(m["account"]["username"], m["role"]) for m in members] == [("alice", "owner"), ("bob", "member")]


async def test_read_receipts_with_bad_input(client, chat, alice, bob):
    sent = await send(client, alice, chat["id"], "hi")
    path = f"/api/v1/chats/{chat['id']}/read"
    for body in ({"message_id": "abc"}, {"message_id": ["1"]}, {"message_id": -1}, {"message_id": {"a": 1}}):
        await _refused(await client.post(path, headers=bob.headers, json=body))
    await _refused(await client.post(path, headers=bob.headers, json={"message_id": "117000000000000000"}), 404)
    assert (await client.get(f"/api/v1/chats/{chat['id']}", headers=bob.headers)).json()["last_read_id"] is None
    assert (await client.post(path, headers=bob.headers, json={"message_id": sent["id"]})).status_code == 200


@pytest.mark.parametrize("params", [
    {"cursor": "abc"}, {"cursor": "-1"}, {"cursor": "1.5"}, {"cursor": "99999999999999999999999999"},
    {"cursor": "0", "limit": "many"}, {"cursor": "1e3"},
])
async def test_replay_with_a_bad_cursor_is_a_422(client, chat, alice, params):
    await _refused(await client.get("/api/v1/chats/events", headers=alice.headers, params=params))
    assert (await client.get("/api/v1/chats/events", headers=alice.headers, params={"cursor": "0"})).status_code == 200


@pytest.mark.parametrize("params", [{"limit": "x"}, {"max_id": "abc"}, {"min_id": "-1"}, {"q": "x" * 201}])
async def test_history_with_bad_paging_or_search_is_a_422(client, chat, alice, params):
    await _refused(await client.get(_messages(chat), headers=alice.headers, params=params))


async def test_media_problems_are_refused(client, chat, alice, bob):
    pictures = [await upload_image(client, alice) for _ in range(5)]
    for media_ids in ([p["id"] for p in pictures], [pictures[0]["id"], pictures[0]["id"]], ["117000000000000000"]):
        await _refused(await client.post(_messages(chat), headers=alice.headers,
                                         json={"text": "pics", "media_ids": media_ids}))
    # None of them was used up by the refusals.
    sent = await send(client, alice, chat["id"], "pics", media_ids=[p["id"] for p in pictures[:4]])
    assert len(sent["media_attachments"]) == 4


# --- client ids ---------------------------------------------------------------------------------


async def test_client_ids_have_a_length_limit(client, chat, alice, bob):
    await _refused(await client.post(_messages(chat), headers=alice.headers, json={"text": "x", "client_id": "c" * 65}))
    await _refused(await client.post(_messages(chat), headers={**alice.headers, "Idempotency-Key": "k" * 1000},
                                     json={"text": "x"}))
    await _refused(await client.post(_messages(chat), headers=alice.headers,
                                     json={"text": "x", "client_id": "c" * 100_000}))
    assert (await client.post(_messages(chat), headers=alice.headers,
                              json={"text": "x", "client_id": "c" * 64})).status_code == 201
    await _still_works(client, chat, alice, bob, ["x"])


async def test_concurrent_sends_of_one_client_id_make_one_message(client, chat, alice, bob):
    body = {"text": "are we still on for tonight?", "client_id": "tap-tap-tap"}
    answers = await asyncio.gather(*[client.post(_messages(chat), headers=alice.headers, json=body)
                                     for _ in range(8)])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 7 + [201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert [m["text"] for m in await history(client, bob, chat["id"])] == [body["text"]]
    assert [e["event"] for e in await events_since(client, bob, 0)].count("chat.message") == 1


async def test_concurrent_sends_of_different_messages_all_arrive_once_in_order(client, chat, alice, bob):
    start = await head(client, bob)
    answers = await asyncio.gather(*[client.post(_messages(chat), headers=alice.headers,
                                                 json={"text": f"m{i}", "client_id": f"c{i}"}) for i in range(10)])
    assert all(a.status_code == 201 for a in answers)
    events = [e for e in await events_since(client, bob, start) if e["event"] == "chat.message"]
    assert sorted(e["payload"]["message"]["text"] for e in events) == sorted(f"m{i}" for i in range(10))
    assert len(events) == 10
    # Every member's log has them in the same order (the order of their commits).
    logged = [e["payload"]["message"]["id"] for e in events]
    assert [e["payload"]["message"]["id"] for e in await events_since(client, alice, start)
            if e["event"] == "chat.message"] == logged
    assert sorted(logged) == sorted(m["id"] for m in await history(client, bob, chat["id"], limit=40))


# --- emoji --------------------------------------------------------------------------------------


@pytest.mark.parametrize("emoji", ["abc", "<script>", "%3Cb%3E", "👍x", "😀" * 17, "\u200d", "🙂 🙂"])
async def test_an_invalid_reaction_is_a_422(client, chat, alice, bob, emoji):
    sent = await send(client, alice, chat["id"], "react to me")
    response = await client.put(f"{_messages(chat)}/{sent['id']}/reactions/{quote(emoji, safe='%')}",
                                headers=bob.headers)
    await _refused(response)
    assert (await history(client, bob, chat["id"]))[0]["reactions"] == []


# --- flooding -----------------------------------------------------------------------------------


@pytest.fixture
async def strict(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """An app that allows each member three chat writes. The limiter's windows are aligned to the
    clock (`now // window`): a one-minute window could roll over mid-test and refill the budget, so
    this one is a billion seconds long."""
    async with app_client(make_settings(database_url, tmp_path / "strict", rate_limit_chat=3,
                                   rate_limit_chat_window=10**9)) as made:
        yield made


async def test_flooding_is_rate_limited_per_member_and_breaks_nothing(strict):
    client, runtime = strict
    alice, bob = await make_member(runtime, "alice"), await make_member(runtime, "bob")
    chat = await direct(client, alice, bob)  # one write
    answers = [await client.post(_messages(chat), headers=alice.headers, json={"text": f"flood {i}"})
               for i in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 429, 429]
    await _refused(answers[-1], 429)
    # Reading still works, and the other member is not held back by alice's flood.
    assert [m["text"] for m in await history(client, bob, chat["id"])] == ["flood 1", "flood 0"]
    assert (await client.post(_messages(chat), headers=bob.headers, json={"text": "calm down"})).status_code == 201

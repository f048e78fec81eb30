"""Privacy: a conversation is invisible to everyone outside it — every route answers a stranger
404, exactly as for an id that does not exist — and a member who leaves or is removed stops
receiving at that moment."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.chat.helpers import (
    direct,
    events_since,
    follow,
    group,
    head,
    history,
    inbox,
    send,
)
from tests.factories import Member, make_member

MISSING = "117000000000000000"  # well-formed ids that name nothing
MISSING_MESSAGE = "117000000000000001"


def _routes(conversation_id: str, message_id: str, member_id: str) -> list[tuple[str, str, dict | None]]:
    """Every route that names a conversation: (method, path, JSON body)."""
    chat = f"/api/v1/chats/{conversation_id}"
    message = f"{chat}/messages/{message_id}"
    return [
        ("GET", chat, None),
        ("PATCH", chat, {"name": "mine now"}),
        ("GET", f"{chat}/members", None),
        ("POST", f"{chat}/members", {"account_ids": [member_id]}),
        ("DELETE", f"{chat}/members/{member_id}", None),
        ("PUT", f"{chat}/members/{member_id}", {"role": "admin"}),
        ("GET", f"{chat}/messages", None),
        ("GET", f"{chat}/messages?q=secret", None),
        ("GET", f"{chat}/messages?pinned=true", None),
        ("POST", f"{chat}/messages", {"text": "let me in"}),
        ("POST", f"{chat}/messages", {"text": "let me in", "client_id": "probe"}),
        ("GET", message, None),
        ("GET", f"{message}/history", None),
        ("PUT", message, {"text": "edited by a stranger"}),
        ("DELETE", message, None),
        ("PUT", f"{message}/reactions/{quote('👍')}", None),
        ("DELETE", f"{message}/reactions/{quote('👍')}", None),
        ("POST", f"{message}/pin", None),
        ("POST", f"{message}/unpin", None),
        ("POST", f"{chat}/accept", None),
        ("POST", f"{chat}/decline", None),
        ("POST", f"{chat}/mute", None),
        ("POST", f"{chat}/unmute", None),
        ("POST", f"{chat}/leave", None),
        ("POST", f"{chat}/read", {"message_id": message_id}),
        ("POST", f"{chat}/typing", None),
    ]


async def _call(client: httpx.AsyncClient, who: Member, method: str, path: str, body: dict | None
                ) -> httpx.Response:
    return await client.request(method, path, headers=who.headers, json=body)


async def _answers(client: httpx.AsyncClient, who: Member, conversation_id: str, message_id: str,
                   member_id: str) -> list[tuple[str, str, int, object]]:
    found = []
    for method, path, body in _routes(conversation_id, message_id, member_id):
        response = await _call(client, who, method, path, body)
        found.append((method, path.replace(message_id, "M").replace(conversation_id, "C"), response.status_code,
                      response.json()))
    return found


@pytest.fixture
async def secret(client, alice, bob) -> tuple[dict, dict]:
    """A group of alice and bob (accepted) with one pinned, reacted-to message."""
    await follow(client, bob, alice)
    g = await group(client, alice, bob, name="Surprise party")
    message = await send(client, alice, g["id"], "the secret is at 8")
    await client.put(f"/api/v1/chats/{g['id']}/messages/{message['id']}/reactions/{quote('🎉')}", headers=bob.headers)
    await client.post(f"/api/v1/chats/{g['id']}/messages/{message['id']}/pin", headers=alice.headers)
    return g, message


async def _snapshot(client: httpx.AsyncClient, who: Member, conversation_id: str) -> tuple:
    chat = (await client.get(f"/api/v1/chats/{conversation_id}", headers=who.headers)).json()
    messages = await history(client, who, conversation_id)
    members = (await client.get(f"/api/v1/chats/{conversation_id}/members", headers=who.headers)).json()
    return chat["name"], chat["member_count"], messages, members


async def test_a_stranger_gets_the_same_404_as_for_a_conversation_that_does_not_exist(
        client, secret, alice, bob, carol):
    g, message = secret
    before = await _snapshot(client, alice, g["id"])
    cursor = await head(client, alice)
    real = await _answers(client, carol, g["id"], message["id"], bob.id)
    imaginary = await _answers(client, carol, MISSING, MISSING_MESSAGE, bob.id)
    assert all(status == 404 for _, _, status, _ in real), [r for r in real if r[2] != 404]
    assert real == imaginary  # same status, same words: nothing to tell them apart
    # Nothing changed, and nothing happened that the members could hear of.
    assert await _snapshot(client, alice, g["id"]) == before
    assert await events_since(client, alice, cursor) == []
    assert await events_since(client, carol, 0) == []
    assert await inbox(client, carol) == [] and await inbox(client, carol, requests=True) == []


async def test_a_stranger_cannot_reach_a_message_through_a_conversation_of_their_own(client, secret, carol, alice):
    _, message = secret
    mine = await direct(client, carol, alice)
    path = f"/api/v1/chats/{mine['id']}/messages/{message['id']}"
    assert (await client.get(path, headers=carol.headers)).status_code == 404
    assert (await client.put(f"{path}/reactions/{quote('👍')}", headers=carol.headers)).status_code == 404
    assert (await client.post(f"/api/v1/chats/{mine['id']}/messages", headers=carol.headers,
                              json={"text": "re", "reply_to_id": message["id"]})).status_code == 404
    assert (await client.post(f"/api/v1/chats/{mine['id']}/read", headers=carol.headers,
                              json={"message_id": message["id"]})).status_code == 404
    assert (await client.post(f"/api/v1/chats/{mine['id']}/messages", headers=carol.headers,
                              json={"forward_of_id": message["id"]})).status_code == 404
    assert await history(client, carol, mine["id"]) == []


async def test_a_removed_member_stops_receiving_at_once(client, secret, alice, bob):
    g, message = secret
    cursor = await head(client, bob)
    await send(client, alice, g["id"], "bob, you're out")
    removed = await client.delete(f"/api/v1/chats/{g['id']}/members/{bob.id}", headers=alice.headers)
    assert removed.status_code == 200, removed.text
    await send(client, alice, g["id"], "now that bob is gone: the party is for bob")
    await client.patch(f"/api/v1/chats/{g['id']}", headers=alice.headers, json={"name": "Bob's party"})
    await client.put(f"/api/v1/chats/{g['id']}/messages/{message['id']}", headers=alice.headers,
                     json={"text": "moved to 9"})
    # The replay ends with the removal; what came after it is not his.
    events = await events_since(client, bob, cursor)
    assert [e["event"] for e in events] == ["chat.conversation.remove"]
    assert events[0]["payload"]["conversation_id"] == g["id"] and events[0]["payload"]["reason"] == "removed"
    assert "party is for bob" not in str(events) and "Bob's party" not in str(events)
    # He can no longer read, search, react or send.
    for path in (f"/api/v1/chats/{g['id']}", f"/api/v1/chats/{g['id']}/messages",
                 f"/api/v1/chats/{g['id']}/messages?q=party", f"/api/v1/chats/{g['id']}/members",
                 f"/api/v1/chats/{g['id']}/messages/{message['id']}"):
        assert (await client.get(path, headers=bob.headers)).status_code == 404, path
    assert (await client.post(f"/api/v1/chats/{g['id']}/messages", headers=bob.headers,
                              json={"text": "wait"})).status_code == 404
    assert (await client.put(f"/api/v1/chats/{g['id']}/messages/{message['id']}/reactions/{quote('😢')}",
                             headers=bob.headers)).status_code == 404
    assert g["id"] not in await inbox(client, bob)
    # … and from a cursor after the removal, there is nothing at all.
    assert await events_since(client, bob, events[0]["payload"]["cursor"]) == []


async def test_a_member_who_left_reads_nothing_more(client, secret, alice, bob):
    g, _ = secret
    cursor = await head(client, bob)
    assert (await client.post(f"/api/v1/chats/{g['id']}/leave", headers=bob.headers)).status_code == 200
    await send(client, alice, g["id"], "after bob left")
    events = await events_since(client, bob, cursor)
    assert [(e["event"], e["payload"]["reason"]) for e in events] == [("chat.conversation.remove", "left")]
    assert (await client.get(f"/api/v1/chats/{g['id']}/messages", headers=bob.headers)).status_code == 404


async def test_a_new_member_does_not_learn_old_messages_through_a_reply(client, secret, alice, bob, carol):
    g, message = secret
    await follow(client, carol, alice)
    await client.post(f"/api/v1/chats/{g['id']}/members", headers=alice.headers, json={"account_ids": [carol.id]})
    reply = await send(client, bob, g["id"], "great", reply_to_id=message["id"])
    seen = next(m for m in await history(client, carol, g["id"]) if m["id"] == reply["id"])
    assert seen["text"] == "great"
    assert "secret" not in str(seen["reply_to"])
    # The members who were there still see what it answers.
    assert (await history(client, bob, g["id"]))[0]["reply_to"]["text"] == "the secret is at 8"
    # … and the pinned list, search and replay keep the old message from her too.
    assert await history(client, carol, g["id"], pinned="true") == []
    assert await history(client, carol, g["id"], q="secret") == []
    assert "the secret is at 8" not in str(await events_since(client, carol, 0))


async def test_a_declined_request_is_gone_for_the_one_who_declined(client, alice, bob):
    chat = await direct(client, alice, bob)
    await send(client, alice, chat["id"], "hi")
    await client.post(f"/api/v1/chats/{chat['id']}/decline", headers=bob.headers)
    cursor = await head(client, bob)
    await send(client, alice, chat["id"], "are you there?")
    assert await events_since(client, bob, cursor) == []
    assert (await client.get(f"/api/v1/chats/{chat['id']}/messages", headers=bob.headers)).status_code == 404


async def test_each_member_replays_only_their_own_conversations(client, alice, bob, carol):
    for who in (bob, carol):
        await follow(client, who, alice)
    with_bob = await direct(client, alice, bob)
    with_carol = await direct(client, alice, carol)
    await send(client, alice, with_bob["id"], "for bob")
    await send(client, alice, with_carol["id"], "for carol")
    bobs = await events_since(client, bob, 0)
    carols = await events_since(client, carol, 0)
    assert {e["payload"]["conversation_id"] for e in bobs} == {with_bob["id"]}
    assert {e["payload"]["conversation_id"] for e in carols} == {with_carol["id"]}
    alices = await events_since(client, alice, 0)
    assert {e["payload"]["conversation_id"] for e in alices} == {with_bob["id"], with_carol["id"]}


async def test_chat_needs_a_token_with_the_chat_scopes(client, runtime, alice):
    reader = await make_member(runtime, "reader", scopes=("read",))
    chat = await direct(client, alice, reader)
    assert (await client.get("/api/v1/chats")).status_code == 401
    assert (await client.get(f"/api/v1/chats/{chat['id']}/messages")).status_code == 401
    denied = await client.post(f"/api/v1/chats/{chat['id']}/messages", headers=reader.headers, json={"text": "x"})
    assert denied.status_code == 403
    assert (await client.get(f"/api/v1/chats/{chat['id']}", headers=reader.headers)).status_code == 200

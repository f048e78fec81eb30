"""Messages through the REST API: what is sent arrives rendered and safe; replies, images, edits,
deletes, reactions, forwards, pins, receipts, unread counts, search, paging, idempotent sends and
the event log that replays exactly what a client missed."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
import pytest

from tests.chat.helpers import (
    block,
    conversation,
    direct,
    events_since,
    follow,
    group,
    head,
    history,
    replay,
    send,
    upload_image,
)
from tests.factories import Member, make_member


@pytest.fixture
async def chat(client, alice, bob) -> dict:
    """A direct chat alice started with bob, who follows her (so it is in his inbox)."""
    await follow(client, bob, alice)
    return await direct(client, alice, bob)


@pytest.fixture
async def team(client, alice, bob, carol) -> dict:
    """A group alice owns with bob and carol as accepted plain members."""
    for who in (bob, carol):
        await follow(client, who, alice)
    return await group(client, alice, bob, carol, name="Team")


def _url(conversation_id: str, *rest: str) -> str:
    return "/".join([f"/api/v1/chats/{conversation_id}/messages", *rest])


async def _react(client: httpx.AsyncClient, who: Member, message: dict, emoji: str, *, add: bool = True
                 ) -> httpx.Response:
    method = client.put if add else client.delete
    return await method(_url(message["conversation_id"], message["id"], "reactions", quote(emoji)),
                        headers=who.headers)


async def _get(client: httpx.AsyncClient, who: Member, message: dict) -> dict:
    response = await client.get(_url(message["conversation_id"], message["id"]), headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


# --- what a message looks like ------------------------------------------------------------------


async def test_text_is_escaped_and_links_and_mentions_are_rendered(client, chat, alice, bob):
    sent = await send(client, alice, chat["id"], "<script>alert(1)</script> see https://example.org/a?b=1 @bob")
    seen = (await history(client, bob, chat["id"]))[0]
    assert seen["id"] == sent["id"]
    assert seen["text"] == "<script>alert(1)</script> see https://example.org/a?b=1 @bob"  # what was typed
    html = seen["content"]
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://example.org/a?b=1"' in html and 'rel="nofollow noopener noreferrer"' in html
    assert 'href="http://testserver/@bob"' in html and "mention" in html
    assert seen["account"]["username"] == "alice" and seen["kind"] == "text"
    assert seen["deleted"] is False and seen["edited_at"] is None and seen["created_at"].endswith("Z")


async def test_the_client_id_is_shown_to_its_sender_only(client, chat, alice, bob):
    await send(client, alice, chat["id"], "hi", client_id="draft-1")
    assert (await history(client, alice, chat["id"]))[0]["client_id"] == "draft-1"
    assert (await history(client, bob, chat["id"]))[0]["client_id"] is None


async def test_images_are_uploaded_then_attached_by_id(client, chat, alice, bob):
    first, second = await upload_image(client, alice), await upload_image(client, alice)
    sent = await send(client, alice, chat["id"], "", media_ids=[first["id"], second["id"]])
    seen = (await history(client, bob, chat["id"]))[0]
    assert [m["id"] for m in seen["media_attachments"]] == [first["id"], second["id"]] == \
        [m["id"] for m in sent["media_attachments"]]
    assert (await client.get(seen["media_attachments"][0]["url"])).status_code == 200
    # An image goes with one message only, and only its uploader may attach it.
    reused = await client.post(_url(chat["id"]), headers=alice.headers, json={"text": "x", "media_ids": [first["id"]]})
    assert reused.status_code == 422
    theirs = await upload_image(client, bob)
    stolen = await client.post(_url(chat["id"]), headers=alice.headers, json={"text": "x", "media_ids": [theirs["id"]]})
    assert stolen.status_code == 422
    assert len(await history(client, bob, chat["id"])) == 1


async def test_a_reply_quotes_the_message_it_answers(client, chat, alice, bob, carol):
    question = await send(client, alice, chat["id"], "lunch?")
    answer = await send(client, bob, chat["id"], "yes!", reply_to_id=question["id"])
    assert answer["reply_to"] == {"id": question["id"], "account_id": alice.id, "acct": "alice",
                                  "text": "lunch?", "deleted": False}
    # Only to a message of the same conversation.
    elsewhere = await direct(client, carol, alice)
    other = await send(client, carol, elsewhere["id"], "psst")
    wrong = await client.post(_url(chat["id"]), headers=alice.headers, json={"text": "x", "reply_to_id": other["id"]})
    assert wrong.status_code == 404


# --- edits and deletes --------------------------------------------------------------------------


async def test_an_edit_keeps_the_earlier_text_in_the_history(client, chat, alice, bob):
    sent = await send(client, alice, chat["id"], "see you at 5")
    edited = await client.put(_url(chat["id"], sent["id"]), headers=alice.headers, json={"text": "see you at 6"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["text"] == "see you at 6" and edited.json()["edited_at"] is not None
    seen = (await history(client, bob, chat["id"]))[0]
    assert seen["text"] == "see you at 6" and seen["edited_at"] == edited.json()["edited_at"]
    await client.put(_url(chat["id"], sent["id"]), headers=alice.headers, json={"text": "see you at 7"})
    versions = await client.get(_url(chat["id"], sent["id"], "history"), headers=bob.headers)
    assert versions.status_code == 200
    assert [v["text"] for v in versions.json()] == ["see you at 5", "see you at 6", "see you at 7"]
    assert versions.json()[0]["content"] == "<p>see you at 5</p>"


async def test_another_members_message_cannot_be_edited(client, team, alice, bob, carol):
    sent = await send(client, bob, team["id"], "mine")
    for who in (carol, alice):  # another member, and not even the group's owner
        refused = await client.put(_url(team["id"], sent["id"]), headers=who.headers, json={"text": "yours now"})
        assert refused.status_code == 403 and "error" in refused.json()
    system = (await history(client, alice, team["id"]))[-1]
    assert system["kind"] == "system"
    assert (await client.put(_url(team["id"], system["id"]), headers=alice.headers,
                             json={"text": "x"})).status_code == 403
    assert (await _get(client, bob, sent))["text"] == "mine"


async def test_an_edit_must_still_say_something(client, chat, alice):
    sent = await send(client, alice, chat["id"], "hello")
    empty = await client.put(_url(chat["id"], sent["id"]), headers=alice.headers, json={"text": "   "})
    assert empty.status_code == 422
    too_long = await client.put(_url(chat["id"], sent["id"]), headers=alice.headers, json={"text": "x" * 10_001})
    assert too_long.status_code == 422
    assert (await _get(client, alice, sent))["edited_at"] is None


async def test_delete_for_everyone_leaves_a_tombstone(client, chat, alice, bob):
    picture = await upload_image(client, alice)
    sent = await send(client, alice, chat["id"], "oops, wrong chat", media_ids=[picture["id"]])
    assert (await _react(client, bob, sent, "😮")).status_code == 200
    await client.put(_url(chat["id"], sent["id"]), headers=alice.headers, json={"text": "oops, wrong chat!"})
    cursor = await head(client, bob)
    gone = await client.delete(_url(chat["id"], sent["id"]), headers=alice.headers)
    assert gone.status_code == 200, gone.text
    for who in (alice, bob):
        seen = await _get(client, who, sent)
        assert seen["deleted"] is True
        assert (seen["text"], seen["content"], seen["media_attachments"], seen["reactions"]) == ("", "", [], [])
    versions = await client.get(_url(chat["id"], sent["id"], "history"), headers=bob.headers)
    assert [v["text"] for v in versions.json()] == [""]  # the edit history goes too
    update = (await events_since(client, bob, cursor))
    assert [(e["event"], e["payload"]["reason"]) for e in update] == [("chat.message.update", "delete")]
    assert update[0]["payload"]["message"]["deleted"] is True
    # A deleted message takes no edits or reactions; deleting it again is harmless.
    assert (await client.put(_url(chat["id"], sent["id"]), headers=alice.headers,
                             json={"text": "back"})).status_code == 422
    assert (await _react(client, bob, sent, "👍")).status_code == 422
    assert (await client.delete(_url(chat["id"], sent["id"]), headers=alice.headers)).status_code == 200


async def test_a_reply_to_a_deleted_message_quotes_nothing(client, chat, alice, bob):
    question = await send(client, alice, chat["id"], "secret plan")
    answer = await send(client, bob, chat["id"], "ok", reply_to_id=question["id"])
    await client.delete(_url(chat["id"], question["id"]), headers=alice.headers)
    quoted = (await _get(client, bob, answer))["reply_to"]
    assert quoted["deleted"] is True and quoted["text"] == ""


async def test_only_the_sender_or_a_group_manager_deletes(client, team, alice, bob, carol):
    sent = await send(client, bob, team["id"], "spam")
    assert (await client.delete(_url(team["id"], sent["id"]), headers=carol.headers)).status_code == 403
    assert (await _get(client, carol, sent))["deleted"] is False
    assert (await client.delete(_url(team["id"], sent["id"]), headers=alice.headers)).status_code == 200
    assert (await _get(client, carol, sent))["deleted"] is True


async def test_in_a_direct_chat_you_delete_only_your_own(client, chat, alice, bob):
    sent = await send(client, alice, chat["id"], "mine")
    assert (await client.delete(_url(chat["id"], sent["id"]), headers=bob.headers)).status_code == 403
    assert (await _get(client, bob, sent))["deleted"] is False


# --- reactions ----------------------------------------------------------------------------------


async def test_each_member_adds_each_emoji_once(client, team, alice, bob, carol):
    sent = await send(client, alice, team["id"], "pizza tonight?")
    for who, emoji in ((bob, "👍"), (bob, "👍"), (carol, "👍"), (carol, "🍕"), (bob, "👨‍👩‍👧")):
        response = await _react(client, who, sent, emoji)
        assert response.status_code == 200, response.text
    as_bob = (await _get(client, bob, sent))["reactions"]
    assert as_bob == [{"name": "👍", "count": 2, "me": True}, {"name": "🍕", "count": 1, "me": False},
                      {"name": "👨‍👩‍👧", "count": 1, "me": True}]
    as_alice = (await _get(client, alice, sent))["reactions"]
    assert [(r["name"], r["count"], r["me"]) for r in as_alice] == [("👍", 2, False), ("🍕", 1, False),
                                                                     ("👨‍👩‍👧", 1, False)]
    removed = await _react(client, bob, sent, "👍", add=False)
    assert removed.status_code == 200
    assert removed.json()["reactions"][0] == {"name": "👍", "count": 1, "me": False}
    assert (await _react(client, bob, sent, "👍", add=False)).status_code == 200  # twice: no change
    assert (await _get(client, carol, sent))["reactions"][0] == {"name": "👍", "count": 1, "me": True}


@pytest.mark.parametrize("emoji", ["like", "<b>", "a👍", "👍 👍", " ", "1", "🙂" * 17])
async def test_a_reaction_must_be_an_emoji(client, chat, alice, bob, emoji):
    sent = await send(client, alice, chat["id"], "hi")
    response = await _react(client, bob, sent, emoji)
    assert response.status_code in (404, 422), response.text  # " " is an empty path segment: no such route
    assert (await _get(client, alice, sent))["reactions"] == []


async def test_reactions_are_logged_once_per_change(client, chat, alice, bob):
    sent = await send(client, alice, chat["id"], "hi")
    cursor = await head(client, alice)
    await _react(client, bob, sent, "❤️")
    await _react(client, bob, sent, "❤️")  # a repeat changes nothing, so tells no one
    events = await events_since(client, alice, cursor)
    assert [(e["event"], e["payload"]["reason"]) for e in events] == [("chat.message.update", "reaction")]


# --- forwarding ---------------------------------------------------------------------------------


async def test_forwarding_copies_a_message_into_another_conversation(client, chat, team, alice, bob, carol):
    picture = await upload_image(client, bob)
    original = await send(client, bob, chat["id"], "look at this", media_ids=[picture["id"]])
    forwarded = await client.post(_url(team["id"]), headers=alice.headers, json={"forward_of_id": original["id"]})
    assert forwarded.status_code == 201, forwarded.text
    seen = (await history(client, carol, team["id"]))[0]
    assert seen["forwarded"] is True and seen["text"] == "look at this" and seen["account"]["username"] == "alice"
    assert len(seen["media_attachments"]) == 1 and seen["media_attachments"][0]["id"] != picture["id"]
    assert (await client.get(seen["media_attachments"][0]["url"])).status_code == 200
    # Deleting the original does not touch the copy.
    await client.delete(_url(chat["id"], original["id"]), headers=bob.headers)
    assert (await history(client, carol, team["id"]))[0]["text"] == "look at this"


async def test_you_cannot_forward_what_you_cannot_read(client, chat, alice, bob, carol):
    secret = await send(client, alice, chat["id"], "between us")
    mine = await direct(client, carol, alice)
    leaked = await client.post(_url(mine["id"]), headers=carol.headers, json={"forward_of_id": secret["id"]})
    assert leaked.status_code == 404
    with_text = await client.post(_url(mine["id"]), headers=alice.headers,
                                  json={"forward_of_id": secret["id"], "text": "fyi"})
    assert with_text.status_code == 422
    assert (await client.get(_url(mine["id"]), headers=carol.headers)).json() == []


# --- pins ---------------------------------------------------------------------------------------


async def test_in_a_group_only_managers_pin(client, team, alice, bob):
    sent = await send(client, bob, team["id"], "the address is 5 Main St")
    refused = await client.post(_url(team["id"], sent["id"], "pin"), headers=bob.headers)
    assert refused.status_code == 403
    pinned = await client.post(_url(team["id"], sent["id"], "pin"), headers=alice.headers)
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True
    await send(client, bob, team["id"], "chatter")
    listed = await history(client, bob, team["id"], pinned="true")
    assert [m["text"] for m in listed] == ["the address is 5 Main St"]
    await client.post(_url(team["id"], sent["id"], "unpin"), headers=alice.headers)
    assert await history(client, bob, team["id"], pinned="true") == []


async def test_in_a_direct_chat_either_side_pins(client, chat, alice, bob):
    sent = await send(client, alice, chat["id"], "flight AB123")
    pinned = await client.post(_url(chat["id"], sent["id"], "pin"), headers=bob.headers)
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True


# --- unread counts and receipts -----------------------------------------------------------------


async def test_unread_counts_follow_the_read_receipt(client, team, alice, bob, carol):
    first = await send(client, alice, team["id"], "one")
    await send(client, alice, team["id"], "two")
    third = await send(client, alice, team["id"], "three")
    await send(client, bob, team["id"], "answering means bob read what came before")
    assert (await conversation(client, bob, team["id"]))["unread_count"] == 0
    assert (await conversation(client, carol, team["id"]))["unread_count"] == 4  # system messages do not count
    assert (await client.get("/api/v1/chats/unread", headers=carol.headers)).json()["unread"] == 4
    read = await client.post(f"/api/v1/chats/{team['id']}/read", headers=carol.headers,
                             json={"message_id": first["id"]})
    assert read.status_code == 200 and read.json() == {"last_read_id": first["id"]}
    assert (await conversation(client, carol, team["id"]))["unread_count"] == 3
    assert (await client.get("/api/v1/chats/unread", headers=alice.headers)).json()["unread"] == 1
    await client.post(f"/api/v1/chats/{team['id']}/read", headers=carol.headers)  # up to the newest
    assert (await client.get("/api/v1/chats/unread", headers=carol.headers)).json()["unread"] == 0
    markers = {m["account_id"]: m["last_read_id"] for m in (await conversation(client, alice, team["id"]))[
        "read_markers"]}
    assert int(markers[carol.id]) > int(third["id"])


async def test_read_receipts_only_move_forward(client, runtime, chat, alice, bob):
    older = await send(client, alice, chat["id"], "one")
    newer = await send(client, alice, chat["id"], "two")
    cursor = await head(client, alice)
    await client.post(f"/api/v1/chats/{chat['id']}/read", headers=bob.headers, json={"message_id": newer["id"]})
    back = await client.post(f"/api/v1/chats/{chat['id']}/read", headers=bob.headers, json={"message_id": older["id"]})
    assert back.status_code == 200 and back.json()["last_read_id"] == newer["id"]
    events = await events_since(client, alice, cursor)
    assert [(e["event"], e["payload"]["account_id"], e["payload"]["last_read_id"]) for e in events] == [
        ("chat.read", bob.id, newer["id"])]
    seen = (await conversation(client, alice, chat["id"]))["read_markers"]
    assert seen == [{"account_id": bob.id, "last_read_id": newer["id"]}]
    elsewhere = await direct(client, alice, await make_member(runtime, "zoe"))
    other = await send(client, alice, elsewhere["id"], "x")
    wrong = await client.post(f"/api/v1/chats/{chat['id']}/read", headers=bob.headers,
                              json={"message_id": other["id"]})
    assert wrong.status_code == 404


# --- search -------------------------------------------------------------------------------------


async def test_search_inside_a_conversation(client, chat, alice, bob):
    texts = ["Meet at the CAFÉ", "明天去北京吃烤鸭", "100% sure", "file_name.txt", "filename.txt", "cafe later"]
    for text in texts:
        await send(client, alice, chat["id"], text)
    gone = await send(client, alice, chat["id"], "the cafe code is 1234")
    await client.delete(_url(chat["id"], gone["id"]), headers=alice.headers)

    async def found(q: str) -> list[str]:
        return [m["text"] for m in await history(client, bob, chat["id"], q=q)]

    assert await found("meet AT") == ["Meet at the CAFÉ"]  # any case
    assert await found("café") == ["Meet at the CAFÉ"]  # any case beyond ASCII too
    assert await found("北京") == ["明天去北京吃烤鸭"]
    assert await found("%") == ["100% sure"]  # % and _ are characters, not wildcards
    assert await found("e_n") == ["file_name.txt"]
    assert await found("cafe") == ["cafe later"]  # the deleted one is not found
    assert await found("nothing like this") == []
    for q in ("", "   ", "x" * 201):
        assert (await client.get(_url(chat["id"]), headers=bob.headers, params={"q": q})).status_code == 422


# --- history paging -----------------------------------------------------------------------------


async def test_history_pages_newest_first_with_link_headers(client, chat, alice, bob):
    sent = [await send(client, alice, chat["id"], f"message {i}") for i in range(7)]
    ids = [m["id"] for m in reversed(sent)]  # newest first
    first = await client.get(_url(chat["id"]), headers=bob.headers, params={"limit": 3})
    assert [m["id"] for m in first.json()] == ids[:3]
    assert f"max_id={ids[2]}" in first.links["next"]["url"] and f"min_id={ids[0]}" in first.links["prev"]["url"]
    second = await client.get(first.links["next"]["url"], headers=bob.headers)
    assert [m["id"] for m in second.json()] == ids[3:6]
    third = await client.get(second.links["next"]["url"], headers=bob.headers)
    assert [m["id"] for m in third.json()] == ids[6:]
    end = await client.get(third.links["next"]["url"], headers=bob.headers)
    assert end.json() == [] and "link" not in end.headers
    # min_id pages forward from a point: the messages just after it, still newest first.
    newer = await client.get(_url(chat["id"]), headers=bob.headers, params={"min_id": ids[5], "limit": 2})
    assert [m["id"] for m in newer.json()] == ids[3:5]
    back_up = await client.get(third.links["prev"]["url"], headers=bob.headers)
    assert [m["id"] for m in back_up.json()] == ids[3:6]


# --- idempotent sending -------------------------------------------------------------------------


async def test_a_retried_send_returns_the_first_message(client, runtime, chat, alice, bob):
    body = {"text": "transfer the deposit", "client_id": "7f1c-2"}
    first = await client.post(_url(chat["id"]), headers=alice.headers, json=body)
    retry = await client.post(_url(chat["id"]), headers=alice.headers, json=body)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    assert len(await history(client, bob, chat["id"])) == 1
    changed = await client.post(_url(chat["id"]), headers=alice.headers, json={**body, "text": "something else"})
    assert changed.status_code == 409
    elsewhere = await direct(client, alice, await make_member(runtime, "zoe"))
    moved = await client.post(_url(elsewhere["id"]), headers=alice.headers, json=body)
    assert moved.status_code == 409
    # Client ids belong to their sender: bob may use the same one.
    theirs = await client.post(_url(chat["id"]), headers=bob.headers, json=body)
    assert theirs.status_code == 201
    assert len(await history(client, bob, chat["id"])) == 2


async def test_the_idempotency_key_header_works_like_a_client_id(client, chat, alice, bob):
    headers = {**alice.headers, "Idempotency-Key": "retry-me"}
    first = await client.post(_url(chat["id"]), headers=headers, json={"text": "once"})
    retry = await client.post(_url(chat["id"]), headers=headers, json={"text": "once"})
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"] and first.json()["client_id"] == "retry-me"
    assert (await client.post(_url(chat["id"]), headers=headers, json={"text": "twice"})).status_code == 409
    assert [m["text"] for m in await history(client, bob, chat["id"])] == ["once"]


async def test_a_retry_after_a_delete_returns_the_tombstone_not_a_new_message(client, chat, alice, bob):
    first = await send(client, alice, chat["id"], "sent", client_id="k1")
    await client.delete(_url(chat["id"], first["id"]), headers=alice.headers)
    retry = await client.post(_url(chat["id"]), headers=alice.headers, json={"text": "sent", "client_id": "k1"})
    assert retry.status_code == 200 and retry.json()["id"] == first["id"] and retry.json()["deleted"] is True
    assert len(await history(client, bob, chat["id"])) == 1


# --- the event log ------------------------------------------------------------------------------


async def test_replay_returns_exactly_the_events_after_the_cursor_in_order(client, chat, alice, bob):
    start = await head(client, bob)
    one = await send(client, alice, chat["id"], "one")
    two = await send(client, alice, chat["id"], "two")
    await client.put(_url(chat["id"], one["id"]), headers=alice.headers, json={"text": "one!"})
    await client.post(f"/api/v1/chats/{chat['id']}/read", headers=bob.headers)
    three = await send(client, bob, chat["id"], "three")
    everything = (await replay(client, bob, start))["events"]
    assert [(e["event"], e["payload"].get("message", {}).get("id")) for e in everything] == [
        ("chat.message", one["id"]), ("chat.message", two["id"]), ("chat.message.update", one["id"]),
        ("chat.read", None), ("chat.message", three["id"])]
    cursors = [int(e["payload"]["cursor"]) for e in everything]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    assert all(e["payload"]["conversation_id"] == chat["id"] for e in everything)
    # From any cursor: exactly the events after it — nothing before, nothing twice.
    for i, cursor in enumerate(cursors):
        after = (await replay(client, bob, cursor))["events"]
        assert [e["payload"]["cursor"] for e in after] == [str(c) for c in cursors[i + 1:]]
    # Paged: `more` says there is another page, `cursor` where it starts.
    page = (await client.get("/api/v1/chats/events", headers=bob.headers,
                             params={"cursor": start, "limit": 2})).json()
    assert page["more"] is True and page["cursor"] == str(cursors[1]) and len(page["events"]) == 2
    assert [e["payload"]["cursor"] for e in await events_since(client, bob, start)] == [str(c) for c in cursors]
    # Caught up: nothing, and the same cursor back.
    last = await replay(client, bob, cursors[-1])
    assert last == {"events": [], "cursor": str(cursors[-1]), "more": False}
    assert await head(client, bob) == str(cursors[-1])


async def test_an_event_about_a_deleted_message_never_carries_its_text(client, chat, alice, bob):
    start = await head(client, bob)
    sent = await send(client, alice, chat["id"], "my password is hunter2")
    await client.delete(_url(chat["id"], sent["id"]), headers=alice.headers)
    events = await events_since(client, bob, start)
    assert [e["event"] for e in events] == ["chat.message", "chat.message.update"]
    assert "hunter2" not in str(events)


async def test_a_new_group_member_does_not_see_what_came_before(client, runtime, team, alice, bob, carol):
    await send(client, alice, team["id"], "before dave")
    dave = await make_member(runtime, "dave")
    await follow(client, dave, bob)
    await client.post(f"/api/v1/chats/{team['id']}/members", headers=bob.headers, json={"account_ids": [dave.id]})
    await send(client, carol, team["id"], "after dave")
    texts = [m["text"] for m in await history(client, dave, team["id"])]
    assert texts == ["after dave", "@bob added @dave"]
    older = (await history(client, alice, team["id"]))[-1]
    assert (await client.get(_url(team["id"], older["id"]), headers=dave.headers)).status_code == 404
    assert await history(client, dave, team["id"], q="before") == []
    events = await events_since(client, dave, 0)
    assert "before dave" not in str(events)
    assert events[0]["event"] == "chat.conversation" and events[0]["payload"]["change"] == "members"
    assert [e["payload"]["message"]["text"] for e in events if e["event"] == "chat.message"] == [
        "@bob added @dave", "after dave"]


# --- at the same moment -------------------------------------------------------------------------


async def test_the_same_reaction_sent_at_once_counts_once(client, chat, alice, bob):
    sent = await send(client, alice, chat["id"], "hi")
    answers = await asyncio.gather(*[_react(client, bob, sent, "🔥") for _ in range(6)])
    assert [a.status_code for a in answers] == [200] * 6
    assert (await _get(client, alice, sent))["reactions"] == [{"name": "🔥", "count": 1, "me": False}]


async def test_reactions_and_edits_racing_a_delete_leave_a_clean_tombstone(client, team, alice, bob, carol):
    for round_ in range(3):
        sent = await send(client, alice, team["id"], f"going away {round_}")
        answers = await asyncio.gather(
            *[_react(client, who, sent, emoji) for who in (bob, carol) for emoji in ("👍", "😂")],
            client.put(_url(team["id"], sent["id"]), headers=alice.headers, json={"text": "staying after all"}),
            client.delete(_url(team["id"], sent["id"]), headers=alice.headers))
        assert all(a.status_code in (200, 422) for a in answers), [a.text for a in answers]
        tombstone = await _get(client, carol, sent)
        assert tombstone["deleted"] is True and tombstone["reactions"] == [] and tombstone["text"] == ""


async def test_edits_at_once_keep_every_version(client, chat, alice, bob):
    sent = await send(client, alice, chat["id"], "v0")
    answers = await asyncio.gather(*[client.put(_url(chat["id"], sent["id"]), headers=alice.headers,
                                                json={"text": f"v{i}"}) for i in range(1, 5)])
    assert [a.status_code for a in answers] == [200] * 4
    versions = [v["text"] for v in (await client.get(_url(chat["id"], sent["id"], "history"),
                                                     headers=bob.headers)).json()]
    assert sorted(versions) == ["v0", "v1", "v2", "v3", "v4"]  # none lost, none twice
    assert versions[0] == "v0" and versions[-1] == (await _get(client, bob, sent))["text"]


async def test_after_a_block_nothing_more_reaches_the_blocker(client, alice, bob):
    chat = await direct(client, alice, bob)
    mine = await send(client, alice, chat["id"], "hi bob")
    base = f"/api/v1/chats/{chat['id']}"
    await block(client, bob, alice)
    before = await head(client, bob)
    refused = [
        await client.post(f"{base}/typing", headers=alice.headers),
        await client.put(f"{base}/messages/{mine['id']}/reactions/👍", headers=alice.headers),
        await client.put(f"{base}/messages/{mine['id']}", headers=alice.headers, json={"text": "hi again"}),
        await client.post(f"{base}/messages/{mine['id']}/pin", headers=alice.headers),
        await client.post(f"{base}/messages", headers=alice.headers, json={"text": "hello?"}),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert await events_since(client, bob, before) == []

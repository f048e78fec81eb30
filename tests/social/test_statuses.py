"""Posting, reading, editing and deleting statuses through the HTTP API."""

from __future__ import annotations

from tests.factories import Member, post


async def test_post_renders_mentions_hashtags_and_links(client, alice: Member, bob: Member) -> None:
    status = await post(client, alice, "Hi @bob, see https://example.org/x #Python <b>bold</b>")
    assert status["account"]["username"] == "alice"
    assert '<a href="http://testserver/@bob" class="u-url mention">' in status["content"]
    assert 'href="http://testserver/tags/Python"' in status["content"]
    assert "&lt;b&gt;bold&lt;/b&gt;" in status["content"]  # typed HTML is shown, never run
    assert [m["username"] for m in status["mentions"]] == ["bob"]
    assert [t["name"] for t in status["tags"]] == ["Python"]


async def test_edit_keeps_history_and_source(client, alice: Member) -> None:
    status = await post(client, alice, "first version")
    edited = await client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                              json={"status": "second version", "spoiler_text": "cw"})
    assert edited.status_code == 200
    assert edited.json()["edited_at"] is not None
    assert "second version" in edited.json()["content"]
    history = (await client.get(f"/api/v1/statuses/{status['id']}/history")).json()
    assert [h["content"] for h in history] == ["<p>first version</p>", "<p>second version</p>"]
    source = (await client.get(f"/api/v1/statuses/{status['id']}/source", headers=alice.headers)).json()
    assert source == {"id": status["id"], "text": "second version", "spoiler_text": "cw"}


async def test_someone_elses_post_cannot_be_edited_or_deleted(client, alice: Member, bob: Member) -> None:
    status = await post(client, alice, "mine")
    assert (await client.put(f"/api/v1/statuses/{status['id']}", headers=bob.headers,
                             json={"status": "hijacked"})).status_code == 404
    assert (await client.delete(f"/api/v1/statuses/{status['id']}", headers=bob.headers)).status_code == 404
    assert "mine" in (await client.get(f"/api/v1/statuses/{status['id']}")).json()["content"]


async def test_delete_returns_source_and_removes_reblogs(client, alice: Member, bob: Member) -> None:
    status = await post(client, alice, "soon gone #bye")
    boost = (await client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=bob.headers)).json()
    deleted = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert deleted.status_code == 200
    assert deleted.json()["text"] == "soon gone #bye"
    assert (await client.get(f"/api/v1/statuses/{status['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{boost['id']}")).status_code == 404
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=bob.headers)).json()
    assert me["statuses_count"] == 0


async def test_context_lists_ancestors_and_descendants(client, alice: Member, bob: Member) -> None:
    root = await post(client, alice, "root")
    reply = await post(client, bob, "@alice reply", in_reply_to_id=root["id"])
    nested = await post(client, alice, "@bob nested", in_reply_to_id=reply["id"])
    context = (await client.get(f"/api/v1/statuses/{reply['id']}/context")).json()
    assert [s["id"] for s in context["ancestors"]] == [root["id"]]
    assert [s["id"] for s in context["descendants"]] == [nested["id"]]
    assert (await client.get(f"/api/v1/statuses/{root['id']}")).json()["replies_count"] == 1


async def test_favourite_reblog_bookmark_are_idempotent(client, alice: Member, bob: Member) -> None:
    status = await post(client, alice, "like me")
    for _ in range(2):
        fav = await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=bob.headers)
        assert fav.json()["favourited"] is True and fav.json()["favourites_count"] == 1
        boost = await client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=bob.headers)
        assert boost.json()["reblog"]["id"] == status["id"]
        mark = await client.post(f"/api/v1/statuses/{status['id']}/bookmark", headers=bob.headers)
        assert mark.json()["bookmarked"] is True
    seen = (await client.get(f"/api/v1/statuses/{status['id']}", headers=bob.headers)).json()
    assert (seen["favourites_count"], seen["reblogs_count"], seen["reblogged"]) == (1, 1, True)
    favers = (await client.get(f"/api/v1/statuses/{status['id']}/favourited_by")).json()
    assert [a["username"] for a in favers] == ["bob"]
    boosters = (await client.get(f"/api/v1/statuses/{status['id']}/reblogged_by")).json()
    assert [a["username"] for a in boosters] == ["bob"]
    bookmarks = (await client.get("/api/v1/bookmarks", headers=bob.headers)).json()
    assert [s["id"] for s in bookmarks] == [status["id"]]
    undone = await client.post(f"/api/v1/statuses/{status['id']}/unfavourite", headers=bob.headers)
    assert undone.json()["favourited"] is False and undone.json()["favourites_count"] == 0


async def test_quote_post_embeds_the_quoted_status(client, alice: Member, bob: Member) -> None:
    original = await post(client, alice, "quotable")
    quote = await post(client, bob, "so true", quoted_status_id=original["id"])
    assert quote["quote"]["state"] == "accepted"
    assert quote["quote"]["quoted_status"]["id"] == original["id"]
    assert (await client.get(f"/api/v1/statuses/{original['id']}")).json()["quotes_count"] == 1
    notes = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("quote", quote["id"])]


async def test_idempotency_key_returns_the_first_post(client, alice: Member) -> None:
    headers = {**alice.headers, "Idempotency-Key": "abc-123"}
    first = await client.post("/api/v1/statuses", headers=headers, json={"status": "once"})
    again = await client.post("/api/v1/statuses", headers=headers, json={"status": "once"})
    assert first.json()["id"] == again.json()["id"]
    other = await client.post("/api/v1/statuses", headers=headers, json={"status": "different"})
    assert other.status_code == 409
    timeline = (await client.get("/api/v1/accounts/" + alice.id + "/statuses")).json()
    assert len(timeline) == 1


async def test_pins_show_on_the_profile(client, alice: Member) -> None:
    status = await post(client, alice, "pin me")
    await post(client, alice, "not pinned")
    pinned = await client.post(f"/api/v1/statuses/{status['id']}/pin", headers=alice.headers)
    assert pinned.json()["pinned"] is True
    listed = (await client.get(f"/api/v1/accounts/{alice.id}/statuses", params={"pinned": "true"})).json()
    assert [s["id"] for s in listed] == [status["id"]]


async def test_unreblog_given_a_boost_undoes_the_members_boost_of_that_post(client, alice: Member, bob: Member,
                                                                          carol: Member) -> None:
    """As reblog does, unreblog accepts a boost's id for the boosted post (a client shows boosts)."""
    original = await post(client, alice, "boost me")
    carols = (await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=carol.headers)).json()
    bobs = await client.post(f"/api/v1/statuses/{carols['id']}/reblog", headers=bob.headers)  # seen via carol
    assert bobs.json()["reblog"]["id"] == original["id"]
    undone = await client.post(f"/api/v1/statuses/{carols['id']}/unreblog", headers=bob.headers)
    assert undone.status_code == 200
    shown = undone.json()
    assert (shown["id"], shown["reblogged"], shown["reblogs_count"]) == (original["id"], False, 1)

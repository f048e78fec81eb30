"""A `private` or `direct` post never reaches someone who may not see it, on any read path."""

from __future__ import annotations

import httpx
import pytest

from agora.models import Account
from tests.factories import Member, make_member, post


@pytest.fixture
async def cast(runtime, client: httpx.AsyncClient):
    """Author, a follower, a stranger and a mentioned member, with one post of each kind."""
    author = await make_member(runtime, "author")
    follower = await make_member(runtime, "follower")
    stranger = await make_member(runtime, "stranger")
    friend = await make_member(runtime, "friend")
    await client.post(f"/api/v1/accounts/{author.id}/follow", headers=follower.headers)
    public = await post(client, author, "public root #topic")
    private = await post(client, author, "followers only #topic", visibility="private")
    direct = await post(client, author, "psst @friend #topic", visibility="direct")
    private_reply = await post(client, author, "private reply #topic", visibility="private",
                               in_reply_to_id=public["id"])
    self_quote = await post(client, author, "quoting my private post", quoted_status_id=private["id"])
    return {"author": author, "follower": follower, "stranger": stranger, "friend": friend, "public": public,
            "private": private, "direct": direct, "private_reply": private_reply, "self_quote": self_quote}


async def ids_on(client: httpx.AsyncClient, url: str, who: Member | None) -> set[str]:
    response = await client.get(url, headers=who.headers if who else {}, params={"limit": 40})
    assert response.status_code == 200, response.text
    body = response.json()
    if isinstance(body, dict):  # a thread context
        body = body["ancestors"] + body["descendants"]
    found = set()
    for item in body:
        status = item.get("status") if "type" in item else item
        if status:
            found.add(status["id"])
            if status.get("reblog"):
                found.add(status["reblog"]["id"])
    return found


def read_paths(cast) -> list[str]:
    author = cast["author"]
    return [
        "/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/topic",
        f"/api/v1/accounts/{author.id}/statuses", f"/api/v1/statuses/{cast['public']['id']}/context",
        "/api/v1/notifications", "/api/v1/favourites", "/api/v1/bookmarks",
    ]


@pytest.mark.parametrize("viewer", ["stranger", "follower", "friend", None])
async def test_hidden_posts_never_appear_on_any_list(client, cast, viewer) -> None:
    who = cast[viewer] if viewer else None
    may_see_private = viewer == "follower"
    may_see_direct = viewer == "friend"
    for url in read_paths(cast):
        if who is None and url in ("/api/v1/timelines/home", "/api/v1/notifications", "/api/v1/favourites",
                                   "/api/v1/bookmarks"):
            continue
        seen = await ids_on(client, url, who)
        if not may_see_private:
            assert cast["private"]["id"] not in seen, url
            assert cast["private_reply"]["id"] not in seen, url
        if not may_see_direct:
            assert cast["direct"]["id"] not in seen, url


@pytest.mark.parametrize("viewer", ["stranger", None])
async def test_hidden_posts_cannot_be_fetched_or_touched(client, cast, viewer) -> None:
    who: Member | None = cast[viewer] if viewer else None
    headers = who.headers if who else {}
    for key in ("private", "direct", "private_reply"):
        status_id = cast[key]["id"]
        for url in (f"/api/v1/statuses/{status_id}", f"/api/v1/statuses/{status_id}/context",
                    f"/api/v1/statuses/{status_id}/history", f"/api/v1/statuses/{status_id}/favourited_by",
                    f"/api/v1/statuses/{status_id}/reblogged_by"):
            response = await client.get(url, headers=headers)
            assert response.status_code == 404, url
            assert "error" in response.json()
        many = await client.get("/api/v1/statuses", params={"id[]": [status_id]}, headers=headers)
        assert many.json() == []
        if who is None:
            continue
        for action in ("favourite", "reblog", "bookmark"):
            response = await client.post(f"/api/v1/statuses/{status_id}/{action}", headers=headers)
            assert response.status_code == 404, action
        reply = await client.post("/api/v1/statuses", headers=headers,
                                  json={"status": "sneaky", "in_reply_to_id": status_id})
        assert reply.status_code == 404
        quote = await client.post("/api/v1/statuses", headers=headers,
                                  json={"status": "sneaky", "quoted_status_id": status_id})
        assert quote.status_code == 404
    author_page = (await client.get(f"/api/v1/statuses/{cast['private']['id']}",
                                    headers=cast["author"].headers)).json()
    assert author_page["favourites_count"] == 0 and author_page["reblogs_count"] == 0


async def test_allowed_viewers_see_what_they_may(client, cast) -> None:
    follower, friend = cast["follower"], cast["friend"]
    home = await ids_on(client, "/api/v1/timelines/home", follower)
    assert {cast["public"]["id"], cast["private"]["id"]} <= home
    assert (await client.get(f"/api/v1/statuses/{cast['direct']['id']}", headers=friend.headers)).status_code == 200
    notes = (await client.get("/api/v1/notifications", headers=friend.headers)).json()
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("mention", cast["direct"]["id"])]
    assert (await client.get(f"/api/v1/statuses/{cast['direct']['id']}", headers=follower.headers)).status_code == 404


async def test_a_quote_of_a_hidden_post_does_not_reveal_it(client, cast) -> None:
    for who in (cast["stranger"], None):
        seen = (await client.get(f"/api/v1/statuses/{cast['self_quote']['id']}",
                                 headers=who.headers if who else {})).json()
        assert seen["quote"] == {"state": "unauthorized", "quoted_status": None}
        assert "followers only" not in str(seen)
    as_follower = (await client.get(f"/api/v1/statuses/{cast['self_quote']['id']}",
                                    headers=cast["follower"].headers)).json()
    assert as_follower["quote"]["quoted_status"]["id"] == cast["private"]["id"]


async def test_a_block_hides_everything_both_ways(client, cast) -> None:
    author, follower = cast["author"], cast["follower"]
    await client.post(f"/api/v1/accounts/{follower.id}/block", headers=author.headers)
    assert await ids_on(client, "/api/v1/timelines/home", follower) == set()
    assert (await client.get(f"/api/v1/statuses/{cast['public']['id']}", headers=follower.headers)).status_code == 404
    assert await ids_on(client, f"/api/v1/accounts/{author.id}/statuses", follower) == set()
    assert (await client.post(f"/api/v1/accounts/{author.id}/follow", headers=follower.headers)).status_code == 403


async def test_a_suspended_or_unapproved_members_posts_are_seen_by_no_one(runtime, client, cast) -> None:
    """As in Mastodon: suspension (or a sign-up still waiting for approval) hides every post, on
    every read path, while the rows stay for the moderators."""
    follower, friend = cast["follower"], cast["friend"]
    reply = await post(client, follower, "@author lovely", in_reply_to_id=cast["public"]["id"])
    boost = await client.post(f"/api/v1/statuses/{cast['public']['id']}/reblog", headers=friend.headers)
    assert boost.status_code == 200
    author_posts = {cast[k]["id"] for k in ("public", "private", "direct", "private_reply", "self_quote")}
    for hide in ("suspended", "unapproved"):
        async with runtime.db.transaction() as session:
            account = await session.get(Account, int(cast["author"].id))
            # Suspended (but once approved), or never approved (and not suspended).
            account.suspended, account.approved = hide == "suspended", hide == "suspended"
        for viewer in (follower, friend, cast["stranger"], None):
            for url in read_paths(cast):
                if "/accounts/" in url or "/context" in url:  # the profile, the post itself: gone, 404
                    assert (await client.get(url, headers=viewer.headers if viewer else {})).status_code == 404
                    continue
                if viewer is None and url in ("/api/v1/timelines/home", "/api/v1/favourites", "/api/v1/bookmarks",
                                              "/api/v1/notifications"):
                    continue
                seen = await ids_on(client, url, viewer)
                assert not seen & author_posts, (hide, url, viewer and viewer.username)
            for status_id in author_posts:
                fetched = await client.get(f"/api/v1/statuses/{status_id}", headers=viewer.headers if viewer else {})
                assert fetched.status_code == 404, (hide, status_id)
        thread = await client.get(f"/api/v1/statuses/{reply['id']}/context", headers=follower.headers)
        assert thread.json()["ancestors"] == []  # the reply stays; what it answered is gone
        friend_home = await ids_on(client, "/api/v1/timelines/home", friend)
        assert boost.json()["id"] not in friend_home  # a boost of a hidden post is hidden too
    async with runtime.db.transaction() as session:  # lifted: everything is back
        account = await session.get(Account, int(cast["author"].id))
        account.suspended, account.approved = False, True
    assert cast["public"]["id"] in await ids_on(client, "/api/v1/timelines/public", None)

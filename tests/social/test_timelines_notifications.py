"""Home, public and hashtag timelines, their paging, and notifications with read markers."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.factories import Member, make_member, post


async def follow(client: httpx.AsyncClient, who: Member, target: Member, **body) -> None:
    response = await client.post(f"/api/v1/accounts/{target.id}/follow", headers=who.headers, json=body)
    assert response.status_code == 200, response.text


async def timeline(client: httpx.AsyncClient, path: str, who: Member | None = None, **params) -> list[dict]:
    response = await client.get(path, headers=who.headers if who else None, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def ids(client: httpx.AsyncClient, path: str, who: Member | None = None, **params) -> list[str]:
    return [s["id"] for s in await timeline(client, path, who, **params)]


async def notes(client: httpx.AsyncClient, who: Member, **params) -> list[tuple[str, str]]:
    response = await client.get("/api/v1/notifications", headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    return [(n["type"], n["account"]["username"]) for n in response.json()]


def links(response: httpx.Response) -> dict[str, str]:
    header = response.headers.get("link", "")
    return {rel: url for url, rel in re.findall(r'<([^>]+)>;\s*rel="(\w+)"', header)}


# --- home ------------------------------------------------------------------------------------------


async def test_home_shows_own_and_followed_posts_not_strangers(client, alice: Member, bob: Member,
                                                               carol: Member) -> None:
    await follow(client, alice, bob)
    mine = await post(client, alice, "my own")
    followed = await post(client, bob, "from bob")
    stranger = await post(client, carol, "from a stranger")
    home = await ids(client, "/api/v1/timelines/home", alice)
    assert home == [followed["id"], mine["id"]]  # newest first
    assert stranger["id"] not in home
    assert (await client.get("/api/v1/timelines/home")).status_code == 401


async def test_home_hides_replies_to_people_you_do_not_follow(client, alice: Member, bob: Member,
                                                              carol: Member) -> None:
    await follow(client, alice, bob)
    by_carol = await post(client, carol, "carol's thought")
    by_alice = await post(client, alice, "alice's thought")
    to_carol = await post(client, bob, "@carol agreed", in_reply_to_id=by_carol["id"])
    to_alice = await post(client, bob, "@alice agreed", in_reply_to_id=by_alice["id"])
    self_thread = await post(client, bob, "and another thing", in_reply_to_id=to_alice["id"])
    bobs_root = await post(client, bob, "a thread")
    continued = await post(client, bob, "continued", in_reply_to_id=bobs_root["id"])
    home = await ids(client, "/api/v1/timelines/home", alice)
    assert to_carol["id"] not in home
    assert {to_alice["id"], bobs_root["id"], continued["id"]} <= set(home)
    # A reply from bob to himself in a thread on alice's post is a reply to bob: shown.
    assert self_thread["id"] in home
    # Once alice follows carol, bob's reply to carol is shown too.
    await follow(client, alice, carol)
    assert to_carol["id"] in await ids(client, "/api/v1/timelines/home", alice)


async def test_reblogs_appear_on_home_with_the_reblog_field(client, alice: Member, bob: Member,
                                                            carol: Member) -> None:
    await follow(client, alice, bob)
    original = await post(client, carol, "worth sharing")
    boost = await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=bob.headers)
    assert boost.status_code == 200
    [shown] = await timeline(client, "/api/v1/timelines/home", alice)
    assert shown["id"] == boost.json()["id"]
    assert shown["account"]["username"] == "bob"
    assert shown["reblog"]["id"] == original["id"]
    assert shown["reblog"]["account"]["username"] == "carol"
    assert "worth sharing" in shown["reblog"]["content"]
    # Boosts of your own posts do not come back to you, and following with reblogs=false hides boosts.
    mine = await post(client, alice, "mine")
    await client.post(f"/api/v1/statuses/{mine['id']}/reblog", headers=bob.headers)
    home = await timeline(client, "/api/v1/timelines/home", alice)
    assert [s["reblog"]["id"] for s in home if s["reblog"]] == [original["id"]]
    await follow(client, alice, bob, reblogs=False)
    assert [s for s in await timeline(client, "/api/v1/timelines/home", alice) if s["reblog"]] == []


async def test_home_shows_direct_messages_and_followed_private_posts(client, alice: Member, bob: Member,
                                                                     carol: Member) -> None:
    secret = await post(client, carol, "@alice psst", visibility="direct")
    followers_only = await post(client, bob, "followers only", visibility="private")
    assert await ids(client, "/api/v1/timelines/home", alice) == [secret["id"]]
    await follow(client, alice, bob)
    assert followers_only["id"] in await ids(client, "/api/v1/timelines/home", alice)
    assert secret["id"] not in await ids(client, "/api/v1/timelines/home", bob)


# --- public and hashtags ----------------------------------------------------------------------------


async def test_public_excludes_unlisted_private_direct_replies_and_reblogs(client, alice: Member,
                                                                           bob: Member) -> None:
    public = await post(client, alice, "for everyone")
    hidden = [
        await post(client, alice, "quietly", visibility="unlisted"),
        await post(client, alice, "followers only", visibility="private"),
        await post(client, alice, "@bob just you", visibility="direct"),
        await post(client, bob, "@alice a reply", in_reply_to_id=public["id"]),
        (await client.post(f"/api/v1/statuses/{public['id']}/reblog", headers=bob.headers)).json(),
    ]
    for viewer in (None, alice, bob):
        shown = await ids(client, "/api/v1/timelines/public", viewer)
        assert shown == [public["id"]], [h["id"] for h in hidden]
    assert await ids(client, "/api/v1/timelines/public", remote="true") == []
    assert await ids(client, "/api/v1/timelines/public", local="true") == [public["id"]]


async def test_tag_timeline_is_case_insensitive_and_unicode(client, alice: Member, bob: Member) -> None:
    upper = await post(client, alice, "Dinner #Food")
    lower = await post(client, bob, "lunch #food")
    chinese = await post(client, alice, "今天吃了 #美食 很好")
    german = await post(client, bob, "#Straße ist schön")
    unlisted = await post(client, alice, "hidden #food", visibility="unlisted")
    untagged = await post(client, alice, "no tag, just food")
    for name in ("food", "FOOD", "Food", "%23food"):
        shown = await ids(client, f"/api/v1/timelines/tag/{name}")
        assert shown == [lower["id"], upper["id"]], name
    assert unlisted["id"] not in shown and untagged["id"] not in shown
    assert await ids(client, "/api/v1/timelines/tag/美食") == [chinese["id"]]
    assert await ids(client, "/api/v1/timelines/tag/STRASSE") == [german["id"]]  # casefolded: ß == ss
    assert await ids(client, "/api/v1/timelines/tag/nothing_here") == []
    assert chinese["tags"] == [{"name": "美食", "url": chinese["tags"][0]["url"]}]
    # The Link header of a non-ASCII or escaped tag is a usable URL.
    for name, rest in (("美食", []), ("%23food", [upper["id"]])):
        page = await client.get(f"/api/v1/timelines/tag/{name}", params={"limit": 1})
        assert page.status_code == 200, page.text
        next_url = links(page)["next"]
        assert next_url.isascii() and "#" not in next_url
        assert [s["id"] for s in (await client.get(next_url)).json()] == rest


# --- paging -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["home", "public"])
async def test_timeline_paging_with_cursors_and_link_headers(client, alice: Member, which: str) -> None:
    posted = [(await post(client, alice, f"post {i}"))["id"] for i in range(7)]
    newest_first = list(reversed(posted))
    path = f"/api/v1/timelines/{which}"

    first = await client.get(path, headers=alice.headers, params={"limit": 3})
    assert [s["id"] for s in first.json()] == newest_first[:3]
    rels = links(first)
    assert set(rels) == {"next", "prev"}
    assert f"max_id={newest_first[2]}" in rels["next"] and f"min_id={newest_first[0]}" in rels["prev"]

    collected: list[str] = []
    url: str | None = f"{path}?limit=3"
    while url:
        page = await client.get(url, headers=alice.headers)
        batch = [s["id"] for s in page.json()]
        if not batch:
            assert "link" not in page.headers
            break
        collected += batch
        url = links(page).get("next")
    assert collected == newest_first

    # max_id: older than; since_id: newer than (newest first); min_id: just after (oldest of those first).
    assert await ids(client, path, alice, max_id=posted[3]) == newest_first[4:]
    assert await ids(client, path, alice, since_id=posted[3]) == newest_first[:3]
    assert await ids(client, path, alice, since_id=posted[1], limit=2) == newest_first[:2]
    assert await ids(client, path, alice, min_id=posted[1], limit=2) == [posted[3], posted[2]]
    between = await ids(client, path, alice, max_id=posted[5], since_id=posted[1])
    assert between == [posted[4], posted[3], posted[2]]
    # The prev link pages back up towards newer posts.
    older = await client.get(path, headers=alice.headers, params={"max_id": posted[3], "limit": 2})
    back = await client.get(links(older)["prev"], headers=alice.headers)
    assert [s["id"] for s in back.json()] == [posted[4], posted[3]]


async def test_limit_is_clamped(client, alice: Member) -> None:
    for i in range(3):
        await post(client, alice, f"n{i}")
    assert len(await ids(client, "/api/v1/timelines/public", limit=0)) == 1
    assert len(await ids(client, "/api/v1/timelines/public", limit=1000)) == 3


# --- notifications ------------------------------------------------------------------------------------


async def test_each_notification_type(client, alice: Member, bob: Member, carol: Member) -> None:
    original = await post(client, alice, "original")
    await post(client, bob, "hi @alice")                                                   # mention
    await post(client, carol, "a reply", in_reply_to_id=original["id"])                     # reply
    await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=bob.headers)     # reblog
    await client.post(f"/api/v1/statuses/{original['id']}/favourite", headers=carol.headers)  # favourite
    await follow(client, bob, alice)                                                       # follow
    await post(client, carol, "quoting", quoted_status_id=original["id"])                   # quote
    await follow(client, alice, carol, notify=True)
    carols = await post(client, carol, "news from carol")                                  # status (to alice)
    boosted = await post(client, carol, "boost me")
    await client.post(f"/api/v1/statuses/{boosted['id']}/reblog", headers=alice.headers)
    await client.put(f"/api/v1/statuses/{boosted['id']}", headers=carol.headers,
                     json={"status": "boost me v2"})

    got = await notes(client, alice)
    assert got == [("update", "carol"), ("status", "carol"), ("status", "carol"), ("quote", "carol"),
                   ("follow", "bob"), ("favourite", "carol"), ("reblog", "bob"), ("reply", "carol"),
                   ("mention", "bob")]
    full = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    by_type = {n["type"]: n for n in reversed(full)}  # the newest of each type wins
    assert [n["status"]["id"] for n in full if n["type"] == "status"] == [boosted["id"], carols["id"]]
    assert by_type["update"]["status"]["id"] == boosted["id"]
    assert "v2" in by_type["update"]["status"]["content"]
    assert by_type["favourite"]["status"]["id"] == original["id"]
    assert by_type["follow"]["status"] is None

    assert ("follow", "alice") in await notes(client, carol)
    # Filters.
    only = await notes(client, alice, **{"types[]": ["mention", "reply"]})
    assert only == [("reply", "carol"), ("mention", "bob")]
    excluded = await notes(client, alice, **{"exclude_types[]": ["update", "status", "quote", "follow"]})
    assert excluded == [("favourite", "carol"), ("reblog", "bob"), ("reply", "carol"), ("mention", "bob")]
    from_bob = await notes(client, alice, account_id=bob.id)
    assert from_bob == [("follow", "bob"), ("reblog", "bob"), ("mention", "bob")]
    bad = await client.get("/api/v1/notifications", headers=alice.headers, params={"types[]": "nonsense"})
    assert bad.status_code == 422 and "error" in bad.json()


async def test_follow_request_notification(client, runtime, alice: Member) -> None:
    lord = await make_member(runtime, "lord", locked=True)
    await follow(client, alice, lord)
    assert await notes(client, lord) == [("follow_request", "alice")]
    assert await notes(client, lord, **{"types[]": "follow"}) == []


async def test_get_dismiss_and_clear(client, alice: Member, bob: Member, carol: Member) -> None:
    await post(client, bob, "@alice one")
    await post(client, carol, "@alice two")
    listed = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    newest, oldest = listed
    one = await client.get(f"/api/v1/notifications/{oldest['id']}", headers=alice.headers)
    assert one.status_code == 200 and one.json()["account"]["username"] == "bob"
    assert one.json()["status"]["id"] == oldest["status"]["id"]
    # Someone else's notification is not found, not forbidden.
    assert (await client.get(f"/api/v1/notifications/{oldest['id']}", headers=bob.headers)).status_code == 404
    assert (await client.post(f"/api/v1/notifications/{oldest['id']}/dismiss",
                              headers=bob.headers)).status_code == 404

    dismissed = await client.post(f"/api/v1/notifications/{oldest['id']}/dismiss", headers=alice.headers)
    assert dismissed.status_code == 200
    assert await notes(client, alice) == [("mention", "carol")]
    gone = await client.get(f"/api/v1/notifications/{oldest['id']}", headers=alice.headers)
    assert gone.status_code == 404
    assert (await client.post(f"/api/v1/notifications/{oldest['id']}/dismiss",
                              headers=alice.headers)).status_code == 404

    await post(client, alice, "@bob mine")  # bob's own notifications survive alice's clear
    cleared = await client.post("/api/v1/notifications/clear", headers=alice.headers)
    assert cleared.status_code == 200
    assert await notes(client, alice) == []
    assert await notes(client, bob) == [("mention", "alice")]
    gone = await client.get(f"/api/v1/notifications/{newest['id']}", headers=alice.headers)
    assert gone.status_code == 404


async def test_notification_of_a_deleted_post_disappears(client, alice: Member, bob: Member) -> None:
    mention = await post(client, bob, "@alice soon gone")
    assert await notes(client, alice) == [("mention", "bob")]
    await client.delete(f"/api/v1/statuses/{mention['id']}", headers=bob.headers)
    assert await notes(client, alice) == []


async def test_notifications_page_with_link_headers(client, alice: Member, bob: Member) -> None:
    for i in range(5):
        await post(client, bob, f"@alice ping {i}")
    first = await client.get("/api/v1/notifications", headers=alice.headers, params={"limit": 2})
    seen = [n["id"] for n in first.json()]
    url = links(first).get("next")
    while url:
        page = await client.get(url, headers=alice.headers)
        if not page.json():
            break
        seen += [n["id"] for n in page.json()]
        url = links(page).get("next")
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, key=int, reverse=True)


async def test_unread_count_and_markers(client, alice: Member, bob: Member) -> None:
    for i in range(3):
        await post(client, bob, f"@alice number {i}")

    async def unread() -> int:
        response = await client.get("/api/v1/notifications/unread_count", headers=alice.headers)
        assert response.status_code == 200
        return response.json()["count"]

    assert await unread() == 3
    assert (await client.get("/api/v1/markers", headers=alice.headers,
                             params={"timeline[]": ["home", "notifications"]})).json() == {}
    listed = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    middle = listed[1]["id"]
    saved = await client.post("/api/v1/markers", headers=alice.headers,
                              data={"notifications[last_read_id]": middle})
    assert saved.status_code == 200, saved.text
    assert saved.json()["notifications"]["last_read_id"] == middle
    assert await unread() == 1

    home_top = (await post(client, alice, "my post"))["id"]
    saved = await client.post("/api/v1/markers", headers=alice.headers,
                              json={"notifications": {"last_read_id": listed[0]["id"]},
                                    "home": {"last_read_id": home_top}})
    assert saved.status_code == 200, saved.text
    assert await unread() == 0
    markers = await client.get("/api/v1/markers", headers=alice.headers,
                               params={"timeline[]": ["home", "notifications"]})
    body = markers.json()
    assert set(body) == {"home", "notifications"}
    assert body["home"]["last_read_id"] == home_top
    assert body["notifications"]["last_read_id"] == listed[0]["id"]
    assert body["notifications"]["version"] == 2 and body["home"]["version"] == 1
    assert body["home"]["updated_at"].endswith("Z")
    only_home = await client.get("/api/v1/markers", headers=alice.headers, params={"timeline[]": "home"})
    assert set(only_home.json()) == {"home"}
    # Markers are per member.
    assert (await client.get("/api/v1/markers", headers=bob.headers,
                             params={"timeline[]": ["home", "notifications"]})).json() == {}
    await post(client, bob, "@alice again")
    assert await unread() == 1

"""The notifications page: sentences in the reader's language, unread marks, the nav badge, privacy."""

from __future__ import annotations

import re

import httpx

from tests.factories import Member, post
from tests.web.pages import signed_in

BADGE = re.compile(r'class="badge notif-badge" data-count="(\d+)"')


def badge(html: str) -> int:
    counts = {int(c) for c in BADGE.findall(html)}
    assert len(counts) == 1, f"the side and bottom navs disagree or are missing: {counts}"
    return counts.pop()


def unread_items(html: str) -> int:
    return len(re.findall(r'<article class="notification [a-z_]+ unread"', html))


async def api(client: httpx.AsyncClient, who: Member, path: str, **json: object) -> dict:
    answer = await client.post(path, headers=who.headers, json=json)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_each_kind_says_who_did_what(client, alice: Member, bob: Member) -> None:
    await client.patch("/api/v1/accounts/update_credentials", headers=bob.headers,
                       data={"display_name": "Bob 🐝 Bäcker"})
    mine = await post(client, alice, "Alice's original thought")
    await api(client, bob, f"/api/v1/statuses/{mine['id']}/favourite")
    await api(client, bob, f"/api/v1/statuses/{mine['id']}/reblog")
    await api(client, bob, f"/api/v1/accounts/{alice.id}/follow")
    await post(client, bob, "hello @alice, a mention")
    await post(client, bob, "a reply to you", in_reply_to_id=mine["id"])
    await post(client, bob, "look at this", quoted_status_id=mine["id"])

    page = await (await signed_in(client, alice)).get("/notifications")
    assert page.status_code == 200
    for sentence in ("liked your post", "reposted your post", "followed you", "mentioned you",
                     "replied to your post", "quoted your post"):
        assert sentence in page.text, sentence
    assert "Bob 🐝 Bäcker" in page.text and 'href="/@bob"' in page.text
    assert ", a mention" in page.text  # the post itself, compactly
    assert "a reply to you" in page.text
    assert unread_items(page.text) == 6


async def test_follow_requests_and_new_posts_of_followed_people(client, alice: Member, bob: Member,
                                                                carol: Member) -> None:
    await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, data={"locked": "true"})
    await api(client, bob, f"/api/v1/accounts/{alice.id}/follow")
    await api(client, alice, f"/api/v1/accounts/{carol.id}/follow", notify=True)
    await post(client, carol, "carol's fresh news")
    page = await (await signed_in(client, alice)).get("/notifications")
    assert "requested to follow you" in page.text and 'href="/follow_requests"' in page.text
    assert "posted" in page.text and "fresh news" in page.text


async def test_visiting_marks_them_read_and_the_badge_drops_to_zero(client, alice: Member, bob: Member) -> None:
    mine = await post(client, alice, "like me")
    await api(client, bob, f"/api/v1/statuses/{mine['id']}/favourite")
    await api(client, bob, f"/api/v1/accounts/{alice.id}/follow")
    await signed_in(client, alice)
    assert badge((await client.get("/home")).text) == 2
    first = await client.get("/notifications")
    assert badge(first.text) == 0  # already on the page that shows them
    assert unread_items(first.text) == 2
    assert badge((await client.get("/home")).text) == 0
    again = await client.get("/notifications")
    assert unread_items(again.text) == 0 and "liked your post" in again.text
    # The API's read marker is the same one, so apps agree.
    count = await client.get("/api/v1/notifications/unread_count", headers=alice.headers)
    assert count.json() == {"count": 0}
    await post(client, bob, "@alice one more")
    assert badge((await client.get("/home")).text) == 1
    assert unread_items((await client.get("/notifications")).text) == 1


async def test_the_mentions_tab_shows_mentions_and_replies_and_leaves_the_rest_unread(
        client, alice: Member, bob: Member) -> None:
    mine = await post(client, alice, "a post")
    await api(client, bob, f"/api/v1/statuses/{mine['id']}/favourite")
    await post(client, bob, "@alice listen")
    await post(client, bob, "replying", in_reply_to_id=mine["id"])
    page = await (await signed_in(client, alice)).get("/notifications?filter=mentions")
    assert "mentioned you" in page.text and "replied to your post" in page.text
    assert "liked your post" not in page.text
    assert badge(page.text) == 3  # the like is still unseen
    odd = await client.get("/notifications?filter=<script>")
    assert odd.status_code == 200 and "liked your post" in odd.text and "<script>" not in odd.text


async def test_a_post_that_was_deleted_or_made_private_does_not_leak(client, alice: Member, bob: Member) -> None:
    gone = await post(client, bob, "@alice soon deleted secret")
    hidden = await post(client, bob, "@alice only you may read this", visibility="direct")
    kept = await post(client, bob, "@alice this one stays")
    assert (await client.delete(f"/api/v1/statuses/{gone['id']}", headers=bob.headers)).status_code == 200
    # Editing the mention away takes alice out of a direct post's audience.
    edited = await client.put(f"/api/v1/statuses/{hidden['id']}", headers=bob.headers,
                              json={"status": "never mind, nobody reads this"})
    assert edited.status_code == 200, edited.text
    page = await (await signed_in(client, alice)).get("/notifications")
    assert "this one stays" in page.text
    for secret in ("soon deleted secret", "only you may read this", "nobody reads this"):
        assert secret not in page.text
    assert page.text.count('class="notification mention') == 1
    assert kept["id"] in page.text


async def test_a_blocked_member_disappears_from_notifications(client, alice: Member, bob: Member) -> None:
    await post(client, bob, "@alice hey")
    await api(client, alice, f"/api/v1/accounts/{bob.id}/block")
    page = await (await signed_in(client, alice)).get("/notifications")
    assert "mentioned you" not in page.text and "@alice hey" not in page.text


async def test_older_notifications_load_page_by_page_and_stay_marked_new(client, alice: Member,
                                                                        bob: Member) -> None:
    for n in range(3):
        await post(client, bob, f"@alice number {n}")
    await signed_in(client, alice)
    first = await client.get("/notifications?limit=2")
    assert "number 2" in first.text and "number 1" in first.text and "number 0" not in first.text
    more = re.search(r'<a class="more" href="([^"]+)"', first.text)
    assert more and 'hx-trigger="revealed"' in first.text
    url = more.group(1).replace("&amp;", "&")
    rest = await client.get(url, headers={"X-Agora-Fragment": "list", "HX-Request": "true"})
    assert rest.status_code == 200 and "<html" not in rest.text  # a fragment for infinite scroll
    assert "number 0" in rest.text and unread_items(rest.text) == 1  # new when the page was opened
    plain = await client.get(url)  # the no-JavaScript link: a whole page
    assert "<html" in plain.text and "number 0" in plain.text


async def test_it_needs_a_member_and_refuses_bad_cursors(client, alice: Member) -> None:
    visitor = await client.get("/notifications")
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/auth/sign_in")
    await signed_in(client, alice)
    empty = await client.get("/notifications")
    assert empty.status_code == 200 and "Nothing here yet" in empty.text
    bad = await client.get("/notifications?max_id=nonsense")
    assert bad.status_code == 422


"""Profiles and the social graph in the browser: the profile and its tabs, the follow button (htmx
and plain forms), follow requests, follower lists, and what a stranger must not see."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image
from sqlalchemy import update

from agora.kit.runtime import Runtime
from agora.models import Account
from tests.factories import Member, make_member, post
from tests.web.pages import csrf_of, form_post, signed_in


async def relationship(client: httpx.AsyncClient, who: Member, target: Member) -> dict:
    response = await client.get("/api/v1/accounts/relationships", headers=who.headers, params={"id[]": target.id})
    assert response.status_code == 200, response.text
    return response.json()[0]


async def image_post(client: httpx.AsyncClient, who: Member, text: str) -> dict:
    data = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 120, 200)).save(data, "PNG")
    media = await client.post("/api/v2/media", headers=who.headers,
                              files={"file": ("p.png", data.getvalue(), "image/png")})
    assert media.status_code == 200, media.text
    return await post(client, who, text, media_ids=[media.json()["id"]])


async def html(client: httpx.AsyncClient, url: str, **headers: str) -> str:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text[:500]
    return response.text


async def test_profile_shows_name_bio_counts_and_posts(client, alice: Member, bob: Member) -> None:
    changed = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                 data={"display_name": "Ålice 🌷 Wonder", "note": "Gardener <script>x()</script>"})
    assert changed.status_code == 200, changed.text
    await post(client, alice, "tulips are up")
    await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    page = await html(client, "/@alice")  # signed out
    assert "Ålice 🌷 Wonder" in page and "@alice" in page and "Gardener" in page
    assert "<script>x()" not in page  # the bio is sanitised
    assert "tulips are up" in page
    assert re.search(r"<strong>1</strong> post\b", page)
    assert re.search(r"<strong>1</strong> follower\b", page) and re.search(r"<strong>0</strong> following", page)
    assert 'href="/@alice/followers"' in page and 'href="/@alice/following"' in page
    assert "/auth/sign_in?next=" in page  # a stranger's Follow leads to sign-in
    assert "tulips are up" in await html(client, "/@ALICE")  # usernames are case-insensitive


async def test_tabs_filter_replies_and_media(client, alice: Member, bob: Member) -> None:
    bobs = await post(client, bob, "what are you growing?")
    await post(client, alice, "plain thoughts")
    await post(client, alice, "reply about roses", in_reply_to_id=bobs["id"])
    await image_post(client, alice, "a photo of roses")
    posts = await html(client, "/@alice")
    assert "plain thoughts" in posts and "a photo of roses" in posts and "reply about roses" not in posts
    replies = await html(client, "/@alice/with_replies")
    assert "reply about roses" in replies and "plain thoughts" in replies
    media = await html(client, "/@alice/media")
    assert "a photo of roses" in media and "plain thoughts" not in media and "reply about roses" not in media
    assert 'href="/@alice/media" aria-current="page"' in media


async def test_posts_page_through_infinite_scroll_and_pinned_lead(client, alice: Member) -> None:
    first = await post(client, alice, "oldest post")
    for i in range(3):
        await post(client, alice, f"newer post {i}")
    pinned = await client.post(f"/api/v1/statuses/{first['id']}/pin", headers=alice.headers)
    assert pinned.status_code == 200, pinned.text
    page = await html(client, "/@alice?limit=2")
    assert "Pinned" in page and page.count(f'id="post-{first["id"]}"') == 1  # shown once, at the top
    assert page.index("oldest post") < page.index("newer post 2")
    more = re.search(r'class="more" href="([^"]+)"', page)
    assert more and "/@alice?" in more.group(1).replace("&amp;", "&")
    rest = await html(client, more.group(1).replace("&amp;", "&"), **{"X-Agora-Fragment": "list"})
    assert "<html" not in rest and "newer post 0" in rest and "Pinned" not in rest


async def test_follow_and_unfollow_from_the_profile(client, alice: Member, bob: Member) -> None:
    await signed_in(client, bob)
    page = await html(client, "/@alice")
    assert f'action="/web/accounts/{alice.id}/follow"' in page
    followed = await form_post(client, "/@alice", f"/web/accounts/{alice.id}/follow", htmx=True)
    assert followed.status_code == 200 and "<html" not in followed.text  # only the button comes back
    assert "Following" in followed.text and f"/web/accounts/{alice.id}/unfollow" in followed.text
    assert (await relationship(client, bob, alice))["following"] is True
    assert "<strong>1</strong> follower" in await html(client, "/@alice")

    # Without JavaScript: a plain form post, then back to the profile.
    undone = await form_post(client, "/@alice", f"/web/accounts/{alice.id}/unfollow")
    assert undone.status_code == 303 and undone.headers["location"] == "/@alice"
    assert (await relationship(client, bob, alice))["following"] is False
    assert f'action="/web/accounts/{alice.id}/follow"' in await html(client, "/@alice")

    # She sees that he follows her, and has no button on her own profile.
    await form_post(client, "/@alice", f"/web/accounts/{alice.id}/follow")
    await signed_in(client, alice)
    on_bob = await html(client, "/@bob")
    assert "Follows you" in on_bob and "Follow back" in on_bob
    own = await html(client, "/@alice")
    assert 'href="/settings/profile"' in own and f"/web/accounts/{alice.id}/follow" not in own


async def test_locked_account_request_is_accepted_or_rejected(client, runtime: Runtime, bob: Member,
                                                             carol: Member) -> None:
    owner = await make_member(runtime, "keeper", locked=True)
    await signed_in(client, bob)
    assert 'class="locked"' in await html(client, "/@keeper")
    asked = await form_post(client, "/@keeper", f"/web/accounts/{owner.id}/follow", htmx=True)
    assert asked.status_code == 200 and "Requested" in asked.text
    assert (await relationship(client, bob, owner))["requested"] is True
    await signed_in(client, carol)
    await form_post(client, "/@keeper", f"/web/accounts/{owner.id}/follow")

    await signed_in(client, owner)
    assert 'href="/follow_requests"' in await html(client, "/@keeper")
    waiting = await html(client, "/follow_requests")
    assert "@bob" in waiting and "@carol" in waiting
    accepted = await form_post(client, "/follow_requests", f"/web/follow_requests/{bob.id}/authorize", htmx=True)
    assert accepted.status_code == 200 and "now follows you" in accepted.text
    rejected = await form_post(client, "/follow_requests", f"/web/follow_requests/{carol.id}/reject")
    assert rejected.status_code == 303 and rejected.headers["location"] == "/follow_requests"
    assert (await relationship(client, bob, owner))["following"] is True
    assert (await relationship(client, carol, owner))["requested"] is False
    assert "No one is waiting" in await html(client, "/follow_requests")
    assert 'href="/follow_requests"' not in await html(client, "/@keeper")
    # Answering a request that no longer exists is a 404, not a new follower.
    again = await form_post(client, "/follow_requests", f"/web/follow_requests/{carol.id}/authorize")
    assert again.status_code == 404
    assert (await relationship(client, carol, owner))["following"] is False


async def test_requested_button_cancels_the_request(client, runtime: Runtime, bob: Member) -> None:
    owner = await make_member(runtime, "keeper", locked=True)
    await signed_in(client, bob)
    await form_post(client, "/@keeper", f"/web/accounts/{owner.id}/follow")
    page = await html(client, "/@keeper")
    assert "Requested" in page and f'action="/web/accounts/{owner.id}/unfollow"' in page
    await form_post(client, "/@keeper", f"/web/accounts/{owner.id}/unfollow", htmx=True)
    assert (await relationship(client, bob, owner))["requested"] is False


async def test_followers_and_following_lists(client, runtime: Runtime, alice: Member, bob: Member,
                                             carol: Member) -> None:
    for who in (bob, carol):
        await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=who.headers)
    await client.post(f"/api/v1/accounts/{carol.id}/follow", headers=alice.headers)
    followers = await html(client, "/@alice/followers")
    assert "@bob" in followers and "@carol" in followers
    following = await html(client, "/@alice/following")
    assert "@carol" in following and "@bob" not in following

    # Paged: a plain "more" link, and the next rows alone for infinite scroll.
    first = await html(client, "/@alice/followers?limit=1")
    assert "@carol" in first and "@bob" not in first
    more = re.search(r'class="more" href="([^"]+)"', first)
    assert more
    rest = await html(client, more.group(1).replace("&amp;", "&"), **{"X-Agora-Fragment": "list"})
    assert "@bob" in rest and "<html" not in rest

    # A signed-in viewer gets a follow button per row, and never sees someone who blocks them.
    dave = await make_member(runtime, "dave")
    await client.post(f"/api/v1/accounts/{dave.id}/block", headers=carol.headers)
    await signed_in(client, dave)
    seen = await html(client, "/@alice/followers")
    assert "@bob" in seen and "@carol" not in seen and f"/web/accounts/{bob.id}/follow" in seen


async def test_private_posts_only_for_followers(client, runtime: Runtime, alice: Member, bob: Member,
                                                carol: Member) -> None:
    await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    await post(client, alice, "for my followers only", visibility="private")
    await post(client, alice, "hello world")
    stranger_view = await html(await signed_in(client, carol), "/@alice/with_replies")
    assert "hello world" in stranger_view and "for my followers only" not in stranger_view
    client.cookies.clear()
    assert "for my followers only" not in await html(client, "/@alice")
    assert "for my followers only" in await html(await signed_in(client, bob), "/@alice")


async def test_blocked_profile_has_no_follow_button(client, alice: Member, bob: Member) -> None:
    await post(client, alice, "not for bob")
    await client.post(f"/api/v1/accounts/{bob.id}/block", headers=alice.headers)
    page = await html(await signed_in(client, bob), "/@alice")
    assert "You cannot follow this account" in page and f"/web/accounts/{alice.id}/follow" not in page
    assert "not for bob" not in page
    refused = await form_post(client, "/@alice", f"/web/accounts/{alice.id}/follow", htmx=True)
    assert refused.status_code == 403
    assert (await relationship(client, bob, alice))["following"] is False


async def test_unknown_suspended_and_unapproved_profiles_are_404(client, runtime: Runtime, alice: Member) -> None:
    for path in ("/@nobody", "/@nobody/followers", "/@nobody/media", "/@" + "x" * 300):
        response = await client.get(path)
        assert response.status_code == 404 and "Not found" in response.text
    async with runtime.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == int(alice.id)).values(suspended=True))
    assert (await client.get("/@alice")).status_code == 404
    async with runtime.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == int(alice.id)).values(suspended=False,
                                                                                          approved=False))
    assert (await client.get("/@alice/following")).status_code == 404


async def test_follow_needs_csrf_and_a_real_member(client, alice: Member, bob: Member) -> None:
    await signed_in(client, bob)
    missing = await client.post(f"/web/accounts/{alice.id}/follow")
    assert missing.status_code == 403
    forged = await client.post(f"/web/accounts/{alice.id}/follow", data={"csrf": "not-the-token"})
    assert forged.status_code == 403
    assert (await relationship(client, bob, alice))["following"] is False
    token = csrf_of(await html(client, "/@alice"))
    for target in ("123456789", "not-an-id"):
        response = await client.post(f"/web/accounts/{target}/follow", data={"csrf": token})
        assert response.status_code == 404
    assert (await client.post(f"/web/accounts/{bob.id}/follow", data={"csrf": token})).status_code == 403
    assert (await client.post("/web/follow_requests/123456789/reject", data={"csrf": token})).status_code == 404


async def test_signed_out_follow_and_requests_ask_to_sign_in(client, alice: Member) -> None:
    page = await client.get("/follow_requests")
    assert page.status_code == 303 and page.headers["location"].startswith("/auth/sign_in")

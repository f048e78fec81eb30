"""The web app's live stream (/web/live) over real connections: what the browser's "N new posts"
bar and notification badge listen to. It is the streaming API's `user` stream, opened with the
session cookie; with Redis, a post made through one server reaches a browser held by another."""

from __future__ import annotations

import httpx

from agora.web.session import SESSION_COOKIE
from tests.factories import PASSWORD, Member
from tests.streaming import WAIT, api_for, open_sse, until_listeners
from tests.web.pages import csrf_of


async def web_session(base_url: str, member: Member) -> str:
    """Sign in through the form, as a browser does; the session cookie's value."""
    async with httpx.AsyncClient(base_url=base_url, timeout=WAIT) as browser:
        page = await browser.get("/auth/sign_in")
        answer = await browser.post("/auth/sign_in", data={"csrf": csrf_of(page.text), "login": member.username,
                                                           "password": PASSWORD})
        assert answer.status_code == 303
        return browser.cookies[SESSION_COOKIE]


async def test_the_live_stream_brings_new_posts_and_notifications(live_server, alice: Member, bob: Member,
                                                                   carol: Member) -> None:
    cookie = await web_session(live_server.url, bob)
    async with api_for(live_server.url) as api:
        await api.follow(bob, alice)
        mine = await api.post(bob, "bob writes")
        async with open_sse(live_server.url, "/web/live", cookies={SESSION_COOKIE: cookie}) as live:
            posted = await api.post(alice, "for my followers", visibility="private")
            await api.post(carol, "carol is not followed")
            await api.favourite(alice, mine["id"])
            await live.until(live.event("update", posted["id"]), what="alice's post")
            note = await live.until(live.event("notification"), what="the like")
            assert note.json()["type"] == "favourite"
            assert "carol is not followed" not in [e.json().get("content", "") for e in live.received
                                                   if e.event == "update"]


async def test_the_live_stream_needs_a_session_and_ends_with_it(live_server, bob: Member) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=WAIT) as stranger:
        refused = await stranger.get("/web/live", follow_redirects=False)
        assert refused.status_code == 303 and refused.headers["location"].startswith("/auth/sign_in")
        app_token = await stranger.get("/web/live", cookies={SESSION_COOKIE: bob.token})  # an app token is no session
        assert app_token.status_code == 303
    cookie = await web_session(live_server.url, bob)
    async with open_sse(live_server.url, "/web/live", cookies={SESSION_COOKIE: cookie}) as live:
        async with httpx.AsyncClient(base_url=live_server.url, cookies={SESSION_COOKIE: cookie}) as browser:
            home = await browser.get("/home")
            assert (await browser.post("/auth/sign_out", data={"csrf": csrf_of(home.text)})).status_code == 303
        await live.wait(lambda: live.ended, "the stream to end after signing out")


async def test_with_redis_a_post_through_one_server_reaches_a_browser_on_another(
        redis_servers, redis_client, alice: Member, bob: Member) -> None:
    a, b = redis_servers
    cookie = await web_session(a.url, bob)
    async with api_for(b.url) as api_b:
        await api_b.follow(bob, alice)
        async with open_sse(a.url, "/web/live", cookies={SESSION_COOKIE: cookie}) as live:
            await until_listeners(redis_client, f"timeline:{bob.id}")
            posted = await api_b.post(alice, "made on server B")
            await live.until(live.event("update", posted["id"]), what="the post from server B")

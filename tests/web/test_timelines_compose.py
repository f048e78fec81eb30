"""Web pages over the in-process client: signing in and out, timelines, and the compose box."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from agora.app import create_app
from agora.web.session import SESSION_COOKIE
from tests.conftest import make_settings
from tests.factories import PASSWORD, Member, make_member, post
from tests.web.pages import csrf_of, form_post, signed_in


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 90)).save(out, "PNG")
    return out.getvalue()


async def api_statuses(client, member: Member) -> list[dict]:
    response = await client.get(f"/api/v1/accounts/{member.id}/statuses", headers=member.headers)
    return response.json()


# --- signing in and out ------------------------------------------------------------------------

async def test_pages_that_need_a_member_send_visitors_to_sign_in_and_back(client, alice: Member) -> None:
    answer = await client.get("/home")
    assert answer.status_code == 303 and answer.headers["location"] == "/auth/sign_in?next=%2Fhome"
    page = await client.get(answer.headers["location"])
    signed = await client.post("/auth/sign_in", data={"csrf": csrf_of(page.text), "login": "alice",
                                                      "password": PASSWORD, "next": "/home"})
    assert signed.status_code == 303 and signed.headers["location"] == "/home"
    home = await client.get("/home")
    assert home.status_code == 200 and "@alice" in home.text


async def test_sign_in_refuses_a_wrong_password_and_never_redirects_off_site(client, alice: Member) -> None:
    page = await client.get("/auth/sign_in")
    wrong = await client.post("/auth/sign_in", data={"csrf": csrf_of(page.text), "login": "alice",
                                                     "password": "not it"})
    assert wrong.status_code == 401 and "Wrong e-mail, username or password." in wrong.text
    assert 'value="alice"' in wrong.text  # what was typed is kept
    right = await client.post("/auth/sign_in", data={"csrf": csrf_of(page.text), "login": "alice",
                                                     "password": PASSWORD, "next": "//evil.example/steal"})
    assert right.status_code == 303 and right.headers["location"] == "/home"


async def test_a_form_without_its_csrf_token_changes_nothing(client, alice: Member) -> None:
    await signed_in(client, alice)
    refused = await client.post("/web/statuses", data={"status": "forged", "visibility": "public"})
    assert refused.status_code == 403
    forged = await client.post("/web/statuses", data={"status": "forged", "visibility": "public", "csrf": "x" * 40})
    assert forged.status_code == 403
    assert await api_statuses(client, alice) == []


async def test_sign_out_revokes_the_session(client, alice: Member) -> None:
    await signed_in(client, alice)
    copied = client.cookies.get(SESSION_COOKIE)
    out = await form_post(client, "/home", "/auth/sign_out")
    assert out.status_code == 303
    assert (await client.get("/home")).status_code == 303
    # A copy of the cookie taken before signing out opens nothing: the token itself was revoked.
    client.cookies.set(SESSION_COOKIE, copied)
    assert (await client.get("/home")).status_code == 303
    assert (await client.get("/api/v1/accounts/verify_credentials",
                             headers={"Authorization": f"Bearer {copied}"})).status_code == 401
    # Signing out the browser leaves the member's apps signed in.
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).status_code == 200


async def test_an_app_token_in_the_cookie_is_not_a_web_session(client, runtime) -> None:
    """A token an app was given (here: only `read`) must not become a full browser session."""
    narrow = await make_member(runtime, "narrow", scopes=("read",))
    client.cookies.set(SESSION_COOKIE, narrow.token)
    assert (await client.get("/home")).status_code == 303  # treated as signed out
    assert (await client.post("/web/statuses", data={"status": "widened", "visibility": "public"})).status_code == 403
    statuses = await client.get(f"/api/v1/accounts/{narrow.id}/statuses", headers=narrow.headers)
    assert statuses.json() == []


async def test_sign_up_in_the_browser_makes_a_member_who_is_signed_in(client) -> None:
    page = await client.get("/auth/sign_up")
    made = await client.post("/auth/sign_up", data={
        "csrf": csrf_of(page.text), "username": "zoë_not_ascii", "email": "z@example.org",
        "password": "long enough", "agreement": "1"})
    assert made.status_code == 422 and "letters, digits or underscores" in made.text
    assert 'value="z@example.org"' in made.text
    made = await client.post("/auth/sign_up", data={
        "csrf": csrf_of(page.text), "username": "zoe", "email": "z@example.org", "password": "long enough",
        "agreement": "1"})
    assert made.status_code == 303
    assert "@zoe" in (await client.get("/home")).text
    again = await client.post("/auth/sign_up", data={
        "csrf": csrf_of((await client.get("/home")).text), "username": "zoe2", "email": "other@example.org",
        "password": "long enough", "agreement": "1"})
    assert again.status_code == 303  # already signed in: the form is not for them; nothing is created
    lookup = await client.get("/api/v1/accounts/lookup", params={"acct": "zoe2"})
    assert lookup.status_code == 404


# --- composing ---------------------------------------------------------------------------------

async def test_posting_without_javascript_redirects_home_where_the_post_is(client, alice: Member) -> None:
    await signed_in(client, alice)
    sent = await form_post(client, "/home", "/web/statuses", {"status": "Grüße aus Köln 🌧️ مرحبا",
                                                             "visibility": "public", "key": "k-1"})
    assert sent.status_code == 303 and sent.headers["location"] == "/home"
    home = await client.get("/home")
    assert "Grüße aus Köln 🌧️ مرحبا" in home.text
    assert [s["content"] for s in await api_statuses(client, alice)] == ["<p>Grüße aus Köln 🌧️ مرحبا</p>"]


async def test_a_form_sent_twice_makes_one_post(client, alice: Member) -> None:
    await signed_in(client, alice)
    csrf = csrf_of((await client.get("/home")).text)
    form = {"csrf": csrf, "status": "only once", "visibility": "public", "key": "same-key"}
    for _ in range(3):
        assert (await client.post("/web/statuses", data=form)).status_code == 303
    assert len(await api_statuses(client, alice)) == 1


async def test_posting_with_htmx_returns_a_fresh_box_and_the_new_post(client, alice: Member) -> None:
    await signed_in(client, alice)
    sent = await form_post(client, "/home", "/web/statuses", {"status": "live #news", "visibility": "unlisted"},
                           htmx=True)
    assert sent.status_code == 200
    assert 'hx-swap-oob="afterbegin:#timeline"' in sent.text
    assert "live" in sent.text and 'href="/tags/news"' in sent.text.replace("http://testserver", "")
    assert "<textarea" in sent.text and ">live #news</textarea>" not in sent.text  # the box is empty again


async def test_quoting_from_the_compose_page_goes_home_with_the_quote(client, alice: Member, bob: Member) -> None:
    original = await post(client, alice, "quote me")
    await signed_in(client, bob)
    page = await client.get(f"/compose?quote={original['id']}")
    assert page.status_code == 200 and "quote me" in page.text
    assert f'name="quoted_status_id" value="{original["id"]}"' in page.text
    assert 'name="target" value="page"' in page.text
    sent = await client.post("/web/statuses", headers={"HX-Request": "true"}, data={
        "csrf": csrf_of(page.text), "target": "page", "status": "so true", "visibility": "public",
        "quoted_status_id": original["id"]})
    assert sent.status_code == 200 and sent.headers["HX-Redirect"] == "/home"  # the browser goes home
    made = (await api_statuses(client, bob))[0]
    assert made["quote"]["quoted_status"]["id"] == original["id"]


async def test_reply_from_a_card_opens_a_box_under_it_that_becomes_the_reply(client, alice: Member,
                                                                           bob: Member) -> None:
    parent = await post(client, alice, "what do you think?")
    await signed_in(client, bob)
    box = await client.get(f"/compose?in_reply_to={parent['id']}", headers={"HX-Request": "true"})
    assert box.status_code == 200 and "<html" not in box.text
    assert 'class="compose inline"' in box.text and "autofocus" in box.text
    assert f'name="in_reply_to_id" value="{parent["id"]}"' in box.text
    sent = await client.post("/web/statuses", headers={"HX-Request": "true"}, data={
        "csrf": csrf_of(box.text), "target": "inline", "status": "@alice I agree", "visibility": "public",
        "in_reply_to_id": parent["id"]})
    assert sent.status_code == 200 and sent.text.lstrip().startswith("<article") and "I agree" in sent.text
    # The card replied to comes along, out of band, counting the new reply.
    parent_card = sent.text[sent.text.index(f'id="post-{parent["id"]}"'):]
    assert parent_card.startswith(f'id="post-{parent["id"]}" hx-swap-oob="true"')
    assert 'aria-label="Reply, 1"' in parent_card
    reply = (await api_statuses(client, bob))[0]
    assert reply["in_reply_to_id"] == parent["id"]


async def test_a_malformed_reply_id_is_refused_not_posted_as_a_new_thread(client, alice: Member) -> None:
    await signed_in(client, alice)
    sent = await form_post(client, "/home", "/web/statuses", {"status": "hi", "visibility": "public",
                                                             "in_reply_to_id": "abc"})
    assert sent.status_code == 422 and ">hi</textarea>" in sent.text
    assert await api_statuses(client, alice) == []


async def test_an_image_with_alt_text(client, alice: Member) -> None:
    await signed_in(client, alice)
    csrf = csrf_of((await client.get("/home")).text)
    sent = await client.post("/web/statuses", data={"csrf": csrf, "status": "", "visibility": "public",
                                                    "alt": "A green square"},
                             files={"media": ("green.png", png(), "image/png")})
    assert sent.status_code == 303
    home = (await client.get("/home")).text
    assert 'alt="A green square"' in home
    media = (await api_statuses(client, alice))[0]["media_attachments"]
    assert [m["description"] for m in media] == ["A green square"]


async def test_refusals_name_the_field_and_keep_the_text(client, alice: Member) -> None:
    await signed_in(client, alice)
    csrf = csrf_of((await client.get("/home")).text)
    long = "長" * 501
    too_long = await client.post("/web/statuses", data={"csrf": csrf, "status": long, "visibility": "public"})
    assert too_long.status_code == 422
    assert 'id="status-error"' in too_long.text and "500" in too_long.text
    assert long in too_long.text  # kept in the box
    blank = await client.post("/web/statuses", data={"csrf": csrf, "status": " \n ", "visibility": "public"},
                              headers={"HX-Request": "true"})
    assert blank.status_code == 422 and 'id="status-error"' in blank.text and "<html" not in blank.text
    bad_vis = await client.post("/web/statuses", data={"csrf": csrf, "status": "hi", "visibility": "everyone"})
    assert bad_vis.status_code == 422 and 'id="visibility-error"' in bad_vis.text
    not_image = await client.post("/web/statuses", data={"csrf": csrf, "status": "look", "visibility": "public"},
                                  files={"media": ("x.png", b"not an image at all", "image/png")})
    assert not_image.status_code == 422 and 'id="media-error"' in not_image.text
    assert ">look</textarea>" in not_image.text
    five = [("media", (f"{i}.png", png(), "image/png")) for i in range(5)]
    too_many = await client.post("/web/statuses", data={"csrf": csrf, "status": "five", "visibility": "public"},
                                 files=five)
    assert too_many.status_code == 422 and 'id="media-error"' in too_many.text
    assert await api_statuses(client, alice) == []  # nothing was half-posted


async def test_a_reply_to_a_post_you_cannot_see_is_refused(client, alice: Member, bob: Member) -> None:
    secret = await post(client, alice, "followers only", visibility="private")
    await signed_in(client, bob)
    sent = await form_post(client, "/home", "/web/statuses", {"status": "hi", "visibility": "public",
                                                             "in_reply_to_id": secret["id"]})
    assert sent.status_code == 422
    assert "followers only" not in sent.text
    assert await api_statuses(client, bob) == []


# --- timelines ---------------------------------------------------------------------------------

async def test_explore_and_tags_show_public_posts_only(client, alice: Member, bob: Member) -> None:
    await post(client, alice, "public #garden news")
    await post(client, alice, "quiet #garden", visibility="unlisted")
    await post(client, alice, "friends #garden", visibility="private")
    for viewer in (None, bob):
        client.cookies.clear()
        if viewer is not None:
            await signed_in(client, viewer)
        explore = (await client.get("/explore")).text
        tag = (await client.get("/tags/Garden")).text
        assert "public" in explore and "quiet" not in explore and "friends" not in explore
        assert "public" in tag and "friends" not in tag


async def test_home_scrolls_to_older_posts_and_fetches_new_ones(client, alice: Member, bob: Member) -> None:
    await signed_in(client, bob)
    await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    made = [await post(client, alice, f"post number {i}") for i in range(25)]
    first = await client.get("/home")
    assert "post number 24" in first.text and "post number 4<" not in first.text
    more = re.search(r'class="more" href="([^"]+)"', first.text)
    assert more, "a full page links to the next one"
    older = await client.get(more.group(1).replace("&amp;", "&"), headers={"X-Agora-Fragment": "list"})
    assert "<html" not in older.text
    assert "post number 4<" in older.text and "post number 24" not in older.text
    newest = made[-1]["id"]
    await post(client, alice, "breaking")
    new = await client.get(f"/home?since_id={newest}", headers={"X-Agora-Fragment": "new"})
    assert "breaking" in new.text and "post number 24" not in new.text


async def test_bookmarks_are_private_to_their_owner(client, alice: Member, bob: Member) -> None:
    mine = await post(client, alice, "worth keeping")
    await client.post(f"/api/v1/statuses/{mine['id']}/bookmark", headers=bob.headers)
    await signed_in(client, bob)
    assert "worth keeping" in (await client.get("/bookmarks")).text
    await signed_in(client, alice)
    assert "worth keeping" not in (await client.get("/bookmarks")).text


async def test_the_interface_follows_accept_language(client) -> None:
    german = await client.get("/auth/sign_in", headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    assert '<html lang="de">' in german.text
    chinese = await client.get("/auth/sign_in", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans">' in chinese.text
    odd = await client.get("/auth/sign_in", headers={"Accept-Language": "xx;q=abc, *;q=0.1, " + "fr," * 500})
    assert odd.status_code == 200 and '<html lang="en">' in odd.text


async def test_unknown_pages_and_posts_are_friendly_404s(client) -> None:
    missing = await client.get("/statuses/123456789")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "<html" in missing.text
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "de"}
    typo = await client.get("/@alice/123/typo/x", headers=browser)
    assert typo.status_code == 404 and '<html lang="de">' in typo.text  # a page, in the reader's language
    api = await client.get("/api/v1/nothing-here", headers=browser)
    assert api.status_code == 404 and api.json() == {"error": "Record not found"}  # machines keep JSON


async def test_posting_from_the_browser_is_rate_limited_per_member(database_url: str, tmp_path) -> None:
    app = create_app(make_settings(database_url, tmp_path, rate_limit_statuses=2))
    await app.state.runtime.start()
    try:
        member = await make_member(app.state.runtime, "quick")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
            await signed_in(web, member)
            csrf = csrf_of((await web.get("/home")).text)
            answers = [await web.post("/web/statuses", data={"csrf": csrf, "status": f"post {i}",
                                                              "visibility": "public"}) for i in range(3)]
            assert [a.status_code for a in answers] == [303, 303, 429]
            assert "<html" in answers[2].text and "Too many requests" in answers[2].text
            assert len(await api_statuses(web, member)) == 2
    finally:
        await app.state.runtime.stop()

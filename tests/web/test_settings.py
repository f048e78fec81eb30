"""Settings pages: profile, password, preferences and the language menu, as a browser without JS uses them."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from agora.kit.runtime import Runtime
from agora.models import Account
from agora.web.i18n import LANG_COOKIE
from tests.factories import PASSWORD, Member
from tests.web.pages import csrf_of, form_post, signed_in


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(out, "PNG")
    return out.getvalue()


async def me(client: httpx.AsyncClient, who: Member) -> dict:
    answer = await client.get("/api/v1/accounts/verify_credentials", headers=who.headers)
    assert answer.status_code == 200
    return answer.json()


async def sign_in(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    """A fresh browser signing in (no cookies from before)."""
    client.cookies.clear()
    page = await client.get("/auth/sign_in")
    return await client.post("/auth/sign_in", data={"csrf": csrf_of(page.text), "login": login,
                                                    "password": password})


async def test_settings_need_a_member_and_link_to_each_page(client, alice: Member) -> None:
    for path in ("/settings", "/settings/profile", "/settings/password", "/settings/preferences"):
        answer = await client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/sign_in"), path
    index = await (await signed_in(client, alice)).get("/settings")
    assert index.status_code == 200
    for path in ("/settings/profile", "/settings/password", "/settings/preferences"):
        assert f'href="{path}"' in index.text


async def test_profile_changes_show_in_the_api(client, alice: Member) -> None:
    await signed_in(client, alice)
    sent = await form_post(client, "/settings/profile", "/settings/profile", {
        "display_name": "  Alice 🌷 Müller ", "note": "I grow #tomatoes\r\nwith @bob", "locked": "1"})
    assert sent.status_code == 303 and sent.headers["location"] == "/settings/profile?saved=1"
    account = await me(client, alice)
    assert account["display_name"] == "Alice 🌷 Müller"
    assert account["source"]["note"] == "I grow #tomatoes\nwith @bob"
    assert account["locked"] is True and account["discoverable"] is False  # an unchecked box is "off"
    assert "/tags/tomatoes" in account["note"]
    page = await client.get(sent.headers["location"])
    assert "Your changes were saved." in page.text
    assert 'value="Alice 🌷 Müller"' in page.text and "I grow #tomatoes" in page.text
    assert re.search(r'name="locked" value="1" checked', page.text)
    assert not re.search(r'name="discoverable" value="1" checked', page.text)


async def test_a_too_long_display_name_is_refused_beside_the_field(client, alice: Member, runtime: Runtime) -> None:
    await signed_in(client, alice)
    too_long = "x" * (runtime.settings.max_display_name_chars + 1)
    refused = await form_post(client, "/settings/profile", "/settings/profile", {
        "display_name": too_long, "note": "my typed bio <b>kept</b>", "discoverable": "1"})
    assert refused.status_code == 422
    assert f"at most {runtime.settings.max_display_name_chars} characters" in refused.text
    assert 'id="display_name-error"' in refused.text
    assert "my typed bio &lt;b&gt;kept&lt;/b&gt;" in refused.text  # kept, and escaped
    assert (await me(client, alice))["display_name"] == ""  # nothing was saved
    long_bio = await form_post(client, "/settings/profile", "/settings/profile", {
        "display_name": "ok", "note": "b" * (runtime.settings.max_bio_chars + 1)})
    assert long_bio.status_code == 422 and 'id="note-error"' in long_bio.text
    assert (await me(client, alice))["display_name"] == ""


async def test_an_uploaded_avatar_shows_on_the_pages(client, alice: Member) -> None:
    await signed_in(client, alice)
    sent = await form_post(client, "/settings/profile", "/settings/profile", {"display_name": "Alice"},
                           files={"avatar": ("me.png", png(), "image/png"), "header": ("", b"", "")})
    assert sent.status_code == 303, sent.text[:2000]
    avatar = (await me(client, alice))["avatar"]
    assert "/media/" in avatar and avatar.endswith(".png")
    path = avatar.removeprefix("http://testserver")
    image = await client.get(path)
    assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).size == (400, 400)
    assert (await me(client, alice))["header"].endswith("header-missing.png")  # an empty file input changes nothing
    for page in ("/settings/profile", "/home"):  # the settings preview and the side bar's "me"
        assert f'src="{path}"' in (await client.get(page)).text, page


async def test_a_file_that_is_not_an_image_is_refused(client, alice: Member) -> None:
    await signed_in(client, alice)
    refused = await form_post(client, "/settings/profile", "/settings/profile", {"display_name": "New name"},
                              files={"avatar": ("evil.png", b"<?php echo 1; ?>", "image/png")})
    assert refused.status_code == 422 and 'id="avatar-error"' in refused.text
    assert 'value="New name"' in refused.text
    account = await me(client, alice)
    assert account["display_name"] == "" and account["avatar"].endswith("avatar-missing.png")


async def test_changing_the_password(client, alice: Member) -> None:
    await signed_in(client, alice)
    wrong = await form_post(client, "/settings/password", "/settings/password", {
        "current_password": "not my password", "new_password": "a brand new one", "confirm_password":
        "a brand new one"})
    assert wrong.status_code == 422 and "This is not your current password." in wrong.text
    assert 'id="current_password-error"' in wrong.text and "a brand new one" not in wrong.text
    mismatch = await form_post(client, "/settings/password", "/settings/password", {
        "current_password": PASSWORD, "new_password": "a brand new one", "confirm_password": "a brand new two"})
    assert mismatch.status_code == 422 and 'id="confirm_password-error"' in mismatch.text
    short = await form_post(client, "/settings/password", "/settings/password", {
        "current_password": PASSWORD, "new_password": "short", "confirm_password": "short"})
    assert short.status_code == 422 and 'id="new_password-error"' in short.text

    changed = await form_post(client, "/settings/password", "/settings/password", {
        "current_password": PASSWORD, "new_password": "ünïcode pässwörd 🔑", "confirm_password": "ünïcode pässwörd 🔑"})
    assert changed.status_code == 303 and changed.headers["location"] == "/settings/password?saved=1"
    assert "Your changes were saved." in (await client.get(changed.headers["location"])).text
    assert (await sign_in(client, "alice", PASSWORD)).status_code == 401
    assert (await sign_in(client, "alice", "ünïcode pässwörd 🔑")).status_code == 303


async def test_forms_without_their_csrf_token_change_nothing(client, alice: Member) -> None:
    await signed_in(client, alice)
    for path, data in (("/settings/profile", {"display_name": "forged"}),
                       ("/settings/password", {"current_password": PASSWORD, "new_password": "forged forged",
                                               "confirm_password": "forged forged"}),
                       ("/settings/preferences", {"default_visibility": "private", "locale": "de"}),
                       ("/settings/language", {"locale": "de"})):
        assert (await client.post(path, data=data)).status_code == 403, path
    assert LANG_COOKIE not in client.cookies
    assert (await me(client, alice))["display_name"] == ""
    assert (await sign_in(client, "alice", PASSWORD)).status_code == 303


async def test_the_language_menu_works_signed_out(client) -> None:
    page = await client.get("/explore")
    sent = await client.post("/settings/language", data={"csrf": csrf_of(page.text), "locale": "de"},
                             headers={"Referer": "http://testserver/explore"})
    assert sent.status_code == 303 and sent.headers["location"] == "/explore"
    assert client.cookies.get(LANG_COOKIE) == "de"
    assert '<html lang="de">' in (await client.get("/explore")).text
    auto = await client.post("/settings/language", data={"csrf": csrf_of(page.text), "locale": "auto"})
    assert auto.status_code == 303 and auto.headers["location"] == "/"  # no Referer: the start page
    assert LANG_COOKIE not in client.cookies
    assert '<html lang="en">' in (await client.get("/explore")).text
    offsite = await client.post("/settings/language", data={"csrf": csrf_of(page.text), "locale": "de"},
                                headers={"Referer": "https://evil.example/"})
    assert offsite.headers["location"] == "/"


async def test_the_language_menu_remembers_the_choice_on_the_account(client, alice: Member,
                                                                     runtime: Runtime) -> None:
    await signed_in(client, alice)
    sent = await form_post(client, "/home", "/settings/language", {"locale": "zh_Hans"})
    assert sent.status_code == 303
    assert '<html lang="zh-Hans">' in (await client.get("/home")).text
    async with runtime.db.transaction(write=False) as session:
        assert (await session.get(Account, int(alice.id))).locale == "zh"
    # A new browser: signing in brings the language along.
    assert (await sign_in(client, "alice", PASSWORD)).status_code == 303
    assert client.cookies.get(LANG_COOKIE) == "zh_Hans"


async def test_an_unknown_language_is_refused_gracefully(client, alice: Member) -> None:
    for who in (None, alice):
        if who is not None:
            await signed_in(client, who)
        for bad in ("xx", "<script>", "", "de" * 50):
            refused = await form_post(client, "/explore", "/settings/language", {"locale": bad})
            assert refused.status_code == 422 and "This language is not available." in refused.text
        assert LANG_COOKIE not in client.cookies


async def test_preferences(client, alice: Member) -> None:
    await signed_in(client, alice)
    page = await client.get("/settings/preferences")
    assert re.search(r'value="public" checked', page.text) and re.search(r'value="auto" selected', page.text)
    sent = await form_post(client, "/settings/preferences", "/settings/preferences",
                           {"default_visibility": "private", "locale": "de"})
    assert sent.status_code == 303 and sent.headers["location"] == "/settings/preferences?saved=1"
    prefs = await client.get("/api/v1/preferences", headers=alice.headers)
    assert prefs.json()["posting:default:visibility"] == "private"
    again = await client.get("/settings/preferences")
    assert '<html lang="de">' in again.text
    assert re.search(r'value="private" checked', again.text) and re.search(r'value="de" lang="de" selected',
                                                                             again.text)
    refused = await form_post(client, "/settings/preferences", "/settings/preferences",
                              {"default_visibility": "direct", "locale": "klingon"})
    assert refused.status_code == 422
    assert 'id="default_visibility-error"' in refused.text and 'id="locale-error"' in refused.text
    prefs = await client.get("/api/v1/preferences", headers=alice.headers)
    assert prefs.json()["posting:default:visibility"] == "private"
    automatic = await form_post(client, "/settings/preferences", "/settings/preferences",
                                {"default_visibility": "public", "locale": "auto"})
    assert automatic.status_code == 303 and LANG_COOKIE not in client.cookies
    browser = await client.get("/settings/preferences", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in browser.text and re.search(r'value="auto" selected', browser.text)

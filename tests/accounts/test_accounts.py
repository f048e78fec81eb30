"""Accounts through the API: registration in each mode, own credentials and profile edits (with
avatar and header), public profiles and lookups, and what is stored about passwords."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agora.config import Registrations
from agora.models import Account
from tests.accounts import app_token, bearer, client_for, password_token, png_bytes, register_app, whoami
from tests.conftest import make_settings
from tests.factories import PASSWORD, Member

NEW = {"username": "newbie", "email": "newbie@example.org", "password": "a long password", "agreement": True}


async def register(client: httpx.AsyncClient, token: str, *, as_form: bool = False,
                   **fields: Any) -> httpx.Response:
    body = {**NEW, **fields}
    if as_form:
        form = {k: str(v).lower() if isinstance(v, bool) else v for k, v in body.items()}
        return await client.post("/api/v1/accounts", headers=bearer(token), data=form)
    return await client.post("/api/v1/accounts", headers=bearer(token), json=body)


@pytest.fixture
async def registrar(client) -> str:
    """An app's client_credentials token, as a Mastodon app holds before anyone signs up."""
    return await app_token(client, await register_app(client), scope="read write follow")


def assert_no_secrets(body: Any) -> None:
    """No e-mail address or password hash anywhere in a JSON answer, however deep."""
    dumped = json.dumps(body)
    assert "@example.org" not in dumped
    assert "$argon2" not in dumped
    for key in ("email", "password", "password_hash", "registration_reason"):
        assert f'"{key}"' not in dumped


# --- registration -------------------------------------------------------------------------------

@pytest.mark.parametrize("as_form", [False, True])
async def test_registration_creates_a_member_who_can_sign_in(client, registrar: str, as_form: bool) -> None:
    response = await register(client, registrar, as_form=as_form, username="NewBie")
    assert response.status_code == 200, response.text
    assert_no_secrets(response.json())
    me = await whoami(client, response.json()["access_token"])
    assert me.status_code == 200
    assert me.json()["username"] == "NewBie" and me.json()["acct"] == "NewBie"
    app = await register_app(client)
    assert (await password_token(client, app, "newbie@example.org", password=NEW["password"]))["access_token"]


async def test_username_and_email_are_unique_regardless_of_case(client, registrar: str,
                                                                 alice: Member) -> None:
    taken_name = await register(client, registrar, username="ALICE", email="other@example.org")
    assert taken_name.status_code == 422
    assert "username" in taken_name.json()["error"]
    taken_email = await register(client, registrar, username="alice2", email="Alice@Example.ORG")
    assert taken_email.status_code == 422
    assert "email" in taken_email.json()["error"]
    fine = await register(client, registrar, username="alice2", email="alice2@example.org")
    assert fine.status_code == 200


async def test_concurrent_sign_ups_with_one_name_make_one_account(client, runtime, registrar: str) -> None:
    """On PostgreSQL the requests really race past the "is it taken?" check; the loser gets a 422."""
    answers = await asyncio.gather(*[
        register(client, registrar, username="same", email=f"same{i}@example.org") for i in range(6)])
    assert sorted(a.status_code for a in answers) == [200, 422, 422, 422, 422, 422]
    assert all("taken" in a.json()["error"] for a in answers if a.status_code == 422)
    async with runtime.db.transaction(write=False) as session:
        assert len((await session.scalars(select(Account))).all()) == 1


@pytest.mark.parametrize(("fields", "mentions"), [
    ({"username": "admin"}, "reserved"),
    ({"username": "Support"}, "reserved"),
    ({"username": "has space"}, "username"),
    ({"username": "x" * 31}, "username"),
    ({"username": ""}, "username"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "two@@example.org"}, "email"),
    ({"password": "short"}, "password"),
    ({"agreement": False}, "agreement"),
    ({"agreement": None}, "agreement"),
])
async def test_bad_registrations_are_422_and_create_nothing(client, runtime, registrar: str, fields: dict,
                                                            mentions: str) -> None:
    response = await register(client, registrar, **fields)
    assert response.status_code == 422, response.text
    assert mentions in response.json()["error"]
    async with runtime.db.transaction(write=False) as session:
        assert (await session.scalars(select(Account))).all() == []


async def test_registration_without_required_fields_is_422(client, registrar: str) -> None:
    response = await client.post("/api/v1/accounts", headers=bearer(registrar), json={"username": "x"})
    assert response.status_code == 422
    assert response.json()["error"]


@asynccontextmanager
async def registering(mode: Registrations, database_url: str, tmp_path: Path):
    """A server whose registrations are in `mode`, an app there, and its token to sign up with."""
    settings = make_settings(database_url, tmp_path / mode.value, registrations=mode)
    async with client_for(settings) as (http, runtime):
        app = await register_app(http)
        yield http, runtime, app, await app_token(http, app)


async def test_closed_registrations_are_403(database_url: str, tmp_path: Path) -> None:
    async with registering(Registrations.closed, database_url, tmp_path) as (http, _runtime, _app, token):
        response = await register(http, token)
        assert response.status_code == 403
        assert "closed" in response.json()["error"]
        assert (await http.get("/api/v1/accounts/lookup", params={"acct": "newbie"})).status_code == 404


async def test_registrations_by_approval_need_a_reason_and_wait(database_url: str, tmp_path: Path) -> None:
    async with registering(Registrations.approval, database_url, tmp_path) as (http, _runtime, app, token):
        no_reason = await register(http, token)
        assert no_reason.status_code == 422
        assert "reason" in no_reason.json()["error"]
        created = await register(http, token, reason="I run the bakery on the corner")
        assert created.status_code == 200, created.text
        member_token = created.json()["access_token"]
        waiting = await whoami(http, member_token)
        assert waiting.status_code == 403
        assert "pending approval" in waiting.json()["error"]
        posted = await http.post("/api/v1/statuses", headers=bearer(member_token), json={"status": "hello"})
        assert posted.status_code == 403
        # Signing in again does not get around it either.
        signed_in = await password_token(http, app, "newbie", password=NEW["password"])
        assert (await whoami(http, signed_in["access_token"])).status_code == 403


# --- own credentials ----------------------------------------------------------------------------

async def test_verify_credentials_has_source_and_no_secrets(client, alice: Member) -> None:
    response = await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
    assert response.status_code == 200
    me = response.json()
    assert me["id"] == alice.id and me["username"] == "alice"
    assert me["source"]["privacy"] == "public"
    assert me["source"]["note"] == ""
    assert me["source"]["sensitive"] is False
    assert me["source"]["follow_requests_count"] == 0
    assert_no_secrets(me)
    assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 401


async def test_no_account_json_leaks_email_or_password_hash(client, registrar: str, alice: Member,
                                                             bob: Member) -> None:
    answers = [
        await register(client, registrar),
        await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers),
        await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                           json={"note": "hi @bob"}),
        await client.get(f"/api/v1/accounts/{alice.id}"),
        await client.get("/api/v1/accounts/lookup", params={"acct": "alice"}),
        await client.post("/api/v1/statuses", headers=alice.headers, json={"status": "hello @bob"}),
        await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers),
        await client.get(f"/api/v1/accounts/{bob.id}/followers"),
        await client.get(f"/api/v1/accounts/{alice.id}/statuses"),
    ]
    for response in answers:
        assert response.status_code == 200, (response.request.url, response.text)
        assert_no_secrets(response.json())


@pytest.mark.parametrize("as_json", [True, False])
async def test_update_credentials(client, alice: Member, bob: Member, as_json: bool) -> None:
    note = "Baker. Friends with @bob\n\nOpen <daily> #bread"
    if as_json:
        response = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, json={
            "display_name": "Alice A.", "note": note, "locked": True, "bot": True, "discoverable": False,
            "source": {"privacy": "private", "sensitive": True, "language": "de"}})
    else:
        response = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, data={
            "display_name": "Alice A.", "note": note, "locked": "true", "bot": "1", "discoverable": "false",
            "source[privacy]": "private", "source[sensitive]": "true", "source[language]": "de"})
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["display_name"] == "Alice A."
    assert (me["locked"], me["bot"], me["discoverable"]) == (True, True, False)
    assert '<a href="http://testserver/@bob" class="u-url mention">@<span>bob</span></a>' in me["note"]
    assert "&lt;daily&gt;" in me["note"] and "<daily>" not in me["note"]
    assert me["note"].startswith("<p>") and "</p><p>" in me["note"]
    assert me["source"]["follow_requests_count"] == 0
    source = me["source"]
    assert (source["privacy"], source["sensitive"], source["language"]) == ("private", True, "de")
    assert me["source"]["note"] == note
    # Others see the change; the new default visibility applies to the next post.
    public = (await client.get(f"/api/v1/accounts/{alice.id}")).json()
    assert public["display_name"] == "Alice A." and public["locked"] is True and public["note"] == me["note"]
    assert "source" not in public
    status = (await client.post("/api/v1/statuses", headers=alice.headers, json={"status": "default"})).json()
    assert status["visibility"] == "private"


async def test_update_credentials_changes_only_what_is_sent(client, alice: Member) -> None:
    first = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                               json={"display_name": "Alice", "note": "bio", "locked": True})
    assert first.status_code == 200
    second = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                data={"bot": "true"})
    me = second.json()
    assert (me["display_name"], me["source"]["note"], me["locked"], me["bot"]) == ("Alice", "bio", True, True)


@pytest.mark.parametrize("body", [
    {"display_name": "x" * 31},
    {"note": "x" * 501},
    {"source": {"privacy": "everyone"}},
    {"source": {"language": "x" * 50}},  # the column holds 10: PostgreSQL would refuse it with a 500
    {"source": {"language": 5}},
    {"source": {"language": "en\n"}},
    {"locked": "perhaps"},
    {"avatar": "not a file"},
])
async def test_bad_profile_edits_are_422_and_change_nothing(client, alice: Member, body: dict) -> None:
    before = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    response = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                  json={"display_name": "Changed", **body})
    assert response.status_code == 422, response.text
    assert response.json()["error"]
    after = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert after == before


async def test_update_credentials_needs_write_scope(client, alice: Member) -> None:
    app = await register_app(client)
    token = await password_token(client, app, "alice", scope="read")
    response = await client.patch("/api/v1/accounts/update_credentials",
                                  headers=bearer(token["access_token"]), json={"display_name": "Mallory"})
    assert response.status_code == 403
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert me["display_name"] == ""


async def test_avatar_and_header_upload_are_served_as_png(client, alice: Member) -> None:
    response = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, files={
        "avatar": ("me.png", png_bytes((80, 80)), "image/png"),
        "header": ("banner.png", png_bytes((300, 100), (0, 0, 255, 255)), "image/png"),
    }, data={"display_name": "Pictured"})
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["display_name"] == "Pictured"
    for key in ("avatar", "header"):
        assert me[key].startswith("http://testserver/media/") and me[key].endswith(".png")
        assert me[f"{key}_static"] == me[key]
        served = await client.get(me[key].removeprefix("http://testserver"))
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert served.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert me["avatar"] != me["header"]
    public = (await client.get(f"/api/v1/accounts/{alice.id}")).json()
    assert (public["avatar"], public["header"]) == (me["avatar"], me["header"])


async def test_a_broken_image_is_refused_and_changes_nothing(client, alice: Member) -> None:
    before = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert before["avatar"].endswith("/static/avatar-missing.png")
    for content in (b"\x89PNG\r\n\x1a\n not really a png", png_bytes()[:60], b""):
        response = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                      files={"avatar": ("me.png", content, "image/png")},
                                      data={"display_name": "Changed"})
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"]
    after = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert after == before


# --- public profiles ----------------------------------------------------------------------------

async def test_get_account_by_id(client, alice: Member) -> None:
    response = await client.get(f"/api/v1/accounts/{alice.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alice.id and body["username"] == "alice" and body["acct"] == "alice"
    assert body["url"] == "http://testserver/@alice"
    assert "source" not in body


@pytest.mark.parametrize("account_id",
                         ["1", "123456789012345678", "abc", "-1", "99999999999999999999999", "1e3"])
async def test_unknown_or_malformed_account_id_is_404_json(client, alice: Member, account_id: str) -> None:
    response = await client.get(f"/api/v1/accounts/{account_id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Record not found"}


@pytest.mark.parametrize("acct", ["alice", "@alice", "ALICE", "alice@testserver", "@alice@testserver",
                                  "alice@TestServer"])
async def test_lookup_finds_a_local_member(client, alice: Member, acct: str) -> None:
    response = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == alice.id


@pytest.mark.parametrize("acct", ["nobody", "alice@elsewhere.example", "", "@"])
async def test_lookup_of_someone_unknown_is_404(client, alice: Member, acct: str) -> None:
    response = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
    assert response.status_code == 404
    assert response.json()["error"]


async def test_a_pending_account_is_not_public_until_approved(database_url: str, tmp_path: Path) -> None:
    async with registering(Registrations.approval, database_url, tmp_path) as (http, runtime, _app, token):
        created = await register(http, token, reason="let me in")
        assert created.status_code == 200
        async with runtime.db.transaction() as session:
            account = await session.scalar(select(Account).where(Account.username_key == "newbie"))
            assert account is not None and account.approved is False
            account_id = account.id
        assert (await http.get("/api/v1/accounts/lookup", params={"acct": "newbie"})).status_code == 404
        assert (await http.get(f"/api/v1/accounts/{account_id}")).status_code == 404
        async with runtime.db.transaction() as session:  # what an operator's approval does
            (await session.get(Account, account_id)).approved = True
        found = await http.get("/api/v1/accounts/lookup", params={"acct": "newbie"})
        assert found.json()["id"] == str(account_id)
        assert (await http.get(f"/api/v1/accounts/{account_id}")).status_code == 200
        assert (await whoami(http, created.json()["access_token"])).status_code == 200


# --- what is stored -----------------------------------------------------------------------------

async def test_passwords_are_stored_as_argon2_hashes(client, runtime, registrar: str, alice: Member) -> None:
    assert (await register(client, registrar)).status_code == 200
    async with runtime.db.transaction(write=False) as session:
        rows = {a.username: a for a in await session.scalars(select(Account))}
    assert set(rows) == {"alice", "newbie"}
    for account, password in ((rows["alice"], PASSWORD), (rows["newbie"], NEW["password"])):
        assert account.password_hash.startswith("$argon2id$")
        assert password not in account.password_hash
    assert rows["alice"].password_hash != rows["newbie"].password_hash
    assert rows["newbie"].email == "newbie@example.org"


async def test_preferences_follow_the_posting_defaults(client, alice: Member) -> None:
    await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                       json={"source": {"privacy": "unlisted", "language": "de"}})
    prefs = (await client.get("/api/v1/preferences", headers=alice.headers)).json()
    assert prefs["posting:default:visibility"] == "unlisted"
    assert prefs["posting:default:language"] == "de"
    posted = await client.post("/api/v1/statuses", headers=alice.headers, json={"status": "defaults"})
    assert posted.json()["visibility"] == "unlisted" and posted.json()["language"] == "de"


async def test_a_refused_profile_edit_leaves_no_image_file_behind(client, settings, alice: Member) -> None:
    before = {p for p in settings.media_dir.rglob("*") if p.is_file()}
    response = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                  data={"display_name": "x" * 200},
                                  files={"avatar": ("me.png", png_bytes(), "image/png")})
    assert response.status_code == 422
    assert {p for p in settings.media_dir.rglob("*") if p.is_file()} == before

"""OAuth 2 as a Mastodon client sees it: apps, the consent page, PKCE codes, every grant, refresh,
revocation, scopes, rate limits, and secrets that are only ever stored hashed."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text

from agora.accounts.secrets import digest
from tests.accounts import (
    REDIRECT,
    app_token,
    bearer,
    client_for,
    csrf_of,
    password_token,
    pkce_pair,
    register_app,
    token_request,
    whoami,
)
from tests.conftest import make_settings
from tests.factories import PASSWORD, Member

OOB = "urn:ietf:wg:oauth:2.0:oob"
NEWBIE = {"username": "newbie", "email": "newbie@example.org", "password": "a long password",
          "agreement": True}


# --- apps ---------------------------------------------------------------------------------------

async def test_register_app_with_a_form_and_space_separated_redirect_uris(client) -> None:
    response = await client.post("/api/v1/apps", data={
        "client_name": "Form Client", "redirect_uris": f"{REDIRECT} myapp://oauth", "scopes": "read write",
        "website": "https://client.example",
    })
    assert response.status_code == 200, response.text
    app = response.json()
    assert app["name"] == "Form Client"
    assert app["redirect_uris"] == [REDIRECT, "myapp://oauth"]
    assert app["scopes"] == ["read", "write"]
    assert app["website"] == "https://client.example"
    assert len(app["client_id"]) >= 32 and len(app["client_secret"]) >= 32
    assert app["client_id"] != app["client_secret"]


async def test_register_app_with_json_and_an_array_of_redirect_uris(client) -> None:
    app = await register_app(client, redirect_uris=[REDIRECT, OOB], scopes="read")
    assert app["redirect_uris"] == [REDIRECT, OOB]
    assert app["redirect_uri"] == f"{REDIRECT}\n{OOB}"
    assert app["scopes"] == ["read"]
    # Scopes default to `read`, as in Mastodon.
    default = (await client.post("/api/v1/apps", json={"client_name": "x", "redirect_uris": REDIRECT})).json()
    assert default["scopes"] == ["read"]


@pytest.mark.parametrize("body", [
    {"redirect_uris": REDIRECT},  # no client_name
    {"client_name": "   ", "redirect_uris": REDIRECT},
    {"client_name": "x" * 101, "redirect_uris": REDIRECT},
    {"client_name": "No redirect"},
    {"client_name": "Bad", "redirect_uris": "javascript:alert(1)"},
    {"client_name": "Bad", "redirect_uris": "https://client.example/cb#fragment"},
    {"client_name": "Bad", "redirect_uris": "not a uri"},
    {"client_name": "Bad", "redirect_uris": [123]},
    {"client_name": "Bad", "redirect_uris": REDIRECT, "website": "ftp://client.example"},
    {"client_name": "Bad", "redirect_uris": REDIRECT, "scopes": "read admin:everything"},
    {"client_name": ["a", "list"], "redirect_uris": REDIRECT},
])
async def test_bad_app_registration_is_422_with_an_error(client, body: dict) -> None:
    response = await client.post("/api/v1/apps", json=body)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["error"], str) and response.json()["error"]


async def test_app_verify_credentials_with_an_app_token(client) -> None:
    app = await register_app(client, scopes="read write")
    token = await app_token(client, app, scope="read")
    response = await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Test Client"
    assert body["scopes"] == ["read", "write"]
    assert "client_secret" not in body
    assert (await client.get("/api/v1/apps/verify_credentials")).status_code == 401
    assert (await client.get("/api/v1/apps/verify_credentials", headers=bearer("nope"))).status_code == 401


async def test_server_metadata_lists_every_grant_and_pkce(client) -> None:
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert set(meta["grant_types_supported"]) >= {"authorization_code", "client_credentials", "password",
                                                   "refresh_token"}
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["token_endpoint"] == "http://testserver/oauth/token"
    assert meta["authorization_endpoint"] == "http://testserver/oauth/authorize"
    assert {"read", "write", "follow", "push", "profile", "write:statuses"} <= set(meta["scopes_supported"])


# --- authorization code with PKCE ---------------------------------------------------------------

async def consent(client: httpx.AsyncClient, app: dict, *, challenge: str | None, login: str = "alice",
                  password: str = PASSWORD, scope: str = "read write", redirect_uri: str = REDIRECT,
                  decision: str = "allow", state: str = "st4te") -> httpx.Response:
    """Open the consent page, then submit it as the member would."""
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": redirect_uri,
             "scope": scope, "state": state}
    if challenge:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200, page.text
    return await client.post("/oauth/authorize", data={**query, "csrf": csrf_of(page), "login": login,
                                                       "password": password, "decision": decision})


def code_from(response: httpx.Response, state: str = "st4te") -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return query["code"][0]


async def test_authorize_page_shows_the_app_and_its_scopes_with_a_csrf_field_and_cookie(client) -> None:
    app = await register_app(client, name="Tusky <b>Pro</b>")
    page = await client.get("/oauth/authorize", params={
        "response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT,
        "scope": "read follow"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Tusky &lt;b&gt;Pro&lt;/b&gt;" in page.text  # the app's name is shown, never run as HTML
    assert "<code>read</code>" in page.text and "<code>follow</code>" in page.text
    assert "<code>write</code>" not in page.text
    csrf = csrf_of(page)
    assert page.cookies.get("agora_oauth_csrf") == csrf
    assert page.headers["x-frame-options"] == "DENY"


async def test_authorization_code_flow_with_pkce(client, alice: Member) -> None:
    app = await register_app(client)
    verifier, challenge = pkce_pair()
    code = code_from(await consent(client, app, challenge=challenge, scope="read write"))
    response = await token_request(client, app, grant_type="authorization_code", code=code,
                                   redirect_uri=REDIRECT, code_verifier=verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "read write"
    assert token["refresh_token"] and token["refresh_token"] != token["access_token"]
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "alice"


async def test_consent_page_signs_in_by_email_too(client, alice: Member) -> None:
    app = await register_app(client)
    verifier, challenge = pkce_pair()
    code = code_from(await consent(client, app, challenge=challenge, login="ALICE@example.org", scope="read"))
    token = (await token_request(client, app, grant_type="authorization_code", code=code,
                                 redirect_uri=REDIRECT, code_verifier=verifier)).json()
    assert token["scope"] == "read"
    me = (await whoami(client, token["access_token"])).json()
    assert me["id"] == alice.id


async def test_consent_page_with_a_wrong_password_issues_no_code(client, alice: Member) -> None:
    app = await register_app(client)
    response = await consent(client, app, challenge=pkce_pair()[1], password="wrong password")
    assert response.status_code == 401
    assert "location" not in response.headers
    assert "Wrong e-mail, username or password." in response.text


async def test_wrong_or_missing_code_verifier_is_invalid_grant(client, alice: Member) -> None:
    app = await register_app(client)
    _verifier, challenge = pkce_pair()
    code = code_from(await consent(client, app, challenge=challenge))
    for fields in ({"code_verifier": pkce_pair()[0]}, {}):
        response = await token_request(client, app, grant_type="authorization_code", code=code,
                                       redirect_uri=REDIRECT, **fields)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


async def test_a_reused_code_is_refused_and_revokes_the_token_it_issued(client, alice: Member) -> None:
    app = await register_app(client)
    verifier, challenge = pkce_pair()
    code = code_from(await consent(client, app, challenge=challenge))
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
              "code_verifier": verifier}
    first = await token_request(client, app, **fields)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert (await whoami(client, access)).status_code == 200
    again = await token_request(client, app, **fields)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    # The code leaked: whatever it issued no longer works.
    assert (await whoami(client, access)).status_code == 401
    refreshed = await token_request(client, app, grant_type="refresh_token",
                                    refresh_token=first.json()["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_a_code_with_another_redirect_uri_is_invalid_grant(client, alice: Member) -> None:
    app = await register_app(client, redirect_uris=[REDIRECT, "https://client.example/other"])
    verifier, challenge = pkce_pair()
    code = code_from(await consent(client, app, challenge=challenge))
    response = await token_request(client, app, grant_type="authorization_code", code=code,
                                   redirect_uri="https://client.example/other", code_verifier=verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_of_another_app_is_invalid_grant(client, alice: Member) -> None:
    app, other = await register_app(client), await register_app(client, name="Other")
    verifier, challenge = pkce_pair()
    code = code_from(await consent(client, app, challenge=challenge))
    response = await token_request(client, other, grant_type="authorization_code", code=code,
                                   redirect_uri=REDIRECT, code_verifier=verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_wrong_client_secret_is_invalid_client(client, alice: Member) -> None:
    app = await register_app(client)
    verifier, challenge = pkce_pair()
    code = code_from(await consent(client, app, challenge=challenge))
    response = await token_request(client, {**app, "client_secret": "not-the-secret"},
                                   grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                                   code_verifier=verifier)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    unknown = await token_request(client, {"client_id": "nobody", "client_secret": "x"},
                                  grant_type="password", username="alice", password=PASSWORD)
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    # The right secret, sent with HTTP Basic, still redeems the code (it was not spent by the failure).
    response = await client.post("/oauth/token", auth=(app["client_id"], app["client_secret"]), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("csrf", [None, "", "forged-token", "gefälscht-✓"])
async def test_consent_without_the_csrf_token_is_a_403_page(client, alice: Member, csrf: str | None) -> None:
    app = await register_app(client)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT,
             "scope": "read"}
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200
    form = {**query, "login": "alice", "password": PASSWORD, "decision": "allow"}
    if csrf is not None:
        form["csrf"] = csrf
    response = await client.post("/oauth/authorize", data=form)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    assert "session expired" in response.text


async def test_consent_without_the_csrf_cookie_is_a_403_page(client, alice: Member) -> None:
    app = await register_app(client)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT,
             "scope": "read"}
    csrf = csrf_of(await client.get("/oauth/authorize", params=query))
    client.cookies.clear()  # a form posted from another site carries no cookie
    response = await client.post("/oauth/authorize", data={**query, "csrf": csrf, "login": "alice",
                                                           "password": PASSWORD, "decision": "allow"})
    assert response.status_code == 403
    assert "location" not in response.headers


@pytest.mark.parametrize("field", ["scope", "client_id", "state"])
async def test_consent_with_a_list_parameter_is_invalid_request(client, alice: Member, field: str) -> None:
    app = await register_app(client)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT, "scope": "read",
             "state": "s"}
    form = {**query, "csrf": csrf_of(await client.get("/oauth/authorize", params=query)), "login": "alice",
            "password": PASSWORD, "decision": "allow"}
    form[f"{field}[]"] = form.pop(field)
    response = await client.post("/oauth/authorize", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "location" not in response.headers


async def test_deny_redirects_with_access_denied(client, alice: Member) -> None:
    app = await register_app(client)
    response = await consent(client, app, challenge=None, decision="deny", password="")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st4te"]
    assert "code" not in query


async def test_out_of_band_redirect_shows_the_code_on_a_page(client, alice: Member) -> None:
    app = await register_app(client, redirect_uris=OOB)
    verifier, challenge = pkce_pair()
    response = await consent(client, app, challenge=challenge, redirect_uri=OOB)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    found = re.search(r'<output id="code" class="code">([^<]+)</output>', response.text)
    assert found is not None, response.text
    token = await token_request(client, app, grant_type="authorization_code", code=found.group(1),
                                redirect_uri=OOB, code_verifier=verifier)
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "read write"


async def test_authorize_rejects_unknown_clients_and_unregistered_redirects(client) -> None:
    app = await register_app(client)
    unknown = await client.get("/oauth/authorize", params={"client_id": "nobody", "redirect_uri": REDIRECT})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    elsewhere = await client.get("/oauth/authorize", params={"client_id": app["client_id"],
                                                             "redirect_uri": "https://evil.example/cb"})
    assert elsewhere.status_code == 400
    assert "location" not in elsewhere.headers  # never redirect to a URI the app did not register
    bad_type = await client.get("/oauth/authorize",
                                params={"client_id": app["client_id"], "response_type": "token"})
    assert bad_type.status_code == 400 and bad_type.json()["error"] == "unsupported_response_type"


# --- other grants -------------------------------------------------------------------------------

@pytest.mark.parametrize("login", ["alice@example.org", "alice", "Alice"])
async def test_password_grant_by_email_or_username(client, alice: Member, login: str) -> None:
    app = await register_app(client)
    token = await password_token(client, app, login, scope="read write")
    assert token["scope"] == "read write"
    me = (await whoami(client, token["access_token"])).json()
    assert me["id"] == alice.id


async def test_password_grant_with_a_wrong_password_is_invalid_grant(client, alice: Member) -> None:
    app = await register_app(client)
    for username in ("alice", "alice@example.org", "nobody", "nobody@example.org"):
        response = await token_request(client, app, grant_type="password", username=username,
                                       password="wrong pass")
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
        assert "access_token" not in response.json()


async def test_unknown_grant_type_is_unsupported_grant_type(client) -> None:
    app = await register_app(client)
    response = await token_request(client, app, grant_type="implicit")
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


async def test_app_token_can_register_an_account_but_is_no_member(client) -> None:
    app = await register_app(client)
    token = await app_token(client, app, scope="read write follow")
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["error"]
    created = await client.post("/api/v1/accounts", headers=bearer(token), json=NEWBIE)
    assert created.status_code == 200, created.text
    member_token = created.json()["access_token"]
    assert created.json()["scope"] == "read write follow"
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(member_token))
    assert me.status_code == 200 and me.json()["username"] == "newbie"
    # …and the new member can sign in with the password just chosen.
    assert (await password_token(client, app, "newbie", password="a long password"))["access_token"]


async def test_registration_needs_a_token(client) -> None:
    response = await client.post("/api/v1/accounts", json=NEWBIE)
    assert response.status_code == 401


async def test_refresh_token_rotates(client, alice: Member) -> None:
    app = await register_app(client)
    first = await password_token(client, app, "alice", scope="read write")
    response = await token_request(client, app, grant_type="refresh_token",
                                   refresh_token=first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "read write"
    assert (await client.get("/api/v1/accounts/verify_credentials",
                             headers=bearer(second["access_token"]))).status_code == 200
    reused = await token_request(client, app, grant_type="refresh_token",
                                 refresh_token=first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    narrower = await token_request(client, app, grant_type="refresh_token",
                                   refresh_token=second["refresh_token"], scope="read")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "read"
    wider = await token_request(client, app, grant_type="refresh_token",
                                refresh_token=narrower.json()["refresh_token"], scope="read write")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    unknown = await token_request(client, app, grant_type="refresh_token",
                                  refresh_token=narrower.json()["refresh_token"], scope="bogus")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_scope"


async def test_revoked_token_gets_401(client, alice: Member) -> None:
    app = await register_app(client)
    token = await password_token(client, app, "alice")
    headers = bearer(token["access_token"])
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).status_code == 200
    revoked = await client.post("/oauth/revoke", data={"client_id": app["client_id"],
                                                       "client_secret": app["client_secret"],
                                                       "token": token["access_token"]})
    assert revoked.status_code == 200 and revoked.json() == {}
    response = await client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]
    again = await token_request(client, app, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert again.status_code == 400


async def test_only_the_issuing_app_can_revoke_a_token(client, alice: Member) -> None:
    app, other = await register_app(client), await register_app(client, name="Other")
    token = await password_token(client, app, "alice")
    response = await client.post("/oauth/revoke", data={"client_id": other["client_id"],
                                                        "client_secret": other["client_secret"],
                                                        "token": token["access_token"]})
    assert response.status_code == 403
    assert (await client.get("/api/v1/accounts/verify_credentials",
                             headers=bearer(token["access_token"]))).status_code == 200


@pytest.mark.parametrize("body", [{"token": ["a", "b"]}, {"client_id": ["x"]}, {"client_id": 5}])
async def test_revoke_with_malformed_parameters_is_invalid_request(client, body: dict) -> None:
    app = await register_app(client)
    response = await client.post("/oauth/revoke", json={"client_id": app["client_id"],
                                                        "client_secret": app["client_secret"], "token": "t",
                                                        **body})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_read_only_token_cannot_post(client, alice: Member) -> None:
    app = await register_app(client)
    token = await password_token(client, app, "alice", scope="read")
    response = await client.post("/api/v1/statuses", headers=bearer(token["access_token"]),
                                 json={"status": "hi"})
    assert response.status_code == 403
    assert "scope" in response.json()["error"]
    assert (await client.get(f"/api/v1/accounts/{alice.id}/statuses")).json() == []
    granular = await password_token(client, app, "alice", scope="write:statuses")
    posted = await client.post("/api/v1/statuses", headers=bearer(granular["access_token"]),
                               json={"status": "hi"})
    assert posted.status_code == 200, posted.text


async def test_a_scope_the_app_was_not_registered_for_is_invalid_scope(client, alice: Member) -> None:
    app = await register_app(client, scopes="read")
    for scope in ("read write", "write:statuses", "follow", "admin:read"):
        response = await token_request(client, app, grant_type="password", username="alice",
                                       password=PASSWORD, scope=scope)
        assert response.status_code == 400, scope
        assert response.json()["error"] == "invalid_scope"
        creds = await token_request(client, app, grant_type="client_credentials", scope=scope)
        assert creds.status_code == 400 and creds.json()["error"] == "invalid_scope"
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT,
             "scope": "read write"}
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 400 and page.json()["error"] == "invalid_scope"
    # A granular scope inside a registered top-level one is fine.
    assert (await password_token(client, app, "alice", scope="read:statuses"))["scope"] == "read:statuses"


# --- secrets at rest ----------------------------------------------------------------------------

async def test_tokens_are_stored_only_as_sha256(client, runtime, alice: Member) -> None:
    app = await register_app(client)
    token = await password_token(client, app, "alice")
    secrets_issued = [token["access_token"], token["refresh_token"], app["client_secret"]]
    async with runtime.db.transaction(write=False) as session:
        tokens = (await session.execute(text("SELECT * FROM oauth_tokens"))).mappings().all()
        apps = (await session.execute(text("SELECT * FROM oauth_apps"))).mappings().all()
    stored = [str(value) for row in [*tokens, *apps] for value in row.values()]
    for secret in secrets_issued:
        assert not any(secret in value for value in stored)
    assert digest(token["access_token"]) in {row["token_hash"] for row in tokens}
    assert digest(token["refresh_token"]) in {row["refresh_hash"] for row in tokens}
    assert {row["client_secret_hash"] for row in apps} == {digest(app["client_secret"])}


async def test_authorization_codes_are_stored_only_as_sha256(client, runtime, alice: Member) -> None:
    app = await register_app(client)
    code = code_from(await consent(client, app, challenge=pkce_pair()[1]))
    async with runtime.db.transaction(write=False) as session:
        rows = (await session.execute(text("SELECT * FROM oauth_codes"))).mappings().all()
    assert [row["code_hash"] for row in rows] == [digest(code)]
    assert not any(code in str(value) for row in rows for value in row.values())


# --- rate limits --------------------------------------------------------------------------------

async def test_repeated_bad_sign_ins_are_rate_limited(database_url: str, tmp_path: Path,
                                                      alice: Member) -> None:
    settings = make_settings(database_url, tmp_path / "limited", rate_limit_sign_in=3)
    async with client_for(settings) as (http, _runtime):
        app = await register_app(http)
        seen = []
        for _ in range(3):
            response = await token_request(http, app, grant_type="password", username="alice",
                                           password="wrong!!")
            assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
            seen.append(response.headers["x-ratelimit-remaining"])
            assert response.headers["x-ratelimit-limit"] == "3"
        assert seen == ["2", "1", "0"]
        limited = await token_request(http, app, grant_type="password", username="alice", password=PASSWORD)
        assert limited.status_code == 429
        assert limited.json()["error"]
        assert limited.headers["x-ratelimit-limit"] == "3"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.headers["x-ratelimit-reset"].endswith("Z")
        # Even the right password is refused until the window resets; other endpoints are not.
        assert "access_token" not in limited.json()
        assert (await http.get("/api/v1/accounts/lookup", params={"acct": "alice"})).status_code == 200


async def test_plain_pkce_is_refused_before_the_member_signs_in(client, alice: Member) -> None:
    app = await register_app(client)
    page = await client.get("/oauth/authorize", params={
        "response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT,
        "code_challenge": "x" * 43, "code_challenge_method": "plain"})
    assert page.status_code == 400
    assert page.json()["error"] == "invalid_request"


async def test_tokens_expire_when_the_operator_sets_a_lifetime(client, settings, alice: Member) -> None:
    async with client_for(settings.model_copy(update={"access_token_ttl_days": 7})) as (http, _runtime):
        app = await register_app(http)
        assert (await password_token(http, app, "alice"))["expires_in"] == 7 * 24 * 3600
    default_app = await register_app(client)
    assert "expires_in" not in await password_token(client, default_app, "alice")  # Mastodon's default

"""The OAuth consent page when the member is already signed in to the web app on this browser."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.factories import Member, make_member
from tests.web.pages import csrf_of, signed_in

REDIRECT = "https://client.example/callback"


async def _app(client) -> dict:
    response = await client.post("/api/v1/apps", data={"client_name": "Tusky", "redirect_uris": REDIRECT,
                                                       "scopes": "read write"})
    assert response.status_code == 200
    return response.json()


async def test_a_signed_in_member_only_confirms(client, alice: Member) -> None:
    app = await _app(client)
    await signed_in(client, alice)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT, "scope": "read",
             "state": "s1"}
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200
    assert "Signed in as" in page.text and "@alice" in page.text
    answer = await client.post("/oauth/authorize", data={**query, "csrf": csrf_of(page.text), "decision": "allow"})
    assert answer.status_code == 303
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    token = await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": app["client_id"], "client_secret": app["client_secret"]})
    assert token.status_code == 200
    me = await client.get("/api/v1/accounts/verify_credentials",
                          headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.json()["username"] == "alice"


async def test_without_a_session_the_password_is_required(client, alice: Member) -> None:
    app = await _app(client)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT, "scope": "read"}
    page = await client.get("/oauth/authorize", params=query)
    assert "Signed in as" not in page.text
    answer = await client.post("/oauth/authorize", data={**query, "csrf": csrf_of(page.text), "decision": "allow"})
    assert answer.status_code == 401  # no session and no password: nobody to authorise as


async def test_a_revoked_web_session_does_not_authorise(client, alice: Member) -> None:
    app = await _app(client)
    await signed_in(client, alice)
    copied = client.cookies.get("agora_session")
    csrf = csrf_of((await client.get("/home")).text)
    assert (await client.post("/auth/sign_out", data={"csrf": csrf})).status_code == 303
    client.cookies.set("agora_session", copied)  # a copy of the cookie taken before signing out
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT, "scope": "read"}
    page = await client.get("/oauth/authorize", params=query)
    assert "Signed in as" not in page.text


async def test_an_app_token_planted_as_the_cookie_cannot_approve_a_wider_app(client, runtime) -> None:
    """Only a web sign-in's session counts: a leaked `read` token must not mint a `write` code."""
    narrow = await make_member(runtime, "narrow", scopes=("read",))
    app = await _app(client)
    client.cookies.set("agora_session", narrow.token)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT,
             "scope": "read write"}
    page = await client.get("/oauth/authorize", params=query)
    assert "Signed in as" not in page.text
    answer = await client.post("/oauth/authorize", data={**query, "csrf": csrf_of(page.text), "decision": "allow"})
    assert answer.status_code == 401 and "code=" not in answer.headers.get("location", "")

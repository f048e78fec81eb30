"""Regressions found in review: privacy of pending accounts and of boosts, notifications that one
undo wiped for every post, and races that double-counted or answered 500 on PostgreSQL (on SQLite
writers queue, so the concurrent tests there check that the answers stay right)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from agora.accounts import oauth, service
from agora.accounts.secrets import Passwords
from agora.config import Registrations
from agora.models import Account, Follow, OAuthToken, Status, Tag
from tests.accounts import REDIRECT, app_token, bearer, client_for, pkce_pair, register_app, token_request
from tests.accounts.test_oauth import code_from, consent
from tests.conftest import make_settings
from tests.factories import PASSWORD, Member, post

# --- a pending account is not public through any path --------------------------------------------


async def test_a_pending_account_cannot_be_mentioned_followed_or_streamed(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "approval", registrations=Registrations.approval)
    async with client_for(settings) as (http, runtime):
        async with runtime.db.transaction() as session:
            account = await service.register(
                session, form=service.Registration("alice", "alice@example.org", PASSWORD, reason="first"),
                settings=settings, passwords=Passwords(time_cost=1, memory_kib=1024), by_operator=True)
            issued = await oauth.issue_token(session, app=None, account=account, scopes=["read", "write", "follow"])
        alice = Member(str(account.id), "alice", "alice@example.org", issued.access_token)
        created = await http.post("/api/v1/accounts", headers=bearer(await app_token(http, await register_app(http))),
                                  json={"username": "newbie", "email": "newbie@example.org",
                                        "password": "a long password", "agreement": True, "reason": "hi"})
        assert created.status_code == 200, created.text
        pending_token = created.json()["access_token"]
        async with runtime.db.transaction(write=False) as session:
            pending_id = await session.scalar(select(Account.id).where(Account.username_key == "newbie"))

        mentioned = await post(http, alice, "hello @newbie")
        assert mentioned["mentions"] == []
        assert "newbie" not in mentioned["content"].replace("@newbie", "")  # plain text, no profile link
        assert "href" not in mentioned["content"]
        for path in ("follow", "block", "mute"):
            response = await http.post(f"/api/v1/accounts/{pending_id}/{path}", headers=alice.headers)
            assert response.status_code == 404, path
        for path in ("statuses", "followers", "following"):
            assert (await http.get(f"/api/v1/accounts/{pending_id}/{path}")).status_code == 404, path
        relationships = await http.get("/api/v1/accounts/relationships", params={"id[]": [pending_id]},
                                       headers=alice.headers)
        assert relationships.json() == []
        stream = await http.get("/api/v1/streaming/user", headers=bearer(pending_token))
        assert stream.status_code == 403
        assert "pending approval" in stream.json()["error"]


# --- boosts ------------------------------------------------------------------------------------------


async def test_a_boost_of_a_blocking_authors_post_is_not_readable_by_id(client, alice: Member, bob: Member,
                                                                       carol: Member) -> None:
    original = await post(client, alice, "only for people I have not blocked")
    boost = (await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=bob.headers)).json()
    await client.post(f"/api/v1/accounts/{carol.id}/block", headers=alice.headers)
    single = await client.get(f"/api/v1/statuses/{boost['id']}", headers=carol.headers)
    assert single.status_code == 404
    many = await client.get("/api/v1/statuses", params={"id[]": [boost["id"]]}, headers=carol.headers)
    assert many.json() == []
    assert (await client.get(f"/api/v1/statuses/{boost['id']}", headers=bob.headers)).status_code == 200


async def test_reblogged_by_does_not_reveal_a_followers_only_boost(client, alice: Member, bob: Member,
                                                                   carol: Member) -> None:
    original = await post(client, alice, "boost me quietly")
    boosted = await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=bob.headers,
                                json={"visibility": "private"})
    assert boosted.status_code == 200
    url = f"/api/v1/statuses/{original['id']}/reblogged_by"
    assert (await client.get(url, headers=carol.headers)).json() == []
    assert (await client.get(url)).json() == []
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=carol.headers)
    assert [a["id"] for a in (await client.get(url, headers=carol.headers)).json()] == [bob.id]


# --- undoing one reaction leaves the notifications of the others ----------------------------------


async def test_unfavouriting_one_post_keeps_the_notifications_for_others(client, alice: Member, bob: Member) -> None:
    first = await post(client, alice, "first")
    second = await post(client, alice, "second")
    for status in (first, second):
        await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=bob.headers)
        await client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=bob.headers)
    await client.post(f"/api/v1/statuses/{first['id']}/unfavourite", headers=bob.headers)
    await client.post(f"/api/v1/statuses/{first['id']}/unreblog", headers=bob.headers)
    notes = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    assert sorted((n["type"], n["status"]["id"]) for n in notes) == sorted(
        [("favourite", second["id"]), ("reblog", second["id"])])


# --- bad input ---------------------------------------------------------------------------------------


async def test_a_hashtag_that_grows_when_case_folded_is_not_a_500(client, alice: Member) -> None:
    text = "#" + "ß" * 100  # 100 characters typed, 200 once case-folded
    response = await client.post("/api/v1/statuses", headers=alice.headers, json={"status": text})
    assert response.status_code == 200, response.text


# --- concurrent requests (really concurrent on PostgreSQL) ------------------------------------------


async def test_concurrent_follows_make_one_follow(client, runtime, alice: Member, bob: Member) -> None:
    answers = await asyncio.gather(*[
        client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers) for _ in range(5)])
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    async with runtime.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Follow)) == 1
        assert (await session.get(Account, int(bob.id))).followers_count == 1
        assert (await session.get(Account, int(alice.id))).following_count == 1


async def test_concurrent_boosts_make_one_boost(client, runtime, alice: Member, bob: Member) -> None:
    original = await post(client, alice, "boost me once")
    answers = await asyncio.gather(*[
        client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=bob.headers) for _ in range(5)])
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    async with runtime.db.transaction(write=False) as session:
        boosts = await session.scalar(select(func.count()).select_from(Status).where(
            Status.reblog_of_id == int(original["id"])))
        assert boosts == 1
        assert (await session.get(Status, int(original["id"]))).reblogs_count == 1
    undo = await asyncio.gather(*[
        client.post(f"/api/v1/statuses/{original['id']}/unreblog", headers=bob.headers) for _ in range(5)])
    assert [a.status_code for a in undo] == [200] * 5
    async with runtime.db.transaction(write=False) as session:
        assert (await session.get(Status, int(original["id"]))).reblogs_count == 0


async def test_concurrent_deletes_count_once(client, runtime, alice: Member, bob: Member) -> None:
    parent = await post(client, alice, "parent")
    reply = await post(client, bob, "reply", in_reply_to_id=parent["id"])
    answers = await asyncio.gather(*[
        client.delete(f"/api/v1/statuses/{reply['id']}", headers=bob.headers) for _ in range(4)])
    assert sorted(a.status_code for a in answers)[0] == 200
    assert all(a.status_code in (200, 404) for a in answers)
    async with runtime.db.transaction(write=False) as session:
        assert (await session.get(Status, int(parent["id"]))).replies_count == 0


async def test_concurrent_posts_with_a_new_hashtag_all_succeed(client, runtime, alice: Member) -> None:
    answers = await asyncio.gather(*[
        client.post("/api/v1/statuses", headers=alice.headers, json={"status": f"#brandnew {i}"})
        for i in range(5)])
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    async with runtime.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Tag)) == 1


async def test_concurrent_requests_with_one_idempotency_key_make_one_post(client, runtime, alice: Member) -> None:
    headers = {**alice.headers, "Idempotency-Key": "same-key"}
    answers = await asyncio.gather(*[
        client.post("/api/v1/statuses", headers=headers, json={"status": "once"}) for _ in range(5)])
    # The first wins; a repeat that raced it is told so (409) or replayed (200) — never a 500.
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    assert len({a.json()["id"] for a in answers if a.status_code == 200}) == 1
    async with runtime.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Status)) == 1


async def test_a_code_redeemed_concurrently_issues_one_token(client: httpx.AsyncClient, runtime,
                                                             alice: Member) -> None:
    app = await register_app(client)
    verifier, challenge = pkce_pair()
    code = code_from(await consent(client, app, challenge=challenge))
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    answers = await asyncio.gather(*[token_request(client, app, **fields) for _ in range(4)])
    assert sorted(a.status_code for a in answers) in ([200, 400, 400, 400], [400, 400, 400, 400])
    async with runtime.db.transaction(write=False) as session:
        live = await session.scalar(select(func.count()).select_from(OAuthToken).where(
            OAuthToken.account_id == int(alice.id), OAuthToken.app_id.is_not(None),
            OAuthToken.revoked_at.is_(None)))
    assert live <= 1


async def test_a_refresh_token_used_concurrently_works_once(client: httpx.AsyncClient, alice: Member) -> None:
    app = await register_app(client)
    verifier, challenge = pkce_pair()
    code = code_from(await consent(client, app, challenge=challenge))
    first = await token_request(client, app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                                code_verifier=verifier)
    refresh = first.json()["refresh_token"]
    answers = await asyncio.gather(*[
        token_request(client, app, grant_type="refresh_token", refresh_token=refresh) for _ in range(4)])
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400], [a.text for a in answers]


@pytest.mark.parametrize("action", ["block", "mute"])
async def test_concurrent_blocks_and_mutes_are_not_500(client, alice: Member, bob: Member, action: str) -> None:
    answers = await asyncio.gather(*[
        client.post(f"/api/v1/accounts/{bob.id}/{action}", headers=alice.headers) for _ in range(5)])
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]


async def test_concurrent_first_markers_are_not_500(client, alice: Member) -> None:
    answers = await asyncio.gather(*[
        client.post("/api/v1/markers", headers=alice.headers, json={"home": {"last_read_id": str(100 + i)}})
        for i in range(5)])
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]

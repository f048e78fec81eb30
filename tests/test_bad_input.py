"""Nasty input on every endpoint family: each answer is a 4xx with a JSON `error`, never a 500, and
nothing the member can see has changed. Good but unusual input (unicode of every kind) round-trips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agora.app import create_app
from agora.kit.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import Member, make_member, post

UNKNOWN_IDS = ["123456789", "abc", "-1", "0", "99999999999999999999999", "1.5"]


def assert_error(response: httpx.Response, *statuses: int) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert isinstance(error, str) and error.strip()
    return error


def check_all(outcomes: list[tuple[str, httpx.Response]], *statuses: int) -> None:
    """Every response is a 4xx JSON error (of `statuses`, if given); report all the cases that are not."""
    wrong = []
    for case, response in outcomes:
        try:
            assert_error(response, *statuses)
        except (AssertionError, ValueError, KeyError):
            wrong.append((case, response.status_code, response.text[:200]))
    assert not wrong, wrong



async def snapshot(client: httpx.AsyncClient, *members: Member) -> list[Any]:
    """What members can see of themselves: profile counters, timelines, notifications, markers."""
    seen: list[Any] = []
    for who in members:
        me = (await client.get("/api/v1/accounts/verify_credentials", headers=who.headers)).json()
        seen.append({k: me[k] for k in ("statuses_count", "followers_count", "following_count", "display_name",
                                        "note", "locked", "bot", "source")})
        for path in ("/api/v1/timelines/home", "/api/v1/notifications", "/api/v1/blocks", "/api/v1/mutes",
                     f"/api/v1/accounts/{who.id}/following", "/api/v1/favourites", "/api/v1/bookmarks"):
            response = await client.get(path, headers=who.headers)
            assert response.status_code == 200, response.text
            seen.append([tuple(item.get(k) for k in ("id", "type", "content", "edited_at", "favourites_count",
                                                     "reblogs_count", "replies_count", "pinned"))
                         for item in response.json()])
        markers = await client.get("/api/v1/markers", headers=who.headers,
                                   params={"timeline[]": ["home", "notifications"]})
        seen.append(markers.json())
    seen.append([s["id"] for s in (await client.get("/api/v1/timelines/public")).json()])
    return seen


@pytest.fixture
async def world(client: httpx.AsyncClient, alice: Member, bob: Member) -> dict[str, Any]:
    """A little state to damage: alice follows bob, each has posted, bob mentioned alice."""
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers)
    mine = await post(client, alice, "alice's post")
    theirs = await post(client, bob, "bob's post @alice")
    secret = await post(client, bob, "@alice only you", visibility="direct")
    note = (await client.get("/api/v1/notifications", headers=alice.headers)).json()[0]
    return {"mine": mine, "theirs": theirs, "secret": secret, "note": note}


# --- statuses: create ------------------------------------------------------------------------------

CREATE_CASES: dict[str, tuple[dict[str, Any], tuple[int, ...]]] = {
    "status is a list": ({"status": ["hello"]}, (422,)),
    "status is an object": ({"status": {"text": "hello"}}, (422,)),
    "status is a number": ({"status": 42}, (422,)),
    "status is true": ({"status": True}, (422,)),
    "no status and no media": ({}, (422,)),
    "status is null": ({"status": None}, (422,)),
    "status is empty": ({"status": ""}, (422,)),
    "status is only whitespace": ({"status": " \n\t\u3000 "}, (422,)),
    "501 characters": ({"status": "a" * 501}, (422,)),
    "501 emoji": ({"status": "😀" * 501}, (422,)),
    "spoiler of 501 characters": ({"status": "ok", "spoiler_text": "s" * 501}, (422,)),
    "spoiler is a list": ({"status": "ok", "spoiler_text": ["s"]}, (422,)),
    "visibility everyone": ({"status": "ok", "visibility": "everyone"}, (422,)),
    "visibility in capitals": ({"status": "ok", "visibility": "PUBLIC"}, (422,)),
    "visibility is a list": ({"status": "ok", "visibility": ["public"]}, (422,)),
    "sensitive maybe": ({"status": "ok", "sensitive": "maybe"}, (422,)),
    "language not a code": ({"status": "ok", "language": "english!"}, (422,)),
    "language too long": ({"status": "ok", "language": "x" * 200}, (422,)),
    "in_reply_to_id unknown": ({"status": "ok", "in_reply_to_id": "123456789"}, (404,)),
    "in_reply_to_id garbage": ({"status": "ok", "in_reply_to_id": "abc"}, (422,)),
    "in_reply_to_id negative": ({"status": "ok", "in_reply_to_id": "-1"}, (422,)),
    "in_reply_to_id an object": ({"status": "ok", "in_reply_to_id": {"id": "1"}}, (422,)),
    "quoted_status_id unknown": ({"status": "ok", "quoted_status_id": "123456789"}, (404,)),
    "quoted_status_id garbage": ({"status": "ok", "quoted_status_id": "x1"}, (422,)),
    "media_ids a word": ({"status": "ok", "media_ids": "abc"}, (422,)),
    "media_ids of words": ({"status": "ok", "media_ids": ["abc"]}, (422,)),
    "media_ids negative": ({"status": "ok", "media_ids": [-1]}, (422,)),
    "media_ids of objects": ({"status": "ok", "media_ids": [{"id": "1"}]}, (422,)),
    "media_ids an object": ({"status": "ok", "media_ids": {"0": "1"}}, (422,)),
    "media_ids of floats": ({"status": "ok", "media_ids": [1.5]}, (422,)),
    "media_ids of booleans": ({"status": "ok", "media_ids": [True]}, (422,)),
    "media_ids huge": ({"status": "ok", "media_ids": [10**30]}, (422,)),
    "media_ids unknown": ({"status": "ok", "media_ids": ["123456789"]}, (422,)),
    "media_ids repeated": ({"status": "ok", "media_ids": ["123456789", "123456789"]}, (422,)),
    "a poll": ({"status": "ok", "poll": {"options": ["a", "b"], "expires_in": 300}}, (422,)),
    "scheduled": ({"status": "ok", "scheduled_at": "2099-01-01T00:00:00Z"}, (422,)),
    "NUL byte in status": ({"status": "a\x00b"}, (400, 422)),
    "NUL byte in spoiler": ({"status": "ok", "spoiler_text": "\x00"}, (400, 422)),
}


async def test_bad_new_status(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    for expected in {statuses for _, statuses in CREATE_CASES.values()}:
        check_all([(case, await client.post("/api/v1/statuses", headers=alice.headers, json=body))
                   for case, (body, statuses) in CREATE_CASES.items() if statuses == expected], *expected)
    assert await snapshot(client, alice, bob) == before


FORM_CASES: dict[str, dict[str, Any]] = {
    "visibility everyone": {"status": "ok", "visibility": "everyone"},
    "media_ids[] garbage": {"status": "ok", "media_ids[]": ["1", "x"]},
    "empty status": {"status": ""},
    "sensitive maybe": {"status": "ok", "sensitive": "maybe"},
    "NUL byte": {"status": "a\x00"},
}


async def test_bad_new_status_as_a_form(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    check_all([(case, await client.post("/api/v1/statuses", headers=alice.headers, data=data))
               for case, data in FORM_CASES.items()], 422)
    assert await snapshot(client, alice, bob) == before


async def test_limits_are_exact(client, alice: Member) -> None:
    """500 characters (of any kind) is fine; the 422 above is the 501st, not an off-by-one."""
    for text in ("a" * 500, "😀" * 500, "美" * 500):
        await post(client, alice, text, spoiler_text="s" * 500)
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert me["statuses_count"] == 3


async def test_replying_to_a_post_you_cannot_see_is_not_found(client, alice: Member, bob: Member,
                                                              carol: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    for field in ("in_reply_to_id", "quoted_status_id"):
        response = await client.post("/api/v1/statuses", headers=carol.headers,
                                     json={"status": "sneaky", field: world["secret"]["id"]})
        assert_error(response, 404)
    assert await snapshot(client, alice, bob) == before


UNICODE = {
    "emoji with joiners and flags": "👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 1️⃣ keycap",
    "right to left": "مرحبا بالعالم — שלום עולם (mixed with English)",
    "chinese": "你好，世界！今天天气很好。",
    "combining marks": "e\u0301 n\u0303 Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d",
    "zero width": "a\u200bb\u200cc\u200dd\ufeffe\u2060f",
    "bidi override": "\u202eevil\u202c and \u2067isolate\u2069",
    "astral plane": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱 🂡",
    "html lookalikes": "＜script＞ &amp; <b>not bold</b> ' \" `",
}


@pytest.mark.parametrize("case", list(UNICODE))
async def test_unicode_round_trips(client, alice: Member, case: str) -> None:
    text = UNICODE[case]
    status = await post(client, alice, text, spoiler_text=text)
    source = (await client.get(f"/api/v1/statuses/{status['id']}/source", headers=alice.headers)).json()
    assert source["text"] == text and source["spoiler_text"] == text
    assert status["spoiler_text"] == text
    fetched = (await client.get(f"/api/v1/statuses/{status['id']}")).json()
    assert fetched["content"] == status["content"]
    assert "<b>" not in fetched["content"] and "<script" not in fetched["content"]
    edited = await client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                              json={"status": text + "!", "spoiler_text": text})
    assert edited.status_code == 200, edited.text
    source = (await client.get(f"/api/v1/statuses/{status['id']}/source", headers=alice.headers)).json()
    assert source["text"] == text + "!"
    profile = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                 json={"display_name": text[:30], "note": text})
    assert profile.status_code == 200, profile.text
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert me["source"]["note"] == text
    assert me["display_name"] == text[:30].strip()


async def test_unicode_as_a_form_round_trips(client, alice: Member) -> None:
    text = "".join(UNICODE.values())[:500]
    response = await client.post("/api/v1/statuses", headers=alice.headers, data={"status": text})
    assert response.status_code == 200, response.text
    source = (await client.get(f"/api/v1/statuses/{response.json()['id']}/source", headers=alice.headers))
    assert source.json()["text"] == text


# --- statuses: edit, actions, someone else's ----------------------------------------------------------

EDIT_CASES: dict[str, dict[str, Any]] = {
    "status is a list": {"status": ["x"]},
    "status is a number": {"status": 7},
    "empty": {"status": ""},
    "501 characters": {"status": "b" * 501},
    "spoiler of 501": {"status": "ok", "spoiler_text": "s" * 501},
    "media_ids garbage": {"status": "ok", "media_ids": ["nope"]},
    "media_ids unknown": {"status": "ok", "media_ids": ["123456789"]},
    "language not a code": {"status": "ok", "language": "??"},
    "NUL byte": {"status": "\x00"},
    "a poll": {"status": "ok", "poll": {"options": ["a", "b"]}},
}


async def test_bad_edit_changes_nothing(client, alice: Member, bob: Member, world) -> None:
    mine = world["mine"]
    before = await snapshot(client, alice, bob)
    check_all([(case, await client.put(f"/api/v1/statuses/{mine['id']}", headers=alice.headers, json=body))
               for case, body in EDIT_CASES.items()], 422)
    assert await snapshot(client, alice, bob) == before
    history = (await client.get(f"/api/v1/statuses/{mine['id']}/history")).json()
    assert [h["content"] for h in history] == [mine["content"]]
    assert (await client.get(f"/api/v1/statuses/{mine['id']}")).json()["edited_at"] is None


STATUS_ROUTES = [
    ("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/context"), ("GET", "/history"), ("GET", "/source"),
    ("GET", "/favourited_by"), ("GET", "/reblogged_by"), ("POST", "/favourite"), ("POST", "/unfavourite"),
    ("POST", "/reblog"), ("POST", "/unreblog"), ("POST", "/bookmark"), ("POST", "/unbookmark"),
    ("POST", "/pin"), ("POST", "/unpin"),
]


async def test_unknown_status_ids_are_404(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    check_all([(f"{method} {bad}{suffix}",
                await client.request(method, f"/api/v1/statuses/{bad}{suffix}", headers=alice.headers,
                                     json={"status": "x"} if method == "PUT" else None))
               for method, suffix in STATUS_ROUTES for bad in UNKNOWN_IDS], 404)
    assert await snapshot(client, alice, bob) == before


async def test_a_direct_message_to_someone_else_is_404(client, alice: Member, bob: Member, carol: Member,
                                                       world) -> None:
    before = await snapshot(client, alice, bob)
    check_all([(f"{method} {suffix}",
                await client.request(method, f"/api/v1/statuses/{world['secret']['id']}{suffix}",
                                     headers=carol.headers, json={"status": "x"} if method == "PUT" else None))
               for method, suffix in STATUS_ROUTES], 404)
    assert await snapshot(client, alice, bob) == before


OTHERS_POST = [
    ("PUT", "", {"status": "hijacked"}, 404),
    ("DELETE", "", None, 404),
    ("GET", "/source", None, 404),
    ("POST", "/pin", None, 422),
    ("POST", "/reblog", {"visibility": "everyone"}, 422),
    ("POST", "/reblog", {"visibility": ["public"]}, 422),
    ("POST", "/reblog", {"visibility": "direct"}, 422),
]


async def test_someone_elses_post(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    for method, suffix, body, status in OTHERS_POST:
        response = await client.request(method, f"/api/v1/statuses/{world['theirs']['id']}{suffix}",
                                        headers=alice.headers, json=body)
        check_all([(f"{method} {suffix} {body}", response)], status)
    assert await snapshot(client, alice, bob) == before
    assert "bob's post" in (await client.get(f"/api/v1/statuses/{world['theirs']['id']}")).json()["content"]


async def test_boosting_a_direct_message_is_refused(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    assert_error(await client.post(f"/api/v1/statuses/{world['secret']['id']}/reblog", headers=alice.headers),
                 422)
    assert await snapshot(client, alice, bob) == before


async def test_get_many_statuses_with_bad_ids(client, alice: Member, world) -> None:
    assert_error(await client.get("/api/v1/statuses", params={"id[]": ["abc"]}), 422)
    only_visible = await client.get("/api/v1/statuses", headers=alice.headers,
                                    params={"id[]": [world["mine"]["id"], "123456789"]})
    assert [s["id"] for s in only_visible.json()] == [world["mine"]["id"]]


async def test_idempotency_key_too_long(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    headers = {**alice.headers, "Idempotency-Key": "k" * 300}
    assert_error(await client.post("/api/v1/statuses", headers=headers, json={"status": "once"}), 422)
    assert await snapshot(client, alice, bob) == before


# --- repeated requests ------------------------------------------------------------------------------


async def test_repeated_requests(client, alice: Member, bob: Member, world) -> None:
    # The same bad request, again and again, stays the same error and changes nothing.
    before = await snapshot(client, alice, bob)
    errors = {assert_error(await client.post("/api/v1/statuses", headers=alice.headers, json={"status": ""}))
              for _ in range(3)}
    assert len(errors) == 1
    assert await snapshot(client, alice, bob) == before

    # Repeating a good action is harmless: follow, block, mute, favourite, bookmark, reblog.
    for _ in range(3):
        assert (await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers)).status_code == 200
        for action in ("favourite", "bookmark", "reblog"):
            response = await client.post(f"/api/v1/statuses/{world['theirs']['id']}/{action}", headers=alice.headers)
            assert response.status_code == 200
    theirs = (await client.get(f"/api/v1/statuses/{world['theirs']['id']}", headers=alice.headers)).json()
    assert (theirs["favourites_count"], theirs["reblogs_count"]) == (1, 1)
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert (me["following_count"], me["statuses_count"]) == (1, 2)
    for _ in range(3):
        assert (await client.post(f"/api/v1/statuses/{world['theirs']['id']}/unreblog",
                                  headers=alice.headers)).status_code == 200
        assert (await client.post(f"/api/v1/accounts/{bob.id}/mute", headers=alice.headers)).status_code == 200
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert me["statuses_count"] == 1
    assert len((await client.get("/api/v1/mutes", headers=alice.headers)).json()) == 1

    # Deleting twice: the second is a 404 and the count does not go below what it should.
    assert (await client.delete(f"/api/v1/statuses/{world['mine']['id']}", headers=alice.headers)).status_code == 200
    assert_error(await client.delete(f"/api/v1/statuses/{world['mine']['id']}", headers=alice.headers), 404)
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert me["statuses_count"] == 0
    # Dismissing twice.
    note = world["note"]["id"]
    assert (await client.post(f"/api/v1/notifications/{note}/dismiss", headers=alice.headers)).status_code == 200
    assert_error(await client.post(f"/api/v1/notifications/{note}/dismiss", headers=alice.headers), 404)


# --- accounts and the graph --------------------------------------------------------------------------

ACCOUNT_ROUTES = [
    ("GET", ""), ("GET", "/statuses"), ("GET", "/followers"), ("GET", "/following"), ("POST", "/follow"),
    ("POST", "/unfollow"), ("POST", "/block"), ("POST", "/unblock"), ("POST", "/mute"), ("POST", "/unmute"),
    ("POST", "/remove_from_followers"),
]


async def test_unknown_account_ids_are_404(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    check_all([(f"{method} {bad}{suffix}",
                await client.request(method, f"/api/v1/accounts/{bad}{suffix}", headers=alice.headers))
               for method, suffix in ACCOUNT_ROUTES for bad in UNKNOWN_IDS], 404)
    # Follow requests that were never made (bob's is a real account that asked nothing).
    check_all([(f"{action} {target}",
                await client.post(f"/api/v1/follow_requests/{target}/{action}", headers=alice.headers))
               for action in ("authorize", "reject") for target in [bob.id, *UNKNOWN_IDS]], 404)
    assert await snapshot(client, alice, bob) == before


async def test_follow_block_mute_yourself(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    for action in ("follow", "block", "mute"):
        assert_error(await client.post(f"/api/v1/accounts/{alice.id}/{action}", headers=alice.headers), 403, 422)
    assert await snapshot(client, alice, bob) == before


async def test_relationships_with_bad_ids_are_skipped(client, alice: Member, bob: Member) -> None:
    response = await client.get("/api/v1/accounts/relationships", headers=alice.headers,
                                params={"id[]": ["abc", "-1", bob.id, "123456789"]})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == [bob.id]


CREDENTIAL_CASES: dict[str, dict[str, Any]] = {
    "display_name too long": {"display_name": "d" * 31},
    "display_name a list": {"display_name": ["x"]},
    "display_name a number": {"display_name": 5},
    "note too long": {"note": "n" * 501},
    "note an object": {"note": {"a": 1}},
    "locked maybe": {"locked": "maybe"},
    "bot a list": {"bot": [True]},
    "source a string": {"source": "private"},
    "source privacy everyone": {"source": {"privacy": "everyone"}},
    "avatar is text": {"avatar": "http://example.org/me.png"},
    "NUL in display_name": {"display_name": "a\x00"},
    "NUL in note": {"note": "\x00"},
}


async def test_bad_profile_update_changes_nothing(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    check_all([(case, await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, json=body))
               for case, body in CREDENTIAL_CASES.items()], 422)
    assert await snapshot(client, alice, bob) == before


@pytest.mark.parametrize(("data", "filename"), [(b"not an image", "a.png"), (b"", "a.png"),
                                                (b"\x89PNG\r\n\x1a\n\x00\x00", "b.png")])
async def test_bad_avatar_changes_nothing(client, alice: Member, data: bytes, filename: str) -> None:
    before = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    response = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                  data={"display_name": "New Name"},
                                  files={"avatar": (filename, data, "image/png")})
    assert_error(response)
    after = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert (after["avatar"], after["display_name"]) == (before["avatar"], before["display_name"])


async def test_lookup_of_nobody(client) -> None:
    for acct in ("", "@", "nobody", "nobody@elsewhere.example", "@@@", "a" * 500, "名前"):
        assert_error(await client.get("/api/v1/accounts/lookup", params={"acct": acct}), 404)


# --- registration and apps -------------------------------------------------------------------------


async def _app_token(client: httpx.AsyncClient) -> str:
    app = (await client.post("/api/v1/apps", json={"client_name": "Signup", "scopes": "read write",
                                                   "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})).json()
    response = await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "scope": "read write"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


GOOD_SIGNUP = {"username": "newbie", "email": "newbie@example.org", "password": "a long password",
               "agreement": True}
SIGNUP_CASES: dict[str, dict[str, Any]] = {
    "no username": {**GOOD_SIGNUP, "username": ""},
    "username with spaces": {**GOOD_SIGNUP, "username": "new bie"},
    "username in cyrillic": {**GOOD_SIGNUP, "username": "новичок"},
    "username too long": {**GOOD_SIGNUP, "username": "n" * 31},
    "username a list": {**GOOD_SIGNUP, "username": ["newbie"]},
    "username taken, other case": {**GOOD_SIGNUP, "username": "ALICE"},
    "email not an address": {**GOOD_SIGNUP, "email": "newbie"},
    "email taken": {**GOOD_SIGNUP, "email": "ALICE@example.org"},
    "password too short": {**GOOD_SIGNUP, "password": "short"},
    "password a number": {**GOOD_SIGNUP, "password": 12345678},
    "agreement missing": {k: v for k, v in GOOD_SIGNUP.items() if k != "agreement"},
    "agreement false": {**GOOD_SIGNUP, "agreement": False},
    "agreement maybe": {**GOOD_SIGNUP, "agreement": "maybe"},
    "reserved name": {**GOOD_SIGNUP, "username": "admin"},
    "NUL in password": {**GOOD_SIGNUP, "password": "a long pass\x00word"},
}


async def test_bad_sign_up_makes_no_account(client, alice: Member) -> None:
    headers = {"Authorization": f"Bearer {await _app_token(client)}"}
    check_all([(case, await client.post("/api/v1/accounts", headers=headers, json=body))
               for case, body in SIGNUP_CASES.items()], 422)
    for name in ("newbie", "new bie", "новичок", "n" * 31, "admin"):
        assert_error(await client.get("/api/v1/accounts/lookup", params={"acct": name}), 404)
    # The good form does work, so the refusals above were about the bad fields.
    made = await client.post("/api/v1/accounts", headers=headers, json=GOOD_SIGNUP)
    assert made.status_code == 200, made.text


async def test_sign_up_needs_an_app_token(client) -> None:
    assert_error(await client.post("/api/v1/accounts", json=GOOD_SIGNUP), 401)
    assert_error(await client.get("/api/v1/accounts/lookup", params={"acct": "newbie"}), 404)


APP_CASES: dict[str, dict[str, Any]] = {
    "nothing": {},
    "no name": {"client_name": "", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
    "name a list": {"client_name": ["x"], "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
    "name too long": {"client_name": "x" * 101, "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
    "no redirect": {"client_name": "x"},
    "javascript redirect": {"client_name": "x", "redirect_uris": "javascript:alert(1)"},
    "relative redirect": {"client_name": "x", "redirect_uris": "/callback"},
    "redirect a number": {"client_name": "x", "redirect_uris": [5]},
    "redirect an object": {"client_name": "x", "redirect_uris": {"a": "https://a.example/cb"}},
    "unknown scope": {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read bogus"},
    "scopes a list": {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": ["read"]},
    "ftp website": {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "website": "ftp://a.b"},
    "website a number": {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "website": 5},
    "NUL in name": {"client_name": "x\x00", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
}


async def test_bad_app_registration(client) -> None:
    check_all([(case, await client.post("/api/v1/apps", json=body)) for case, body in APP_CASES.items()], 400, 422)


# --- notifications and markers ------------------------------------------------------------------------


async def test_unknown_or_someone_elses_notification(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    outcomes = []
    for method, suffix in (("GET", ""), ("POST", "/dismiss")):
        for bad in [*UNKNOWN_IDS, world["note"]["id"]]:
            who = bob if bad == world["note"]["id"] else alice  # bob may not touch alice's notification
            outcomes.append((f"{method} {bad}{suffix}", await client.request(
                method, f"/api/v1/notifications/{bad}{suffix}", headers=who.headers)))
    check_all(outcomes, 404)
    check_all([(str(params), await client.get("/api/v1/notifications", headers=alice.headers, params=params))
               for params in ({"types[]": "bogus"}, {"exclude_types[]": ["mention", "bogus"]},
                              {"types[]": "MENTION"})], 422)
    assert await snapshot(client, alice, bob) == before


MARKER_CASES: dict[str, Any] = {
    "nothing": {},
    "unknown timeline": {"public": {"last_read_id": "1"}},
    "id not an id": {"notifications": {"last_read_id": "abc"}},
    "negative id": {"home": {"last_read_id": -1}},
    "timeline a string": {"notifications": "5"},
    "timeline a list": {"home": ["5"]},
    "one good, one bad": {"home": {"last_read_id": "5"}, "notifications": {"last_read_id": None}},
}


async def test_bad_markers_change_nothing(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    check_all([(case, await client.post("/api/v1/markers", headers=alice.headers, json=body))
               for case, body in MARKER_CASES.items()], 422)
    assert await snapshot(client, alice, bob) == before
    unread = await client.get("/api/v1/notifications/unread_count", headers=alice.headers)
    assert unread.json()["count"] == 2


# --- media ------------------------------------------------------------------------------------------


BAD_UPLOADS: dict[str, dict[str, Any]] = {
    "file as JSON text": {"json": {"file": "aGVsbG8="}},
    "file as a form field": {"data": {"file": "hello"}},
    "zeros": {"files": {"file": ("a.png", b"\x00" * 100, "image/png")}},
    "wrong field name": {"files": {"document": ("a.png", b"\x89PNG", "image/png")}},
    "description too long": {"files": {"file": ("a.png", b"12", "image/png")}, "data": {"description": "d" * 1501}},
    "focus out of range": {"files": {"file": ("a.png", b"12", "image/png")}, "data": {"focus": "2,2"}},
    "NUL in description": {"files": {"file": ("a.png", b"12", "image/png")}, "data": {"description": "\x00"}},
}


async def test_bad_uploads_and_unknown_media(client, runtime: Runtime, alice: Member, bob: Member) -> None:
    check_all([(case, await client.post("/api/v2/media", headers=alice.headers, **kwargs))
               for case, kwargs in BAD_UPLOADS.items()])
    media_dir = runtime.settings.media_dir
    assert not [p for p in media_dir.rglob("*") if p.is_file()]
    check_all([(f"{method} {bad}", await client.request(method, f"/api/v1/media/{bad}", headers=alice.headers,
                                                         json={"description": "x"} if method == "PUT" else None))
               for method in ("GET", "PUT") for bad in UNKNOWN_IDS], 404)


# --- paging parameters ------------------------------------------------------------------------------

PAGED = ["/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/food", "/api/v1/notifications",
         "/api/v1/favourites", "/api/v1/bookmarks", "/api/v1/blocks", "/api/v1/mutes", "/api/v1/follow_requests",
         "/api/v1/accounts/{alice}/statuses", "/api/v1/accounts/{alice}/followers",
         "/api/v1/accounts/{alice}/following", "/api/v1/statuses/{mine}/favourited_by"]
BAD_PAGING = [{"limit": "abc"}, {"limit": "1.5"}, {"limit": "1e3"}, {"max_id": "-1"}, {"max_id": "abc"},
              {"since_id": "1.5"}, {"min_id": "9" * 30}, {"max_id": "0x10"}]


async def test_bad_paging_parameters(client, alice: Member, world) -> None:
    urls = [path.format(alice=alice.id, mine=world["mine"]["id"]) for path in PAGED]
    check_all([(f"{url} {params}", await client.get(url, headers=alice.headers, params=params))
               for url in urls for params in BAD_PAGING], 422)
    for url in urls:
        for params in ({"limit": "-5"}, {"limit": "0"}, {"limit": "100000"}, {"max_id": ""}, {"limit": ""}):
            response = await client.get(url, headers=alice.headers, params=params)
            assert response.status_code == 200, (url, params, response.text)
            assert len(response.json()) <= 40


# --- bodies -----------------------------------------------------------------------------------------

BODIES: dict[str, tuple[bytes, str, tuple[int, ...]]] = {
    "invalid JSON": (b'{"status": "hi"', "application/json", (400,)),
    "a JSON array": (b'["status", "hi"]', "application/json", (400,)),
    "a JSON string": (b'"hi"', "application/json", (400,)),
    "JSON null": (b"null", "application/json", (400,)),
    "JSON nested too deep": (b"[" * 100_000 + b"]" * 100_000, "application/json", (400,)),
    "not UTF-8": (b'{"status": "\xff\xfe"}', "application/json", (400,)),
    "JSON over its own limit": (b'{"status": "' + b"a" * (1024 * 1024 + 10) + b'"}', "application/json", (413,)),
    "multipart without a boundary": (b"--x\r\n", "multipart/form-data", (400,)),
    "plain text": (b"status=hi", "text/plain", (422,)),
}


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/statuses"), ("PUT", "/api/v1/statuses/{mine}"),
                                              ("POST", "/api/v1/markers"), ("POST", "/api/v1/apps"),
                                              ("PATCH", "/api/v1/accounts/update_credentials"),
                                              ("POST", "/api/v1/accounts/{carol}/follow")])
async def test_malformed_bodies(client, alice: Member, bob: Member, carol: Member, world, method: str,
                                path: str) -> None:
    url = path.format(mine=world["mine"]["id"], carol=carol.id)
    before = await snapshot(client, alice, bob)
    for case, (body, content_type, statuses) in BODIES.items():
        if content_type == "text/plain":
            continue  # a body of a type we do not read is as good as none: see below
        response = await client.request(method, url, content=body,
                                        headers={**alice.headers, "Content-Type": content_type})
        check_all([(case, response)], *statuses)
    assert await snapshot(client, alice, bob) == before


async def test_a_body_of_another_type_is_ignored(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    body, content_type, statuses = BODIES["plain text"]
    response = await client.post("/api/v1/statuses", content=body,
                                 headers={**alice.headers, "Content-Type": content_type})
    assert_error(response, *statuses)  # no status text was given
    assert await snapshot(client, alice, bob) == before


@pytest.fixture
async def small_app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Member]]:
    settings = make_settings(database_url, tmp_path / "small", max_request_bytes=4096)
    application = create_app(settings)
    runtime: Runtime = application.state.runtime
    await runtime.start()
    member = await make_member(runtime, "small")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http:
        yield http, member
    await runtime.stop()


@pytest.mark.parametrize("how", ["json", "form", "multipart", "chunked"])
async def test_body_over_max_request_bytes_is_413(small_app, how: str) -> None:
    client, member = small_app
    text = "x" * 5000
    if how == "json":
        response = await client.post("/api/v1/statuses", headers=member.headers, json={"status": text})
    elif how == "form":
        response = await client.post("/api/v1/statuses", headers=member.headers, data={"status": text})
    elif how == "multipart":
        response = await client.post("/api/v2/media", headers=member.headers,
                                     files={"file": ("a.png", text.encode(), "image/png")})
    else:
        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit must hold while reading
            yield b'{"status": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}'

        response = await client.post("/api/v1/statuses", content=chunks(),
                                     headers={**member.headers, "Content-Type": "application/json"})
    assert_error(response, 413)
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=member.headers)).json()
    assert me["statuses_count"] == 0


# --- tokens -----------------------------------------------------------------------------------------

PROTECTED = [
    ("GET", "/api/v1/timelines/home"), ("POST", "/api/v1/statuses"), ("PUT", "/api/v1/statuses/{mine}"),
    ("DELETE", "/api/v1/statuses/{mine}"), ("POST", "/api/v1/statuses/{mine}/favourite"),
    ("GET", "/api/v1/notifications"), ("POST", "/api/v1/notifications/clear"),
    ("POST", "/api/v1/accounts/{alice}/follow"), ("GET", "/api/v1/accounts/verify_credentials"),
    ("PATCH", "/api/v1/accounts/update_credentials"), ("GET", "/api/v1/markers"), ("POST", "/api/v1/markers"),
    ("POST", "/api/v2/media"), ("GET", "/api/v1/blocks"), ("GET", "/api/v1/follow_requests"),
]
BAD_AUTH = {
    "no token": {},
    "unknown token": {"Authorization": "Bearer not-a-real-token"},
    "empty bearer": {"Authorization": "Bearer "},
    "huge token": {"Authorization": "Bearer " + "t" * 5000},
    "basic auth": {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
    "token without scheme": {"Authorization": "not-a-real-token"},
}


async def test_no_or_bad_token_is_401(client, alice: Member, bob: Member, world) -> None:
    before = await snapshot(client, alice, bob)
    outcomes = []
    for auth, headers in BAD_AUTH.items():
        for method, path in PROTECTED:
            url = path.format(mine=world["mine"]["id"], alice=alice.id)
            body = {"status": "intruder"} if method in ("POST", "PUT", "PATCH") else None
            outcomes.append((f"{auth}: {method} {path}", await client.request(method, url, headers=headers, json=body)))
    check_all(outcomes, 401)
    assert await snapshot(client, alice, bob) == before


async def test_a_bad_token_on_a_public_endpoint_is_401(client, world) -> None:
    for path in ("/api/v1/timelines/public", f"/api/v1/statuses/{world['mine']['id']}"):
        assert (await client.get(path)).status_code == 200
        assert_error(await client.get(path, headers=BAD_AUTH["unknown token"]), 401)


async def test_a_read_only_token_cannot_write(client, runtime: Runtime, alice: Member, bob: Member, world) -> None:
    reader = await make_member(runtime, "reader", scopes=("read",))
    before = await snapshot(client, alice, bob)
    for method, path in [("POST", "/api/v1/statuses"), ("POST", f"/api/v1/accounts/{alice.id}/follow"),
                         ("POST", f"/api/v1/statuses/{world['mine']['id']}/favourite"), ("POST", "/api/v1/markers")]:
        response = await client.request(method, path, headers=reader.headers, json={"status": "read only"})
        assert_error(response, 403)
    assert (await client.get("/api/v1/timelines/home", headers=reader.headers)).status_code == 200
    assert await snapshot(client, alice, bob) == before
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=reader.headers)).json()
    assert (me["statuses_count"], me["following_count"]) == (0, 0)


async def test_nul_in_the_url_is_refused(client, alice: Member, world) -> None:
    check_all([(path, await client.get(path, headers=alice.headers)) for path in (
        "/api/v1/timelines/tag/a%00b", "/api/v1/accounts/lookup?acct=a%00", "/api/v1/timelines/public?max_id=%00",
        "/api/v1/notifications?types[]=%00", f"/api/v1/accounts/{alice.id}/statuses?tagged=%00",
        "/api/v1/accounts/relationships?id[]=%00")], 400)

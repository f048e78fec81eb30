"""Payment requests and bill splits: ask, pay, decline, cancel, remind — what requester and payer see."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from agora.kit.runtime import Runtime
from agora.models import PaymentRequest
from tests.factories import Member, make_member
from tests.payments.helpers import available, keyed, pay, top_up

PATH = "/api/v1/payment_requests"


async def ask(client: httpx.AsyncClient, requester: Member, expect: int = 200, **fields: Any) -> dict[str, Any]:
    return await pay(client, requester, PATH, expect=expect, **fields)


async def mine(client: httpx.AsyncClient, who: Member, **query: str) -> list[dict[str, Any]]:
    response = await client.get(PATH, headers=who.headers, params=query)
    assert response.status_code == 200, response.text
    return response.json()


async def test_request_from_one_and_pay_it(client, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 5000)
    group = await ask(client, bob, **{"from": "@alice", "amount": 1250, "note": "pizza 🍕"})
    assert group["object"] == "payment_request_group" and group["split"] is None
    [asked] = group["data"]
    assert group["id"] == asked["id"] and asked["object"] == "payment_request"
    assert (asked["status"], asked["amount"], asked["currency"], asked["note"]) == ("open", 1250, "usd", "pizza 🍕")
    assert asked["payer"]["username"] == "alice" and asked["requester"]["username"] == "bob"
    assert [r["id"] for r in await mine(client, alice, direction="in")] == [asked["id"]]
    assert await mine(client, alice, direction="out") == []
    assert [r["id"] for r in await mine(client, bob, direction="out", status="open")] == [asked["id"]]

    paid = await pay(client, alice, f"{PATH}/{asked['id']}/pay")
    assert paid["status"] == "paid" and paid["transfer"] is not None and paid["resolved_at"] is not None
    assert await available(client, alice) == 3750 and await available(client, bob) == 1250
    transfer = (await client.get(f"/api/v1/transfers/{paid['transfer']}", headers=bob.headers)).json()
    assert (transfer["type"], transfer["amount"], transfer["payment_request"]) == ("request", 1250, asked["id"])
    shown = (await client.get(f"{PATH}/{asked['id']}", headers=bob.headers)).json()
    assert shown["status"] == "paid" and shown["transfer"] == paid["transfer"]
    again = await pay(client, alice, f"{PATH}/{asked['id']}/pay", expect=409)
    assert again["error"]["code"] == "request_already_paid"
    assert await available(client, alice) == 3750
    assert await mine(client, bob, status="open") == []


async def test_payer_is_notified(client, alice: Member, bob: Member) -> None:
    group = await ask(client, bob, **{"from": alice.id, "amount": 300})
    response = await client.get("/api/v1/notifications", headers=alice.headers)
    assert response.status_code == 200, response.text
    requested = [n for n in response.json() if n["type"] == "payment_requested"]
    assert len(requested) == 1 and requested[0]["account"]["username"] == "bob"
    assert requested[0]["payment_id"] == group["id"]
    only = await client.get("/api/v1/notifications", headers=alice.headers, params={"types[]": "payment_requested"})
    assert only.status_code == 200 and [n["id"] for n in only.json()] == [requested[0]["id"]]
    assert group["data"][0]["payer"]["id"] == alice.id
    assert not [n for n in (await client.get("/api/v1/notifications", headers=bob.headers)).json()
                if n["type"] == "payment_requested"]


async def test_decline_and_cancel_resolve_once(client, alice: Member, bob: Member) -> None:
    first = (await ask(client, bob, **{"from": "alice", "amount": 100}))["data"][0]
    second = (await ask(client, bob, **{"from": "alice", "amount": 200}))["data"][0]
    # Each side only does its own part.
    refused = await pay(client, bob, f"{PATH}/{first['id']}/decline", expect=409)
    assert refused["error"]["code"] == "not_payer"
    refused = await pay(client, alice, f"{PATH}/{second['id']}/cancel", expect=409)
    assert refused["error"]["code"] == "not_requester"
    assert (await pay(client, bob, f"{PATH}/{first['id']}/pay", expect=409))["error"]["code"] == "not_payer"

    declined = await pay(client, alice, f"{PATH}/{first['id']}/decline")
    assert declined["status"] == "declined"
    cancelled = await pay(client, bob, f"{PATH}/{second['id']}/cancel")
    assert cancelled["status"] == "cancelled"
    for who, path, code in ((alice, f"{first['id']}/pay", "request_already_declined"),
                            (bob, f"{first['id']}/cancel", "request_already_declined"),
                            (alice, f"{second['id']}/decline", "request_already_cancelled"),
                            (bob, f"{second['id']}/remind", "request_already_cancelled")):
        assert (await pay(client, who, f"{PATH}/{path}", expect=409))["error"]["code"] == code
    assert {r["status"] for r in await mine(client, alice)} == {"declined", "cancelled"}
    assert await available(client, bob) == 0


async def test_remind_at_most_once_an_hour(client, runtime: Runtime, alice: Member, bob: Member) -> None:
    asked = (await ask(client, bob, **{"from": "alice", "amount": 100}))["data"][0]
    too_soon = await pay(client, bob, f"{PATH}/{asked['id']}/remind", expect=429)
    assert too_soon["error"]["code"] == "reminder_too_soon"
    assert (await pay(client, alice, f"{PATH}/{asked['id']}/remind", expect=409))["error"]["code"] == "not_requester"

    async def an_hour_passes() -> None:
        async with runtime.db.transaction() as session:
            found = await session.get_one(PaymentRequest, int(asked["id"]))
            found.created_at -= timedelta(hours=1, minutes=1)
            if found.reminded_at is not None:
                found.reminded_at -= timedelta(hours=1, minutes=1)

    await an_hour_passes()
    reminded = await pay(client, bob, f"{PATH}/{asked['id']}/remind")
    assert reminded["reminders"] == 1
    assert (await pay(client, bob, f"{PATH}/{asked['id']}/remind", expect=429))["error"]["code"] == "reminder_too_soon"
    await an_hour_passes()
    assert (await pay(client, bob, f"{PATH}/{asked['id']}/remind"))["reminders"] == 2
    notices = [n for n in (await client.get("/api/v1/notifications", headers=alice.headers)).json()
               if n["type"] == "payment_requested"]
    assert len(notices) == 3  # the request and two reminders


async def test_equal_split_sums_exactly(client, alice: Member, bob: Member, carol: Member,
                                        runtime: Runtime) -> None:
    dave = await make_member(runtime, "dave")
    group = await ask(client, alice, **{"from": [bob.id, "carol", "@dave"], "amount": 1000, "split": "equal",
                                        "note": "dinner"})
    assert group["split"] == "equal" and group["amount"] == 1000
    assert [(r["payer"]["username"], r["amount"]) for r in group["data"]] == [
        ("bob", 334), ("carol", 333), ("dave", 333)]
    assert {r["split"] for r in group["data"]} == {group["id"]}
    listed = await mine(client, alice, split=group["id"])
    assert sorted(r["amount"] for r in listed) == [333, 333, 334]
    assert len(await mine(client, bob, split=group["id"])) == 1  # bob sees only his share

    # include_me: the requester is one more share, so 1001 four ways asks 251, 250, 250 (alice bears 250).
    mine_too = await ask(client, alice, **{"from": [bob.id, carol.id, dave.id], "amount": 1001, "split": "equal",
                                           "include_me": True})
    assert [r["amount"] for r in mine_too["data"]] == [251, 250, 250] and mine_too["amount"] == 751

    # Everyone pays their share: alice receives exactly the total.
    await top_up(client, bob, 1000)
    for r in group["data"]:
        payer = {"bob": bob, "carol": carol, "dave": dave}[r["payer"]["username"]]
        if payer is not bob:
            await top_up(client, payer, r["amount"])
        await pay(client, payer, f"{PATH}/{r['id']}/pay")
    assert await available(client, alice) == 1000 and await available(client, carol) == 0


async def test_split_by_amounts_and_forms(client, alice: Member, bob: Member, carol: Member) -> None:
    group = await ask(client, alice, **{"from": ["bob", "carol"], "amounts": [700, 50], "currency": "eur"})
    assert group["split"] == "amounts" and group["amount"] == 750 and group["currency"] == "eur"
    assert [(r["payer"]["username"], r["amount"], r["currency"]) for r in group["data"]] == [
        ("bob", 700, "eur"), ("carol", 50, "eur")]
    # A form sends digits as text and lists as `key[]`.
    response = await client.post(PATH, headers=keyed(alice), data={
        "from[]": [bob.id, carol.id], "amounts[]": ["10", "20"]})
    assert response.status_code == 200, response.text
    assert [r["amount"] for r in response.json()["data"]] == [10, 20]


async def test_paying_twice_at_once_pays_once(client, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1000)
    asked = (await ask(client, bob, **{"from": "alice", "amount": 600}))["data"][0]
    answers = await asyncio.gather(*(client.post(f"{PATH}/{asked['id']}/pay", headers=keyed(alice))
                                     for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert [a.json()["error"]["code"] for a in answers if a.status_code == 409] == ["request_already_paid"]
    assert await available(client, alice) == 400 and await available(client, bob) == 600
    transfers = (await client.get("/api/v1/transfers", headers=bob.headers)).json()
    assert [t["payment_request"] for t in transfers] == [asked["id"]]


async def test_same_key_replays_the_payment(client, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1000)
    asked = (await ask(client, bob, **{"from": "alice", "amount": 600}))["data"][0]
    first = await pay(client, alice, f"{PATH}/{asked['id']}/pay", key="pay-bob")
    replay = await client.post(f"{PATH}/{asked['id']}/pay", headers=keyed(alice, "pay-bob"))
    assert replay.status_code == 200 and replay.json() == first
    assert await available(client, alice) == 400


async def test_strangers_cannot_see_or_touch(client, alice: Member, bob: Member, carol: Member) -> None:
    await top_up(client, carol, 1000)
    asked = (await ask(client, bob, **{"from": "alice", "amount": 100}))["data"][0]
    assert (await client.get(f"{PATH}/{asked['id']}", headers=carol.headers)).status_code == 404
    for action in ("pay", "decline", "cancel", "remind"):
        refused = await pay(client, carol, f"{PATH}/{asked['id']}/{action}", expect=404)
        assert refused["error"]["code"] == "resource_missing"
    assert await mine(client, carol) == []
    assert (await client.get(f"{PATH}/{asked['id']}", headers=alice.headers)).json()["status"] == "open"
    assert await available(client, carol) == 1000
    assert (await client.get(f"{PATH}/12345", headers=alice.headers)).status_code == 404


async def test_insufficient_funds_leaves_it_open(client, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 100)
    asked = (await ask(client, bob, **{"from": "alice", "amount": 500}))["data"][0]
    refused = await pay(client, alice, f"{PATH}/{asked['id']}/pay", expect=402)
    assert refused["error"]["code"] == "insufficient_funds"
    assert (await client.get(f"{PATH}/{asked['id']}", headers=alice.headers)).json()["status"] == "open"
    assert await available(client, alice) == 100 and await available(client, bob) == 0
    await top_up(client, alice, 400)
    assert (await pay(client, alice, f"{PATH}/{asked['id']}/pay"))["status"] == "paid"
    assert await available(client, alice) == 0


async def test_large_request_needs_the_pin(client, alice: Member, bob: Member, settings) -> None:
    amount = settings.payments_pin_threshold + 1
    await top_up(client, alice, amount)
    asked = (await ask(client, bob, **{"from": "alice", "amount": amount}))["data"][0]
    refused = await pay(client, alice, f"{PATH}/{asked['id']}/pay", expect=403)
    assert refused["error"]["code"] == "pin_not_set"
    response = await client.post("/api/v1/wallet/pin", headers=alice.headers, json={"pin": "246810"})
    assert response.status_code == 200, response.text
    assert (await pay(client, alice, f"{PATH}/{asked['id']}/pay", expect=403))["error"]["code"] == "pin_required"
    assert (await pay(client, alice, f"{PATH}/{asked['id']}/pay", pin="246810"))["status"] == "paid"
    assert await available(client, bob) == amount


async def test_bad_requests_create_nothing(client, alice: Member, bob: Member, carol: Member) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"from": "bob", "amount": 0}, "amount"),
        ({"from": "bob", "amount": -5}, "amount"),
        ({"from": "bob", "amount": 10.5}, "amount"),
        ({"from": "bob", "amount": "100"}, "amount"),
        ({"from": "bob"}, "amount"),
        ({"from": "bob", "amount": 100, "currency": "xyz"}, "currency"),
        ({"from": [], "amount": 100}, "from"),
        ({"amount": 100}, "from"),
        ({"from": "alice", "amount": 100}, "from"),
        ({"from": ["bob", str(bob.id)], "amount": 100}, "from[1]"),
        ({"from": ["bob", "nobody_here"], "amount": 100}, ""),
        ({"from": [{"id": 1}], "amount": 100}, "from"),
        ({"from": ["bob"] * 51, "amount": 100}, "from"),
        ({"from": "bob", "amount": 1_000_001}, "amount"),
        ({"from": ["bob", "carol"], "amounts": [100]}, "amounts"),
        ({"from": ["bob", "carol"], "amounts": [100, 0]}, "amounts[1]"),
        ({"from": ["bob", "carol"], "amounts": [100, "5"]}, "amounts[1]"),
        ({"from": ["bob", "carol"], "amounts": [100, 5], "amount": 10}, "amounts"),
        ({"from": ["bob", "carol"], "amount": 1, "split": "equal"}, "amount"),
        ({"from": ["bob", "carol"], "amount": 100, "split": "thirds"}, "split"),
        ({"from": ["bob", "carol"], "amount": 100, "include_me": True}, "include_me"),
        ({"from": "bob", "amount": 100, "note": "x" * 501}, "note"),
    ]
    for fields, param in cases:
        response = await client.post(PATH, headers=keyed(alice), json=fields)
        assert 400 <= response.status_code < 500, (fields, response.text)
        if param:
            assert response.json()["error"].get("param") == param, (fields, response.text)
    unkeyed = await client.post(PATH, headers=alice.headers, json={"from": "bob", "amount": 100})
    assert unkeyed.status_code == 400 and unkeyed.json()["error"]["code"] == "idempotency_key_missing"
    assert await mine(client, alice) == [] and await mine(client, bob) == []
    bad_filter = await client.get(PATH, headers=alice.headers, params={"status": "lost"})
    assert bad_filter.status_code == 400 and bad_filter.json()["error"]["param"] == "status"


async def test_list_pages_with_link(client, alice: Member, bob: Member) -> None:
    for amount in (1, 2, 3):
        await ask(client, bob, **{"from": "alice", "amount": amount})
    first = await client.get(PATH, headers=alice.headers, params={"limit": 2})
    assert [r["amount"] for r in first.json()] == [3, 2] and 'rel="next"' in first.headers["Link"]
    next_url = first.headers["Link"].split(">")[0].lstrip("<")
    second = await client.get(next_url, headers=alice.headers)
    assert [r["amount"] for r in second.json()] == [1]

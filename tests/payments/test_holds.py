"""Holds: authorise now, capture (all or part) or void later, expire when nobody does — each once,
with every cent accounted for (the ledger audit passes after each scenario)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from agora.kit.ids import parse_id
from agora.kit.runtime import Runtime
from agora.kit.time import utcnow
from agora.models import Account, Hold, Notification
from agora.payments import holds, ledger
from agora.payments.audit import audit
from tests.factories import Member
from tests.payments.helpers import available, held, pay, top_up


async def assert_ledger_sound(runtime: Runtime) -> None:
    async with runtime.db.transaction(write=False) as session:
        report = await audit(session)
    assert report.ok, "\n".join(report.problems)


async def authorise(client, payer: Member, payee: Member, amount: int, *, expect: int = 200, **fields):
    return await pay(client, payer, "/api/v1/holds", expect=expect, to=payee.id, amount=amount, **fields)


async def test_authorise_then_capture_in_part(client, runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 5000)
    hold = await authorise(client, alice, bob, 3000, description="bike rental deposit")
    assert hold["object"] == "hold" and hold["status"] == "authorised" and hold["amount"] == 3000
    assert hold["currency"] == "usd" and hold["payee"]["username"] == "bob" and hold["expires_at"] > hold["created"]
    assert (await available(client, alice), await held(client, alice)) == (2000, 3000)
    assert await available(client, bob) == 0
    # Both parties see it; it is the payer's hold and the payee's to capture.
    assert [h["id"] for h in (await client.get("/api/v1/holds", headers=bob.headers)).json()] == [hold["id"]]
    mine = (await client.get("/api/v1/holds", headers=alice.headers, params={"role": "payer"})).json()
    assert [h["id"] for h in mine] == [hold["id"]]
    assert (await client.get("/api/v1/holds", headers=alice.headers, params={"role": "payee"})).json() == []
    await assert_ledger_sound(runtime)

    captured = await pay(client, bob, f"/api/v1/holds/{hold['id']}/capture", amount=1200)
    assert captured["status"] == "captured" and captured["amount_captured"] == 1200
    assert captured["resolved_at"] is not None
    assert (await available(client, alice), await held(client, alice)) == (3800, 0)
    assert await available(client, bob) == 1200
    shown = (await client.get(f"/api/v1/holds/{hold['id']}", headers=alice.headers)).json()
    assert shown["status"] == "captured" and shown["amount_captured"] == 1200
    history = (await client.get("/api/v1/wallet/transactions", headers=alice.headers)).json()
    assert [(h["type"], h["amount"]) for h in history] == [
        ("hold.capture", 1800), ("hold.authorise", -3000), ("top_up", 5000)]
    await assert_ledger_sound(runtime)


async def test_capture_whole_then_again_and_void_conflict(client, runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1000)
    hold = await authorise(client, alice, bob, 1000)
    captured = await pay(client, bob, f"/api/v1/holds/{hold['id']}/capture")
    assert captured["amount_captured"] == 1000
    again = await pay(client, bob, f"/api/v1/holds/{hold['id']}/capture", expect=409)
    assert again["error"]["code"] == "hold_already_captured"
    voided = await pay(client, alice, f"/api/v1/holds/{hold['id']}/void", expect=409)
    assert voided["error"]["code"] == "hold_already_captured"
    assert (await available(client, alice), await held(client, alice), await available(client, bob)) == (0, 0, 1000)
    await assert_ledger_sound(runtime)


async def test_void_by_either_party_returns_everything(client, runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1000)
    first = await authorise(client, alice, bob, 400)
    second = await authorise(client, alice, bob, 500)
    assert (await available(client, alice), await held(client, alice)) == (100, 900)
    assert (await pay(client, alice, f"/api/v1/holds/{first['id']}/void"))["status"] == "voided"
    assert (await pay(client, bob, f"/api/v1/holds/{second['id']}/void"))["status"] == "voided"
    assert (await available(client, alice), await held(client, alice), await available(client, bob)) == (1000, 0, 0)
    late = await pay(client, bob, f"/api/v1/holds/{second['id']}/capture", expect=409)
    assert late["error"]["code"] == "hold_already_voided"
    # The payee's void is news to the payer; the payer's own is not.
    async with runtime.db.transaction(write=False) as session:
        told = list(await session.scalars(select(Notification.payment_id).where(
            Notification.account_id == parse_id(alice.id), Notification.type == "payment_returned")))
    assert told == [parse_id(second["id"])]
    await assert_ledger_sound(runtime)


async def test_concurrent_capture_and_void_resolve_one_way(client, runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 5000)
    for round_ in range(3):
        hold = await authorise(client, alice, bob, 1000)
        path = f"/api/v1/holds/{hold['id']}"
        captures, voids = await asyncio.gather(
            client.post(f"{path}/capture", headers=_keyed(bob, f"c{round_}"), json={}),
            client.post(f"{path}/void", headers=_keyed(alice, f"v{round_}"), json={}))
        assert sorted((captures.status_code, voids.status_code)) == [200, 409], (captures.text, voids.text)
        final = (await client.get(path, headers=alice.headers)).json()
        assert final["status"] == ("captured" if captures.status_code == 200 else "voided")
    assert await held(client, alice) == 0
    assert await available(client, alice) + await available(client, bob) == 5000
    await assert_ledger_sound(runtime)


def _keyed(who: Member, key: str) -> dict[str, str]:
    return {**who.headers, "Idempotency-Key": key}


async def test_expiry_returns_money_once(client, runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1000)
    hold = await authorise(client, alice, bob, 700)
    keep = await authorise(client, alice, bob, 100)
    hold_id = parse_id(hold["id"])
    async with runtime.db.transaction() as session:
        assert await holds.due_to_expire(session) == []
        await session.execute(update(Hold).where(Hold.id == hold_id).values(expires_at=utcnow() - timedelta(1)))
    # Past its expiry it can no longer be captured, even before the sweeper comes.
    late = await pay(client, bob, f"/api/v1/holds/{hold['id']}/capture", expect=409)
    assert late["error"]["code"] == "hold_expired"
    async with runtime.db.transaction() as session:
        assert await holds.due_to_expire(session) == [hold_id]
        expired = await holds.expire_one(session, hold_id)
        assert expired is not None and expired.status == "expired"
    async with runtime.db.transaction() as session:
        assert await holds.expire_one(session, hold_id) is None  # a second sweeper finds nothing to do
        assert await holds.expire_one(session, parse_id(keep["id"])) is None  # not yet due
        assert await holds.due_to_expire(session) == []
    assert (await available(client, alice), await held(client, alice)) == (900, 100)
    shown = (await client.get(f"/api/v1/holds/{hold['id']}", headers=bob.headers)).json()
    assert shown["status"] == "expired" and shown["amount_captured"] == 0
    again = await pay(client, alice, f"/api/v1/holds/{hold['id']}/void", expect=409)
    assert again["error"]["code"] == "hold_already_expired"
    async with runtime.db.transaction(write=False) as session:
        told = list(await session.scalars(select(Notification.from_account_id).where(
            Notification.account_id == parse_id(alice.id), Notification.type == "payment_returned")))
    assert told == [parse_id(bob.id)]
    await assert_ledger_sound(runtime)


async def test_tiny_ttl_expires(client, runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 300)
    hold = await authorise(client, alice, bob, 300, ttl_hours=1e-9)
    async with runtime.db.transaction() as session:
        due = await holds.due_to_expire(session, limit=10)
        assert due == [parse_id(hold["id"])]
        assert all([await holds.expire_one(session, i) for i in due])
    assert (await available(client, alice), await held(client, alice)) == (300, 0)
    await assert_ledger_sound(runtime)


async def test_insufficient_funds_creates_nothing(client, runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 500)
    refused = await authorise(client, alice, bob, 501, expect=402)
    assert refused["error"]["code"] == "insufficient_funds"
    assert (await client.get("/api/v1/holds", headers=alice.headers)).json() == []
    assert (await available(client, alice), await held(client, alice)) == (500, 0)
    await assert_ledger_sound(runtime)


async def test_strangers_and_wrong_party(client, runtime, alice: Member, bob: Member, carol: Member) -> None:
    await top_up(client, alice, 1000)
    hold = await authorise(client, alice, bob, 600)
    path = f"/api/v1/holds/{hold['id']}"
    assert (await client.get(path, headers=carol.headers)).status_code == 404
    for action in ("capture", "void"):
        refused = await pay(client, carol, f"{path}/{action}", expect=404)
        assert refused["error"]["code"] == "resource_missing"
    assert (await client.get("/api/v1/holds", headers=carol.headers)).json() == []
    assert (await client.get("/api/v1/holds/not-an-id", headers=alice.headers)).status_code == 404
    # The payer cannot capture their own hold: the payee is the one paid.
    refused = await pay(client, alice, f"{path}/capture", expect=403)
    assert refused["error"]["code"] == "not_payee"
    assert (await client.get(path, headers=bob.headers)).json()["status"] == "authorised"
    assert (await available(client, alice), await held(client, alice)) == (400, 600)
    await assert_ledger_sound(runtime)


async def test_bad_input_changes_nothing(client, runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 50_000)
    for fields, param in (({"amount": 0}, "amount"), ({"amount": -5}, "amount"), ({"amount": "100"}, "amount"),
                          ({"amount": 1.5}, "amount"), ({"amount": 100, "currency": "xyz"}, "currency"),
                          ({"amount": 100, "ttl_hours": 0}, "ttl_hours"),
                          ({"amount": 100, "ttl_hours": 10_000}, "ttl_hours"),
                          ({"amount": 100, "ttl_hours": "soon"}, "ttl_hours"),
                          ({"amount": 100, "description": 7}, "description")):
        refused = await pay(client, alice, "/api/v1/holds", expect=400, to=bob.id, **fields)
        assert refused["error"]["param"] == param, (fields, refused)
    assert (await pay(client, alice, "/api/v1/holds", expect=400, amount=100))["error"]["param"] == "to"
    assert (await pay(client, alice, "/api/v1/holds", expect=400, to=alice.id, amount=100))["error"]["code"] \
        == "same_account"
    assert (await pay(client, alice, "/api/v1/holds", expect=404, to="nobody", amount=100))["error"]["code"] \
        == "resource_missing"
    pin = await authorise(client, alice, bob, 30_000, expect=403)  # above the PIN threshold, and no PIN set
    assert pin["error"]["code"] == "pin_not_set"
    assert (await client.get("/api/v1/holds", headers=alice.headers)).json() == []

    hold = await authorise(client, alice, bob, 1000)
    for amount, expect in ((0, 400), (-1, 400), ("5", 400), (1001, 400)):
        refused = await pay(client, bob, f"/api/v1/holds/{hold['id']}/capture", expect=expect, amount=amount)
        assert refused["error"]["param"] == "amount"
    over = await pay(client, bob, f"/api/v1/holds/{hold['id']}/capture", expect=400, amount=1001)
    assert over["error"]["code"] == "amount_too_large"
    assert (await client.get(f"/api/v1/holds/{hold['id']}", headers=bob.headers)).json()["status"] == "authorised"
    assert (await available(client, alice), await held(client, alice), await available(client, bob)) == \
        (49_000, 1000, 0)
    assert (await client.get("/api/v1/holds", headers=alice.headers, params={"status": "open"})).status_code == 400
    await assert_ledger_sound(runtime)


async def test_revenue_hold_for_internal_callers(client, runtime, alice: Member, bob: Member) -> None:
    """The ads system authorises a promotion against the member's wallet and captures what it used."""
    await top_up(client, alice, 2000)
    settings = runtime.settings
    async with runtime.db.transaction() as session:
        payer = await session.get_one(Account, parse_id(alice.id))
        hold = await holds.authorise(session, settings, payer=payer, amount=1500, currency="usd",
                                     description="promote post", to_revenue=True, ttl_hours=2)
        hold_id = hold.id
    assert (await available(client, alice), await held(client, alice)) == (500, 1500)
    shown = (await client.get(f"/api/v1/holds/{hold_id}", headers=alice.headers)).json()
    assert shown["payee"] is None and shown["status"] == "authorised"
    assert (await pay(client, bob, f"/api/v1/holds/{hold_id}/capture", expect=404))["error"]["code"] \
        == "resource_missing"
    async with runtime.db.transaction() as session:
        captured = await holds.capture(session, hold_id=hold_id, actor_id=parse_id(alice.id), amount=900)
        assert captured.status == "captured" and captured.amount_captured == 900
        revenue = await ledger.system_account(session, ledger.REVENUE, "USD")
        assert revenue.balance == 900
    assert (await available(client, alice), await held(client, alice)) == (1100, 0)
    await assert_ledger_sound(runtime)

"""Who may see and move what: nobody reads another member's wallet or history or moves their money, a
token needs the payments scopes, blocked members cannot pay each other, only a chat's members open its
red packets, and malformed money (zero, negative, fractional, huge, text, booleans, unknown currencies)
is a Stripe-shaped 4xx that moves nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agora.kit.runtime import Runtime
from tests.chat.helpers import group
from tests.factories import Member, make_member
from tests.payments.audit_helpers import assert_stripe_error, audit_db
from tests.payments.helpers import available, keyed, pay, send, top_up

BAD_AMOUNTS = [0, -5, 10.5, 1e30, 10**30, "100", "", True, False, None, [], {}, [100], {"value": 100}]
BAD_CURRENCIES = ["xyz", 5, "", None, True, ["usd"], "usdollar", "us d"]
MONEY_ROUTES = ["/api/v1/transfers", "/api/v1/wallet/top_up", "/api/v1/wallet/withdraw", "/api/v1/holds"]


async def snapshot(client: httpx.AsyncClient, *members: Member) -> list[Any]:
    """Everything a member can see of their money: each wallet, transfer list and balance history."""
    seen = []
    for member in members:
        for path in ("/api/v1/wallet", "/api/v1/transfers", "/api/v1/wallet/transactions", "/api/v1/holds"):
            response = await client.get(path, headers=member.headers)
            assert response.status_code == 200, response.text
            seen.append(response.json())
    return seen


async def refused(client: httpx.AsyncClient, who: Member, path: str, body: dict[str, Any], status: int | None = None
                  ) -> dict[str, Any]:
    response = await client.post(path, headers=keyed(who), json=body)
    assert 400 <= response.status_code < 500, (path, body, response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, (path, body, response.text)
    assert_stripe_error(response.json())
    return response.json()["error"]


async def test_another_members_money_is_invisible(client, alice: Member, bob: Member, carol: Member) -> None:
    await top_up(client, alice, 1_000)
    sent = await send(client, alice, bob, 300)
    looked = await client.get(f"/api/v1/transfers/{sent['id']}", headers=carol.headers)
    assert looked.status_code == 404 and looked.json()["error"]["code"] == "resource_missing"
    # Carol's own views show none of it: her wallet is empty and her lists are empty.
    wallet = (await client.get("/api/v1/wallet", headers=carol.headers)).json()
    assert [b["amount"] for b in wallet["available"]] == [0]
    for path in ("/api/v1/transfers", "/api/v1/wallet/transactions", "/api/v1/holds"):
        assert (await client.get(path, headers=carol.headers)).json() == []
    filtered = await client.get("/api/v1/transfers", headers=carol.headers, params={"counterparty": alice.id})
    assert filtered.json() == []
    csv = await client.get("/api/v1/wallet/statement.csv", headers=carol.headers)
    assert "300" not in csv.text and "alice" not in csv.text
    # Without a token there is nothing at all.
    for path in ("/api/v1/wallet", "/api/v1/transfers", f"/api/v1/transfers/{sent['id']}"):
        assert (await client.get(path)).status_code == 401


async def test_nobody_moves_another_members_money(client, alice: Member, bob: Member, carol: Member) -> None:
    await top_up(client, alice, 1_000)
    await top_up(client, carol, 1_000)
    sent = await send(client, alice, bob, 300)
    hold = await pay(client, alice, "/api/v1/holds", to=bob.id, amount=200)
    before = await snapshot(client, alice, bob, carol)
    # A stranger cannot refund, capture or void what is not theirs: it does not exist for them.
    for path in (f"/api/v1/transfers/{sent['id']}/refund", f"/api/v1/holds/{hold['id']}/capture",
                 f"/api/v1/holds/{hold['id']}/void", f"/api/v1/transfers/{sent['id']}/accept"):
        error = await refused(client, carol, path, {}, 404)
        assert error["code"] == "resource_missing"
    # The sender cannot pull a transfer back, nor the payer capture their own hold.
    assert (await refused(client, alice, f"/api/v1/transfers/{sent['id']}/refund", {}, 409))["code"] == "not_recipient"
    assert (await refused(client, alice, f"/api/v1/holds/{hold['id']}/capture", {}, 403))["code"] == "not_payee"
    assert await snapshot(client, alice, bob, carol) == before
    # Naming someone else as the payer changes nothing: money leaves the token's owner or nobody.
    await pay(client, carol, "/api/v1/transfers", to=bob.id, amount=50, sender=alice.id, from_account=alice.id)
    assert await available(client, alice) == 500 and await available(client, carol) == 950
    # Another member's Idempotency-Key is theirs alone: reusing it makes a payment of one's own.
    key = "shared-key"
    mine = await pay(client, alice, "/api/v1/transfers", key=key, to=bob.id, amount=10)
    theirs = await pay(client, carol, "/api/v1/transfers", key=key, to=bob.id, amount=10)
    assert mine["id"] != theirs["id"] and theirs["sender"]["id"] == carol.id
    assert await available(client, alice) == 490 and await available(client, carol) == 940


async def test_payments_need_the_payments_scopes(client, runtime: Runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1_000)
    social = await make_member(runtime, "social", scopes=("read", "write", "follow"))
    reader = await make_member(runtime, "reader", scopes=("read", "read:payments"))
    for path in MONEY_ROUTES:
        response = await client.post(path, headers=keyed(social), json={"to": bob.id, "amount": 1})
        assert response.status_code == 403, (path, response.text)
        response = await client.post(path, headers=keyed(reader), json={"to": bob.id, "amount": 1})
        assert response.status_code == 403, (path, response.text)
    for path in ("/api/v1/wallet", "/api/v1/transfers", "/api/v1/wallet/transactions", "/api/v1/holds"):
        assert (await client.get(path, headers=social.headers)).status_code == 403, path
        assert (await client.get(path, headers=reader.headers)).status_code == 200, path
    assert await available(client, bob) == 0


@pytest.mark.parametrize("path", MONEY_ROUTES)
async def test_malformed_amounts_and_currencies_move_nothing(client, alice: Member, bob: Member, path: str) -> None:
    await top_up(client, alice, 5_000)
    before = await snapshot(client, alice, bob)
    for amount in BAD_AMOUNTS:
        error = await refused(client, alice, path, {"to": bob.id, "amount": amount}, 400)
        assert error["param"] == "amount", (amount, error)
    missing = await refused(client, alice, path, {"to": bob.id}, 400)
    assert missing["param"] == "amount"
    for currency in BAD_CURRENCIES:
        error = await refused(client, alice, path, {"to": bob.id, "amount": 100, "currency": currency}, 400)
        assert error["param"] == "currency" and error["code"] == "currency_not_supported", (currency, error)
    # Well-formed but past the operator's limits: refused as a payment error, still nothing moved.
    over = await refused(client, alice, path, {"to": bob.id, "amount": 1_000_001, "pin": "000000"})
    assert over["code"] in ("amount_over_limit", "pin_not_set"), over
    assert await snapshot(client, alice, bob) == before


async def test_forms_may_send_digits_but_nothing_looser(client, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1_000)
    for amount in ("10.5", "-5", "0", "1e3", " 100", "١٠٠", "100abc"):
        response = await client.post("/api/v1/transfers", headers=keyed(alice), data={"to": bob.id, "amount": amount})
        assert response.status_code == 400, (amount, response.text)
        assert_stripe_error(response.json())
    response = await client.post("/api/v1/transfers", headers=keyed(alice), data={"to": bob.id, "amount": "100"})
    assert response.status_code == 200, response.text
    assert await available(client, alice) == 900 and await available(client, bob) == 100


async def test_notes_recipients_and_blocks(client, alice: Member, bob: Member, carol: Member) -> None:
    await top_up(client, alice, 1_000)
    await top_up(client, bob, 1_000)
    before = await snapshot(client, alice, bob, carol)
    assert (await refused(client, alice, "/api/v1/transfers", {"to": bob.id, "amount": 1, "note": "x" * 501},
                          400))["param"] == "note"
    assert (await refused(client, alice, "/api/v1/transfers", {"to": bob.id, "amount": 1, "note": 5}, 400)
            )["param"] == "note"
    assert (await refused(client, alice, "/api/v1/transfers", {"to": alice.id, "amount": 1}, 400)
            )["code"] == "same_account"
    assert (await refused(client, alice, "/api/v1/transfers", {"to": "@alice", "amount": 1}, 400)
            )["code"] == "same_account"
    for nobody in ("999999999999", "nobody", "", None, 12.5, ["x"]):
        await refused(client, alice, "/api/v1/transfers", {"to": nobody, "amount": 1})
    assert await snapshot(client, alice, bob, carol) == before
    note = "  for the ramen 🍜 — 谢谢, שלום, e\u0301  "
    sent = await send(client, alice, bob, 7, note=note)
    assert sent["note"] == note.strip()
    assert (await client.get(f"/api/v1/transfers/{sent['id']}", headers=bob.headers)).json()["note"] == note.strip()
    # A block stops money both ways, whoever blocked whom.
    blocked = await client.post(f"/api/v1/accounts/{carol.id}/block", headers=bob.headers)
    assert blocked.status_code == 200, blocked.text
    await top_up(client, carol, 100)
    for payer, payee in ((bob, carol), (carol, bob)):
        error = await refused(client, payer, "/api/v1/transfers", {"to": payee.id, "amount": 1}, 403)
        assert error["code"] == "account_blocked"
        error = await refused(client, payer, "/api/v1/holds", {"to": payee.id, "amount": 1}, 403)
        assert error["code"] == "account_blocked"
    assert await available(client, carol) == 100 and await available(client, bob) == 1_007


async def test_only_a_chats_members_open_its_red_packets(client, runtime: Runtime, alice: Member, bob: Member,
                                                        carol: Member) -> None:
    chat = await group(client, alice, bob, name="Lunch")
    await top_up(client, alice, 1_000)
    packet = await pay(client, alice, f"/api/v1/chats/{chat['id']}/red_packets", amount=300, count=3)
    # Carol is not in the chat: the packet does not exist for her, and she cannot open it.
    assert (await client.get(f"/api/v1/red_packets/{packet['id']}", headers=carol.headers)).status_code == 404
    error = await refused(client, carol, f"/api/v1/red_packets/{packet['id']}/open", {}, 404)
    assert error["code"] == "resource_missing"
    assert await available(client, carol) == 0
    # Nor can she drop one into a chat she is not in.
    await top_up(client, carol, 500)
    await refused(client, carol, f"/api/v1/chats/{chat['id']}/red_packets", {"amount": 100}, 404)
    assert await available(client, carol) == 500
    opened = await pay(client, bob, f"/api/v1/red_packets/{packet['id']}/open")
    assert opened["my_amount"] > 0
    report = await audit_db(runtime.db)
    assert report.ok, report.problems

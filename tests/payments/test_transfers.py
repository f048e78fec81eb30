"""Sending money: top up, pay a member, refund, history — what a member sees in their wallet."""

from __future__ import annotations

from tests.factories import Member
from tests.payments.helpers import available, keyed, pay, send, top_up


async def test_top_up_and_send_moves_exact_amounts(client, alice: Member, bob: Member) -> None:
    wallet = await top_up(client, alice, 5000)
    assert wallet["livemode"] is False and wallet["funding_provider"] == "sandbox"
    transfer = await send(client, alice, bob, 1234, note="dinner 🍜", emoji="🍜")
    assert transfer["object"] == "transfer" and transfer["status"] == "succeeded"
    assert transfer["amount"] == 1234 and transfer["currency"] == "usd" and transfer["emoji"] == "🍜"
    assert transfer["recipient"]["username"] == "bob"
    assert await available(client, alice) == 3766
    assert await available(client, bob) == 1234


async def test_send_by_acct_and_refund_in_parts(client, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1000)
    transfer = await send(client, alice, bob, 1000)
    transfer = await pay(client, alice, "/api/v1/transfers", to="@bob", amount=0, expect=400)
    assert transfer["error"]["param"] == "amount"
    sent = await pay(client, alice, "/api/v1/transfers", to="bob", amount=1, expect=402)
    assert sent["error"]["code"] == "insufficient_funds"
    first = (await client.get("/api/v1/transfers", headers=bob.headers)).json()[0]
    part = await pay(client, bob, f"/api/v1/transfers/{first['id']}/refund", amount=300)
    assert part["amount_refunded"] == 300
    rest = await pay(client, bob, f"/api/v1/transfers/{first['id']}/refund")
    assert rest["amount_refunded"] == 1000
    again = await pay(client, bob, f"/api/v1/transfers/{first['id']}/refund", expect=409)
    assert again["error"]["code"] == "charge_already_refunded"
    assert await available(client, alice) == 1000 and await available(client, bob) == 0
    # Only the recipient may refund: the sender cannot pull money back.
    await top_up(client, alice, 500)
    other = await send(client, alice, bob, 500)
    refused = await pay(client, alice, f"/api/v1/transfers/{other['id']}/refund", expect=409)
    assert refused["error"]["code"] == "not_recipient"


async def test_idempotency_key_replays_and_conflicts(client, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1000)
    headers = keyed(alice, "pay-bob-once")
    first = await client.post("/api/v1/transfers", headers=headers, json={"to": bob.id, "amount": 400})
    replay = await client.post("/api/v1/transfers", headers=headers, json={"to": bob.id, "amount": 400})
    assert replay.status_code == 200 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = await client.post("/api/v1/transfers", headers=headers, json={"to": bob.id, "amount": 401})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_in_use"
    missing = await client.post("/api/v1/transfers", headers=alice.headers, json={"to": bob.id, "amount": 1})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "idempotency_key_missing"
    assert await available(client, alice) == 600 and await available(client, bob) == 400


async def test_history_filters_and_statement(client, alice: Member, bob: Member, carol: Member) -> None:
    await top_up(client, alice, 10_000)
    await send(client, alice, bob, 100, note="coffee")
    await send(client, alice, carol, 200, note="=HYPERLINK(\"x\")")
    to_bob = (await client.get("/api/v1/transfers", headers=alice.headers,
                               params={"counterparty": bob.id})).json()
    assert [t["amount"] for t in to_bob] == [100]
    out = (await client.get("/api/v1/transfers", headers=alice.headers, params={"direction": "out"})).json()
    assert [t["amount"] for t in out] == [200, 100]
    assert (await client.get("/api/v1/transfers", headers=carol.headers)).json()[0]["direction"] == "in"
    history = (await client.get("/api/v1/wallet/transactions", headers=alice.headers)).json()
    assert [(h["type"], h["amount"], h["balance_after"]) for h in history] == [
        ("transfer", -200, 9700), ("transfer", -100, 9900), ("top_up", 10_000, 10_000)]
    csv = await client.get("/api/v1/wallet/statement.csv", headers=alice.headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("date,id,type,counterparty")
    assert lines[1].endswith("100.00,USD,100.00") and "bob" in lines[2] and "-1.00" in lines[2]
    assert "'=HYPERLINK" in lines[3]
    # Bob's wallet and history are his alone.
    assert (await client.get(f"/api/v1/transfers/{to_bob[0]['id']}", headers=carol.headers)).status_code == 404


async def test_openapi_documents_money_moving_posts(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/transfers", "/api/v1/wallet/top_up", "/api/v1/payment_requests", "/api/v1/holds",
                 "/api/v1/chats/{conversation_id}/red_packets", "/api/v1/transfers/{transfer_id}/refund"):
        post = spec["paths"][path]["post"]
        assert any(p["name"] == "Idempotency-Key" and p["required"] for p in post["parameters"]), path
        assert "application/json" in post["requestBody"]["content"], path
    body = spec["paths"]["/api/v1/transfers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["amount"]["type"] == "integer" and body["required"] == ["to", "amount"]

"""Money in chats: transfer cards accepted, declined or expired, and red packets opened by the first N."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from agora.kit.time import utcnow
from agora.models import RedPacket, Transfer
from agora.payments import red_packets, transfers
from agora.payments.audit import audit
from tests.chat.helpers import direct, group
from tests.factories import Member, make_member
from tests.payments.helpers import available, held, pay, top_up


async def _audit_ok(runtime) -> None:
    async with runtime.db.transaction(write=False) as session:
        report = await audit(session)
    assert report.ok, report.problems


async def _card(client, who: Member, conversation_id: str) -> dict:
    response = await client.get(f"/api/v1/chats/{conversation_id}/messages", headers=who.headers)
    assert response.status_code == 200, response.text
    return next(m for m in response.json() if m["kind"] == "payment")


async def test_chat_transfer_waits_then_accepted(client, runtime, alice: Member, bob: Member) -> None:
    chat = await direct(client, alice, bob)
    await top_up(client, alice, 5000)
    transfer = await pay(client, alice, f"/api/v1/chats/{chat['id']}/transfers", amount=1500, note="lunch")
    assert transfer["status"] == "pending" and transfer["recipient"]["username"] == "bob"
    assert await available(client, alice) == 3500 and await held(client, alice) == 1500
    card = await _card(client, bob, chat["id"])
    assert card["action"]["type"] == "transfer" and card["action"]["status"] == "pending"
    assert card["action"]["id"] == transfer["id"] and card["action"]["amount"] == 1500
    # Only the recipient can take it.
    refused = await pay(client, alice, f"/api/v1/transfers/{transfer['id']}/accept", expect=409)
    assert refused["error"]["code"] == "not_recipient"
    accepted = await pay(client, bob, f"/api/v1/transfers/{transfer['id']}/accept")
    assert accepted["status"] == "succeeded"
    assert await available(client, bob) == 1500 and await held(client, alice) == 0
    assert (await _card(client, alice, chat["id"]))["action"]["status"] == "succeeded"
    again = await pay(client, bob, f"/api/v1/transfers/{transfer['id']}/decline", expect=409)
    assert again["error"]["code"] == "transfer_already_succeeded"
    await _audit_ok(runtime)


async def test_chat_transfer_declined_or_expired_returns(client, runtime, alice: Member, bob: Member) -> None:
    chat = await direct(client, alice, bob)
    await top_up(client, alice, 1000)
    first = await pay(client, alice, f"/api/v1/chats/{chat['id']}/transfers", amount=400)
    second = await pay(client, alice, f"/api/v1/chats/{chat['id']}/transfers", amount=600)
    await pay(client, bob, f"/api/v1/transfers/{first['id']}/decline")
    assert await available(client, alice) == 400 and await held(client, alice) == 600
    async with runtime.db.transaction() as session:
        await session.execute(update(Transfer).where(Transfer.id == int(second["id"])).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    async with runtime.db.transaction() as session:
        due = await transfers.due_to_expire(session)
        assert due == [int(second["id"])]
        assert await transfers.expire_one(session, due[0]) is not None
        assert await transfers.expire_one(session, due[0]) is None  # at most once
    assert await available(client, alice) == 1000 and await held(client, alice) == 0
    late = await pay(client, bob, f"/api/v1/transfers/{second['id']}/accept", expect=409)
    assert late["error"]["code"] == "transfer_already_returned"
    notes = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    assert [n["type"] for n in notes].count("payment_returned") == 2
    await _audit_ok(runtime)


async def test_red_packet_shares_sum_exactly_and_open_once(client, runtime, alice: Member, bob: Member,
                                                           carol: Member) -> None:
    dave = await make_member(runtime, "dave")
    chat = await group(client, alice, bob, carol, dave)
    await top_up(client, alice, 10_000)
    packet = await pay(client, alice, f"/api/v1/chats/{chat['id']}/red_packets", amount=1000, count=3,
                       mode="random", note="新年快乐")
    assert packet["status"] == "open" and await held(client, alice) == 1000
    opened = await asyncio.gather(*(pay(client, who, f"/api/v1/red_packets/{packet['id']}/open")
                                    for who in (bob, carol)))
    assert all(o["my_amount"] >= 1 for o in opened)
    twice = await pay(client, bob, f"/api/v1/red_packets/{packet['id']}/open", expect=409)
    assert twice["error"]["code"] == "red_packet_already_opened"
    last = await pay(client, dave, f"/api/v1/red_packets/{packet['id']}/open")
    assert last["status"] == "emptied" and sum(c["amount"] for c in last["claims"]) == 1000
    late = await pay(client, alice, f"/api/v1/red_packets/{packet['id']}/open", expect=409)
    assert late["error"]["code"] == "red_packet_emptied"
    got = [await available(client, who) for who in (bob, carol, dave)]
    assert sum(got) == 1000 and await held(client, alice) == 0
    await _audit_ok(runtime)


async def test_red_packet_equal_split_and_expiry(client, runtime, alice: Member, bob: Member, carol: Member) -> None:
    chat = await group(client, alice, bob, carol)
    await top_up(client, alice, 1000)
    packet = await pay(client, alice, f"/api/v1/chats/{chat['id']}/red_packets", amount=100, count=3, mode="equal")
    first = await pay(client, bob, f"/api/v1/red_packets/{packet['id']}/open")
    assert first["my_amount"] == 34
    async with runtime.db.transaction() as session:
        await session.execute(update(RedPacket).where(RedPacket.id == int(packet["id"])).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    async with runtime.db.transaction() as session:
        assert await red_packets.expire_one(session, int(packet["id"])) is not None
    assert await available(client, alice) == 966 and await held(client, alice) == 0
    late = await pay(client, carol, f"/api/v1/red_packets/{packet['id']}/open", expect=409)
    assert late["error"]["code"] == "red_packet_returned"
    await _audit_ok(runtime)


async def test_strangers_cannot_see_or_open_a_packet(client, runtime, alice: Member, bob: Member,
                                                     carol: Member) -> None:
    chat = await group(client, alice, bob)
    await top_up(client, alice, 1000)
    packet = await pay(client, alice, f"/api/v1/chats/{chat['id']}/red_packets", amount=500, count=2)
    assert (await client.get(f"/api/v1/red_packets/{packet['id']}", headers=carol.headers)).status_code == 404
    await pay(client, carol, f"/api/v1/red_packets/{packet['id']}/open", expect=404)
    await pay(client, carol, f"/api/v1/chats/{chat['id']}/red_packets", amount=1, expect=404)
    assert await available(client, carol) == 0 and await held(client, alice) == 500
    bad = await pay(client, alice, f"/api/v1/chats/{chat['id']}/red_packets", amount=2, count=3, expect=400)
    assert bad["error"]["param"] == "amount"
    await _audit_ok(runtime)

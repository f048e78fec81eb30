"""Red packets (红包): money in a chat for the first `count` members to open it, in equal shares or
random ones; what nobody opened returns to the sender when it expires (24 h by default).

The total waits in the sender's held balance. Opening takes the packet's row lock, so two members
opening at once draw their shares one after the other, and the unique (packet, member) claim makes
a second open by the same member impossible even if two of their requests race.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.chat import conversations
from agora.chat.messages import add_payment_card, update_payment_card
from agora.config import Settings
from agora.kit.db import insert_once
from agora.kit.ids import new_id
from agora.kit.money import format_amount
from agora.kit.time import utcnow
from agora.models import Account, RedPacket, RedPacketClaim
from agora.payments import guard, ledger
from agora.payments.errors import invalid, missing, wrong_state
from agora.payments.members import notify_payment

MODES = ("equal", "random")
CARD = "red_packet"
_random = secrets.SystemRandom()


def share_for(packet: RedPacket) -> int:
    """What the next opener gets. Equal: the total split as evenly as whole minor units allow (the
    first `amount % count` get one more). Random: WeChat's "double average" — uniform between one unit
    and twice the average left, never leaving less than one unit for each opener still to come."""
    left = packet.count - packet.claimed_count
    remaining = packet.amount - packet.amount_claimed
    if left == 1:
        return remaining
    if packet.mode == "equal":
        base, extra = divmod(packet.amount, packet.count)
        return base + (1 if packet.claimed_count < extra else 0)
    ceiling = min(2 * remaining // left, remaining - (left - 1))
    return _random.randint(1, max(1, ceiling))


def checked_shape(settings: Settings, *, amount: int, count: object, mode: object) -> tuple[int, str]:
    if isinstance(count, str) and count.isdigit():
        count = int(count)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= settings.red_packet_max_count:
        raise invalid(f"count must be between 1 and {settings.red_packet_max_count}", param="count")
    if amount < count:
        raise invalid("Each share must be at least one minor unit: the amount is smaller than the count",
                      param="amount", code="amount_too_small")
    mode = mode or "random"
    if mode not in MODES:
        raise invalid("mode must be equal or random", param="mode")
    return count, str(mode)


async def create(session: AsyncSession, settings: Settings, *, sender: Account, conversation_id: int, amount: int,
                 currency: str, count: int, mode: str, note: str) -> RedPacket:
    guard.check_amount_limit(settings, amount, currency)
    card = {"type": CARD, "amount": amount, "currency": currency.lower(), "count": count, "mode": mode,
            "note": note, "claimed_count": 0, "status": "open"}
    message, _ = await add_payment_card(session, sender_id=sender.id, conversation_id=conversation_id, action=card,
                                        text=f"🧧 {note or format_amount(amount, currency)}")
    packet = RedPacket(id=new_id(), sender_id=sender.id, conversation_id=conversation_id, message_id=message.id,
                       amount=amount, currency=currency, count=count, mode=mode, note=note,
                       expires_at=utcnow() + timedelta(hours=settings.red_packet_ttl_hours))
    session.add(packet)
    await session.flush([packet])
    source = await ledger.member_account(session, sender.id, currency)
    await ledger.move(session, kind="red_packet", memo=note, reference_id=packet.id, amount=amount, source=source,
                      target=await ledger.member_account(session, sender.id, currency, ledger.HELD))
    await guard.check_daily_limit(session, settings, source)
    message.action = {**card, "id": str(packet.id), "expires_at": int(packet.expires_at.timestamp())}
    await session.flush()
    return packet


async def visible(session: AsyncSession, *, viewer_id: int, packet_id: int) -> RedPacket:
    """The packet, for members of its chat only (anyone else: not found)."""
    packet = await session.get(RedPacket, packet_id)
    if packet is None:
        raise missing("red packet")
    await conversations.membership(session, conversation_id=packet.conversation_id, account_id=viewer_id)
    return packet


async def open_packet(session: AsyncSession, *, viewer_id: int, packet_id: int) -> tuple[RedPacket, int]:
    """Draw the viewer's share: (the packet, what they got)."""
    await visible(session, viewer_id=viewer_id, packet_id=packet_id)
    packet = await session.get(RedPacket, packet_id, with_for_update=True, populate_existing=True)
    assert packet is not None
    mine = await session.scalar(select(RedPacketClaim.amount).where(
        RedPacketClaim.packet_id == packet.id, RedPacketClaim.account_id == viewer_id))
    if mine is not None:
        raise wrong_state("You already opened this red packet", code="red_packet_already_opened")
    if packet.status != "open" or packet.claimed_count >= packet.count:
        raise wrong_state("This red packet is empty" if packet.status == "emptied" else
                          "This red packet has expired", code=f"red_packet_{packet.status}")
    if packet.expires_at <= utcnow():
        raise wrong_state("This red packet has expired", code="red_packet_returned")
    share = share_for(packet)
    if not await insert_once(session, RedPacketClaim(packet_id=packet.id, account_id=viewer_id, amount=share)):
        raise wrong_state("You already opened this red packet", code="red_packet_already_opened")
    packet.amount_claimed += share
    packet.claimed_count += 1
    if packet.claimed_count == packet.count:
        packet.status, packet.resolved_at = "emptied", utcnow()
    await session.flush([packet])
    await ledger.move(session, kind="red_packet.open", memo=packet.note, reference_id=packet.id, amount=share,
                      source=await ledger.member_account(session, packet.sender_id, packet.currency, ledger.HELD),
                      target=await ledger.member_account(session, viewer_id, packet.currency),
                      target_party=packet.sender_id)
    await update_payment_card(session, message_id=packet.message_id,
                              changes={"claimed_count": packet.claimed_count, "status": packet.status})
    return packet, share


async def claims(session: AsyncSession, packet_id: int) -> list[RedPacketClaim]:
    return list(await session.scalars(select(RedPacketClaim).where(RedPacketClaim.packet_id == packet_id)
                                      .order_by(RedPacketClaim.id)))


async def due_to_expire(session: AsyncSession, *, limit: int = 100) -> list[int]:
    return list(await session.scalars(select(RedPacket.id).where(
        RedPacket.status == "open", RedPacket.expires_at <= utcnow()).order_by(RedPacket.expires_at).limit(limit)))


async def expire_one(session: AsyncSession, packet_id: int) -> RedPacket | None:
    """Return what nobody opened to the sender, once."""
    won = await session.scalar(update(RedPacket).where(
        RedPacket.id == packet_id, RedPacket.status == "open", RedPacket.expires_at <= utcnow())
        .values(status="returned", resolved_at=utcnow()).returning(RedPacket.id)
        .execution_options(synchronize_session=False))
    if won is None:
        return None
    packet = await session.get(RedPacket, packet_id, populate_existing=True)
    assert packet is not None
    left = packet.amount - packet.amount_claimed
    if left:
        await ledger.move(session, kind="red_packet.expire", memo=packet.note, reference_id=packet.id, amount=left,
                          source=await ledger.member_account(session, packet.sender_id, packet.currency, ledger.HELD),
                          target=await ledger.member_account(session, packet.sender_id, packet.currency))
        await notify_payment(session, recipient_id=packet.sender_id, actor_id=packet.sender_id,
                             kind="payment_returned", payment_id=packet.id)
    await update_payment_card(session, message_id=packet.message_id, changes={"status": "returned"})
    return packet

"""Transfers: money from one member to another — sent directly, paying a request, or in a chat.

A direct transfer settles at once. A chat transfer waits in the sender's `held` balance until the
recipient accepts it; declined, or not accepted before it expires, it returns to the sender. Each
state change is a conditional `UPDATE … WHERE status = 'pending'`, so it happens at most once however
many requests (or sweepers) race for it. The recipient may refund a settled transfer, in full or part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.chat.messages import update_payment_card
from agora.config import Settings
from agora.kit.ids import new_id
from agora.kit.pagination import Page, PageParams
from agora.kit.time import utcnow
from agora.models import Account, Transfer
from agora.payments import guard, ledger
from agora.payments.errors import invalid, missing, wrong_state
from agora.payments.members import notify_payment

KINDS = ("direct", "request", "chat")
STATUSES = ("pending", "succeeded", "returned")
MAX_NOTE = 500


def checked_note(note: object, *, param: str = "note") -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise invalid(f"{param} must be text", param=param)
    if len(note) > MAX_NOTE:
        raise invalid(f"{param} may be at most {MAX_NOTE} characters", param=param)
    return note.strip()


async def send(session: AsyncSession, settings: Settings, *, sender: Account, recipient: Account, amount: int,
               currency: str, note: str = "", emoji: str = "", kind: str = "direct",
               request_id: int | None = None) -> Transfer:
    """Pay `recipient` now; 402 if the balance or the daily limit does not allow it."""
    guard.check_amount_limit(settings, amount, currency)
    transfer = Transfer(id=new_id(), kind=kind, status="succeeded", sender_id=sender.id, recipient_id=recipient.id,
                        amount=amount, currency=currency, note=note, emoji=emoji, request_id=request_id,
                        resolved_at=utcnow())
    session.add(transfer)
    # Everything else first: the balance rows stay locked from their UPDATE to the commit, and a hot
    # account's next payment waits that long.
    await notify_payment(session, recipient_id=recipient.id, actor_id=sender.id, kind="payment_received",
                         payment_id=transfer.id)
    source, target = await ledger.member_accounts(session, [sender.id, recipient.id], currency)
    await ledger.move(session, kind="transfer", memo=note, reference_id=transfer.id, amount=amount, source=source,
                      target=target, source_party=recipient.id, target_party=sender.id)
    await guard.check_daily_limit(session, settings, source)
    return transfer


async def send_pending(session: AsyncSession, settings: Settings, *, sender: Account, recipient: Account,
                       amount: int, currency: str, note: str, emoji: str, conversation_id: int,
                       message_id: int) -> Transfer:
    """A chat transfer: the money leaves the sender's available balance for their held one."""
    guard.check_amount_limit(settings, amount, currency)
    transfer = Transfer(id=new_id(), kind="chat", status="pending", sender_id=sender.id, recipient_id=recipient.id,
                        amount=amount, currency=currency, note=note, emoji=emoji, conversation_id=conversation_id,
                        message_id=message_id,
                        expires_at=utcnow() + timedelta(hours=settings.chat_transfer_ttl_hours))
    session.add(transfer)
    source = await ledger.member_account(session, sender.id, currency)
    await ledger.move(session, kind="chat_transfer", memo=note, reference_id=transfer.id, amount=amount,
                      source=source, target=await ledger.member_account(session, sender.id, currency, ledger.HELD),
                      source_party=recipient.id)
    await guard.check_daily_limit(session, settings, source)
    await notify_payment(session, recipient_id=recipient.id, actor_id=sender.id, kind="payment_received",
                         payment_id=transfer.id)
    return transfer


async def _resolve_pending(session: AsyncSession, transfer_id: int, status: str, *, only_recipient: int | None = None,
                           expired_before: datetime | None = None) -> Transfer | None:
    """Move a pending transfer to `status`, once: None if it is no longer pending (or not theirs)."""
    conditions = [Transfer.id == transfer_id, Transfer.status == "pending"]
    if only_recipient is not None:
        conditions.append(Transfer.recipient_id == only_recipient)
    if expired_before is not None:
        conditions.append(Transfer.expires_at <= expired_before)
    won = await session.scalar(update(Transfer).where(*conditions).values(status=status, resolved_at=utcnow())
                               .returning(Transfer.id).execution_options(synchronize_session=False))
    if won is None:
        return None
    return await session.get(Transfer, transfer_id, populate_existing=True)


async def _visible(session: AsyncSession, viewer_id: int, transfer_id: int) -> Transfer:
    transfer = await session.get(Transfer, transfer_id)
    if transfer is None or viewer_id not in (transfer.sender_id, transfer.recipient_id):
        raise missing("transfer")
    return transfer


async def accept(session: AsyncSession, *, viewer_id: int, transfer_id: int) -> Transfer:
    """The recipient takes a chat transfer: from the sender's held balance into theirs."""
    transfer = await _resolve_pending(session, transfer_id, "succeeded", only_recipient=viewer_id)
    if transfer is None:
        await _refuse_resolved(session, viewer_id, transfer_id)
    assert transfer is not None
    await ledger.move(session, kind="chat_transfer.accept", memo=transfer.note, reference_id=transfer.id,
                      amount=transfer.amount,
                      source=await ledger.member_account(session, transfer.sender_id, transfer.currency, ledger.HELD),
                      target=await ledger.member_account(session, transfer.recipient_id, transfer.currency),
                      target_party=transfer.sender_id)
    await update_payment_card(session, message_id=transfer.message_id, changes={"status": transfer.status})
    return transfer


async def give_back(session: AsyncSession, transfer: Transfer, *, reason: str) -> None:
    """Return a resolved-as-returned chat transfer's money to the sender, and tell them."""
    await ledger.move(session, kind=f"chat_transfer.{reason}", memo=transfer.note, reference_id=transfer.id,
                      amount=transfer.amount,
                      source=await ledger.member_account(session, transfer.sender_id, transfer.currency, ledger.HELD),
                      target=await ledger.member_account(session, transfer.sender_id, transfer.currency),
                      target_party=transfer.recipient_id)
    await notify_payment(session, recipient_id=transfer.sender_id, actor_id=transfer.recipient_id,
                         kind="payment_returned", payment_id=transfer.id)
    await update_payment_card(session, message_id=transfer.message_id, changes={"status": transfer.status})


async def decline(session: AsyncSession, *, viewer_id: int, transfer_id: int) -> Transfer:
    transfer = await _resolve_pending(session, transfer_id, "returned", only_recipient=viewer_id)
    if transfer is None:
        await _refuse_resolved(session, viewer_id, transfer_id)
    assert transfer is not None
    await give_back(session, transfer, reason="decline")
    return transfer


async def expire_one(session: AsyncSession, transfer_id: int) -> Transfer | None:
    transfer = await _resolve_pending(session, transfer_id, "returned", expired_before=utcnow())
    if transfer is not None:
        await give_back(session, transfer, reason="expire")
    return transfer


async def due_to_expire(session: AsyncSession, *, limit: int = 100) -> list[int]:
    return list(await session.scalars(select(Transfer.id).where(
        Transfer.status == "pending", Transfer.expires_at <= utcnow()).order_by(Transfer.expires_at).limit(limit)))


async def _refuse_resolved(session: AsyncSession, viewer_id: int, transfer_id: int) -> None:
    transfer = await _visible(session, viewer_id, transfer_id)
    if transfer.recipient_id != viewer_id:
        raise wrong_state("Only the recipient can accept or decline a transfer", code="not_recipient")
    raise wrong_state(f"This transfer has already {'been returned' if transfer.status == 'returned' else 'settled'}",
                      code=f"transfer_already_{transfer.status}")


async def refund(session: AsyncSession, *, viewer_id: int, transfer_id: int, amount: int | None) -> Transfer:
    """The recipient sends a settled transfer back, whole (`amount` None) or in part, never more than once
    over: the refunded total is bounded in the same statement that raises it."""
    transfer = await _visible(session, viewer_id, transfer_id)
    if transfer.recipient_id != viewer_id:
        raise wrong_state("Only the recipient of a transfer can refund it", code="not_recipient")
    if transfer.status != "succeeded":
        raise wrong_state("Only a settled transfer can be refunded", code=f"transfer_{transfer.status}")
    remaining = transfer.amount - transfer.amount_refunded
    amount = remaining if amount is None else amount
    if amount <= 0 or amount > remaining:
        raise wrong_state("This transfer has already been refunded in full" if remaining == 0 else
                          "amount is more than is left to refund", code="charge_already_refunded"
                          if remaining == 0 else "refund_exceeds_transfer")
    won = await session.scalar(update(Transfer).where(
        Transfer.id == transfer.id, Transfer.amount_refunded + amount <= Transfer.amount)
        .values(amount_refunded=Transfer.amount_refunded + amount).returning(Transfer.id)
        .execution_options(synchronize_session=False))
    if won is None:  # a concurrent refund got there first
        raise wrong_state("amount is more than is left to refund", code="refund_exceeds_transfer")
    await ledger.move(session, kind="refund", memo=transfer.note, reference_id=transfer.id, amount=amount,
                      source=await ledger.member_account(session, transfer.recipient_id, transfer.currency),
                      target=await ledger.member_account(session, transfer.sender_id, transfer.currency),
                      source_party=transfer.sender_id, target_party=transfer.recipient_id)
    await notify_payment(session, recipient_id=transfer.sender_id, actor_id=viewer_id, kind="payment_returned",
                         payment_id=transfer.id)
    return await session.get(Transfer, transfer.id, populate_existing=True)  # type: ignore[return-value]


async def get(session: AsyncSession, *, viewer_id: int, transfer_id: int) -> Transfer:
    return await _visible(session, viewer_id, transfer_id)


@dataclass(frozen=True, slots=True)
class TransferFilter:
    kind: str | None = None
    status: str | None = None
    direction: str | None = None  # "in" | "out"
    counterparty_id: int | None = None
    currency: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def history(session: AsyncSession, *, viewer_id: int, page: PageParams, where: TransferFilter
                  ) -> Page[Transfer]:
    """The viewer's transfers, sent and received, newest first, filtered."""
    mine = {"in": Transfer.recipient_id == viewer_id, "out": Transfer.sender_id == viewer_id}
    query = select(Transfer).where(mine[where.direction] if where.direction
                                   else or_(mine["in"], mine["out"]))
    if where.kind:
        query = query.where(Transfer.kind == where.kind)
    if where.status:
        query = query.where(Transfer.status == where.status)
    if where.currency:
        query = query.where(Transfer.currency == where.currency)
    if where.counterparty_id is not None:
        other = where.counterparty_id
        query = query.where(or_((Transfer.sender_id == viewer_id) & (Transfer.recipient_id == other),
                                (Transfer.recipient_id == viewer_id) & (Transfer.sender_id == other)))
    if where.created_gte is not None:
        query = query.where(Transfer.created_at >= where.created_gte)
    if where.created_lt is not None:
        query = query.where(Transfer.created_at < where.created_lt)
    rows = page.finish(list(await session.scalars(page.apply(query, Transfer.id))))
    return Page.of(rows, [t.id for t in rows])

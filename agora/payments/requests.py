"""Payment requests and bill splits: one member asks others for money, and each payer pays, declines,
or the requester cancels or reminds.

A request moves no money until it is paid; paying it is an ordinary transfer (`kind="request"`) that
links back to it. Every state change is a conditional `UPDATE … WHERE status = 'open'`, so a request is
paid, declined or cancelled at most once however many requests race for it. A split is several requests,
one per payer, sharing a `split_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.kit.errors import AgoraError, TooManyRequests
from agora.kit.ids import new_id
from agora.kit.pagination import Page, PageParams
from agora.kit.time import utcnow
from agora.models import Account, PaymentRequest
from agora.payments import transfers
from agora.payments.errors import invalid, missing, wrong_state
from agora.payments.members import counterparty, notify_payment

STATUSES = ("open", "paid", "declined", "cancelled")
MAX_PAYERS = 50
# A payer hears of a request when it is made; a reminder may follow an hour after the last notice,
# so asking cannot become a stream of notifications.
REMIND_EVERY = timedelta(hours=1)


def equal_shares(total: int, count: int) -> list[int]:
    """`total` in `count` shares that sum to it exactly; the first `total % count` shares carry one more
    minor unit (1000 in 3 → 334, 333, 333), so the same request always splits the same way."""
    base, extra = divmod(total, count)
    return [base + 1 if i < extra else base for i in range(count)]


async def payers(session: AsyncSession, *, requester_id: int, named: list[Any]) -> list[Account]:
    """The members `named` (ids or accts), in order: each once, never the requester, none blocked."""
    found: list[Account] = []
    for index, name in enumerate(named):
        param = "from" if len(named) == 1 else f"from[{index}]"
        try:
            account = await counterparty(session, payer_id=requester_id, to=name, param=param)
        except AgoraError as error:
            if error.details.get("code") == "same_account":
                raise invalid("You cannot request money from yourself", param=param, code="same_account") from None
            raise
        if any(a.id == account.id for a in found):
            raise invalid(f"{param} names @{account.username} twice: ask each member once", param=param,
                          code="duplicate_payer")
        found.append(account)
    return found


async def create(session: AsyncSession, *, requester_id: int, asked: list[Account], amounts: list[int],
                 currency: str, note: str) -> list[PaymentRequest]:
    """One open request per payer (sharing a split id when there are several), each payer notified."""
    split_id = new_id() if len(asked) > 1 else None
    rows = [PaymentRequest(id=new_id(), requester_id=requester_id, payer_id=payer.id, amount=amount,
                           currency=currency, note=note, split_id=split_id, status="open", reminders=0)
            for payer, amount in zip(asked, amounts, strict=True)]
    session.add_all(rows)
    await session.flush()
    for row in rows:
        await notify_payment(session, recipient_id=row.payer_id, actor_id=requester_id, kind="payment_requested",
                             payment_id=row.id)
    return rows


async def _visible(session: AsyncSession, viewer_id: int, request_id: int) -> PaymentRequest:
    """The request, to its requester or payer only: to anyone else it does not exist."""
    found = await session.get(PaymentRequest, request_id, populate_existing=True)
    if found is None or viewer_id not in (found.requester_id, found.payer_id):
        raise missing("payment_request")
    return found


async def get(session: AsyncSession, *, viewer_id: int, request_id: int) -> PaymentRequest:
    return await _visible(session, viewer_id, request_id)


def _must_be(found: PaymentRequest, viewer_id: int, role: str) -> None:
    if role == "payer" and found.payer_id != viewer_id:
        raise wrong_state("Only the member asked can pay or decline a payment request", code="not_payer")
    if role == "requester" and found.requester_id != viewer_id:
        raise wrong_state("Only the member who asked can cancel or remind", code="not_requester")


def _already(found: PaymentRequest) -> AgoraError:
    return wrong_state(f"This payment request has already been {found.status}", code=f"request_already_{found.status}")


def check_payer(found: PaymentRequest, viewer_id: int) -> None:
    """For the route: refuse a non-payer before asking them for a PIN."""
    _must_be(found, viewer_id, "payer")


async def _resolve_open(session: AsyncSession, found: PaymentRequest, status: str) -> PaymentRequest:
    """Move an open request to `status`, once; 409 when it has already left `open`."""
    won = await session.scalar(update(PaymentRequest).where(
        PaymentRequest.id == found.id, PaymentRequest.status == "open")
        .values(status=status, resolved_at=utcnow()).returning(PaymentRequest.id)
        .execution_options(synchronize_session=False))
    fresh = await session.get_one(PaymentRequest, found.id, populate_existing=True)
    if won is None:
        raise _already(fresh)
    return fresh


async def pay(session: AsyncSession, settings: Settings, *, viewer_id: int, request_id: int) -> PaymentRequest:
    """The payer pays: a transfer to the requester, linked both ways. If the transfer is refused
    (balance, limits), the transaction rolls back and the request stays open."""
    found = await _visible(session, viewer_id, request_id)
    _must_be(found, viewer_id, "payer")
    if found.status != "open":
        raise _already(found)
    # Blocks (and gone members) are checked now, not only when the request was made.
    requester = await counterparty(session, payer_id=viewer_id, to=str(found.requester_id), param="id")
    paid = await _resolve_open(session, found, "paid")
    payer = await session.get_one(Account, viewer_id)
    transfer = await transfers.send(session, settings, sender=payer, recipient=requester, amount=paid.amount,
                                    currency=paid.currency, note=paid.note, kind="request", request_id=paid.id)
    await session.execute(update(PaymentRequest).where(PaymentRequest.id == paid.id).values(transfer_id=transfer.id)
                          .execution_options(synchronize_session=False))
    return await session.get_one(PaymentRequest, paid.id, populate_existing=True)


async def decline(session: AsyncSession, *, viewer_id: int, request_id: int) -> PaymentRequest:
    found = await _visible(session, viewer_id, request_id)
    _must_be(found, viewer_id, "payer")
    return await _resolve_open(session, found, "declined")


async def cancel(session: AsyncSession, *, viewer_id: int, request_id: int) -> PaymentRequest:
    found = await _visible(session, viewer_id, request_id)
    _must_be(found, viewer_id, "requester")
    return await _resolve_open(session, found, "cancelled")


async def remind(session: AsyncSession, *, viewer_id: int, request_id: int) -> PaymentRequest:
    """Notify the payer again: only while open, and an hour after the request or the last reminder.
    The hour is checked in the same statement that counts the reminder, so two at once send one."""
    found = await _visible(session, viewer_id, request_id)
    _must_be(found, viewer_id, "requester")
    now = utcnow()
    due = now - REMIND_EVERY
    won = await session.scalar(update(PaymentRequest).where(
        PaymentRequest.id == found.id, PaymentRequest.status == "open",
        or_(PaymentRequest.reminded_at <= due,
            PaymentRequest.reminded_at.is_(None) & (PaymentRequest.created_at <= due)))
        .values(reminders=PaymentRequest.reminders + 1, reminded_at=now).returning(PaymentRequest.id)
        .execution_options(synchronize_session=False))
    fresh = await session.get_one(PaymentRequest, found.id, populate_existing=True)
    if won is None:
        if fresh.status != "open":
            raise _already(fresh)
        last = fresh.reminded_at or fresh.created_at
        minutes = max(1, -(-int((last + REMIND_EVERY - now).total_seconds()) // 60))
        error = TooManyRequests(f"You can remind once an hour: try again in {minutes} minute"
                                f"{'' if minutes == 1 else 's'}")
        error.details.update({"code": "reminder_too_soon"})
        raise error
    await notify_payment(session, recipient_id=fresh.payer_id, actor_id=viewer_id, kind="payment_requested",
                         payment_id=fresh.id)
    return fresh


@dataclass(frozen=True, slots=True)
class RequestFilter:
    direction: str | None = None  # "in" (asked of me) | "out" (asked by me)
    status: str | None = None
    split_id: int | None = None


async def history(session: AsyncSession, *, viewer_id: int, page: PageParams, where: RequestFilter
                  ) -> Page[PaymentRequest]:
    """Requests made of the viewer and by them, newest first, filtered."""
    mine = {"in": PaymentRequest.payer_id == viewer_id, "out": PaymentRequest.requester_id == viewer_id}
    query = select(PaymentRequest).where(mine[where.direction] if where.direction else or_(mine["in"], mine["out"]))
    if where.status:
        query = query.where(PaymentRequest.status == where.status)
    if where.split_id is not None:
        query = query.where(PaymentRequest.split_id == where.split_id)
    rows = page.finish(list(await session.scalars(page.apply(query, PaymentRequest.id))))
    return Page.of(rows, [r.id for r in rows])

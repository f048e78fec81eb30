"""Holds: two-phase payments, as a card authorisation. Authorising moves the money from the payer's
available balance to their held one; later the hold is captured (in full or part, the rest going back
to the payer), voided, or — when nobody resolves it before `expires_at` — expired by the sweeper.

Every resolution is one conditional `UPDATE … WHERE status = 'authorised' RETURNING id`, so a hold
resolves at most once however many requests (or sweepers) race for it; the loser gets a 409 and moves
nothing. The ledger entry is written in the same transaction as the status change.

Who may do what:
- a *member hold* (payee is a member): the payee captures it — they are the one being paid, as a
  merchant captures a card authorisation; the payer or the payee may void it.
- a *revenue hold* (`to_revenue`, paying the operator, as for promoted posts): there is no payee
  member, so the payer's side captures it — the ads system calls `capture` with the payer as actor,
  acting for the operator. Such holds are made only by internal callers, never through the public API.
Anyone else gets 404, as if the hold did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from math import isfinite

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.kit.errors import AgoraError
from agora.kit.ids import new_id
from agora.kit.money import MoneyError, parse_amount, parse_currency
from agora.kit.pagination import Page, PageParams
from agora.kit.time import utcnow
from agora.models import Account, Hold, LedgerAccount
from agora.payments import guard, ledger
from agora.payments.errors import from_money_error, invalid, missing, not_allowed, wrong_state
from agora.payments.members import notify_payment
from agora.payments.transfers import checked_note

STATUSES = ("authorised", "captured", "voided", "expired")


def checked_ttl(settings: Settings, ttl_hours: float | None) -> float:
    """The hold's lifetime in hours: the default when None; refused (400) past the operator's maximum."""
    if ttl_hours is None:
        return settings.hold_ttl_hours
    if isinstance(ttl_hours, bool) or not isinstance(ttl_hours, int | float) or not isfinite(ttl_hours) \
            or ttl_hours <= 0:
        raise invalid("ttl_hours must be a positive number of hours", param="ttl_hours")
    if ttl_hours > settings.hold_max_ttl_hours:
        raise invalid(f"ttl_hours may be at most {settings.hold_max_ttl_hours:g}", param="ttl_hours")
    return float(ttl_hours)


async def authorise(session: AsyncSession, settings: Settings, *, payer: Account, amount: int, currency: str,
                    description: str = "", payee: Account | None = None, to_revenue: bool = False,
                    ttl_hours: float | None = None) -> Hold:
    """Promise `amount` from `payer` to `payee` (a member) or, with `to_revenue`, to the operator.

    402 if the payer's balance, the per-payment or the daily limit does not allow it; nothing is
    created then (the caller's transaction rolls back).
    """
    if (payee is None) == (not to_revenue):
        raise ValueError("a hold pays either a member (payee) or revenue (to_revenue), exactly one")
    if payee is not None and payee.id == payer.id:
        raise invalid("You cannot hold money for yourself", param="to", code="same_account")
    try:  # the API has checked these already; an internal caller gets the same clear refusal
        amount = parse_amount(amount)
        currency = parse_currency(currency, allowed=settings.currencies)
    except MoneyError as error:
        raise from_money_error(error) from None
    description = checked_note(description, param="description")
    expires_at = utcnow() + timedelta(hours=checked_ttl(settings, ttl_hours))
    guard.check_amount_limit(settings, amount, currency)
    payee_ledger = (await ledger.member_account(session, payee.id, currency) if payee is not None
                    else await ledger.system_account(session, ledger.REVENUE, currency))
    hold = Hold(id=new_id(), payer_id=payer.id, payee_id=payee.id if payee is not None else None,
                payee_ledger_id=payee_ledger.id, amount=amount, currency=currency, amount_captured=0,
                description=description, status="authorised", expires_at=expires_at)
    session.add(hold)
    source = await ledger.member_account(session, payer.id, currency)
    await ledger.move(session, kind="hold.authorise", memo=description, reference_id=hold.id, amount=amount,
                      source=source, target=await ledger.member_account(session, payer.id, currency, ledger.HELD),
                      source_party=hold.payee_id)
    await guard.check_daily_limit(session, settings, source)
    await session.flush([hold])
    return hold


async def _visible(session: AsyncSession, viewer_id: int, hold_id: int) -> Hold:
    hold = await session.get(Hold, hold_id, populate_existing=True)
    if hold is None or viewer_id not in (hold.payer_id, hold.payee_id):
        raise missing("hold")
    return hold


def may_capture(hold: Hold, actor_id: int) -> bool:
    """The payee captures a member hold; the payer's side (the ads system) captures a revenue hold."""
    return actor_id == (hold.payee_id if hold.payee_id is not None else hold.payer_id)


def _already(hold: Hold) -> AgoraError:
    verb = {"captured": "been captured", "voided": "been voided", "expired": "expired"}.get(hold.status, "expired")
    return wrong_state(f"This hold has already {verb}", code=f"hold_already_{hold.status}"
                       if hold.status != "authorised" else "hold_expired")


async def capture(session: AsyncSession, *, hold_id: int, actor_id: int, amount: int | None = None) -> Hold:
    """Take `amount` (None: all of it) of an authorised hold for its payee; the rest returns to the payer.

    404 if the actor is neither party; 403 if they are the wrong party; 409 if it is resolved or past its
    expiry; 400 if `amount` is more than was authorised.
    """
    hold = await _visible(session, actor_id, hold_id)
    if not may_capture(hold, actor_id):
        raise not_allowed("Only the payee can capture a hold" if hold.payee_id is not None
                          else "Only the operator can capture this hold", code="not_payee")
    amount = hold.amount if amount is None else amount
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise invalid("amount must be a positive whole number of minor units", param="amount",
                      code="amount_too_small")
    if amount > hold.amount:
        raise invalid("amount is more than was authorised", param="amount", code="amount_too_large")
    now = utcnow()
    won = await session.scalar(update(Hold).where(
        Hold.id == hold.id, Hold.status == "authorised", Hold.expires_at > now, Hold.amount >= amount)
        .values(status="captured", amount_captured=amount, resolved_at=now)
        .returning(Hold.id).execution_options(synchronize_session=False))
    if won is None:  # resolved (perhaps a moment ago, by a concurrent request) or expired
        raise _already(await _visible(session, actor_id, hold_id))
    held = await ledger.member_account(session, hold.payer_id, hold.currency, ledger.HELD)
    payee_ledger = await session.get_one(LedgerAccount, hold.payee_ledger_id)
    lines = [ledger.Line(held, -hold.amount, counterparty_id=hold.payee_id),
             ledger.Line(payee_ledger, amount, counterparty_id=hold.payer_id)]
    if amount < hold.amount:  # a partial capture: the rest is the payer's to spend again
        lines.append(ledger.Line(await ledger.member_account(session, hold.payer_id, hold.currency),
                                 hold.amount - amount))
    await ledger.post(session, kind="hold.capture", lines=lines, memo=hold.description, reference_id=hold.id)
    return await _visible(session, actor_id, hold_id)


async def _give_back(session: AsyncSession, hold: Hold, *, reason: str) -> None:
    """All of a voided or expired hold back to the payer's available balance."""
    await ledger.move(session, kind=f"hold.{reason}", memo=hold.description, reference_id=hold.id,
                      amount=hold.amount,
                      source=await ledger.member_account(session, hold.payer_id, hold.currency, ledger.HELD),
                      target=await ledger.member_account(session, hold.payer_id, hold.currency),
                      source_party=hold.payee_id, target_party=hold.payee_id)


async def void(session: AsyncSession, *, hold_id: int, actor_id: int) -> Hold:
    """Cancel an authorised hold: the payer or the payee may. 409 once it is resolved."""
    hold = await _visible(session, actor_id, hold_id)
    won = await session.scalar(update(Hold).where(Hold.id == hold.id, Hold.status == "authorised")
                               .values(status="voided", resolved_at=utcnow())
                               .returning(Hold.id).execution_options(synchronize_session=False))
    if won is None:
        raise _already(await _visible(session, actor_id, hold_id))
    hold = await _visible(session, actor_id, hold_id)
    await _give_back(session, hold, reason="void")
    if hold.payee_id is not None and actor_id == hold.payee_id:  # the payer did not do this: tell them
        await notify_payment(session, recipient_id=hold.payer_id, actor_id=actor_id, kind="payment_returned",
                             payment_id=hold.id)
    return hold


async def due_to_expire(session: AsyncSession, limit: int = 100) -> list[int]:
    """Authorised holds past their expiry, oldest first: for the sweeper to `expire_one` each."""
    return list(await session.scalars(select(Hold.id).where(
        Hold.status == "authorised", Hold.expires_at <= utcnow()).order_by(Hold.expires_at).limit(limit)))


async def expire_one(session: AsyncSession, hold_id: int) -> Hold | None:
    """Return an authorised hold past its expiry to the payer, once; None if it is not (any longer) due."""
    won = await session.scalar(update(Hold).where(
        Hold.id == hold_id, Hold.status == "authorised", Hold.expires_at <= utcnow())
        .values(status="expired", resolved_at=utcnow()).returning(Hold.id)
        .execution_options(synchronize_session=False))
    if won is None:
        return None
    hold = await session.get_one(Hold, hold_id, populate_existing=True)
    await _give_back(session, hold, reason="expire")
    if hold.payee_id is not None:
        await notify_payment(session, recipient_id=hold.payer_id, actor_id=hold.payee_id, kind="payment_returned",
                             payment_id=hold.id)
    return hold


async def get(session: AsyncSession, *, viewer_id: int, hold_id: int) -> Hold:
    return await _visible(session, viewer_id, hold_id)


@dataclass(frozen=True, slots=True)
class HoldFilter:
    status: str | None = None
    role: str | None = None  # "payer" | "payee"


async def history(session: AsyncSession, *, viewer_id: int, page: PageParams, where: HoldFilter) -> Page[Hold]:
    """The viewer's holds, as payer or payee, newest first."""
    mine = {"payer": Hold.payer_id == viewer_id, "payee": Hold.payee_id == viewer_id}
    query = select(Hold).where(mine[where.role] if where.role else or_(mine["payer"], mine["payee"]))
    if where.status:
        query = query.where(Hold.status == where.status)
    rows = page.finish(list(await session.scalars(page.apply(query, Hold.id))))
    return Page.of(rows, [h.id for h in rows])

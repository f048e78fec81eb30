"""What stands between a request and the money: limits per payment and per day, and the payment PIN.

The PIN is Argon2-hashed like a password and locks after repeated failures. A wrong PIN is counted
in its own committed transaction (`check_pin`), before the payment's: the payment rolls back when it
is refused, and the failure must not roll back with it, or guessing would cost nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.secrets import Passwords
from agora.config import Settings
from agora.kit.db import Database
from agora.kit.ids import first_id_at
from agora.kit.money import format_amount
from agora.kit.time import utcnow
from agora.models import LedgerAccount, PaymentPin, Posting
from agora.payments.errors import invalid, limit_exceeded, pin_locked, pin_refused

PIN_LENGTH = 6  # as WeChat Pay and Alipay: six digits
DAY = timedelta(hours=24)


def check_amount_limit(settings: Settings, amount: int, currency: str) -> None:
    if amount > settings.payments_max_transfer:
        most = format_amount(settings.payments_max_transfer, currency)
        raise limit_exceeded(f"A single payment may be at most {most}", code="amount_over_limit")


async def check_daily_limit(session: AsyncSession, settings: Settings, account: LedgerAccount) -> None:
    """After the payment's postings are applied: refuse it if the last 24 hours now pay out too much.

    Run after `ledger.post`, which holds the payer's balance row locked: a concurrent payment from the
    same member waits for this transaction, then sees its postings, so two cannot both slip under.
    """
    # Posting ids are snowflakes (time first), so "the last 24 hours" is an id range that the
    # (ledger_account_id, id) index answers without reading the account's older postings.
    since = first_id_at(utcnow() - DAY)
    spent = await session.scalar(select(func.coalesce(func.sum(-Posting.amount), 0)).where(
        Posting.ledger_account_id == account.id, Posting.id > since, Posting.amount < 0))
    if spent > settings.payments_daily_limit:
        raise limit_exceeded(f"This would take your payments in 24 hours past "
                             f"{format_amount(settings.payments_daily_limit, account.currency)}",
                             code="daily_limit_exceeded")


def _valid_pin(pin: object) -> str:
    if not isinstance(pin, str) or len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise invalid(f"pin must be {PIN_LENGTH} digits", param="pin")
    return pin


async def has_pin(session: AsyncSession, account_id: int) -> bool:
    return await session.get(PaymentPin, account_id) is not None


async def set_pin(session: AsyncSession, settings: Settings, *, account_id: int, pin: object,
                  current_pin: object = None) -> None:
    """Set the PIN; changing one needs the current PIN (checked with `check_pin` first by the caller)."""
    hashed = await asyncio.to_thread(Passwords.for_settings(settings).hash, _valid_pin(pin))
    found = await session.get(PaymentPin, account_id)
    if found is None:
        session.add(PaymentPin(account_id=account_id, pin_hash=hashed))
    else:
        found.pin_hash, found.failed_attempts, found.locked_until = hashed, 0, None
    await session.flush()


async def check_pin(db: Database, settings: Settings, *, account_id: int, pin: object, amount: int | None,
                    currency: str = "") -> None:
    """Refuse unless `pin` is right — when `amount` is above the threshold, or always when it is None."""
    if amount is not None and amount <= settings.payments_pin_threshold:
        return
    async with db.transaction() as session:
        stored = await session.get(PaymentPin, account_id, with_for_update=True)
        if stored is None:
            raise pin_refused(f"Payments above {format_amount(settings.payments_pin_threshold, currency or 'USD')}"
                              " need a payment PIN: set one first", code="pin_not_set")
        now = utcnow()
        if stored.locked_until is not None and stored.locked_until > now:
            raise pin_locked("Too many wrong PINs: try again later")
        if pin in (None, ""):
            raise pin_refused("This payment needs your payment PIN", code="pin_required")
        right = isinstance(pin, str) and await asyncio.to_thread(
            Passwords.for_settings(settings).verify, stored.pin_hash, pin)
        if right:
            stored.failed_attempts = 0
            return
        stored.failed_attempts += 1
        locked = stored.failed_attempts >= settings.payments_pin_attempts
        if locked:
            stored.failed_attempts = 0
            stored.locked_until = now + timedelta(minutes=settings.payments_pin_lockout_minutes)
    # Committed: the failure counts even though the payment is refused.
    if locked:
        raise pin_locked("Too many wrong PINs: your payment PIN is locked for "
                         f"{settings.payments_pin_lockout_minutes} minutes")
    raise pin_refused("The payment PIN is wrong", code="pin_incorrect")

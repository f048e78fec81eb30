"""Money in from and out to the outside world, through a `FundingProvider`.

Agora ships the sandbox provider, which plays a processor's test mode: every top-up and withdrawal
succeeds instantly and no real money exists behind it. The API and the wallet page say so
(`"livemode": false`). A real rail (a card processor, a bank) implements the same two calls.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.kit.money import format_amount
from agora.models import JournalEntry
from agora.payments import ledger
from agora.payments.errors import invalid, limit_exceeded


class FundingProvider(Protocol):
    name: str
    livemode: bool  # False: test money (Stripe's term)

    async def collect(self, *, account_id: int, amount: int, currency: str) -> str:
        """Take `amount` from the member's outside source; the provider's reference for it."""

    async def pay_out(self, *, account_id: int, amount: int, currency: str) -> str:
        """Send `amount` to the member's outside destination; the provider's reference for it."""


class SandboxProvider:
    name = "sandbox"
    livemode = False

    async def collect(self, *, account_id: int, amount: int, currency: str) -> str:
        return f"sandbox_in_{secrets.token_hex(8)}"

    async def pay_out(self, *, account_id: int, amount: int, currency: str) -> str:
        return f"sandbox_out_{secrets.token_hex(8)}"


PROVIDERS: dict[str, type] = {"sandbox": SandboxProvider}


def provider_for(settings: Settings) -> FundingProvider:
    try:
        return PROVIDERS[settings.funding_provider]()
    except KeyError:
        raise invalid(f"funding provider {settings.funding_provider!r} is not installed", param="provider") from None


async def top_up(session: AsyncSession, settings: Settings, *, account_id: int, amount: int, currency: str
                 ) -> JournalEntry:
    if amount > settings.payments_max_top_up:
        raise limit_exceeded(f"A top-up may be at most {format_amount(settings.payments_max_top_up, currency)}",
                             code="amount_over_limit")
    provider = provider_for(settings)
    reference = await provider.collect(account_id=account_id, amount=amount, currency=currency)
    return await ledger.move(session, kind="top_up", memo=f"{provider.name} {reference}",
                             source=await ledger.system_account(session, ledger.FUNDING, currency),
                             target=await ledger.member_account(session, account_id, currency), amount=amount)


async def withdraw(session: AsyncSession, settings: Settings, *, account_id: int, amount: int, currency: str
                   ) -> JournalEntry:
    # The ledger first: a withdrawal the balance cannot cover never reaches the provider.
    provider = provider_for(settings)
    entry = await ledger.move(session, kind="withdrawal", memo=provider.name,
                              source=await ledger.member_account(session, account_id, currency),
                              target=await ledger.system_account(session, ledger.FUNDING, currency), amount=amount)
    entry.memo = f"{provider.name} {await provider.pay_out(account_id=account_id, amount=amount, currency=currency)}"
    await session.flush([entry])
    return entry

"""Demo money: every demo member starts with sandbox dollars, and a few payments between friends give
the wallet a history to look at. All of it is test money from the sandbox provider."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.kit.time import clock_at
from agora.models import Account
from agora.payments import funding, transfers

STARTING_BALANCE = 50_000  # 500.00 in the default currency
NOTES = [("🍕", "pizza night"), ("☕", "coffee"), ("🎟️", "concert tickets"), ("🚕", "taxi home"),
         ("📚", "the book I borrowed"), ("🎂", "birthday gift"), ("🍜", "ramen"), ("🪴", "plant swap")]


async def load_wallets(session: AsyncSession, settings: Settings, *, by_name: dict[str, Account], now: datetime,
                       rng: random.Random, payments: int = 40) -> int:
    """Top every member up, then replay `payments` small transfers over the past two weeks; returns how
    many transfers were made."""
    members = sorted(by_name.values(), key=lambda a: a.username)
    currency = settings.default_currency
    with clock_at(now - timedelta(days=15)):
        for account in members:
            await funding.top_up(session, settings, account_id=account.id, amount=STARTING_BALANCE,
                                 currency=currency)
    made = 0
    for i in range(payments):
        sender, recipient = rng.sample(members, 2)
        emoji, note = rng.choice(NOTES)
        with clock_at(now - timedelta(days=14) + timedelta(hours=8 * i + rng.random())):
            await transfers.send(session, settings, sender=sender, recipient=recipient, currency=currency,
                                 amount=rng.randrange(300, 4_000, 25), note=note, emoji=emoji)
        made += 1
    return made

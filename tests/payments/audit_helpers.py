"""What the proof tests share: the ledger audit run on a database by URL, balances read back through the
API, and the money a set of transfers should have moved."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from agora.kit.db import Database
from agora.models import Transfer
from agora.payments.audit import AuditReport, audit

# Limits high enough that the proof tests hit them only where they mean to.
GENEROUS = dict(rate_limit_payments=1_000_000, payments_pin_threshold=10**12)


async def audit_db(db: Database) -> AuditReport:
    async with db.transaction(write=False) as session:
        return await audit(session)


async def audit_url(url: str) -> AuditReport:
    """The audit of the database at `url`, from a connection of its own (the server may be gone)."""
    db = Database(url)
    try:
        return await audit_db(db)
    finally:
        await db.dispose()


async def transfers_in(url: str) -> list[Transfer]:
    db = Database(url)
    try:
        async with db.transaction(write=False) as session:
            return list(await session.scalars(select(Transfer).order_by(Transfer.id)))
    finally:
        await db.dispose()


def wallet_amounts(body: dict[str, Any], currency: str = "usd") -> tuple[int, int]:
    """(available, held) in `currency` from a `/api/v1/wallet` body."""
    def pick(side: str) -> int:
        return next((b["amount"] for b in body[side] if b["currency"] == currency), 0)
    return pick("available"), pick("held")


def net_flows(moves: Iterable[tuple[str, str, int]]) -> Counter[str]:
    """Each member's net change from (sender id, recipient id, amount) moves."""
    net: Counter[str] = Counter()
    for sender, recipient, amount in moves:
        net[sender] -= amount
        net[recipient] += amount
    return net


def assert_stripe_error(body: dict[str, Any]) -> None:
    """A payments API error: `{"error": {"type", "code", "message", …}}` with text in each."""
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"type", "code", "message"} <= set(error), body
    assert all(isinstance(error[k], str) and error[k] for k in ("type", "code", "message")), body

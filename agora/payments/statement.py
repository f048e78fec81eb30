"""A member's balance transactions: every posting to their available balances, with the entry that made
it — the history behind the wallet, and the CSV statement a bank would give."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.money import decimal_string
from agora.kit.pagination import Page, PageParams
from agora.kit.time import iso
from agora.models import Account, JournalEntry, LedgerAccount, Posting
from agora.payments.ledger import AVAILABLE

STATEMENT_MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class StatementFilter:
    kind: str | None = None  # the entry kind: top_up, transfer, refund, chat_transfer …
    counterparty_id: int | None = None
    currency: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


def _query(owner_id: int, where: StatementFilter) -> Select:
    query = (select(Posting, JournalEntry).join(JournalEntry, JournalEntry.id == Posting.entry_id)
             .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
             .where(LedgerAccount.owner_id == owner_id, LedgerAccount.kind == AVAILABLE))
    if where.kind:
        query = query.where(JournalEntry.kind == where.kind)
    if where.counterparty_id is not None:
        query = query.where(Posting.counterparty_id == where.counterparty_id)
    if where.currency:
        query = query.where(Posting.currency == where.currency)
    if where.created_gte is not None:
        query = query.where(Posting.created_at >= where.created_gte)
    if where.created_lt is not None:
        query = query.where(Posting.created_at < where.created_lt)
    return query


async def transactions(session: AsyncSession, *, owner_id: int, page: PageParams, where: StatementFilter
                       ) -> Page[tuple[Posting, JournalEntry]]:
    rows = page.finish(list((await session.execute(page.apply(_query(owner_id, where), Posting.id))).tuples()))
    return Page.of(rows, [p.id for p, _ in rows])


async def statement_csv(session: AsyncSession, *, owner_id: int, where: StatementFilter) -> Iterator[str]:
    """Oldest first, as a bank statement reads; amounts as plain decimals beside their currency."""
    rows = (await session.execute(_query(owner_id, where).order_by(Posting.id).limit(STATEMENT_MAX_ROWS))).tuples()
    rows = list(rows)
    names = {a.id: a.username for a in await session.scalars(select(Account).where(
        Account.id.in_({p.counterparty_id for p, _ in rows if p.counterparty_id is not None})))}

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["date", "id", "type", "counterparty", "description", "amount", "currency", "balance"])
        for posting, entry in rows:
            writer.writerow([iso(posting.created_at), posting.id, entry.kind,
                             names.get(posting.counterparty_id, "") if posting.counterparty_id else "",
                             _safe_cell(entry.memo), decimal_string(posting.amount, posting.currency),
                             posting.currency, decimal_string(posting.balance_after, posting.currency)])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if not rows:
            yield buffer.getvalue()

    return lines()


def _safe_cell(text: str) -> str:
    """A note a spreadsheet would run as a formula (`=HYPERLINK(…)`) is quoted as text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

"""`agora payments audit`: proof, from the rows themselves, that the ledger holds together.

It checks that every journal entry sums to zero in each currency, that every cached balance equals the
sum of its postings (and the latest posting's running balance), that no member balance is negative,
that each member's held balance is exactly what their pending chat transfers, open red packets and
authorised holds still promise, and reports, per currency, how much member money there is beside
what came in and went out through funding.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.models import Hold, JournalEntry, LedgerAccount, Posting, RedPacket, Transfer
from agora.payments.ledger import FUNDING, HELD, REVENUE


@dataclass
class CurrencyTotals:
    member_available: int = 0
    member_held: int = 0
    funded: int = 0  # net money in through funding: top-ups less withdrawals
    revenue: int = 0

    @property
    def member_total(self) -> int:
        return self.member_available + self.member_held


@dataclass
class AuditReport:
    entries: int = 0
    postings: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)
    currencies: dict[str, CurrencyTotals] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


async def audit(session: AsyncSession) -> AuditReport:
    report = AuditReport()
    report.entries = await session.scalar(select(func.count()).select_from(JournalEntry)) or 0
    report.postings = await session.scalar(select(func.count()).select_from(Posting)) or 0
    report.accounts = await session.scalar(select(func.count()).select_from(LedgerAccount)) or 0

    unbalanced = (await session.execute(
        select(Posting.entry_id, Posting.currency, func.sum(Posting.amount))
        .group_by(Posting.entry_id, Posting.currency).having(func.sum(Posting.amount) != 0))).all()
    report.problems += [f"entry {e} does not balance in {c}: {s:+}" for e, c, s in unbalanced]
    lonely = (await session.execute(select(JournalEntry.id).outerjoin(Posting, Posting.entry_id == JournalEntry.id)
                                    .group_by(JournalEntry.id).having(func.count(Posting.id) < 2))).scalars().all()
    report.problems += [f"entry {e} has fewer than two postings" for e in lonely]

    sums = dict((await session.execute(select(Posting.ledger_account_id, func.sum(Posting.amount))
                                       .group_by(Posting.ledger_account_id))).tuples().all())
    latest = dict((await session.execute(
        select(Posting.ledger_account_id, Posting.balance_after).where(Posting.id.in_(
            select(func.max(Posting.id)).group_by(Posting.ledger_account_id))))).tuples().all())
    wrong_currency = (await session.execute(select(Posting.id).join(
        LedgerAccount, LedgerAccount.id == Posting.ledger_account_id).where(
        Posting.currency != LedgerAccount.currency))).scalars().all()
    report.problems += [f"posting {p} is not in its account's currency" for p in wrong_currency]

    held_promised = await _held_promised(session)
    for account in await session.scalars(select(LedgerAccount)):
        totals = report.currencies.setdefault(account.currency, CurrencyTotals())
        posted = sums.get(account.id, 0)
        if account.balance != posted:
            report.problems.append(f"account {account.key} balance {account.balance} != postings {posted}")
        if account.id in latest and latest[account.id] != account.balance:
            report.problems.append(f"account {account.key} running balance {latest[account.id]} != {account.balance}")
        if account.owner_id is not None and account.balance < 0:
            report.problems.append(f"member account {account.key} is negative: {account.balance}")
        if account.owner_id is None:
            if account.kind == FUNDING:
                totals.funded -= account.balance
            elif account.kind == REVENUE:
                totals.revenue += account.balance
        elif account.kind == HELD:
            totals.member_held += account.balance
            promised = held_promised.pop((account.owner_id, account.currency), 0)
            if promised != account.balance:
                report.problems.append(f"member {account.owner_id} holds {account.balance} {account.currency} but "
                                       f"their pending payments promise {promised}")
        else:
            totals.member_available += account.balance
    report.problems += [f"member {owner} has {amount} {currency} promised but no held balance"
                        for (owner, currency), amount in held_promised.items() if amount]
    for currency, totals in report.currencies.items():
        if totals.member_total != totals.funded - totals.revenue:
            report.problems.append(f"{currency}: members hold {totals.member_total} but funding brought in "
                                   f"{totals.funded} and revenue took {totals.revenue}")
    return report


async def _held_promised(session: AsyncSession) -> dict[tuple[int, str], int]:
    """What each member's held balance should be, from the objects that hold money."""
    promised: dict[tuple[int, str], int] = defaultdict(int)
    queries = (
        select(Transfer.sender_id, Transfer.currency, func.sum(Transfer.amount))
        .where(Transfer.status == "pending").group_by(Transfer.sender_id, Transfer.currency),
        select(RedPacket.sender_id, RedPacket.currency, func.sum(RedPacket.amount - RedPacket.amount_claimed))
        .where(RedPacket.status == "open").group_by(RedPacket.sender_id, RedPacket.currency),
        select(Hold.payer_id, Hold.currency, func.sum(Hold.amount - Hold.amount_captured))
        .where(Hold.status == "authorised").group_by(Hold.payer_id, Hold.currency),
    )
    for query in queries:
        for owner, currency, amount in (await session.execute(query)).tuples():
            promised[(owner, currency)] += amount or 0
    return promised

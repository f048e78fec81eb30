"""The double-entry ledger: every movement of money is one journal entry whose postings sum to zero.

`post()` is the only code that changes a balance. It applies each posting as a conditional
`UPDATE … SET balance = balance + :amount WHERE … balance + :amount >= 0`, so two concurrent
payments from one account cannot both spend the same cent (the database re-checks the condition
against the committed row under its row lock), and the rows are taken in ascending id order so two
entries touching the same accounts never wait on each other in a cycle.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from agora.kit.db import insert_once
from agora.kit.ids import new_id
from agora.models import JournalEntry, LedgerAccount, Posting
from agora.payments.errors import insufficient_funds

AVAILABLE = "available"  # what a member may spend
HELD = "held"  # a member's money promised but not gone: holds, chat transfers, red packets
FUNDING = "funding"  # the outside world: top-ups come from it, withdrawals go to it
REVENUE = "revenue"  # what the operator earns (captured holds for promoted posts)
MEMBER_KINDS = (AVAILABLE, HELD)
SYSTEM_KINDS = (FUNDING, REVENUE)


@dataclass(frozen=True, slots=True)
class Line:
    """One posting to be made: `amount` > 0 credits the account, < 0 debits it."""

    account: LedgerAccount
    amount: int
    counterparty_id: int | None = None


def account_key(owner_id: int | None, kind: str, currency: str) -> str:
    return f"{owner_id if owner_id is not None else 'system'}:{kind}:{currency}"


async def ledger_account(session: AsyncSession, *, owner_id: int | None, kind: str, currency: str) -> LedgerAccount:
    """The ledger account, made on first use (once, even when two requests race to make it)."""
    key = account_key(owner_id, kind, currency)
    found = await session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
    if found is None:
        await insert_once(session, LedgerAccount(key=key, owner_id=owner_id, kind=kind, currency=currency, balance=0))
        found = await session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
    assert found is not None
    return found


async def member_accounts(session: AsyncSession, owner_ids: list[int], currency: str, kind: str = AVAILABLE
                          ) -> list[LedgerAccount]:
    """Several members' accounts in one query (made where missing), in the order of `owner_ids`."""
    keys = [account_key(owner_id, kind, currency) for owner_id in owner_ids]
    found = {a.key: a for a in await session.scalars(select(LedgerAccount).where(LedgerAccount.key.in_(keys)))}
    return [found.get(key) or await member_account(session, owner_id, currency, kind)
            for key, owner_id in zip(keys, owner_ids, strict=True)]


async def member_account(session: AsyncSession, owner_id: int, currency: str, kind: str = AVAILABLE
                         ) -> LedgerAccount:
    return await ledger_account(session, owner_id=owner_id, kind=kind, currency=currency)


async def system_account(session: AsyncSession, kind: str, currency: str) -> LedgerAccount:
    return await ledger_account(session, owner_id=None, kind=kind, currency=currency)


def _check_balanced(lines: list[Line]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.amount == 0:
            raise ValueError("a posting of zero moves nothing")
        totals[line.account.currency] += line.amount
    unbalanced = {c: t for c, t in totals.items() if t}
    if unbalanced or len(lines) < 2:
        # A programming error, never a user's: refuse loudly rather than create or destroy money.
        raise ValueError(f"journal entry does not balance: {unbalanced or lines}")


async def post(session: AsyncSession, *, kind: str, lines: list[Line], memo: str = "",
               reference_id: int | None = None) -> JournalEntry:
    """Record one balanced movement and apply it to the balances, or refuse it whole.

    A member account that would go below zero makes it `insufficient_funds` (402); the caller's
    transaction then rolls back, taking any posting already applied with it.
    """
    _check_balanced(lines)
    entry = JournalEntry(id=new_id(), kind=kind, reference_id=reference_id, memo=memo)
    session.add(entry)
    # The entry's row before any balance: from the first UPDATE to the commit a hot account is locked,
    # so as few round trips as possible go in between (the postings refer to the entry anyway).
    await session.flush([entry])
    postings = []
    for line in sorted(lines, key=lambda line: line.account.id):
        account = line.account
        new_balance = await session.scalar(
            update(LedgerAccount)
            .where(LedgerAccount.id == account.id,
                   or_(LedgerAccount.owner_id.is_(None), LedgerAccount.balance + line.amount >= 0))
            .values(balance=LedgerAccount.balance + line.amount)
            .returning(LedgerAccount.balance)
            .execution_options(synchronize_session=False))
        if new_balance is None:
            raise insufficient_funds()
        set_committed_value(account, "balance", new_balance)
        postings.append(Posting(entry_id=entry.id, ledger_account_id=account.id, amount=line.amount,
                                currency=account.currency, balance_after=new_balance,
                                counterparty_id=line.counterparty_id))
    session.add_all(postings)
    await session.flush(postings)
    return entry


async def move(session: AsyncSession, *, kind: str, source: LedgerAccount, target: LedgerAccount, amount: int,
               memo: str = "", reference_id: int | None = None, source_party: int | None = None,
               target_party: int | None = None) -> JournalEntry:
    """The common two-line entry: `amount` from `source` to `target`."""
    return await post(session, kind=kind, memo=memo, reference_id=reference_id, lines=[
        Line(source, -amount, counterparty_id=source_party), Line(target, amount, counterparty_id=target_party)])


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    available: int
    held: int


async def balances(session: AsyncSession, owner_id: int) -> list[Balance]:
    """The member's money per currency they have ever held, in currency order."""
    rows = (await session.execute(select(LedgerAccount.currency, LedgerAccount.kind, LedgerAccount.balance).where(
        LedgerAccount.owner_id == owner_id))).all()
    found: dict[str, dict[str, int]] = defaultdict(lambda: {AVAILABLE: 0, HELD: 0})
    for currency, kind, balance in rows:
        found[currency][kind] = balance
    return [Balance(c, v[AVAILABLE], v[HELD]) for c, v in sorted(found.items())]


"""The ledger's invariants under any sequence of operations: a hypothesis state machine drives the real
API (top-ups, withdrawals, transfers, refunds, holds, replays with the same Idempotency-Key) against a
model of what every wallet should show, and after every step the wallets match the model and the
audit finds every journal entry balanced, no member balance negative, every balance equal to its
postings, and member money equal to what funding brought in less what it took out.

Payment requests join in: asked for, then paid (a transfer, refundable like any other) or declined.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import text

from agora.app import create_app
from agora.config import Settings
from tests.conftest import _truncate_postgres, make_settings
from tests.factories import Member, make_member
from tests.payments.audit_helpers import GENEROUS, assert_stripe_error, audit_db, wallet_amounts
from tests.payments.helpers import keyed, pay, send, top_up

CURRENCIES = ("usd", "eur")
# Small limits, so random amounts cross each of them: one payment, one top-up, a day's payments.
LIMITS = dict(payments_max_transfer=3_000, payments_max_top_up=10_000, payments_daily_limit=4_000)
NAMES = ("ann", "ben", "cat")
# Examples per backend: modest by default so `make test` stays quick; raise it for a deeper search, and
# set AGORA_PROOF_SHRINK=1 to have a failure shrunk to its shortest form (minutes, not seconds).
EXAMPLES = int(os.environ.get("AGORA_PROOF_EXAMPLES", "3"))
T = TypeVar("T")

members = st.integers(0, len(NAMES) - 1)
currencies = st.sampled_from(CURRENCIES) | st.just("usd")  # mostly usd: limits are per currency
pick = st.integers(0, 10**6)  # an index into a list that grows as the machine runs (taken modulo its length)
# Half everyday amounts that usually fit the balance, half that often cross a limit or the balance.
amounts = st.integers(1, 1_500) | st.integers(1, 7_000)
parts = st.none() | st.integers(1, 300) | st.integers(1, 7_000)  # None: all that is left
SEED = {"usd": 10_000, "eur": 4_000}  # what each member tops up before the first rule


@dataclass
class Sent:
    id: str
    sender: int
    recipient: int
    amount: int
    currency: str
    refunded: int = 0


@dataclass
class Held:
    id: str
    payer: int
    payee: int
    amount: int
    currency: str
    status: str = "authorised"


@dataclass
class Asked:
    id: str
    requester: int
    payer: int
    amount: int
    currency: str
    status: str = "open"


@dataclass(frozen=True)
class Call:
    """A request that succeeded, to be replayed with its key."""

    who: int
    path: str
    body: dict[str, Any]
    key: str
    response: dict[str, Any]


class WalletMachine(RuleBasedStateMachine):
    """One fresh database and app per example; `fresh_database` is set by the test that runs it."""

    fresh_database: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.settings: Settings = type(self).fresh_database()
        app = create_app(self.settings)
        self.runtime = app.state.runtime
        # Hypothesis drives the machine synchronously: the app and its client live on a loop of their own.
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.runtime.start())
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        self.members: list[Member] = [self.run(make_member(self.runtime, n)) for n in NAMES]
        self.available: dict[tuple[int, str], int] = defaultdict(int)
        self.held: dict[tuple[int, str], int] = defaultdict(int)
        self.spent: dict[tuple[int, str], int] = defaultdict(int)  # what left each available balance today
        self.funded: dict[str, int] = defaultdict(int)
        self.transfers: list[Sent] = []
        self.holds: list[Held] = []
        self.requests: list[Asked] = []
        self.calls: list[Call] = []
        self.seeding = True  # the seed top-ups are not worth replaying: the rules' own requests are
        for who in range(len(NAMES)):
            for currency, amount in SEED.items():
                self.top_up(who, amount, currency)
        self.seeding = False

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.run(self.http.aclose())
        self.run(self.runtime.stop())
        self.loop.close()

    # --- talking to the API ---------------------------------------------------------------------

    def post(self, who: int, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key = uuid.uuid4().hex
        response = self.run(self.http.post(path, headers=keyed(self.members[who], key), json=body))
        assert response.status_code < 500, response.text
        answer = response.json()
        if response.status_code != 200:
            assert_stripe_error(answer)
        elif not self.seeding:
            self.calls.append(Call(who, path, body, key, answer))
        return response.status_code, answer

    def expect(self, status: int, answer: dict[str, Any], want: int, code: str | None = None) -> None:
        assert status == want, (status, want, answer)
        if code is not None:
            assert answer["error"]["code"] == code, answer

    def payment_refusal(self, payer: int, amount: int, currency: str, *, limited: bool = True
                        ) -> tuple[int, str | None]:
        """The model's answer to a payment, in the order the service checks: the per-payment limit,
        the balance, then the day's total."""
        if limited and amount > LIMITS["payments_max_transfer"]:
            return 402, "amount_over_limit"
        if amount > self.available[payer, currency]:
            return 402, "insufficient_funds"
        if limited and self.spent[payer, currency] + amount > LIMITS["payments_daily_limit"]:
            return 402, "daily_limit_exceeded"
        return 200, None

    def debit(self, who: int, currency: str, amount: int) -> None:
        self.available[who, currency] -= amount
        self.spent[who, currency] += amount

    # --- rules ----------------------------------------------------------------------------------

    @rule(who=members, amount=st.integers(1, 12_000), currency=currencies)
    def top_up(self, who: int, amount: int, currency: str) -> None:
        status, answer = self.post(who, "/api/v1/wallet/top_up", {"amount": amount, "currency": currency})
        if amount > LIMITS["payments_max_top_up"]:
            return self.expect(status, answer, 402, "amount_over_limit")
        self.expect(status, answer, 200)
        self.available[who, currency] += amount
        self.funded[currency] += amount
        assert wallet_amounts(answer, currency) == (self.available[who, currency], self.held[who, currency])

    @rule(who=members, amount=amounts, currency=currencies)
    def withdraw(self, who: int, amount: int, currency: str) -> None:
        status, answer = self.post(who, "/api/v1/wallet/withdraw", {"amount": amount, "currency": currency})
        want, code = self.payment_refusal(who, amount, currency, limited=False)
        self.expect(status, answer, want, code)
        if want == 200:
            self.debit(who, currency, amount)
            self.funded[currency] -= amount

    @rule(sender=members, shift=st.integers(1, len(NAMES) - 1), amount=amounts, currency=currencies)
    def send(self, sender: int, shift: int, amount: int, currency: str) -> None:
        recipient = (sender + shift) % len(NAMES)
        status, answer = self.post(sender, "/api/v1/transfers", {
            "to": self.members[recipient].id, "amount": amount, "currency": currency, "note": "for 🍕"})
        want, code = self.payment_refusal(sender, amount, currency)
        self.expect(status, answer, want, code)
        if want != 200:
            return
        assert (answer["status"], answer["amount"], answer["currency"]) == ("succeeded", amount, currency)
        self.debit(sender, currency, amount)
        self.available[recipient, currency] += amount
        self.transfers.append(Sent(answer["id"], sender, recipient, amount, currency))

    @precondition(lambda self: self.transfers)
    @rule(index=pick, part=parts, by_sender=st.booleans())
    def refund(self, index: int, part: int | None, by_sender: bool) -> None:
        """The recipient returns all that is left of a transfer, or part of it; the sender cannot."""
        sent = self.transfers[index % len(self.transfers)]
        if by_sender:
            status, answer = self.post(sent.sender, f"/api/v1/transfers/{sent.id}/refund", {})
            return self.expect(status, answer, 409, "not_recipient")
        status, answer = self.post(sent.recipient, f"/api/v1/transfers/{sent.id}/refund",
                                   {} if part is None else {"amount": part})
        remaining = sent.amount - sent.refunded
        amount = remaining if part is None else part
        if remaining == 0:
            return self.expect(status, answer, 409, "charge_already_refunded")
        if amount > remaining:
            return self.expect(status, answer, 409, "refund_exceeds_transfer")
        if amount > self.available[sent.recipient, sent.currency]:
            return self.expect(status, answer, 402, "insufficient_funds")
        self.expect(status, answer, 200)
        assert answer["amount_refunded"] == sent.refunded + amount
        sent.refunded += amount
        self.debit(sent.recipient, sent.currency, amount)
        self.available[sent.sender, sent.currency] += amount

    @rule(payer=members, shift=st.integers(1, len(NAMES) - 1), amount=amounts, currency=currencies)
    def authorise_hold(self, payer: int, shift: int, amount: int, currency: str) -> None:
        payee = (payer + shift) % len(NAMES)
        status, answer = self.post(payer, "/api/v1/holds", {
            "to": self.members[payee].id, "amount": amount, "currency": currency, "description": "deposit"})
        want, code = self.payment_refusal(payer, amount, currency)
        self.expect(status, answer, want, code)
        if want != 200:
            return
        assert (answer["status"], answer["amount"]) == ("authorised", amount)
        self.debit(payer, currency, amount)
        self.held[payer, currency] += amount
        self.holds.append(Held(answer["id"], payer, payee, amount, currency))

    @precondition(lambda self: self.holds)
    @rule(index=pick, part=parts, by_payer=st.booleans())
    def capture_hold(self, index: int, part: int | None, by_payer: bool) -> None:
        """The payee takes all of a hold or part of it, the rest going back to the payer; the payer cannot."""
        hold = self.holds[index % len(self.holds)]
        if by_payer:
            status, answer = self.post(hold.payer, f"/api/v1/holds/{hold.id}/capture", {})
            return self.expect(status, answer, 403, "not_payee")
        status, answer = self.post(hold.payee, f"/api/v1/holds/{hold.id}/capture",
                                   {} if part is None else {"amount": part})
        taken = hold.amount if part is None else part
        if taken > hold.amount:
            return self.expect(status, answer, 400, "amount_too_large")
        if hold.status != "authorised":
            return self.expect(status, answer, 409, f"hold_already_{hold.status}")
        self.expect(status, answer, 200)
        assert (answer["status"], answer["amount_captured"]) == ("captured", taken)
        hold.status = "captured"
        self.held[hold.payer, hold.currency] -= hold.amount
        self.available[hold.payer, hold.currency] += hold.amount - taken
        self.available[hold.payee, hold.currency] += taken

    @precondition(lambda self: self.holds)
    @rule(index=pick, by_payee=st.booleans())
    def void_hold(self, index: int, by_payee: bool) -> None:
        hold = self.holds[index % len(self.holds)]
        status, answer = self.post(hold.payee if by_payee else hold.payer, f"/api/v1/holds/{hold.id}/void", {})
        if hold.status != "authorised":
            return self.expect(status, answer, 409, f"hold_already_{hold.status}")
        self.expect(status, answer, 200)
        hold.status = "voided"
        self.held[hold.payer, hold.currency] -= hold.amount
        self.available[hold.payer, hold.currency] += hold.amount

    @rule(requester=members, shift=st.integers(1, len(NAMES) - 1), amount=amounts, currency=currencies)
    def ask(self, requester: int, shift: int, amount: int, currency: str) -> None:
        payer = (requester + shift) % len(NAMES)
        status, answer = self.post(requester, "/api/v1/payment_requests", {
            "from": self.members[payer].id, "amount": amount, "currency": currency, "note": "tickets"})
        if amount > LIMITS["payments_max_transfer"]:  # one nobody could pay is refused at once
            return self.expect(status, answer, 400, "amount_over_limit")
        self.expect(status, answer, 200)
        [asked] = answer["data"]
        assert (asked["status"], asked["amount"]) == ("open", amount)
        self.requests.append(Asked(asked["id"], requester, payer, amount, currency))

    @precondition(lambda self: self.requests)
    @rule(index=pick, decline=st.booleans())
    def answer_request(self, index: int, decline: bool) -> None:
        """The payer pays a request (a transfer to the requester, under the same limits) or declines it."""
        asked = self.requests[index % len(self.requests)]
        status, answer = self.post(asked.payer, f"/api/v1/payment_requests/{asked.id}/"
                                   f"{'decline' if decline else 'pay'}", {})
        if asked.status != "open":
            return self.expect(status, answer, 409, f"request_already_{asked.status}")
        if decline:
            self.expect(status, answer, 200)
            asked.status = "declined"
            return
        want, code = self.payment_refusal(asked.payer, asked.amount, asked.currency)
        self.expect(status, answer, want, code)
        if want != 200:
            return
        assert answer["status"] == "paid" and answer["transfer"]
        asked.status = "paid"
        self.debit(asked.payer, asked.currency, asked.amount)
        self.available[asked.requester, asked.currency] += asked.amount
        self.transfers.append(Sent(answer["transfer"], asked.payer, asked.requester, asked.amount, asked.currency))

    @precondition(lambda self: self.calls)
    @rule(index=pick, change=st.booleans())
    def replay(self, index: int, change: bool) -> None:
        """The same key again: the first answer, word for word, and nothing moves (the invariant
        checks the wallets). With other parameters it is refused, and nothing moves either."""
        call = self.calls[index % len(self.calls)]
        body = {**call.body, "note": "something else"} if change else call.body
        response = self.run(self.http.post(call.path, headers=keyed(self.members[call.who], call.key), json=body))
        if change:
            assert response.status_code == 409, response.text
            assert response.json()["error"]["code"] == "idempotency_key_in_use"
            return
        assert response.status_code == 200, response.text
        assert response.headers["Idempotent-Replayed"] == "true"
        assert response.json() == call.response

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def wallets_match_the_model(self) -> None:
        for index, member in enumerate(self.members):
            response = self.run(self.http.get("/api/v1/wallet", headers=member.headers))
            assert response.status_code == 200, response.text
            for currency in CURRENCIES:
                shown = wallet_amounts(response.json(), currency)
                assert shown == (self.available[index, currency], self.held[index, currency]), (member.username,
                                                                                               currency)

    @invariant()
    def ledger_audits_clean(self) -> None:
        report = self.run(audit_db(self.runtime.db))
        assert report.ok, report.problems
        for currency in CURRENCIES:
            totals = report.currencies.get(currency.upper())
            if totals is None:
                assert self.funded[currency] == 0
                continue
            assert totals.funded == self.funded[currency]
            assert totals.member_total == totals.funded - totals.revenue
            assert totals.member_held == sum(self.held[i, currency] for i in range(len(NAMES)))


def _fresh_database(backend: str, tmp_path: Path, sqlite_template: Path, postgres_ready: str | None):
    """A callable giving settings on an empty, migrated database: a copy of the template file, or the
    PostgreSQL test database truncated."""
    counter = iter(range(1_000_000))

    def fresh() -> Settings:
        n = next(counter)
        if backend == "postgres":
            assert postgres_ready is not None
            asyncio.run(_truncate_postgres(postgres_ready))
            url = postgres_ready
        else:
            target = tmp_path / f"example-{n}.db"
            shutil.copy(sqlite_template, target)
            url = f"sqlite+aiosqlite:///{target}"
        return make_settings(url, tmp_path / f"data-{n}", **{**GENEROUS, **LIMITS})

    return fresh


def test_ledger_invariants_hold_under_any_sequence(backend: str, tmp_path: Path, sqlite_template: Path,
                                                    postgres_ready: str | None) -> None:
    machine = type("Machine", (WalletMachine,), {
        "fresh_database": staticmethod(_fresh_database(backend, tmp_path, sqlite_template, postgres_ready))})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=25, deadline=None, database=None,
        phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if os.environ.get("AGORA_PROOF_SHRINK") else []),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


async def test_audit_catches_a_balance_changed_behind_the_ledgers_back(client, runtime, alice: Member,
                                                                      bob: Member) -> None:
    await top_up(client, alice, 1000)
    await send(client, alice, bob, 300)
    assert (await audit_db(runtime.db)).ok
    async with runtime.db.transaction() as session:
        await session.execute(text("UPDATE ledger_accounts SET balance = balance + 50 WHERE owner_id = :bob"),
                              {"bob": int(bob.id)})
    report = await audit_db(runtime.db)
    assert not report.ok
    assert any("balance 350 != postings 300" in p for p in report.problems), report.problems
    # Money made from nothing shows in the totals too: members hold more than funding brought in.
    assert any("members hold 1050" in p for p in report.problems), report.problems


async def test_audit_catches_an_unbalanced_entry(client, runtime, alice: Member, bob: Member) -> None:
    await top_up(client, alice, 1000)
    sent = await pay(client, alice, "/api/v1/transfers", to=bob.id, amount=200)
    async with runtime.db.transaction() as session:
        # A posting edited in place: the entry no longer sums to zero and bob's balance no longer matches.
        await session.execute(text(
            "UPDATE postings SET amount = amount + 1 WHERE amount > 0 AND entry_id IN "
            "(SELECT id FROM journal_entries WHERE reference_id = :ref)"), {"ref": int(sent["id"])})
    report = await audit_db(runtime.db)
    assert any("does not balance" in p for p in report.problems), report.problems
    assert any("!= postings 201" in p for p in report.problems), report.problems

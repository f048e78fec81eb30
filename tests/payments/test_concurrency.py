"""Many payments at once among a few members (hot accounts), in both directions at the same moment so
two transactions want the same rows in opposite orders: every request ends 200 or 402 (never a 500 or
a deadlock left to the client), no update is lost, no cent is spent twice, and the ledger audits clean
— on SQLite and on PostgreSQL, in-process and against a live server hammered from several threads."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from agora.kit.runtime import Runtime
from tests.conftest import LiveServer, app_client, make_settings
from tests.factories import Member, make_member
from tests.payments.audit_helpers import GENEROUS, audit_db, audit_url, net_flows, transfers_in, wallet_amounts
from tests.payments.helpers import keyed, top_up

START = 5_000  # each member's money before the storm


def storm_plan(members: list[Member], count: int, seed: int) -> list[tuple[Member, Member, int]]:
    """`count` payments among `members`, every one matched by one the other way round, with amounts
    large enough that some overdraw their sender once the storm has drained them, and a few that
    ask for more money than all of them have."""
    rng = random.Random(seed)
    plan = [(members[i], members[i - 1], START * len(members) + 1) for i in range(len(members))]
    for _ in range(count // 2):
        a, b = rng.sample(members, 2)
        plan += [(a, b, rng.randint(1, 2_000)), (b, a, rng.randint(1, 2_000))]
    rng.shuffle(plan)
    return plan


def check_storm(members: list[Member], plan: list[tuple[Member, Member, int]],
                answers: list[tuple[int, dict[str, Any]]], wallets: dict[str, dict[str, Any]]) -> list[str]:
    """Each answer a 200 or an `insufficient_funds` 402; each wallet is its start plus what the 200s
    brought in less what they sent out. The ids of the transfers the 200s made."""
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {200, 402}, statuses
    assert statuses[200] > len(plan) // 4, statuses  # the storm moved money, not only refused it
    made = []
    moves = []
    for (sender, recipient, amount), (status, body) in zip(plan, answers, strict=True):
        if status == 402:
            assert body["error"]["code"] == "insufficient_funds", body
            continue
        assert (body["amount"], body["sender"]["id"], body["recipient"]["id"]) == (amount, sender.id, recipient.id)
        made.append(body["id"])
        moves.append((sender.id, recipient.id, amount))
    net = net_flows(moves)
    shown = {m.id: wallet_amounts(wallets[m.id]) for m in members}
    assert shown == {m.id: (START + net[m.id], 0) for m in members}
    assert sum(available for available, _ in shown.values()) == START * len(members)  # no money made or lost
    assert len(set(made)) == len(made)
    return made


async def _members(runtime: Runtime, http: httpx.AsyncClient | None = None, count: int = 4) -> list[Member]:
    members = [await make_member(runtime, f"hot{i}") for i in range(count)]
    if http is not None:
        for member in members:
            await top_up(http, member, START)
    return members


async def test_transfer_storm_in_process(backend: str, database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "data", **GENEROUS)
    async with app_client(settings) as (http, runtime):
        members = await _members(runtime, http)
        plan = storm_plan(members, 60, seed=1)

        async def pay(sender: Member, recipient: Member, amount: int) -> tuple[int, dict[str, Any]]:
            response = await http.post("/api/v1/transfers", headers=keyed(sender),
                                       json={"to": recipient.id, "amount": amount})
            return response.status_code, response.json()

        answers = await asyncio.gather(*(pay(*step) for step in plan))
        wallets = {m.id: (await http.get("/api/v1/wallet", headers=m.headers)).json() for m in members}
        made = check_storm(members, plan, answers, wallets)
        stored = [t for t in await transfers_in(settings.resolved_database_url) if t.kind == "direct"]
        assert sorted(str(t.id) for t in stored) == sorted(made)  # and no transfer that was refused
        report = await audit_db(runtime.db)
        assert report.ok, report.problems


async def test_one_balance_cannot_be_spent_twice(backend: str, database_url: str, tmp_path: Path) -> None:
    """Twenty payments of 100 at once from a balance of 1,000: exactly ten go through."""
    settings = make_settings(database_url, tmp_path / "data", **GENEROUS)
    async with app_client(settings) as (http, runtime):
        payer, *payees = await _members(runtime, count=4)
        await top_up(http, payer, 1_000)
        responses = await asyncio.gather(*(
            http.post("/api/v1/transfers", headers=keyed(payer), json={"to": payees[i % 3].id, "amount": 100})
            for i in range(20)))
        assert sorted(r.status_code for r in responses) == [200] * 10 + [402] * 10
        received = [wallet_amounts((await http.get("/api/v1/wallet", headers=p.headers)).json())[0] for p in payees]
        assert sum(received) == 1_000
        assert wallet_amounts((await http.get("/api/v1/wallet", headers=payer.headers)).json()) == (0, 0)
        assert (await audit_db(runtime.db)).ok


async def test_transfer_storm_against_a_live_server(backend: str, database_url: str, tmp_path: Path) -> None:
    """Real sockets, eight client threads: the server's transactions truly overlap in the database."""
    with LiveServer(lambda url: make_settings(database_url, tmp_path / "live", base_url=url, **GENEROUS)) as server:
        runtime = Runtime.create(server.settings)
        try:
            members = await _members(runtime)
        finally:
            await runtime.db.dispose()
        plan = storm_plan(members, 32, seed=2)

        def call(step: tuple[Member, Member, int] | None, who: Member | None = None) -> tuple[int, dict[str, Any]]:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                if step is None:
                    assert who is not None
                    response = http.get("/api/v1/wallet", headers=who.headers)
                else:
                    sender, recipient, amount = step
                    response = http.post("/api/v1/transfers", headers=keyed(sender),
                                         json={"to": recipient.id, "amount": amount})
                return response.status_code, response.json()

        def fund(member: Member) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                response = http.post("/api/v1/wallet/top_up", headers=keyed(member, uuid.uuid4().hex),
                                     json={"amount": START})
                assert response.status_code == 200, response.text

        def storm() -> tuple[list[tuple[int, dict[str, Any]]], dict[str, dict[str, Any]]]:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(fund, members))
                answers = list(pool.map(call, plan))
                wallets = {m.id: call(None, m)[1] for m in members}
            return answers, wallets

        answers, wallets = await asyncio.to_thread(storm)
    made = check_storm(members, plan, answers, wallets)
    stored = [t for t in await transfers_in(server.settings.resolved_database_url) if t.kind == "direct"]
    assert sorted(str(t.id) for t in stored) == sorted(made)
    report = await audit_url(server.settings.resolved_database_url)
    assert report.ok, report.problems

"""Crash safety: the server is killed with SIGKILL in the middle of a storm of transfers and started
again on the same database. Every transfer it acknowledged is there exactly once; every request,
acknowledged or not, retried with its Idempotency-Key ends as exactly one transfer (the first answer
replayed, or the payment made now if it never committed); nothing else moved; the ledger audits clean.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agora.config import Settings
from agora.kit.runtime import Runtime
from tests.conftest import free_port, make_settings
from tests.factories import Member, make_member
from tests.payments.audit_helpers import GENEROUS, audit_url, net_flows, transfers_in, wallet_amounts

START = 100_000
STORM = 40  # transfers fired at the server
KILL_AFTER = 10  # acknowledgements received before the kill
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Attempt:
    sender: Member
    recipient: Member
    amount: int
    key: str
    answer: dict[str, Any] | None = None  # the acknowledged response body, if one arrived


class ServerProcess:
    """`uvicorn agora.app:create_app --factory` in a process of its own, configured through the
    environment as an operator would, so that it can be killed outright."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **{f"AGORA_{name.upper()}": str(value) for name, value in _environment(settings).items()},
               "AGORA_BASE_URL": self.url}
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "agora.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _environment(settings: Settings) -> dict[str, Any]:
    names = ("database_url", "data_dir", "log_level", "log_json", "argon2_time_cost", "argon2_memory_kib",
             "rate_limit_requests", "rate_limit_ip_requests", "rate_limit_payments", "payments_pin_threshold")
    return {name: getattr(settings, name) for name in names}


async def _seed(settings: Settings, count: int) -> list[Member]:
    runtime = Runtime.create(settings)
    try:
        return [await make_member(runtime, f"crash{i}") for i in range(count)]
    finally:
        await runtime.db.dispose()


def _post(http: httpx.Client, attempt: Attempt) -> httpx.Response:
    return http.post("/api/v1/transfers", headers={**attempt.sender.headers, "Idempotency-Key": attempt.key},
                     json={"to": attempt.recipient.id, "amount": attempt.amount, "note": f"storm {attempt.key[:6]}"})


def _storm(server: ServerProcess, attempts: list[Attempt]) -> None:
    """Fire every attempt from six threads; SIGKILL the server once KILL_AFTER have been acknowledged."""
    acknowledged = threading.Semaphore(0)

    def fire(attempt: Attempt) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                response = _post(http, attempt)
        except httpx.TransportError:
            return  # the server died under it: no acknowledgement
        assert response.status_code == 200, response.text
        attempt.answer = response.json()
        acknowledged.release()

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(fire, a) for a in attempts]
        for _ in range(KILL_AFTER):
            assert acknowledged.acquire(timeout=60), "the storm stalled before the kill"
        server.kill()
        for future in futures:
            future.result()


def test_sigkill_mid_storm_loses_and_repeats_nothing(backend: str, database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "data", **GENEROUS)
    members = asyncio.run(_seed(settings, 4))
    log = tmp_path / "server.log"
    server = ServerProcess(settings, log)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for member in members:
                response = http.post("/api/v1/wallet/top_up", json={"amount": START},
                                     headers={**member.headers, "Idempotency-Key": uuid.uuid4().hex})
                assert response.status_code == 200, response.text
        # Every member pays every other, in both directions at once, amounts from 1 to 500.
        attempts = [Attempt(members[i % 4], members[(i % 4 + 1 + (i // 4) % 3) % 4], 1 + (i * 37) % 500,
                            uuid.uuid4().hex) for i in range(STORM)]
        _storm(server, attempts)
    finally:
        server.stop()
    acknowledged = [a for a in attempts if a.answer is not None]
    assert KILL_AFTER <= len(acknowledged) < STORM, len(acknowledged)

    server = ServerProcess(settings, log)  # the same database, after the crash
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for attempt in acknowledged:  # each acknowledged transfer is there, as it was acknowledged
                assert attempt.answer is not None
                found = http.get(f"/api/v1/transfers/{attempt.answer['id']}", headers=attempt.sender.headers)
                assert found.status_code == 200, found.text
                assert {k: found.json()[k] for k in ("amount", "status", "note")} == {
                    k: attempt.answer[k] for k in ("amount", "status", "note")}
            outcomes: Counter[str] = Counter()
            final: dict[str, dict[str, Any]] = {}
            for attempt in attempts:  # every request again, with its own key
                response = _post(http, attempt)
                assert response.status_code == 200, response.text
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                if attempt.answer is not None:
                    assert replayed and response.json() == attempt.answer
                    outcomes["acknowledged"] += 1
                else:
                    outcomes["committed unacknowledged" if replayed else "made on retry"] += 1
                final[attempt.key] = response.json()
                assert final[attempt.key]["amount"] == attempt.amount
            # Twice more is still once.
            again = _post(http, attempts[-1])
            assert again.json() == final[attempts[-1].key] and again.headers["Idempotent-Replayed"] == "true"
            expected = net_flows((a.sender.id, a.recipient.id, a.amount) for a in attempts)
            for member in members:  # each wallet moved by exactly its transfers, once each
                wallet = http.get("/api/v1/wallet", headers=member.headers).json()
                assert wallet_amounts(wallet) == (START + expected[member.id], 0), member.username
    finally:
        server.stop()

    url = settings.resolved_database_url
    stored = [t for t in asyncio.run(transfers_in(url)) if t.kind == "direct"]
    # One transfer per key, and none without a key that asked for it.
    assert sorted(str(t.id) for t in stored) == sorted(body["id"] for body in final.values())
    assert len(stored) == STORM, outcomes
    assert outcomes["made on retry"] >= 1, outcomes  # the kill did leave requests undone
    moved = net_flows((str(t.sender_id), str(t.recipient_id), t.amount) for t in stored)
    assert moved == expected
    report = asyncio.run(audit_url(url))
    assert report.ok, report.problems
    totals = report.currencies["USD"]
    assert totals.funded == totals.member_total == START * len(members)  # nothing else came in or went out

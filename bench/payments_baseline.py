"""Payments benchmark, the baselines measured in the same run: pgbench's built-in TPC-B-like script on
the same PostgreSQL server, and a bare sqlite3 transfer loop on the same kind of SQLite file.

TPC-B-like is itself a bank transfer: per transaction UPDATE an account, SELECT its balance, UPDATE
its teller and its branch, INSERT a history row — five statements in one transaction, sent by a C
program over the same socket Agora's server uses. It is the most the database can do for a transfer
on this machine, so Agora's rate beside it says what the stack costs on top.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench import log
from bench.community import asyncpg_dsn
from bench.payments_load import Level

PGBENCH = shutil.which("pgbench")


# --- PostgreSQL: pgbench ------------------------------------------------------------------------


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url, "postgres"), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_args(url: str, database: str) -> tuple[list[str], dict[str, str]]:
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]
    return args, env


class Pgbench:
    """A private pgbench database (`pgbench -i -s scale`), dropped on exit; `run(C, seconds)` measures."""

    def __init__(self, url: str, scale: int) -> None:
        self.url = url
        self.database = f"pgbench_bench_{os.getpid()}"
        self.scale = scale
        self.version = ""
        self.workdir = Path(tempfile.mkdtemp(prefix="agora-pgbench-"))

    def __enter__(self) -> Pgbench:
        if PGBENCH is None:
            raise RuntimeError("pgbench is not installed (Debian: postgresql-contrib / postgresql-client)")
        self.version = subprocess.run([PGBENCH, "--version"], capture_output=True, text=True, check=True).stdout.strip()
        asyncio.run(_admin(self.url, f'CREATE DATABASE "{self.database}"'))
        args, env = _pg_args(self.url, self.database)
        started = time.perf_counter()
        done = subprocess.run([PGBENCH, *args, "-i", "-q", "-s", str(self.scale), self.database],
                              env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            self.__exit__()
            raise RuntimeError(f"pgbench -i failed:\n{done.stderr[-2000:]}")
        log(f"pgbench: initialised scale {self.scale} in {time.perf_counter() - started:.1f}s")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run(_admin(self.url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        shutil.rmtree(self.workdir, ignore_errors=True)

    def run(self, level: Level, seconds: float) -> None:
        """`pgbench -b tpcb-like -c C -j 2 -T seconds`, with a per-transaction log for percentiles."""
        clients = level.clients
        args, env = _pg_args(self.url, self.database)
        prefix = self.workdir / f"c{clients}"
        command = [PGBENCH, *args, "-b", "tpcb-like", "-c", str(clients), "-j", str(min(2, clients)),
                   "-T", str(max(1, round(seconds))), "-n", "-l", f"--log-prefix={prefix}", self.database]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=self.workdir)
        if done.returncode:
            level.statuses[f"pgbench exit {done.returncode}"] += 1
            log(f"pgbench failed:\n{done.stderr[-2000:]}")
            return
        found = re.search(r"tps = ([\d.]+) \((?:without|excluding)", done.stdout)
        duration = re.search(r"duration: (\d+) s", done.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
        level.reported_tps = float(found.group(1)) if found else None
        level.elapsed = float(duration.group(1)) if duration else seconds
        if failed and int(failed.group(1)):
            level.statuses["failed transactions"] += int(failed.group(1))
        for path in self.workdir.glob(f"{prefix.name}.*"):
            # Each line: client_id transaction_no latency_us script_no epoch_s epoch_us
            for line in path.read_text().splitlines():
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    level.latencies.append(int(fields[2]) / 1e6)
            path.unlink()


# --- SQLite: a bare transfer loop ---------------------------------------------------------------


def sqlite_loop(level: Level, path: Path, *, accounts: int, seconds: float, seed: int) -> None:
    """One process, one connection, the same PRAGMAs as Agora (WAL, synchronous=NORMAL): per transfer
    BEGIN IMMEDIATE; UPDATE payer; UPDATE payee; INSERT a journal row; COMMIT — what a transfer must
    write at the least, with nothing else around it."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)")
        conn.execute("CREATE TABLE journal (id INTEGER PRIMARY KEY, payer INTEGER NOT NULL, payee INTEGER NOT NULL,"
                     " amount INTEGER NOT NULL, created REAL NOT NULL)")
        conn.executemany("INSERT INTO accounts VALUES (?, ?)", [(i, 1_000_000) for i in range(accounts)])
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while (now := time.perf_counter()) < deadline:
            payer, payee = rng.sample(range(accounts), 2)
            amount = rng.randint(1, 100)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", (amount, payer))
            conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, payee))
            conn.execute("INSERT INTO journal (payer, payee, amount, created) VALUES (?, ?, ?, ?)",
                         (payer, payee, amount, time.time()))
            conn.execute("COMMIT")
            level.latencies.append(time.perf_counter() - now)
        level.elapsed = time.perf_counter() - started
        total = conn.execute("SELECT sum(balance) FROM accounts").fetchone()[0]
        if total != accounts * 1_000_000:
            level.statuses["money created or lost"] += 1
    finally:
        conn.close()

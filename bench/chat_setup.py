"""Chat benchmark, the system under test: databases, `agora serve` processes, members and groups.

Members and groups are made through the real services in this process (no HTTP, so no sign-up
limits and no Argon2 cost worth the name); the servers are `agora migrate` + `agora serve` in
subprocesses, configured through AGORA_* exactly as an operator would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from agora.accounts import oauth, service
from agora.accounts.secrets import Passwords
from agora.chat import conversations
from agora.config import Settings
from agora.kit.runtime import Runtime
from agora.models import Account
from bench import REPO, log
from bench.community import asyncpg_dsn
from bench.load import free_port
from bench.machine import OtherWork

AGORA = REPO / ".venv" / "bin" / "agora"


@dataclass(frozen=True)
class Member:
    index: int
    id: int
    token: str


@dataclass(frozen=True)
class Group:
    index: int
    id: str
    members: tuple[int, ...]  # member indexes; the first `senders` of them send
    senders: tuple[int, ...]


@dataclass(frozen=True)
class Deployment:
    key: str
    label: str
    database: str  # "SQLite" or "PostgreSQL"
    processes: int
    redis: bool


EMBEDDED = Deployment("embedded", "embedded: 1 process, SQLite, in-process bus", "SQLite", 1, False)
PG_ONE = Deployment("pg-1", "1 process, PostgreSQL, in-process bus", "PostgreSQL", 1, False)
REDIS_TWO = Deployment("redis-2", "2 processes, PostgreSQL, Redis bus", "PostgreSQL", 2, True)
DEPLOYMENTS = {d.key: d for d in (EMBEDDED, PG_ONE, REDIS_TWO)}


def server_env(database_url: str, data_dir: Path, base_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    env.update({"AGORA_DATABASE_URL": database_url, "AGORA_DATA_DIR": str(data_dir), "AGORA_BASE_URL": base_url,
                "AGORA_RATE_LIMIT_ENABLED": "false", "AGORA_LOG_LEVEL": "warning", "AGORA_LOG_JSON": "false"})
    if redis_url:
        env["AGORA_REDIS_URL"] = redis_url
    return env


def migrate(database_url: str, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(database_url, data_dir, "http://127.0.0.1", None)
    done = subprocess.run([str(AGORA), "migrate"], env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"agora migrate failed:\n{done.stdout}\n{done.stderr}")


class ServerProcess:
    """`agora serve` on a free port; stopped (terminate, then kill) on exit."""

    def __init__(self, name: str, database_url: str, data_dir: Path, redis_url: str | None) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / f"server-{name}.log"
        self.env = server_env(database_url, data_dir, self.url, redis_url)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> ServerProcess:
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen([str(AGORA), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                         env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        OtherWork.mine.add(self.proc.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited:\n{self.log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server {self.name} did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def log_errors(self) -> Counter[str]:
        """Each kind of error the server logged, counted: the log line, the exception, and where in
        agora/ it was raised (innermost frame first)."""
        found: Counter[str] = Counter()
        with contextlib.suppress(OSError):
            record: list[str] = []
            for line in [*self.log_path.read_text(errors="replace").splitlines(), "END"]:
                if line.startswith(("ERROR", "WARNING", "CRITICAL", "END")):
                    if record:
                        found[_summary(record)] += 1
                    record = [line] if line != "END" else []
                elif record:
                    record.append(line)
        return found


@dataclass
class Servers:
    """The processes of one deployment; `senders_at` is where senders connect, `url_for(i)` where
    member i's stream connects (with two processes, half the members of each group on each)."""

    processes: list[ServerProcess] = field(default_factory=list)

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.processes:
            proc.stop()

    @property
    def senders_at(self) -> str:
        return self.processes[0].url

    def url_for(self, position_in_group: int, group_size: int) -> str:
        if len(self.processes) == 1:
            return self.processes[0].url
        return self.processes[0 if position_in_group < (group_size + 1) // 2 else 1].url


def _summary(record: list[str]) -> str:
    frames = [m.group(1) + ":" + m.group(2) + " " + m.group(3) for line in record
              if (m := re.search(r'File ".*?/(agora/[^"]+)", line (\d+), in (\S+)', line))]
    exception = next((line for line in reversed(record) if line and not line[0].isspace()
                      and not line.startswith(("Traceback", "During handling", "The above"))), "")
    where = " ← ".join(reversed(frames[-5:]))
    text = record[0].strip() if exception == record[0] else f"{record[0].strip()} — {exception.strip()[:160]}"
    return f"{text} (at {where})" if where else text


# --- databases ----------------------------------------------------------------------------------


async def drop_postgres(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url, "postgres"), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


async def redis_ok(url: str) -> str | None:
    """The Redis server's version, or None when it cannot be reached."""
    import redis.asyncio as redis

    client = redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        return str((await client.info("server"))["redis_version"])
    except (redis.RedisError, OSError) as exc:
        log(f"Redis unreachable at {url}: {exc}")
        return None
    finally:
        await client.aclose()


# --- members and groups -------------------------------------------------------------------------


def seed_settings(database_url: str, data_dir: Path) -> Settings:
    """Cheap Argon2: nobody signs in with a password here, tokens are issued directly."""
    return Settings(database_url=database_url, data_dir=data_dir, rate_limit_enabled=False, log_level="warning",
                    log_json=False, argon2_time_cost=1, argon2_memory_kib=1024)


async def seed(database_url: str, data_dir: Path, *, members: int, group_size: int, senders: int,
               big: int) -> tuple[list[Member], list[Group], Group]:
    """`members` members with tokens, in groups of `group_size` (member i in group i // group_size);
    each group made by its first member, every other member has accepted it. Then one more group of
    the first `big` members (quiet during the loads: only the large-group baseline writes to it)."""
    settings = seed_settings(database_url, data_dir)
    runtime = Runtime.create(settings)
    await runtime.start()
    passwords = Passwords.for_settings(settings)
    made: list[Member] = []
    groups: list[Group] = []
    try:
        for start in range(0, members, 100):  # 100 members a transaction: seeding is not what we measure
            async with runtime.db.transaction() as session:
                for i in range(start, min(members, start + 100)):
                    account = await service.register(session, form=service.Registration(
                        f"chat{i}", f"chat{i}@bench.example", "correct horse battery"),
                        settings=settings, passwords=passwords, by_operator=True)
                    issued = await oauth.issue_token(session, app=None, account=account,
                                                     scopes=["read", "write", "follow"])
                    made.append(Member(i, account.id, issued.access_token))
        spans = [range(start, start + group_size) for start in range(0, members - group_size + 1, group_size)]
        for g, span in enumerate([*spans, range(big)]):
            indexes = tuple(span)
            async with runtime.db.transaction() as session:
                owner = await session.get(Account, made[indexes[0]].id)
                assert owner is not None
                group = await conversations.create_group(
                    session, creator=owner, name=f"bench group {g}", description="",
                    member_ids=[made[i].id for i in indexes[1:]], settings=settings)
                group_id = group.id
            async with runtime.db.transaction() as session:
                for i in indexes[1:]:
                    actor = await session.get(Account, made[i].id)
                    assert actor is not None
                    await conversations.accept(session, actor=actor, conversation_id=group_id)
            groups.append(Group(g, str(group_id), indexes, indexes[:senders]))
    finally:
        await runtime.stop()
    return made, groups[:-1], groups[-1]


def run_seed(database_url: str, data_dir: Path, *, members: int, group_size: int, senders: int,
             big: int) -> tuple[list[Member], list[Group], Group]:
    started = time.perf_counter()
    out = asyncio.run(seed(database_url, data_dir, members=members, group_size=group_size, senders=senders,
                           big=big))
    log(f"seeded {len(out[0])} members in {len(out[1])} groups of {group_size} and one of {big} in "
        f"{time.perf_counter() - started:.1f}s")
    return out

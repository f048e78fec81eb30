"""`agora search reindex` and `agora search embed`, as an operator runs them, on the configured database."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import func, select, text

from agora.kit.runtime import Runtime
from agora.models import StatusVector
from tests.factories import post


def agora(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGORA_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "agora.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


async def test_reindex_restores_a_lost_keyword_index_and_embed_fills_in_vectors(client, runtime: Runtime, alice, bob,
                                                                                database_url: str) -> None:
    made = await post(client, alice, "lighthouse keepers log the weather")
    async with runtime.db.transaction() as session:
        await session.execute(text("DELETE FROM status_fts" if runtime.db.is_sqlite else "DELETE FROM status_search"))

    async def found() -> list[str]:
        response = await client.get("/api/v2/search", params={"q": "lighthouse", "type": "statuses",
                                                              "mode": "lexical"}, headers=bob.headers)
        return [s["id"] for s in response.json()["statuses"]]

    assert await found() == []
    reindexed = agora(database_url, "search", "reindex")
    assert reindexed.returncode == 0, reindexed.stderr
    assert "reindexed 1 posts" in reindexed.stderr
    assert await found() == [made["id"]]

    embedded = agora(database_url, "search", "embed")
    assert embedded.returncode == 0, embedded.stderr
    assert "embedded 1 posts" in embedded.stderr
    async with runtime.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(StatusVector)) == 1
    again = agora(database_url, "search", "embed")
    assert "embedded 0 posts" in again.stderr  # nothing left to do

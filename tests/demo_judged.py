"""Hand-judged evaluations over the demo community (search relevance, assistant grounding) name the
posts a person judged relevant by their demo key; this maps the loaded posts back to those keys."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from agora.demo.loader import read_data
from agora.kit.db import Database
from agora.models import Account, Status


async def demo_keys(db: Database, judged: Iterable[tuple[str, frozenset[str]]]) -> dict[int, str]:
    """status id -> demo key, found by author and text; fails if a post judged for a question
    (`judged`: question, relevant keys) is missing from the loaded demo or is not public."""
    _, posts = read_data()
    by_text = {(p["author"], p["text"]): p["key"] for p in posts}
    async with db.transaction(write=False) as session:
        rows = (await session.execute(
            select(Status.id, Account.username_key, Status.text, Status.visibility)
            .join(Account, Account.id == Status.account_id).where(Status.reblog_of_id.is_(None)))).all()
    keys = {r.id: by_text[(r.username_key, r.text)] for r in rows if (r.username_key, r.text) in by_text}
    visibility = {keys[r.id]: r.visibility for r in rows if r.id in keys}
    for question, relevant in judged:
        for key in relevant:
            assert key in visibility, f"{question!r}: judged post {key} is not in the loaded demo"
            assert visibility[key] == "public", f"{question!r}: judged post {key} is {visibility[key]}, not public"
    return keys

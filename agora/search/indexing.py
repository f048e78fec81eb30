"""Keeping the keyword index in step with posts, inside the transaction that writes the post.

`keep_index` listens to the social package's in-transaction event (`social.events.on_status_written`:
every post created, edited or deleted), so a post is findable the moment its transaction commits and
gone the moment its deletion does — and if the write rolls back, so does the index change. Importing
`agora.search` subscribes it.

Where the index lives (see migration 0006): SQLite keeps an FTS5 table `status_fts` (rowid = status
id); PostgreSQL a table `status_search` holding a tsvector per post, with a GIN index. Both receive
tokens from `agora.search.tokenize`; on PostgreSQL we write the tsvector literal ourselves (lexemes
and positions) rather than call `to_tsvector`, so both databases split text the same way, Chinese
and Japanese included.

Boosts are not indexed (the post they wrap is). Existing posts from before migration 0006 are indexed
by `reindex_all`, which is idempotent and can run at any time (it is what an `agora search reindex`
command calls; a migration cannot, as it must not import application code).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agora.models import Status
from agora.search.tokenize import document_tokens
from agora.social.events import on_status_written


async def is_sqlite(session: AsyncSession) -> bool:
    return (await session.connection()).dialect.name == "sqlite"


def quote_lexeme(token: str) -> str:
    """A token as a quoted tsvector/tsquery lexeme (tokens hold no quotes, but be safe anyway)."""
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(tokens: list[str]) -> str:
    positions: dict[str, list[int]] = defaultdict(list)
    for position, token in enumerate(tokens, start=1):
        positions[token].append(position)
    # PostgreSQL keeps at most 256 positions per lexeme; more would only be dropped with a notice.
    return " ".join(f"{quote_lexeme(t)}:{','.join(map(str, p[:256]))}" for t, p in positions.items())


def status_document(status: Status) -> list[str]:
    """What of a post is searchable: its content warning and its text, as the author typed them."""
    return document_tokens(f"{status.spoiler_text}\n{status.text}")


async def index_status(session: AsyncSession, status: Status) -> None:
    """Index (or re-index, after an edit) one post; a boost has nothing of its own to index."""
    if status.reblog_of_id is not None:
        return
    await _write(session, status.id, status_document(status))


async def _write(session: AsyncSession, status_id: int, tokens: list[str]) -> None:
    await _write_many(session, [(status_id, tokens)])


async def _write_many(session: AsyncSession, documents: list[tuple[int, list[str]]]) -> None:
    """Replace the index rows of these posts: one executemany per statement, however many posts."""
    if not documents:
        return
    if await is_sqlite(session):
        await session.execute(text("DELETE FROM status_fts WHERE rowid = :id"), [{"id": i} for i, _ in documents])
        await session.execute(text("INSERT INTO status_fts (rowid, body) VALUES (:id, :body)"),
                              [{"id": i, "body": " ".join(tokens)} for i, tokens in documents])
        return
    await session.execute(
        text("INSERT INTO status_search (status_id, document) VALUES (:id, CAST(:doc AS tsvector)) "
             "ON CONFLICT (status_id) DO UPDATE SET document = excluded.document"),
        [{"id": i, "doc": tsvector_literal(tokens)} for i, tokens in documents],
    )


async def unindex_status(session: AsyncSession, status_id: int) -> None:
    """Remove a post from the index (on PostgreSQL the row also goes with the post by cascade)."""
    table, key = ("status_fts", "rowid") if await is_sqlite(session) else ("status_search", "status_id")
    await session.execute(text(f"DELETE FROM {table} WHERE {key} = :id"), {"id": status_id})


async def reindex_all(session: AsyncSession, *, batch: int = 1000) -> int:
    """(Re)index every post, oldest first, in batches; returns how many were indexed. Flushes only:
    the caller commits (one transaction, or call it per batch range from a CLI if that is too big)."""
    if await is_sqlite(session):  # rows of posts gone by a cascade (PostgreSQL's index cascades itself)
        await session.execute(text("DELETE FROM status_fts WHERE rowid NOT IN (SELECT id FROM statuses)"))
    count = 0
    after = 0
    while True:
        # Columns, not ORM objects: the session's identity map stays small over a million posts.
        rows = (await session.execute(
            select(Status.id, Status.spoiler_text, Status.text)
            .where(Status.id > after, Status.reblog_of_id.is_(None)).order_by(Status.id).limit(batch))).all()
        if not rows:
            return count
        await _write_many(session, [(status_id, document_tokens(f"{spoiler_text}\n{body}"))
                                    for status_id, spoiler_text, body in rows])
        count += len(rows)
        after = rows[-1][0]


async def keep_index(session: AsyncSession, event: str, status: Status) -> None:
    """The `on_status_written` listener: index a new or edited post, unindex a deleted one."""
    if event == "delete":
        await unindex_status(session, status.id)
    else:
        await index_status(session, status)


on_status_written(keep_index)

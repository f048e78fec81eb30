"""search (lexical): the keyword index of posts

SQLite: an FTS5 table `status_fts` (rowid = status id, one column `body`) ranked with bm25.
PostgreSQL: a table `status_search` (status_id → tsvector) with a GIN index, ranked with ts_rank_cd.

Both hold text that `agora.search.tokenize` has already split, case-folded and, for scripts written
without spaces (Chinese, Japanese, Thai …), cut into overlapping character bigrams plus single
characters. That is why the FTS5 tokenizer is `ascii` (it only splits on the spaces we put there) and
why PostgreSQL receives a ready tsvector rather than calling to_tsvector: one tokenizer, written once
in Python, gives the same matches on both databases.

Existing posts are not indexed here (a migration never imports app code, and the tokenizer lives
there): `agora.search.indexing.reindex_all(session)` fills the index; new, edited and deleted posts
keep it current in the same transaction as the write.

Revision ID: 0006_search_lexical
Revises: 0005
Create Date: 2026-12-04 18:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_search_lexical"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # rowid is the status id; `ascii` splits on ASCII spaces and punctuation only, so our own
        # tokens (letters, digits, marks, CJK bigrams) pass through whole.
        op.execute("CREATE VIRTUAL TABLE status_fts USING fts5(body, tokenize='ascii')")
        return
    op.create_table(
        "status_search",
        sa.Column("status_id", sa.BigInteger(), nullable=False),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        # Deleting a post (or its author) removes its index row with it.
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], name=op.f("fk_status_search_status_id_statuses"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("status_id", name=op.f("pk_status_search")),
    )
    op.create_index("ix_status_search_document", "status_search", ["document"], postgresql_using="gin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE status_fts")
        return
    op.drop_index("ix_status_search_document", table_name="status_search")
    op.drop_table("status_search")

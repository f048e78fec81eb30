"""search: sentence embeddings of posts (status_vectors)

The vectors the in-process ANN index is rebuilt from on start: float32 little-endian bytes, the
model that made them, and the status's edited_at when embedded (an edit since means re-embed).

Revision ID: 0007_search_vectors
Revises: 0006_search_lexical
Create Date: 2026-12-04 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_search_vectors'
down_revision = '0006_search_lexical'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('status_vectors',
    sa.Column('status_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('source_edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['status_id'], ['statuses.id'], name=op.f('fk_status_vectors_status_id_statuses'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('status_id', name=op.f('pk_status_vectors'))
    )


def downgrade() -> None:
    op.drop_table('status_vectors')

"""ai: the assistant as a member — which posts and chat messages it has answered

`assistant_replies` holds one row per post or chat message the @assistant account answered (or looked
at and left), unique by (source_kind, source_id): the claim that makes every answer happen exactly
once, however many server processes run the assistant's worker and however often they restart.
The @assistant account itself is made by the app at start-up (`ensure_assistant_account`), not here:
a migration imports no app code.

Revision ID: 0010_assistant_member
Revises: 0009_assistant_oversight
Create Date: 2026-12-05 08:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_assistant_member'
down_revision = '0009_assistant_oversight'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assistant_replies',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('source_kind', sa.String(length=10), nullable=False),
    sa.Column('source_id', sa.BigInteger(), nullable=False),
    sa.Column('reply_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assistant_replies')),
    sa.UniqueConstraint('source_kind', 'source_id', name=op.f('uq_assistant_replies_source_kind_source_id'))
    )


def downgrade() -> None:
    op.drop_table('assistant_replies')

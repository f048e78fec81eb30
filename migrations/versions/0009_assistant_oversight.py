"""ai: oversight of the assistant — members' choice about it reading their posts, and the audit log

`accounts.ai_reading`: may the assistant read (and so quote and cite) this member's posts in its
answers to anyone. True unless the member turns it off (server default true, so every existing
member keeps today's behaviour until they choose).

`ai_audit`: one row per answer the assistant (or a raw model under /v1) gave: who asked, where,
the question, the sources (cited and retrieved status ids), the model and its version, the mode,
whether it refused, the output and when. Operators browse and export it; nobody else reads it.

Revision ID: 0009_assistant_oversight
Revises: 0008_ai_training
Create Date: 2026-12-05 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_assistant_oversight'
down_revision = '0008_ai_training'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('ai_reading', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table('ai_audit',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('asker_id', sa.BigInteger(), nullable=True),
    sa.Column('surface', sa.String(length=20), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('model_version', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('refused', sa.Boolean(), nullable=False),
    sa.Column('output', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asker_id'], ['accounts.id'], name=op.f('fk_ai_audit_asker_id_accounts'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_audit'))
    )
    # The operators' page filters by asker ("what did the assistant tell this member?").
    op.create_index(op.f('ix_ai_audit_asker_id'), 'ai_audit', ['asker_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ai_audit_asker_id'), table_name='ai_audit')
    op.drop_table('ai_audit')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('ai_reading')

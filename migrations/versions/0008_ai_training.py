"""ai: a member's choice about the community model learning from their public posts

`accounts.ai_training` is NULL until the member chooses; NULL follows the operator's
`AGORA_AI_TRAINING_DEFAULT`, so changing the default moves everyone who never chose, and no one else.

Revision ID: 0008_ai_training
Revises: 0007_search_vectors
Create Date: 2026-12-05 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_ai_training'
down_revision = '0007_search_vectors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('ai_training', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('ai_training')

"""hidden accounts: a partial index of suspended and unapproved members

Every visibility check now excludes their posts; the index keeps that lookup to the few rows it
concerns.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# As SQLAlchemy renders `suspended OR NOT approved` on each database: SQLite uses a partial index only
# when the query repeats its condition to the letter.
HIDDEN_SQLITE = "suspended = 1 OR approved = 0"
HIDDEN_POSTGRESQL = "suspended OR NOT approved"


def upgrade() -> None:
    op.create_index('ix_accounts_hidden', 'accounts', ['id'], unique=False,
                    sqlite_where=sa.text(HIDDEN_SQLITE), postgresql_where=sa.text(HIDDEN_POSTGRESQL))


def downgrade() -> None:
    op.drop_index('ix_accounts_hidden', table_name='accounts')

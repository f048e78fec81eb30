"""web sessions: a token minted by the web app's sign-in is marked as one

Only such a token is accepted from the browser's session cookie, so an app's (possibly
narrow-scoped) access token cannot be replayed as a full web session.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('web_session', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.drop_column('web_session')

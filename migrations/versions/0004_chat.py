"""chat: conversations, members, messages, edits, reactions, and the event log with its sequence

The event log is what clients resume from: every row has a `seq` from the one-row `chat_sequence`.
Chat images are media attachments with `chat_message_id` set.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_sequence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_sequence'))
    )
    op.create_table('chat_conversations',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('direct_key', sa.String(length=50), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('avatar_path', sa.String(length=300), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_message_id', sa.BigInteger(), nullable=True),
    sa.Column('activity_id', sa.BigInteger(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['accounts.id'], name=op.f('fk_chat_conversations_created_by_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_conversations')),
    sa.UniqueConstraint('direct_key', name=op.f('uq_chat_conversations_direct_key'))
    )
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_conversations_activity_id'), ['activity_id'], unique=False)

    op.create_table('chat_events',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('conversation_id', sa.BigInteger(), nullable=False),
    sa.Column('recipient_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['chat_conversations.id'], name=op.f('fk_chat_events_conversation_id_chat_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_chat_events'))
    )
    with op.batch_alter_table('chat_events', schema=None) as batch_op:
        batch_op.create_index('ix_chat_events_conversation_id_seq', ['conversation_id', 'seq'], unique=False)
        batch_op.create_index('ix_chat_events_recipient_id_seq', ['recipient_id', 'seq'], unique=False)

    op.create_table('chat_members',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('conversation_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('since_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_read_id', sa.BigInteger(), nullable=False),
    sa.Column('muted', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_chat_members_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['chat_conversations.id'], name=op.f('fk_chat_members_conversation_id_chat_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_members')),
    sa.UniqueConstraint('conversation_id', 'account_id', name=op.f('uq_chat_members_conversation_id_account_id'))
    )
    with op.batch_alter_table('chat_members', schema=None) as batch_op:
        batch_op.create_index('ix_chat_members_account_id_state', ['account_id', 'state'], unique=False)

    op.create_table('chat_messages',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('conversation_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('action', sa.JSON(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('reply_to_id', sa.BigInteger(), nullable=True),
    sa.Column('forwarded', sa.Boolean(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pinned_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_chat_messages_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['chat_conversations.id'], name=op.f('fk_chat_messages_conversation_id_chat_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_messages')),
    sa.UniqueConstraint('account_id', 'client_id', name=op.f('uq_chat_messages_account_id_client_id'))
    )
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.create_index('ix_chat_messages_conversation_id_id', ['conversation_id', 'id'], unique=False)

    op.create_table('chat_message_edits',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['chat_messages.id'], name=op.f('fk_chat_message_edits_message_id_chat_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_message_edits'))
    )
    with op.batch_alter_table('chat_message_edits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_message_edits_message_id'), ['message_id'], unique=False)

    op.create_table('chat_reactions',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('emoji', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_chat_reactions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['chat_messages.id'], name=op.f('fk_chat_reactions_message_id_chat_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_reactions')),
    sa.UniqueConstraint('message_id', 'account_id', 'emoji', name=op.f('uq_chat_reactions_message_id_account_id_emoji'))
    )
    with op.batch_alter_table('chat_reactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_reactions_message_id'), ['message_id'], unique=False)

    with op.batch_alter_table('media_attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_message_id', sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_media_attachments_chat_message_id'), ['chat_message_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_media_attachments_chat_message_id_chat_messages'), 'chat_messages', ['chat_message_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('media_attachments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_media_attachments_chat_message_id_chat_messages'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_media_attachments_chat_message_id'))
        batch_op.drop_column('chat_message_id')

    with op.batch_alter_table('chat_reactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_reactions_message_id'))

    op.drop_table('chat_reactions')
    with op.batch_alter_table('chat_message_edits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_message_edits_message_id'))

    op.drop_table('chat_message_edits')
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_messages_conversation_id_id')

    op.drop_table('chat_messages')
    with op.batch_alter_table('chat_members', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_members_account_id_state')

    op.drop_table('chat_members')
    with op.batch_alter_table('chat_events', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_events_recipient_id_seq')
        batch_op.drop_index('ix_chat_events_conversation_id_seq')

    op.drop_table('chat_events')
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_conversations_activity_id'))

    op.drop_table('chat_conversations')
    op.drop_table('chat_sequence')

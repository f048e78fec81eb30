"""wallet: the double-entry ledger (accounts, journal entries, postings) and the payment objects

Transfers, payment requests, holds, red packets and their claims, and the payment PIN. Amounts are
BIGINT minor units; a CHECK on `ledger_accounts` refuses a negative member balance.
`idempotency_records.response` keeps the payments API's first answer for replays, and
`notifications.payment_id` points a payment notification at what it is about.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 14:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journal_entries',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('reference_id', sa.BigInteger(), nullable=True),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries'))
    )
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_entries_reference_id'), ['reference_id'], unique=False)

    op.create_table('ledger_accounts',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('owner_id IS NULL OR balance >= 0', name=op.f('ck_ledger_accounts_member_not_negative')),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts.id'], name=op.f('fk_ledger_accounts_owner_id_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('key', name=op.f('uq_ledger_accounts_key'))
    )
    op.create_table('payment_pins',
    sa.Column('account_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('pin_hash', sa.String(length=200), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_payment_pins_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_payment_pins'))
    )
    op.create_table('payment_requests',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('requester_id', sa.BigInteger(), nullable=False),
    sa.Column('payer_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('split_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('transfer_id', sa.BigInteger(), nullable=True),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_requests_positive')),
    sa.ForeignKeyConstraint(['payer_id'], ['accounts.id'], name=op.f('fk_payment_requests_payer_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requester_id'], ['accounts.id'], name=op.f('fk_payment_requests_requester_id_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_requests'))
    )
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.create_index('ix_payment_requests_payer', ['payer_id', 'id'], unique=False)
        batch_op.create_index('ix_payment_requests_requester', ['requester_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_requests_split_id'), ['split_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('sender_id', sa.BigInteger(), nullable=False),
    sa.Column('recipient_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_refunded', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('emoji', sa.String(length=32), nullable=False),
    sa.Column('request_id', sa.BigInteger(), nullable=True),
    sa.Column('conversation_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_transfers_positive')),
    sa.CheckConstraint('amount_refunded >= 0 AND amount_refunded <= amount', name=op.f('ck_transfers_refund_within')),
    sa.ForeignKeyConstraint(['recipient_id'], ['accounts.id'], name=op.f('fk_transfers_recipient_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sender_id'], ['accounts.id'], name=op.f('fk_transfers_sender_id_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers'))
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index('ix_transfers_pending', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_transfers_recipient', ['recipient_id', 'id'], unique=False)
        batch_op.create_index('ix_transfers_sender', ['sender_id', 'id'], unique=False)

    op.create_table('holds',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('payer_id', sa.BigInteger(), nullable=False),
    sa.Column('payee_id', sa.BigInteger(), nullable=True),
    sa.Column('payee_ledger_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_captured', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_holds_positive')),
    sa.CheckConstraint('amount_captured >= 0 AND amount_captured <= amount', name=op.f('ck_holds_capture_within')),
    sa.ForeignKeyConstraint(['payee_id'], ['accounts.id'], name=op.f('fk_holds_payee_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payee_ledger_id'], ['ledger_accounts.id'], name=op.f('fk_holds_payee_ledger_id_ledger_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payer_id'], ['accounts.id'], name=op.f('fk_holds_payer_id_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds'))
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index('ix_holds_authorised', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'authorised'"), sqlite_where=sa.text("status = 'authorised'"))
        batch_op.create_index('ix_holds_payer', ['payer_id', 'id'], unique=False)

    op.create_table('postings',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=False),
    sa.Column('ledger_account_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('counterparty_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_postings_not_zero')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_postings_entry_id_journal_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ledger_account_id'], ['ledger_accounts.id'], name=op.f('fk_postings_ledger_account_id_ledger_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings'))
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index('ix_postings_account_recent', ['ledger_account_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_postings_entry_id'), ['entry_id'], unique=False)

    op.create_table('red_packets',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('sender_id', sa.BigInteger(), nullable=False),
    sa.Column('conversation_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('amount_claimed', sa.BigInteger(), nullable=False),
    sa.Column('claimed_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount >= count AND count > 0', name=op.f('ck_red_packets_a_unit_each')),
    sa.CheckConstraint('amount_claimed >= 0 AND amount_claimed <= amount', name=op.f('ck_red_packets_claims_within')),
    sa.ForeignKeyConstraint(['conversation_id'], ['chat_conversations.id'], name=op.f('fk_red_packets_conversation_id_chat_conversations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sender_id'], ['accounts.id'], name=op.f('fk_red_packets_sender_id_accounts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_packets'))
    )
    with op.batch_alter_table('red_packets', schema=None) as batch_op:
        batch_op.create_index('ix_red_packets_open', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))

    op.create_table('red_packet_claims',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('packet_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_red_packet_claims_account_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['packet_id'], ['red_packets.id'], name=op.f('fk_red_packet_claims_packet_id_red_packets'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_packet_claims')),
    sa.UniqueConstraint('packet_id', 'account_id', name=op.f('uq_red_packet_claims_packet_id_account_id'))
    )
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response', sa.JSON(), nullable=True))

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_id', sa.BigInteger(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('payment_id')

    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_column('response')

    op.drop_table('red_packet_claims')
    with op.batch_alter_table('red_packets', schema=None) as batch_op:
        batch_op.drop_index('ix_red_packets_open', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))

    op.drop_table('red_packets')
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_entry_id'))
        batch_op.drop_index('ix_postings_account_recent')

    op.drop_table('postings')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('ix_holds_payer')
        batch_op.drop_index('ix_holds_authorised', postgresql_where=sa.text("status = 'authorised'"), sqlite_where=sa.text("status = 'authorised'"))

    op.drop_table('holds')
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_transfers_sender')
        batch_op.drop_index('ix_transfers_recipient')
        batch_op.drop_index('ix_transfers_pending', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))

    op.drop_table('transfers')
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_requests_split_id'))
        batch_op.drop_index('ix_payment_requests_requester')
        batch_op.drop_index('ix_payment_requests_payer')

    op.drop_table('payment_requests')
    op.drop_table('payment_pins')
    op.drop_table('ledger_accounts')
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_entries_reference_id'))

    op.drop_table('journal_entries')

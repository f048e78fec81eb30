"""The wallet: a double-entry, append-only ledger and the payment objects that move money through it.

Money is an integer count of minor units beside an ISO 4217 code. Every movement is one
`JournalEntry` whose `Posting`s sum to zero per currency; a `LedgerAccount.balance` is a cache of the
sum of its postings, updated in the same transaction (and proved equal by `agora payments audit`).

A member has two ledger accounts per currency: `available` (what they may spend) and `held` (money
promised but not yet gone: holds, chat transfers awaiting acceptance, unopened red packets). The
system has `funding` (the outside world: top-ups come from it, withdrawals go to it) and `revenue`
(what captured holds for the operator, such as promoted posts, pay into).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from agora.models.base import Base, UTCDateTime, created_at, snowflake_pk


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    # The database itself refuses a negative member balance: the last line of defence under any bug.
    __table_args__ = (CheckConstraint("owner_id IS NULL OR balance >= 0", name="member_not_negative"),)

    id: Mapped[int] = snowflake_pk()
    # "<owner id or 'system'>:<kind>:<currency>" — unique, so concurrent first uses create one row
    # (a unique index over a nullable owner would let PostgreSQL admit two system rows).
    key: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # available | held | funding | revenue
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    balance: Mapped[int] = mapped_column(nullable=False, default=0)
    created_at: Mapped[datetime] = created_at()


class JournalEntry(Base):
    __tablename__ = "journal_entries"

    id: Mapped[int] = snowflake_pk()
    kind: Mapped[str] = mapped_column(String(30), nullable=False)  # top_up, transfer, refund, hold.capture …
    reference_id: Mapped[int | None] = mapped_column(nullable=True, index=True)  # the transfer, hold … it moved
    memo: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at()


class Posting(Base):
    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="not_zero"),
        Index("ix_postings_account_recent", "ledger_account_id", "id"),
    )

    id: Mapped[int] = snowflake_pk()
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id", ondelete="RESTRICT"), nullable=False,
                                          index=True)
    ledger_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="RESTRICT"),
                                                   nullable=False)
    amount: Mapped[int] = mapped_column(nullable=False)  # positive credits the account, negative debits it
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # The account's balance just after this posting: a statement's running balance, read not summed.
    balance_after: Mapped[int] = mapped_column(nullable=False)
    # The other member in the movement, seen from this account's owner (None for top-ups and the like).
    counterparty_id: Mapped[int | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = created_at()


class Transfer(Base):
    """Money from one member to another: sent directly, paying a request, or in a chat (then pending
    until the recipient accepts it, or returned when it expires or they decline)."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount", name="refund_within"),
        Index("ix_transfers_sender", "sender_id", "id"),
        Index("ix_transfers_recipient", "recipient_id", "id"),
        Index("ix_transfers_pending", "expires_at", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[int] = snowflake_pk()
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # direct | request | chat
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # pending | succeeded | returned
    sender_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    amount: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_refunded: Mapped[int] = mapped_column(nullable=False, default=0)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    emoji: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    request_id: Mapped[int | None] = mapped_column(nullable=True)
    conversation_id: Mapped[int | None] = mapped_column(nullable=True)
    message_id: Mapped[int | None] = mapped_column(nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = created_at()
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PaymentRequest(Base):
    """One member asking another for money; a split is several requests sharing a `split_id`."""

    __tablename__ = "payment_requests"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        Index("ix_payment_requests_payer", "payer_id", "id"),
        Index("ix_payment_requests_requester", "requester_id", "id"),
    )

    id: Mapped[int] = snowflake_pk()
    requester_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    payer_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    amount: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    split_id: Mapped[int | None] = mapped_column(nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")  # open|paid|declined|cancelled
    transfer_id: Mapped[int | None] = mapped_column(nullable=True)
    reminders: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = created_at()
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Hold(Base):
    """A two-phase payment: authorised (money moves to the payer's held balance), then captured in
    full or part, voided, or expired — each resolves at most once."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint("amount_captured >= 0 AND amount_captured <= amount", name="capture_within"),
        Index("ix_holds_payer", "payer_id", "id"),
        Index("ix_holds_authorised", "expires_at", postgresql_where=text("status = 'authorised'"),
              sqlite_where=text("status = 'authorised'")),
    )

    id: Mapped[int] = snowflake_pk()
    payer_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    payee_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=True)
    # Where a capture pays: the payee's available account, or a system account such as revenue.
    payee_ledger_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="RESTRICT"),
                                                 nullable=False)
    amount: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_captured: Mapped[int] = mapped_column(nullable=False, default=0)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="authorised")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = created_at()
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RedPacket(Base):
    """Money for the first `count` members of a group chat to open it, equal shares or random ones."""

    __tablename__ = "red_packets"
    __table_args__ = (
        CheckConstraint("amount >= count AND count > 0", name="a_unit_each"),
        CheckConstraint("amount_claimed >= 0 AND amount_claimed <= amount", name="claims_within"),
        Index("ix_red_packets_open", "expires_at", postgresql_where=text("status = 'open'"),
              sqlite_where=text("status = 'open'")),
    )

    id: Mapped[int] = snowflake_pk()
    sender_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("chat_conversations.id", ondelete="RESTRICT"),
                                                 nullable=False)
    message_id: Mapped[int | None] = mapped_column(nullable=True)
    amount: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    mode: Mapped[str] = mapped_column(String(10), nullable=False)  # equal | random
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    amount_claimed: Mapped[int] = mapped_column(nullable=False, default=0)
    claimed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")  # open | emptied | returned
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = created_at()
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RedPacketClaim(Base):
    __tablename__ = "red_packet_claims"
    __table_args__ = (UniqueConstraint("packet_id", "account_id"),)

    id: Mapped[int] = snowflake_pk()
    packet_id: Mapped[int] = mapped_column(ForeignKey("red_packets.id", ondelete="RESTRICT"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    amount: Mapped[int] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = created_at()


class PaymentPin(Base):
    """A member's payment PIN (Argon2), asked for above a threshold; locked after repeated failures."""

    __tablename__ = "payment_pins"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    pin_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = created_at()

"""Notifications, read markers, and stored answers for `Idempotency-Key` replays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.models.accounts import Account
from agora.models.base import Base, created_at, snowflake_pk

NOTIFICATION_TYPES = (
    "mention", "reply", "reblog", "favourite", "follow", "follow_request", "update", "quote", "status",
)
# Agora's own: the wallet tells a member of money received, asked of them and returned to them.
PAYMENT_NOTIFICATION_TYPES = ("payment_received", "payment_requested", "payment_returned")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_account_id_id", "account_id", "id"),)

    id: Mapped[int] = snowflake_pk()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    from_account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    status_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # The transfer, payment request or red packet a payment notification is about.
    payment_id: Mapped[int | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = created_at()

    from_account: Mapped[Account] = relationship(lazy="raise", foreign_keys=[from_account_id])


class Marker(Base):
    __tablename__ = "markers"
    __table_args__ = (UniqueConstraint("account_id", "timeline"),)

    id: Mapped[int] = snowflake_pk()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    timeline: Mapped[str] = mapped_column(String(20), nullable=False)
    last_read_id: Mapped[int] = mapped_column(nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = created_at()


class IdempotencyRecord(Base):
    """The first answer to a keyed request, replayed for repeats of the same key (24 h)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("account_id", "scope", "key"),)

    id: Mapped[int] = snowflake_pk()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    scope: Mapped[str] = mapped_column(String(50), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    resource_id: Mapped[int] = mapped_column(nullable=False)
    # The response itself, where the API promises to replay it byte for byte (the payments API):
    # written in the transaction that moved the money, so an acknowledged request is never lost.
    response: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = created_at()

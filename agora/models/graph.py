"""The social graph: follows, follow requests, blocks and mutes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agora.models.base import Base, created_at, snowflake_pk


class _Edge:
    id: Mapped[int] = snowflake_pk()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    target_account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = created_at()


class Follow(_Edge, Base):
    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    show_reblogs: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class FollowRequest(_Edge, Base):
    __tablename__ = "follow_requests"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    show_reblogs: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Block(_Edge, Base):
    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)


class Mute(_Edge, Base):
    __tablename__ = "mutes"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    hide_notifications: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

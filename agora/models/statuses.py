"""Statuses (posts, replies, reblogs, quotes), their edits, mentions, hashtags and reactions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.models.accounts import Account
from agora.models.base import Base, created_at, snowflake_pk
from agora.models.media import MediaAttachment

VISIBILITIES = ("public", "unlisted", "private", "direct")


class Status(Base):
    __tablename__ = "statuses"
    # Timelines walk the primary key newest-first or an author's (account_id, id); visibility is too
    # coarse to index usefully (most posts are public).
    __table_args__ = (
        Index("ix_statuses_account_id_id", "account_id", "id"),
        # One boost per member and post (rows that are not boosts have NULL here, which never clash).
        UniqueConstraint("account_id", "reblog_of_id"),
    )

    id: Mapped[int] = snowflake_pk()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")  # the source as typed
    content: Mapped[str] = mapped_column(Text, nullable=False, default="")  # sanitised HTML
    spoiler_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    visibility: Mapped[str] = mapped_column(String(10), nullable=False, default="public")
    language: Mapped[str | None] = mapped_column(String(10), nullable=True)
    in_reply_to_id: Mapped[int | None] = mapped_column(nullable=True, index=True)
    in_reply_to_account_id: Mapped[int | None] = mapped_column(nullable=True)
    reblog_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), nullable=True, index=True
    )
    quote_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="SET NULL"), nullable=True, index=True
    )
    application_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = created_at()
    edited_at: Mapped[datetime | None] = mapped_column(nullable=True)

    replies_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reblogs_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    favourites_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    quotes_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    account: Mapped[Account] = relationship(lazy="raise", foreign_keys=[account_id])
    reblog: Mapped[Status | None] = relationship(
        lazy="raise", remote_side=[id], foreign_keys=[reblog_of_id]
    )
    quote: Mapped[Status | None] = relationship(lazy="raise", remote_side=[id], foreign_keys=[quote_id])
    media: Mapped[list[MediaAttachment]] = relationship(
        lazy="raise", order_by=MediaAttachment.position, foreign_keys=[MediaAttachment.status_id]
    )
    mentions: Mapped[list[Mention]] = relationship(lazy="raise", cascade="all, delete-orphan")
    tags: Mapped[list[Tag]] = relationship(secondary="status_tags", lazy="raise", order_by="Tag.name")


class StatusEdit(Base):
    """One row per version of an edited status; the first edit also records the original."""

    __tablename__ = "status_edits"

    id: Mapped[int] = snowflake_pk()
    status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False, index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    spoiler_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    media_ids: Mapped[str] = mapped_column(Text, nullable=False, default="")  # comma-separated
    created_at: Mapped[datetime] = created_at()


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("status_id", "account_id"),)

    id: Mapped[int] = snowflake_pk()
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    account: Mapped[Account] = relationship(lazy="raise")


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = snowflake_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)  # as first written
    name_key: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)  # case-folded
    created_at: Mapped[datetime] = created_at()


class StatusTag(Base):
    __tablename__ = "status_tags"
    __table_args__ = (Index("ix_status_tags_tag_id_status_id", "tag_id", "status_id"),)

    status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class Favourite(Base):
    __tablename__ = "favourites"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)

    id: Mapped[int] = snowflake_pk()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = created_at()


class Bookmark(Base):
    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)

    id: Mapped[int] = snowflake_pk()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = created_at()


class StatusPin(Base):
    __tablename__ = "status_pins"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)

    id: Mapped[int] = snowflake_pk()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = created_at()

"""Members: the public profile (Account) and its private sign-in credentials on the same row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column

from agora.models.base import Base, created_at, snowflake_pk

# Members no one sees (suspended, or awaiting approval): every visibility check excludes them, so
# they are indexed on their own (a partial index: a handful of rows, however many members). Each
# condition is written as SQLAlchemy renders `suspended OR NOT approved` for that database: SQLite
# uses a partial index only when the query repeats its condition to the letter.
HIDDEN_SQLITE = "suspended = 1 OR approved = 0"
HIDDEN_POSTGRESQL = "suspended OR NOT approved"


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_hidden", "id", sqlite_where=text(HIDDEN_SQLITE),
              postgresql_where=text(HIDDEN_POSTGRESQL)),
    )

    id: Mapped[int] = snowflake_pk()
    username: Mapped[str] = mapped_column(String(30), nullable=False)
    # Usernames are unique regardless of case: "Mara" and "mara" are the same member.
    username_key: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")  # the bio as typed
    note_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Files under the media dir; profile images are not MediaAttachments (they belong to no status).
    avatar_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    header_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    bot: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    discoverable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    indexable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # May the community model learn from this member's public posts? NULL: never chosen, so the
    # operator's `ai_training_default` decides (see `ai_training_effective`).
    ai_training: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=None)
    # May the assistant read (and so quote and cite) this member's posts in its answers to anyone?
    ai_reading: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    default_visibility: Mapped[str] = mapped_column(String(10), nullable=False, default="public")
    default_sensitive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    default_language: Mapped[str | None] = mapped_column(String(10), nullable=True)
    created_at: Mapped[datetime] = created_at()
    last_status_at: Mapped[datetime | None] = mapped_column(nullable=True)

    # Counters kept in the same transaction as the rows they count (atomic UPDATE … + 1), so a
    # profile or a status page never has to count.
    followers_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    following_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    statuses_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    # Sign-in: private, never serialised.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    approved: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    suspended: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    locale: Mapped[str] = mapped_column(String(10), nullable=False, default="en")
    registration_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

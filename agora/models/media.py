"""Uploaded media: the original and its preview live under the data dir; this row describes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.models.base import Base, created_at, snowflake_pk


class MediaAttachment(Base):
    __tablename__ = "media_attachments"

    id: Mapped[int] = snowflake_pk()
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Set when attached to a status; an unattached upload belongs only to its uploader.
    status_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # Set when sent in a chat message instead; readable then only by that conversation's members.
    chat_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="SET NULL"), nullable=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="image")
    content_type: Mapped[str] = mapped_column(String(50), nullable=False)
    file_path: Mapped[str] = mapped_column(String(300), nullable=False)  # relative to the media dir
    preview_path: Mapped[str] = mapped_column(String(300), nullable=False)
    file_size: Mapped[int] = mapped_column(Integer, nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    preview_width: Mapped[int] = mapped_column(Integer, nullable=False)
    preview_height: Mapped[int] = mapped_column(Integer, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    focus_x: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    focus_y: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    blurhash: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = created_at()

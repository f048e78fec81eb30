"""The assistant's audit log: one row per answer an AI gave, for operators to browse and export.

Rows are ordered by their snowflake id, which is also their time (newest first = highest id). The
asker is kept as a nullable foreign key: a deleted member's rows stay (what the assistant said is
still a fact of the record) but no longer point at anyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agora.models.base import Base, created_at, snowflake_pk

# Where an answer was given.
SURFACES = ("api", "web", "mention", "chat", "summary")


class AiAudit(Base):
    __tablename__ = "ai_audit"

    id: Mapped[int] = snowflake_pk()
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True,
                                                 index=True)
    surface: Mapped[str] = mapped_column(String(20), nullable=False)  # one of SURFACES
    question: Mapped[str] = mapped_column(Text, nullable=False)
    # {"cited": [status ids, in citation order], "retrieved": [every status id the answer was made from]}
    sources: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    model: Mapped[str] = mapped_column(String(200), nullable=False)
    model_version: Mapped[str] = mapped_column(String(200), nullable=False)
    mode: Mapped[str] = mapped_column(String(20), nullable=False)  # extractive | generative | raw
    refused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    output: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at()


# The assistant as a member (agora/ai/member/): which posts and chat messages it has answered. A row
# is the claim: the worker inserts it in the same transaction as its reply, under a unique
# (source_kind, source_id), so a post or message is answered exactly once, across restarts and across
# several server processes. `reply_id` is NULL where the assistant looked and had nothing to say.
STATUS = "status"  # a post that mentions the assistant
CHAT_MESSAGE = "chat"  # a chat message to (or mentioning) the assistant


class AssistantReply(Base):
    __tablename__ = "assistant_replies"
    __table_args__ = (UniqueConstraint("source_kind", "source_id"),)

    id: Mapped[int] = snowflake_pk()
    source_kind: Mapped[str] = mapped_column(String(10), nullable=False)
    source_id: Mapped[int] = mapped_column(nullable=False)
    reply_id: Mapped[int | None] = mapped_column(nullable=True)  # the assistant's post or chat message
    created_at: Mapped[datetime] = created_at()

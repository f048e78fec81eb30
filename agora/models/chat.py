"""Chat: conversations, their members, messages (edits, reactions) and the event log behind delivery.

The event log (`chat_events`) is what makes delivery exact. Every change a member could see is one
row with a `seq` from a single counter (`chat_sequence`), taken as the last write of its
transaction, so rows become visible in `seq` order. A client that remembers the last `seq` it saw
asks for everything after it and gets exactly what it missed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.models.accounts import Account
from agora.models.base import Base, created_at, snowflake_pk
from agora.models.media import MediaAttachment

CONVERSATION_KINDS = ("direct", "group")
ROLES = ("owner", "admin", "member")
# active: in the inbox. request: a message request not yet accepted. declined: hidden by the member.
# left / removed: no longer a member (kept so history and re-joins know when they were in).
MEMBER_STATES = ("active", "request", "declined", "left", "removed")
RECEIVING_STATES = ("active", "request")  # who gets the conversation's events


class Conversation(Base):
    __tablename__ = "chat_conversations"

    id: Mapped[int] = snowflake_pk()
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    # "lower-id:higher-id" for a direct conversation, so a pair has exactly one; NULL for groups.
    direct_key: Mapped[str | None] = mapped_column(String(50), nullable=True, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    avatar_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = created_at()
    # The newest message, for the inbox's preview; the inbox is ordered by activity_id, newest
    # first (the conversation's own id until its first message, then its newest message's id).
    last_message_id: Mapped[int | None] = mapped_column(nullable=True)
    activity_id: Mapped[int] = mapped_column(nullable=False, index=True)
    member_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ConversationMember(Base):
    __tablename__ = "chat_members"
    __table_args__ = (
        UniqueConstraint("conversation_id", "account_id"),
        Index("ix_chat_members_account_id_state", "account_id", "state"),
    )

    id: Mapped[int] = snowflake_pk()
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False, default="member")
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="active")
    # The event seq at which this membership began: the member sees events and messages after it.
    since_seq: Mapped[int] = mapped_column(nullable=False, default=0)
    # Read receipts: the newest message this member has read.
    last_read_id: Mapped[int] = mapped_column(nullable=False, default=0)
    muted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    joined_at: Mapped[datetime] = created_at()

    account: Mapped[Account] = relationship(lazy="raise")
    conversation: Mapped[Conversation] = relationship(lazy="raise")


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_conversation_id_id", "conversation_id", "id"),
        # Sending is idempotent by the client's id: a retry finds the first message.
        UniqueConstraint("account_id", "client_id"),
    )

    id: Mapped[int] = snowflake_pk()
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # text: typed by a member. system: a change to the group ("added @bob"), described by `action`.
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="text")
    action: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    content: Mapped[str] = mapped_column(Text, nullable=False, default="")  # sanitised HTML
    reply_to_id: Mapped[int | None] = mapped_column(nullable=True)
    forwarded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The event seq of its creation: who joined after it does not see it.
    seq: Mapped[int] = mapped_column(nullable=False, default=0)
    created_at: Mapped[datetime] = created_at()
    edited_at: Mapped[datetime | None] = mapped_column(nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    pinned_at: Mapped[datetime | None] = mapped_column(nullable=True)

    account: Mapped[Account] = relationship(lazy="raise")
    media: Mapped[list[MediaAttachment]] = relationship(
        lazy="raise", order_by=MediaAttachment.position, foreign_keys=[MediaAttachment.chat_message_id])


class ChatMessageEdit(Base):
    """An earlier text of an edited message; the newest version lives on the message itself."""

    __tablename__ = "chat_message_edits"

    id: Mapped[int] = snowflake_pk()
    message_id: Mapped[int] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="CASCADE"), nullable=False, index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at()


class ChatReaction(Base):
    __tablename__ = "chat_reactions"
    __table_args__ = (UniqueConstraint("message_id", "account_id", "emoji"),)

    id: Mapped[int] = snowflake_pk()
    message_id: Mapped[int] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="CASCADE"), nullable=False, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    emoji: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = created_at()


class ChatSequence(Base):
    """One row: the last `seq` handed out. Taking the next one locks the row until commit."""

    __tablename__ = "chat_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(nullable=False, default=0)


class ChatEvent(Base):
    __tablename__ = "chat_events"
    __table_args__ = (
        Index("ix_chat_events_conversation_id_seq", "conversation_id", "seq"),
        Index("ix_chat_events_recipient_id_seq", "recipient_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE"), nullable=False)
    # Set for an event only one member receives (their own removal); NULL: every receiving member.
    recipient_id: Mapped[int | None] = mapped_column(nullable=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # ids only; rendered on delivery
    created_at: Mapped[datetime] = created_at()

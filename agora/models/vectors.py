"""Sentence embeddings of posts: the source of truth the in-process ANN index is rebuilt from.

One row per embedded status. The vector is raw float32 little-endian bytes (384 × 4 = 1,536 bytes for
all-MiniLM-L6-v2) — portable across SQLite and PostgreSQL, where pgvector is not available.
`source_edited_at` is the status's `edited_at` when it was embedded: when they differ, the post was
edited since and the background embedder embeds it again. `model` lets a model change re-embed all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from agora.models.base import Base, created_at


class StatusVector(Base):
    __tablename__ = "status_vectors"

    # Deleting a status deletes its vector (the FK cascades on both databases: SQLite has
    # foreign_keys=ON), so the source of truth never holds a vector of a deleted post.
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True,
                                           autoincrement=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    vector: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    source_edited_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = created_at()

"""OAuth 2 applications, authorisation codes and access tokens (secrets stored only as hashes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from agora.models.base import Base, created_at, snowflake_pk


class OAuthApp(Base):
    __tablename__ = "oauth_apps"

    id: Mapped[int] = snowflake_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    website: Mapped[str | None] = mapped_column(String(500), nullable=True)
    redirect_uris: Mapped[str] = mapped_column(Text, nullable=False)  # newline-separated
    scopes: Mapped[str] = mapped_column(String(500), nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at()


class OAuthCode(Base):
    __tablename__ = "oauth_codes"

    id: Mapped[int] = snowflake_pk()
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    redirect_uri: Mapped[str] = mapped_column(Text, nullable=False)
    scopes: Mapped[str] = mapped_column(String(500), nullable=False)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_challenge_method: Mapped[str | None] = mapped_column(String(10), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    used: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class OAuthToken(Base):
    __tablename__ = "oauth_tokens"

    id: Mapped[int] = snowflake_pk()
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    app_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"))
    # None for client_credentials tokens, which act for the app and no member.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scopes: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Minted by the web app's sign-in for the session cookie; only these are accepted from that cookie.
    web_session: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())

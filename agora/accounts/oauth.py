"""OAuth 2 as Mastodon speaks it: apps, authorisation codes with PKCE, tokens, refresh, revocation."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts import scopes as scope_rules
from agora.accounts.secrets import digest, new_secret, same
from agora.kit.errors import BadRequest, Unauthorized, Unprocessable
from agora.kit.time import utcnow
from agora.models import Account, OAuthApp, OAuthCode, OAuthToken

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_TTL = timedelta(minutes=10)
GRANT_TYPES = ["authorization_code", "client_credentials", "password", "refresh_token"]


class OAuthError(BadRequest):
    """An RFC 6749 error: `error` is the standard code, `error_description` says what happened."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.status_code = status


class CodeReused(OAuthError):
    """invalid_grant for a code redeemed twice; the caller commits the revocation it made, then refuses."""


@dataclass(frozen=True, slots=True)
class NewApp:
    app: OAuthApp
    client_secret: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: OAuthToken
    access_token: str
    refresh_token: str | None


def _valid_redirect(uri: str) -> bool:
    if uri == OOB:
        return True
    parsed = urlparse(uri)
    # Native apps register custom schemes (myapp://callback); web apps http(s). No fragments.
    return bool(parsed.scheme) and not parsed.fragment and parsed.scheme not in ("javascript", "data")


async def create_app(
    session: AsyncSession, *, name: str, redirect_uris: list[str], scopes: str | None, website: str | None,
    owner_id: int | None = None,
) -> NewApp:
    if not name.strip() or len(name) > 100:
        raise Unprocessable("client_name must be 1–100 characters")
    if not redirect_uris or any(not isinstance(u, str) or not _valid_redirect(u) or len(u) > 2000
                                for u in redirect_uris):
        raise Unprocessable("redirect_uris must be absolute URIs (or urn:ietf:wg:oauth:2.0:oob)")
    if website is not None and (len(website) > 500 or urlparse(website).scheme not in ("http", "https")):
        raise Unprocessable("website must be an http(s) URL")
    try:
        granted = scope_rules.parse(scopes)
    except BadRequest as exc:
        raise Unprocessable(f"scopes: {exc.message}") from None
    secret = new_secret()
    app = OAuthApp(
        name=name.strip(), website=website, redirect_uris="\n".join(redirect_uris), scopes=" ".join(granted),
        client_id=new_secret()[:43], client_secret_hash=digest(secret), owner_id=owner_id,
    )
    session.add(app)
    await session.flush()
    return NewApp(app, secret)


async def find_app(session: AsyncSession, *, client_id: str | None) -> OAuthApp | None:
    if not client_id or len(client_id) > 64:
        return None
    return await session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id))


async def authenticate_client(session: AsyncSession, *, client_id: str | None,
                              client_secret: str | None) -> OAuthApp:
    app = await find_app(session, client_id=client_id)
    if app is None or not client_secret or not same(app.client_secret_hash, digest(client_secret)):
        raise OAuthError("invalid_client", "Client authentication failed due to unknown client.", 401)
    return app


def requested_scopes(app: OAuthApp, raw: str | None) -> list[str]:
    """The scopes asked for (default `read`, as in Mastodon), if the app was registered for them."""
    try:
        wanted = scope_rules.parse(raw)
    except BadRequest as exc:
        raise OAuthError("invalid_scope", exc.message) from None
    if not scope_rules.covered(wanted, app.scopes.split()):
        raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    return wanted


def check_redirect(app: OAuthApp, redirect_uri: str | None) -> str:
    allowed = app.redirect_uris.split("\n")
    uri = redirect_uri or (allowed[0] if len(allowed) == 1 else "")
    if uri not in allowed:
        raise OAuthError("invalid_request", "The redirect uri included is not valid.")
    return uri


async def issue_token(
    session: AsyncSession, *, app: OAuthApp | None, account: Account | None, scopes: list[str],
    with_refresh: bool = True, ttl: timedelta | None = None, web_session: bool = False,
) -> IssuedToken:
    access = new_secret()
    refresh = new_secret() if with_refresh and account is not None else None
    token = OAuthToken(
        token_hash=digest(access), refresh_hash=digest(refresh) if refresh else None,
        app_id=app.id if app else None, account_id=account.id if account else None,
        scopes=" ".join(scopes), created_at=(now := utcnow()), expires_at=now + ttl if ttl else None,
        web_session=web_session,
    )
    session.add(token)
    await session.flush()
    return IssuedToken(token, access, refresh)


def check_pkce(code_challenge: str | None, code_challenge_method: str | None) -> None:
    """PKCE as RFC 7636 with S256 only ("plain" protects nothing against a leaked code)."""
    if code_challenge is None:
        return
    if (code_challenge_method or "plain") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if not 43 <= len(code_challenge) <= 128:
        raise OAuthError("invalid_request", "code_challenge must be 43–128 characters")


async def issue_code(
    session: AsyncSession, *, app: OAuthApp, account: Account, redirect_uri: str, scopes: list[str],
    code_challenge: str | None, code_challenge_method: str | None,
) -> str:
    check_pkce(code_challenge, code_challenge_method)
    code = new_secret()
    session.add(OAuthCode(
        code_hash=digest(code), app_id=app.id, account_id=account.id, redirect_uri=redirect_uri,
        scopes=" ".join(scopes), code_challenge=code_challenge,
        code_challenge_method="S256" if code_challenge else None, expires_at=utcnow() + CODE_TTL,
    ))
    await session.flush()
    return code


async def redeem_code(
    session: AsyncSession, *, app: OAuthApp, code: str | None, redirect_uri: str | None,
    code_verifier: str | None,
) -> tuple[Account, list[str]]:
    if not code:
        raise OAuthError("invalid_request", "code is required")
    grant = await session.scalar(select(OAuthCode).where(OAuthCode.code_hash == digest(code)))
    invalid = OAuthError("invalid_grant", "The provided authorization grant is invalid, expired, revoked, "
                         "does not match the redirection URI used in the authorization request, "
                         "or was issued to another client.")
    if grant is None or grant.app_id != app.id or grant.expires_at < utcnow():
        raise invalid
    if grant.used:
        # A code used twice means it leaked: revoke what it issued (RFC 6749 §4.1.2).
        await session.execute(update(OAuthToken).where(
            OAuthToken.app_id == app.id, OAuthToken.account_id == grant.account_id,
            OAuthToken.created_at >= grant.expires_at - CODE_TTL,
        ).values(revoked_at=utcnow()))
        raise CodeReused(invalid.code, invalid.message)
    if (redirect_uri or grant.redirect_uri) != grant.redirect_uri:
        raise invalid
    if grant.code_challenge is not None:
        if not code_verifier:
            raise OAuthError("invalid_grant", "code_verifier is required")
        hashed = hashlib.sha256(code_verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(hashed).rstrip(b"=").decode()
        if not same(expected, grant.code_challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    # Spend the code only if no concurrent request spent it first: a code issues one token, ever.
    spent = await session.execute(update(OAuthCode).where(OAuthCode.id == grant.id, OAuthCode.used.is_(False))
                                  .values(used=True).execution_options(synchronize_session=False))
    if not spent.rowcount:
        raise invalid
    account = await session.get(Account, grant.account_id)
    if account is None or account.suspended:
        raise invalid
    return account, grant.scopes.split()


async def refresh(session: AsyncSession, *, app: OAuthApp, refresh_token: str | None,
                  scopes: str | None, ttl: timedelta | None = None) -> IssuedToken:
    if not refresh_token:
        raise OAuthError("invalid_request", "refresh_token is required")
    old = await session.scalar(select(OAuthToken).where(OAuthToken.refresh_hash == digest(refresh_token)))
    if old is None or old.app_id != app.id or old.revoked_at is not None or old.account_id is None:
        raise OAuthError("invalid_grant", "The refresh token is invalid or was revoked.")
    granted = old.scopes.split()
    try:
        wanted = scope_rules.parse(scopes) if scopes else granted
    except BadRequest as exc:
        raise OAuthError("invalid_scope", exc.message) from None
    if not scope_rules.covered(wanted, granted):
        raise OAuthError("invalid_scope", "A refreshed token cannot have more scopes than the original.")
    # Rotation: each refresh token works once, even when two requests present it at the same moment.
    rotated = await session.execute(update(OAuthToken).where(OAuthToken.id == old.id, OAuthToken.revoked_at.is_(None))
                                    .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    if not rotated.rowcount:
        raise OAuthError("invalid_grant", "The refresh token is invalid or was revoked.")
    account = await session.get(Account, old.account_id)
    if account is None or account.suspended:
        raise OAuthError("invalid_grant", "The refresh token is invalid or was revoked.")
    return await issue_token(session, app=app, account=account, scopes=wanted, ttl=ttl)


async def revoke(session: AsyncSession, *, app: OAuthApp, token: str | None) -> None:
    """Revoke an access or refresh token of this app. Unknown tokens are fine (RFC 7009 §2.2)."""
    if not token:
        raise OAuthError("invalid_request", "token is required")
    hashed = digest(token)
    found = await session.scalar(select(OAuthToken).where(
        (OAuthToken.token_hash == hashed) | (OAuthToken.refresh_hash == hashed)
    ))
    if found is not None:
        if found.app_id != app.id:
            raise OAuthError("unauthorized_client", "You are not authorized to revoke this token", 403)
        found.revoked_at = utcnow()
        await session.flush()


@dataclass(frozen=True, slots=True)
class Grant:
    """Who is calling, with what rights: the result of checking a bearer token."""

    token_id: int
    account: Account | None
    scopes: tuple[str, ...]  # in the order granted
    app_id: int | None
    app_name: str | None
    web_session: bool = False  # the web app's own session token (see agora/web/session.py)


async def resolve_bearer(session: AsyncSession, *, token: str) -> Grant:
    if not token or len(token) > 200:
        raise Unauthorized("The access token is invalid")
    row = (await session.execute(
        select(OAuthToken, Account, OAuthApp.name)
        .outerjoin(Account, Account.id == OAuthToken.account_id)
        .outerjoin(OAuthApp, OAuthApp.id == OAuthToken.app_id)
        .where(OAuthToken.token_hash == digest(token))
    )).first()
    if row is None:
        raise Unauthorized("The access token is invalid")
    stored, account, app_name = row
    if stored.revoked_at is not None:
        raise Unauthorized("The access token was revoked")
    if stored.expires_at is not None and stored.expires_at < utcnow():
        raise Unauthorized("The access token expired")
    if stored.account_id is not None and (account is None or account.suspended):
        raise Unauthorized("The access token is invalid")
    return Grant(stored.id, account, tuple(stored.scopes.split()), stored.app_id, app_name, stored.web_session)


async def revoke_by_id(session: AsyncSession, *, token_id: int) -> None:
    """Revoke one token the caller already holds a grant for (signing a browser out)."""
    await session.execute(update(OAuthToken).where(OAuthToken.id == token_id, OAuthToken.revoked_at.is_(None))
                          .values(revoked_at=utcnow()))

"""Who is calling: FastAPI dependencies that turn a bearer token into a `Grant`, and check scopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.requests import HTTPConnection

from agora.accounts import scopes as scope_rules
from agora.accounts.oauth import Grant, resolve_bearer
from agora.kit.errors import Forbidden, TooManyRequests, Unauthorized
from agora.kit.runtime import runtime_of
from agora.models import Account

# The web app's session cookie holds an ordinary access token (see agora/web/session.py). It is
# named here so the OAuth consent page can recognise a member already signed in on this browser.
WEB_SESSION_COOKIE = "agora_session"


async def web_session_grant(connection: HTTPConnection) -> Grant | None:
    """The web session this browser's cookie proves, if any (cached for the request).

    Only a token the web app's sign-in minted counts: an app's access token, whatever its scopes,
    placed in the cookie is ignored, so a narrow token can never be widened into a full session.
    """
    if "agora.web_session" in connection.scope:
        return connection.scope["agora.web_session"]
    token = connection.cookies.get(WEB_SESSION_COOKIE)
    grant: Grant | None = None
    if token:
        async with runtime_of(connection).db.transaction(write=False) as session:
            try:
                grant = await resolve_bearer(session, token=token)
            except Unauthorized:
                grant = None
    if grant is not None and not (grant.web_session and grant.account is not None and grant.account.approved):
        grant = None
    connection.scope["agora.web_session"] = grant
    return grant


async def web_session_account(connection: HTTPConnection) -> Account | None:
    """The approved member signed in to the web app on this browser, if any."""
    grant = await web_session_grant(connection)
    return grant.account if grant is not None else None


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    # Browsers cannot set headers on EventSource or WebSocket, so streaming also takes these.
    token = connection.query_params.get("access_token")
    if token:
        return token
    protocol = connection.headers.get("sec-websocket-protocol")
    return protocol.split(",")[0].strip() if protocol else None


async def grant_for(connection: HTTPConnection) -> Grant | None:
    token = bearer_token(connection)
    if token is None:
        return None
    cached = connection.scope.get("agora.grant")
    if cached is not None:
        return cached
    async with runtime_of(connection).db.transaction(write=False) as session:
        grant = await resolve_bearer(session, token=token)
    connection.scope["agora.grant"] = grant
    return grant


def _check_member(grant: Grant) -> Account:
    if grant.account is None:
        raise Forbidden("This method requires an authenticated user")
    return require_approved(grant.account)


def require_approved(account: Account) -> Account:
    """A sign-up waiting for approval may do nothing yet (it may only learn that it waits)."""
    if not account.approved:
        raise Forbidden("Your login is currently pending approval")
    return account


def _check_scope(grant: Grant, scope: str) -> None:
    if not scope_rules.allows(set(grant.scopes), scope):
        raise Forbidden("This action is outside the authorized scopes")


def member(scope: str) -> Callable[[Request], Awaitable[Grant]]:
    """A signed-in, approved member whose token carries `scope`."""

    async def dependency(request: Request) -> Grant:
        grant = await grant_for(request)
        if grant is None:
            raise Unauthorized("The access token is invalid")
        _check_member(grant)
        _check_scope(grant, scope)
        return grant

    return dependency


def app_or_member(scope: str | None) -> Callable[[Request], Awaitable[Grant]]:
    """Any valid token (with `scope`, unless None), including an app's own client_credentials token."""

    async def dependency(request: Request) -> Grant:
        grant = await grant_for(request)
        if grant is None:
            raise Unauthorized("The access token is invalid")
        if scope is not None:
            _check_scope(grant, scope)
        return grant

    return dependency


async def optional_viewer(request: Request) -> Account | None:
    """The signed-in member if a token was given, else None (for public reads)."""
    grant = await grant_for(request)
    if grant is None or grant.account is None:
        return None
    _check_member(grant)
    return grant.account


def rate_limited(name: str) -> Callable[[Request], Awaitable[None]]:
    """A named budget (sign_in, sign_up, statuses, media, chat, payments, ai) per caller, from the settings."""

    async def dependency(request: Request) -> None:
        runtime = runtime_of(request)
        settings = runtime.settings
        if not settings.rate_limit_enabled:
            return
        # Resolved here (and cached for the route): route-level dependencies run before the
        # route's own `member()`, so reading only what is cached would count members by address.
        # A bearer token, else the web app's session cookie: the web app's members are counted
        # as members, not by the address they may share with others.
        grant = request.scope.get("agora.grant") or await grant_for(request) or await web_session_grant(request)
        who = f"a{grant.account.id}" if grant is not None and grant.account is not None else (
            request.client.host if request.client else "unknown"
        )
        verdict = await runtime.limiter.hit(
            f"{name}:{who}", limit=getattr(settings, f"rate_limit_{name}"),
            window=getattr(settings, f"rate_limit_{name}_window"),
        )
        request.scope["agora.rate_limit"] = verdict
        if not verdict.allowed:
            # No headers here: RequestMiddleware adds this verdict's X-RateLimit-* to every answer,
            # and sending them twice makes clients read "3, 3".
            raise TooManyRequests("Too many requests")

    return dependency

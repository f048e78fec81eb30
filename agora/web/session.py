"""Who is using the browser: a cookie session backed by an ordinary access token, and CSRF tokens.

A web session *is* an OAuth access token (issued to no app, with the top-level scopes, marked
`web_session`, valid for 30 days) kept in an HttpOnly cookie. So one mechanism serves the API and
the browser: revoking the token signs the browser out, and its streams end at the next heartbeat.
Only tokens the sign-in minted are accepted from the cookie: an app's token is not a session.

CSRF: signed in, the form token is an HMAC of the session token (stateless, and useless without
the cookie); signed out (sign-in and sign-up forms), a random double-submit cookie. Cookies are
`SameSite=Lax` as well, so a cross-site form post carries no session in the first place.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from agora.accounts import oauth
from agora.accounts.auth import WEB_SESSION_COOKIE, web_session_grant
from agora.accounts.oauth import Grant
from agora.accounts.scopes import EXPLICIT, TOP_LEVEL
from agora.kit.errors import AgoraError, Forbidden
from agora.models import Account
from agora.web.i18n import gettext as _

SESSION_COOKIE = WEB_SESSION_COOKIE
CSRF_COOKIE = "agora_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]{16,64}")
SESSION_DAYS = 30
_SCOPES = sorted(TOP_LEVEL | EXPLICIT)  # the top-level scopes imply all the rest but money


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in member and the session token that proves it."""

    account: Account
    token: str
    grant: Grant

    @property
    def id(self) -> int:
        return self.account.id


class SignInRequired(AgoraError):
    """Raised by a page that needs a member; the web error handler turns it into a redirect."""

    status_code = 401


async def current_viewer(connection: HTTPConnection) -> Viewer | None:
    """The member this browser is signed in as, or None (cached for the request)."""
    if "agora.viewer" in connection.scope:
        return connection.scope["agora.viewer"]
    grant = await web_session_grant(connection)
    viewer = None
    if grant is not None and grant.account is not None:
        viewer = Viewer(grant.account, connection.cookies[SESSION_COOKIE], grant)
    connection.scope["agora.viewer"] = viewer
    return viewer


async def require_viewer(request: Request) -> Viewer:
    viewer = await current_viewer(request)
    if viewer is None:
        raise SignInRequired("Please sign in to continue.")
    return viewer


def local_path(path: str | None) -> str | None:
    """`path` if it is an address on this site ("/home"), else None: "//evil.example" and "/\\evil"
    are other sites to a browser."""
    if path and path.startswith("/") and not path.startswith(("//", "/\\")) and len(path) < 2000:
        return path
    return None


def same_site_path(request: Request, url: str | None) -> str | None:
    """The path (and query) of `url` if it points into this site, else None: Referer and
    HX-Current-URL are the browser's word, and must never turn a redirect into a way off-site."""
    if not url:
        return None
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != (request.url.scheme, request.url.netloc):
        return None
    return local_path(parts.path + (f"?{parts.query}" if parts.query else ""))


def sign_in_url(request: Request) -> str:
    """Sign in, then come back: to this page, or (for a refused form post) to the page the form was on."""
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        target = same_site_path(request, request.headers.get("hx-current-url") or request.headers.get("referer"))
    return f"/auth/sign_in?next={quote(target or '/home', safe='')}"


async def open_session(session: AsyncSession, *, account: Account) -> str:
    """A new web session token for `account`, in the caller's transaction (sign-in, sign-up, bench)."""
    issued = await oauth.issue_token(session, app=None, account=account, scopes=_SCOPES, with_refresh=False,
                                     ttl=timedelta(days=SESSION_DAYS), web_session=True)
    return issued.access_token


async def start_session(session: AsyncSession, *, account: Account, response: Response, request: Request) -> str:
    """Open a session for `account` and give this browser its cookie (a fresh token: no fixation)."""
    token = await open_session(session, account=account)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_DAYS * 86400, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return token


async def end_session(session: AsyncSession, *, viewer: Viewer, response: Response) -> None:
    """Revoke, not just forget: a copied cookie stops working too, and open live streams end."""
    await oauth.revoke_by_id(session, token_id=viewer.grant.token_id)
    response.delete_cookie(SESSION_COOKIE, path="/")


def csrf_token(request: Request, viewer: Viewer | None) -> str:
    """The token this page's forms must send back."""
    if viewer is not None:
        return _session_csrf(viewer.token)
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and _TOKEN_CHARS.fullmatch(existing):  # it is echoed into the page: only token characters
        return existing
    minted = request.scope.get("agora.new_csrf") or secrets.token_urlsafe(24)
    request.scope["agora.new_csrf"] = minted  # set as a cookie on the response by the page renderer
    return minted


def _session_csrf(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"agora-web-csrf", hashlib.sha256).hexdigest()[:40]


async def verify_csrf(request: Request) -> None:
    """Dependency for every state-changing web route: the form (or htmx header) token must match."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    viewer = await current_viewer(request)
    expected = _session_csrf(viewer.token) if viewer is not None else request.cookies.get(CSRF_COOKIE)
    # Bytes, not str: compare_digest raises TypeError on non-ASCII text.
    if not sent or not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden(_("Your session expired or the form is stale. Reload the page and try again."))

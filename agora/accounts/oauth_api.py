"""Routes: OAuth 2 apps, the sign-in and consent page, tokens, revocation, server metadata."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from agora.accounts import oauth, service
from agora.accounts.api import passwords_for, token_json
from agora.accounts.auth import app_or_member, rate_limited, web_session_account
from agora.accounts.oauth import OOB, Grant, OAuthError
from agora.accounts.scopes import ALL as ALL_SCOPES
from agora.kit.errors import Unprocessable
from agora.kit.params import request_params
from agora.kit.runtime import runtime_of
from agora.models import OAuthApp

router = APIRouter(tags=["oauth"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
CSRF_COOKIE = "agora_oauth_csrf"


def app_json(app: OAuthApp, request: Request, client_secret: str | None = None) -> dict[str, Any]:
    uris = app.redirect_uris.split("\n")
    body: dict[str, Any] = {
        "id": str(app.id), "name": app.name, "website": app.website, "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris), "redirect_uris": uris, "client_id": app.client_id,
        "vapid_key": None,
    }
    if client_secret is not None:
        body["client_secret"] = client_secret
        body["client_secret_expires_at"] = 0
    return body


@router.post("/api/v1/apps")
async def create_app(request: Request) -> dict[str, Any]:
    params = await request_params(request)
    raw_uris = params.get("redirect_uris", "")
    uris = raw_uris if isinstance(raw_uris, list) else str(raw_uris).split()
    for name in ("client_name", "scopes", "website"):
        if params.get(name) is not None and not isinstance(params.get(name), str):
            raise Unprocessable(f"{name} must be a string")
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        made = await oauth.create_app(session, name=params.get("client_name") or "", redirect_uris=uris,
                                      scopes=params.get("scopes"), website=params.get("website") or None)
    return app_json(made.app, request, made.client_secret)


@router.get("/api/v1/apps/verify_credentials")
async def verify_app(request: Request, grant: Grant = Depends(app_or_member(None))) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        app = await session.get(OAuthApp, grant.app_id) if grant.app_id else None
    if app is None:
        return {"name": grant.app_name or "", "website": None, "scopes": list(grant.scopes)}
    return {k: v for k, v in app_json(app, request).items() if k != "client_id"}


@router.get("/.well-known/oauth-authorization-server")
async def server_metadata(request: Request) -> dict[str, Any]:
    base = runtime_of(request).settings.base_url
    return {
        "issuer": f"{base}/",
        "service_documentation": f"{base}/docs",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": sorted(ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": oauth.GRANT_TYPES,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }


# --- the sign-in and consent page -------------------------------------------------------------

async def _authorize_context(request: Request, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("response_type", "code") != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code")
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        app = await oauth.find_app(session, client_id=params.get("client_id"))
    if app is None:
        raise OAuthError("invalid_client", "Client authentication failed due to unknown client.", 401)
    redirect_uri = oauth.check_redirect(app, params.get("redirect_uri"))
    # Refuse a bad PKCE request before the member types a password, not after.
    oauth.check_pkce(params.get("code_challenge") or None, params.get("code_challenge_method") or None)
    scopes = oauth.requested_scopes(app, params.get("scope"))
    return {
        "app": app, "redirect_uri": redirect_uri, "scopes": scopes, "state": params.get("state") or "",
        "code_challenge": params.get("code_challenge") or "",
        "code_challenge_method": params.get("code_challenge_method") or "",
        "client_id": app.client_id, "instance": runtime.settings.instance_title,
    }


def _page(request: Request, context: dict[str, Any], *, error: str | None = None,
          status: int = 200) -> HTMLResponse:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = templates.TemplateResponse(request, "authorize.html",
                                          {**context, "csrf": token, "error": error}, status_code=status)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    response.headers["X-Frame-Options"] = "DENY"  # no clickjacking of the consent button
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/oauth/authorize", response_class=HTMLResponse)
async def authorize_page(request: Request) -> Response:
    context = await _authorize_context(request, dict(request.query_params))
    return _page(request, {**context, "signed_in": await web_session_account(request)})


@router.post("/oauth/authorize", dependencies=[Depends(rate_limited("sign_in"))])
async def authorize(request: Request) -> Response:
    params = _string_params(await request_params(request))
    context = await _authorize_context(request, params)
    cookie = request.cookies.get(CSRF_COOKIE)
    # Bytes, not str: compare_digest raises TypeError on non-ASCII text (a forged value would be a 500).
    if not cookie or not secrets.compare_digest(cookie.encode(), str(params.get("csrf") or "").encode()):
        return _page(request, context, error="Your session expired. Please try again.", status=403)
    if params.get("decision") == "deny":
        return _redirect(context, {"error": "access_denied",
                                   "error_description": "The member denied access."})
    runtime = runtime_of(request)
    # A member signed in to the web app on this browser only confirms; anyone else signs in here.
    signed_in = await web_session_account(request) if not params.get("login") else None
    async with runtime.db.transaction() as session:
        account = signed_in or await service.authenticate(session, login=str(params.get("login") or ""),
                                                          password=str(params.get("password") or ""),
                                                          passwords=passwords_for(request))
        if account is None or account.suspended:
            return _page(request, context, error="Wrong e-mail, username or password.", status=401)
        if not account.approved:
            return _page(request, context, error="Your account is waiting for approval.", status=403)
        code = await oauth.issue_code(session, app=context["app"], account=account,
                                      redirect_uri=context["redirect_uri"], scopes=context["scopes"],
                                      code_challenge=context["code_challenge"] or None,
                                      code_challenge_method=context["code_challenge_method"] or None)
    if context["redirect_uri"] == OOB:
        return templates.TemplateResponse(request, "code.html",
                                          {"code": code, "instance": context["instance"]})
    return _redirect(context, {"code": code})


def _redirect(context: dict[str, Any], values: dict[str, str]) -> RedirectResponse:
    if context["state"]:
        values["state"] = context["state"]
    separator = "&" if "?" in context["redirect_uri"] else "?"
    return RedirectResponse(context["redirect_uri"] + separator + urlencode(values), status_code=303)


# --- tokens -------------------------------------------------------------------------------------

def _string_params(params: dict[str, Any]) -> dict[str, Any]:
    """OAuth parameters are single strings; `scope[]=…` or a JSON list would otherwise reach the database."""
    if any(not isinstance(v, str) for v in params.values()):
        raise OAuthError("invalid_request", "every parameter must be a string")
    return params


def _client_credentials(request: Request, params: dict[str, Any]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return client_id, secret
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Malformed Basic authorization header", 401) from None
    return params.get("client_id"), params.get("client_secret")


@router.post("/oauth/token", dependencies=[Depends(rate_limited("sign_in"))])
async def token(request: Request) -> JSONResponse:
    params = _string_params(await request_params(request))
    grant_type = params.get("grant_type")
    if grant_type not in oauth.GRANT_TYPES:
        raise OAuthError("unsupported_grant_type",
                         "grant_type must be one of " + ", ".join(oauth.GRANT_TYPES))
    runtime = runtime_of(request)
    client_id, client_secret = _client_credentials(request, params)
    ttl = runtime.settings.access_token_ttl
    reused: oauth.CodeReused | None = None
    async with runtime.db.transaction() as session:
        app = await oauth.authenticate_client(session, client_id=client_id, client_secret=client_secret)
        if grant_type == "authorization_code":
            try:
                account, scopes = await oauth.redeem_code(session, app=app, code=params.get("code"),
                                                          redirect_uri=params.get("redirect_uri"),
                                                          code_verifier=params.get("code_verifier"))
            except oauth.CodeReused as exc:
                reused = exc  # leave the transaction normally, so the revocation it made is committed
            else:
                issued = await oauth.issue_token(session, app=app, account=account, scopes=scopes, ttl=ttl)
        elif grant_type == "password":
            scopes = oauth.requested_scopes(app, params.get("scope"))
            account = await service.authenticate(session, login=params.get("username") or "",
                                                 password=params.get("password") or "",
                                                 passwords=passwords_for(request))
            if account is None or account.suspended:
                raise OAuthError("invalid_grant", "The user credentials were incorrect.")
            issued = await oauth.issue_token(session, app=app, account=account, scopes=scopes, ttl=ttl)
        elif grant_type == "client_credentials":
            scopes = oauth.requested_scopes(app, params.get("scope"))
            issued = await oauth.issue_token(session, app=app, account=None, scopes=scopes, ttl=ttl)
        else:
            issued = await oauth.refresh(session, app=app, refresh_token=params.get("refresh_token"),
                                         scopes=params.get("scope"), ttl=ttl)
    if reused is not None:
        raise reused
    return JSONResponse(token_json(issued), headers={"Cache-Control": "no-store"})


@router.post("/oauth/revoke")
async def revoke(request: Request) -> dict[str, Any]:
    params = _string_params(await request_params(request))
    runtime = runtime_of(request)
    client_id, client_secret = _client_credentials(request, params)
    async with runtime.db.transaction() as session:
        app = await oauth.authenticate_client(session, client_id=client_id, client_secret=client_secret)
        await oauth.revoke(session, app=app, token=params.get("token"))
    return {}

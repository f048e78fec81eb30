"""Wiring the web app into the server: its routers, its static files, and errors shown as pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from agora.kit.errors import AgoraError, NotFound
from agora.web.i18n import gettext as _
from agora.web.i18n import refusal
from agora.web.pages import ROUTERS
from agora.web.render import is_htmx, page, prepare
from agora.web.session import SignInRequired, sign_in_url

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    # Mounted before the server's own /static, which would otherwise claim /static/web/… first.
    app.mount("/static/web", VersionedStaticFiles(directory=STATIC_DIR), name="web-static")


class VersionedStaticFiles(StaticFiles):
    """Pages link to `/static/web/agora.css?v=<version>`: a versioned address never changes content,
    so browsers may keep it for a year; a bare address is revalidated (by ETag) every time."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if versioned else "no-cache"
        return response


# Addresses a browser never reads as a page: their errors stay JSON whatever the Accept header says.
_MACHINE_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/media/", "/static/", "/metrics", "/health", "/docs",
                     "/openapi.json", "/web/")


def wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(_MACHINE_PREFIXES)


async def not_found_page(request: Request) -> Response:
    await prepare(request)
    return await error_page(request, NotFound())


def is_web_request(request: Request) -> bool:
    return bool(request.scope.get("agora.web"))


async def error_page(request: Request, exc: AgoraError) -> Response:
    """An error on a web page, as the browser should see it: a sign-in redirect, a toast, or a page."""
    if isinstance(exc, SignInRequired):
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": sign_in_url(request)})
        return RedirectResponse(sign_in_url(request), status_code=303)
    message = _("This page does not exist, or you cannot see it.") if exc.status_code == 404 else refusal(exc.message)
    if is_htmx(request):
        return PlainTextResponse(message, status_code=exc.status_code)
    return await page(request, "error.html", {"status": exc.status_code, "message": message},
                      status=exc.status_code)

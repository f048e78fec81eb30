"""Turning a page's data into HTML: the Jinja environment, the context every page shares, fragments.

A route builds its data and calls `page()` for a whole document or `fragment()` for the piece htmx
swaps in. Both run with the request's locale active, so `_()` and the date and number filters
speak the reader's language.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from agora import __version__
from agora.accounts.entities import MISSING_AVATAR, MISSING_HEADER
from agora.chat import conversations
from agora.kit.runtime import runtime_of
from agora.kit.time import iso
from agora.models import Account
from agora.social import notifications
from agora.web import i18n
from agora.web.forms import new_key
from agora.web.session import CSRF_COOKIE, Viewer, csrf_token, current_viewer, same_site_path

TEMPLATE_DIR = Path(__file__).parent / "templates"


def account_avatar(account: Account) -> str:
    return f"/media/{account.avatar_path}" if account.avatar_path else MISSING_AVATAR


def account_header(account: Account) -> str:
    return f"/media/{account.header_path}" if account.header_path else MISSING_HEADER


class DedentingLoader(FileSystemLoader):
    """Templates are indented for people; the pages they make need not be. Leading whitespace is
    dropped from each line of the template *source* (never from what members wrote, which is
    inserted later), a few KB off every timeline page."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        return _INDENT.sub("", source), filename, uptodate


_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)


def _environment() -> Environment:
    env = Environment(loader=DedentingLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True,  # type: ignore[attr-defined]
                                  pgettext=i18n.pgettext, npgettext=i18n.npgettext)
    env.filters.update(ago=i18n.ago, full_datetime=i18n.full_datetime, number=i18n.number,
                       compact=i18n.compact, iso=iso)
    env.globals.update(html_lang=i18n.html_lang, locales=i18n.LOCALES, current_locale=i18n.current,
                       version=__version__, new_key=new_key, account_avatar=account_avatar,
                       account_header=account_header)
    return env


templates = Jinja2Templates(env=_environment())


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def fragment_kind(request: Request) -> str | None:
    """What piece of a list page the browser asks for: "list" (infinite scroll: the items and the
    next "more" link) or "new" (the new-posts bar: only newer items); None for the whole page."""
    return request.headers.get("x-agora-fragment") or request.query_params.get("fragment")


def chosen_locale(request: Request, viewer: Viewer | None) -> str | None:
    return i18n.chosen(request.cookies.get(i18n.LANG_COOKIE), viewer.account.locale if viewer is not None else None)


async def prepare(request: Request) -> Viewer | None:
    """Resolve the viewer and activate their locale; every web route calls this first (a dependency)."""
    viewer = await current_viewer(request)
    i18n.use(i18n.negotiate(choice=chosen_locale(request, viewer),
                            accept_language=request.headers.get("accept-language")))
    request.scope["agora.web"] = True  # errors on this request render as pages, not JSON
    if viewer is not None:
        request.scope["agora.grant"] = viewer.grant  # rate limits count per member, as on the API
    return viewer


def _context(request: Request, viewer: Viewer | None) -> dict[str, Any]:
    """What every template may use."""
    return {
        "viewer": viewer.account if viewer is not None else None,
        "csrf": csrf_token(request, viewer),
        "settings": runtime_of(request).settings,
        "path": request.url.path,
    }


def _finish(request: Request, response: HTMLResponse) -> HTMLResponse:
    minted = request.scope.get("agora.new_csrf")
    if minted:
        response.set_cookie(CSRF_COOKIE, minted, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/")
    response.headers["Cache-Control"] = "no-store"  # pages are per member; never cache another's
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Language"] = i18n.html_lang()
    return response


async def page(request: Request, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """A whole page: the layout too, with the navigation's unread-notifications and chat badges."""
    viewer = await current_viewer(request)
    unread = unread_chat = 0
    if viewer is not None:
        async with runtime_of(request).db.transaction(write=False) as session:
            unread = await notifications.unread_count(session, account_id=viewer.id, limit=100)
            unread_chat = await conversations.unread_total(session, viewer_id=viewer.id)
    full = {**_context(request, viewer), "unread_notifications": unread, "unread_chat": unread_chat, **context}
    return _finish(request, templates.TemplateResponse(request, template, full, status_code=status))


async def fragment(request: Request, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """A piece of a page for htmx: no layout, no notification count query."""
    full = {**_context(request, await current_viewer(request)), **context}
    return _finish(request, templates.TemplateResponse(request, template, full, status_code=status))


def back(request: Request, fallback: str = "/home") -> RedirectResponse:
    """After a form post without JavaScript: return to the page the form was on (same site only)."""
    target = same_site_path(request, request.headers.get("referer")) or fallback
    return RedirectResponse(target, status_code=303)

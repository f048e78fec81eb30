"""Helpers for web-page tests over the in-process client: sign a member's browser in, read forms."""

from __future__ import annotations

import re

import httpx

from agora.web.session import SESSION_COOKIE
from tests.factories import Member

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def signed_in(client: httpx.AsyncClient, member: Member) -> httpx.AsyncClient:
    """The web session cookie holds an access token, so a member's token signs their browser in."""
    client.cookies.set(SESSION_COOKIE, member.token)
    return client


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def form_post(client: httpx.AsyncClient, page_url: str, action: str, data: dict | None = None, *,
                    htmx: bool = False, files: dict | None = None) -> httpx.Response:
    """Open `page_url` as a browser would, then send `data` to `action` with that page's CSRF token."""
    page = await client.get(page_url)
    assert page.status_code == 200, page.text[:500]
    headers = {"HX-Request": "true"} if htmx else {}
    return await client.post(action, data={"csrf": csrf_of(page.text), **(data or {})}, files=files,
                             headers=headers)

"""Helpers for web-page tests over the in-process client: sign a member's browser in, read forms."""

from __future__ import annotations

import re

import httpx

from agora.web.session import SESSION_COOKIE
from tests.factories import PASSWORD, Member

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def signed_in(client: httpx.AsyncClient, member: Member) -> httpx.AsyncClient:
    """Sign `member` in through the sign-in form, as a browser does (signing out whoever was in)."""
    client.cookies.clear()
    page = await client.get("/auth/sign_in")
    answer = await client.post("/auth/sign_in", data={"csrf": csrf_of(page.text), "login": member.username,
                                                      "password": PASSWORD})
    assert answer.status_code == 303 and client.cookies.get(SESSION_COOKIE), answer.text[:300]
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

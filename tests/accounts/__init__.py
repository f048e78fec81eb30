"""Helpers shared by the accounts and OAuth tests: register an app, get tokens, run the consent page."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from PIL import Image

from agora.app import create_app
from agora.config import Settings
from agora.kit.runtime import Runtime
from tests.factories import PASSWORD

REDIRECT = "https://client.example/callback"


async def register_app(client: httpx.AsyncClient, *, scopes: str = "read write follow push",
                       redirect_uris: str | list[str] = REDIRECT,
                       name: str = "Test Client") -> dict[str, Any]:
    response = await client.post("/api/v1/apps", json={"client_name": name, "redirect_uris": redirect_uris,
                                                       "scopes": scopes})
    assert response.status_code == 200, response.text
    return response.json()


async def token_request(client: httpx.AsyncClient, app: dict[str, Any], **fields: str) -> httpx.Response:
    return await client.post("/oauth/token", data={"client_id": app["client_id"],
                                                   "client_secret": app["client_secret"], **fields})


async def password_token(client: httpx.AsyncClient, app: dict[str, Any], username: str, *,
                         password: str = PASSWORD, scope: str = "read write follow") -> dict[str, Any]:
    response = await token_request(client, app, grant_type="password", username=username, password=password,
                                   scope=scope)
    assert response.status_code == 200, response.text
    return response.json()


async def app_token(client: httpx.AsyncClient, app: dict[str, Any], scope: str = "read write") -> str:
    response = await token_request(client, app, grant_type="client_credentials", scope=scope)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def whoami(client: httpx.AsyncClient, token: str) -> httpx.Response:
    """verify_credentials with this access token."""
    return await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def png_bytes(size: tuple[int, int] = (64, 48),
              color: tuple[int, int, int, int] = (200, 30, 30, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, "PNG")
    return out.getvalue()


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """A client (and the runtime) for an app built with its own settings: registration modes,
    tight rate limits…"""
    application = create_app(settings)
    runtime: Runtime = application.state.runtime
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, runtime
    finally:
        await runtime.stop()

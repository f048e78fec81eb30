"""Chat test helpers: start conversations and send messages through the API, failing loudly."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from tests.factories import Member


async def direct(client: httpx.AsyncClient, starter: Member, other: Member) -> dict[str, Any]:
    response = await client.post("/api/v1/chats", headers=starter.headers, json={"account_id": other.id})
    assert response.status_code == 200, response.text
    return response.json()


async def group(client: httpx.AsyncClient, owner: Member, *members: Member, name: str = "Friends") -> dict[str, Any]:
    response = await client.post("/api/v1/chats", headers=owner.headers,
                                 json={"kind": "group", "name": name, "account_ids": [m.id for m in members]})
    assert response.status_code == 200, response.text
    return response.json()


async def send(client: httpx.AsyncClient, who: Member, conversation_id: str, text: str, **fields: Any
               ) -> dict[str, Any]:
    response = await client.post(f"/api/v1/chats/{conversation_id}/messages", headers=who.headers,
                                 json={"text": text, **fields})
    assert response.status_code in (200, 201), response.text
    return response.json()


async def history(client: httpx.AsyncClient, who: Member, conversation_id: str, **params: Any) -> list[dict]:
    response = await client.get(f"/api/v1/chats/{conversation_id}/messages", headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def follow(client: httpx.AsyncClient, who: Member, target: Member) -> None:
    response = await client.post(f"/api/v1/accounts/{target.id}/follow", headers=who.headers)
    assert response.status_code == 200, response.text


async def replay(client: httpx.AsyncClient, who: Member, cursor: str | int) -> dict[str, Any]:
    response = await client.get("/api/v1/chats/events", headers=who.headers, params={"cursor": cursor})
    assert response.status_code == 200, response.text
    return response.json()


# --- added for the API tests (conversations, messages, privacy, bad input) ----------------------


async def head(client: httpx.AsyncClient, who: Member) -> str:
    """The cursor to start from now: replaying from it returns only what happens next."""
    response = await client.get("/api/v1/chats/events", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()["cursor"]


async def events_since(client: httpx.AsyncClient, who: Member, cursor: str | int) -> list[dict[str, Any]]:
    """Every event after `cursor`, following `more` to the end."""
    found: list[dict[str, Any]] = []
    while True:
        page = await replay(client, who, cursor)
        found.extend(page["events"])
        cursor = page["cursor"]
        if not page["more"]:
            return found


async def block(client: httpx.AsyncClient, who: Member, target: Member) -> None:
    response = await client.post(f"/api/v1/accounts/{target.id}/block", headers=who.headers)
    assert response.status_code == 200, response.text


async def conversation(client: httpx.AsyncClient, who: Member, conversation_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/chats/{conversation_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def inbox(client: httpx.AsyncClient, who: Member, *, requests: bool = False) -> list[str]:
    """Ids of `who`'s conversations (or message requests), in the order the inbox shows them."""
    response = await client.get("/api/v1/chats", headers=who.headers,
                                params={"requests": "true"} if requests else {})
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()]


async def member_roles(client: httpx.AsyncClient, who: Member, conversation_id: str) -> dict[str, str]:
    """username -> role of everyone in the conversation, as `who` sees it."""
    response = await client.get(f"/api/v1/chats/{conversation_id}/members", headers=who.headers)
    assert response.status_code == 200, response.text
    return {m["account"]["username"]: m["role"] for m in response.json()}


def png(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


async def upload_image(client: httpx.AsyncClient, who: Member) -> dict[str, Any]:
    response = await client.post("/api/v2/media", headers=who.headers,
                                 files={"file": ("photo.png", png(), "image/png")})
    assert response.status_code == 200, response.text
    return response.json()

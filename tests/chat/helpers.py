"""Chat test helpers: start conversations and send messages through the API, failing loudly."""

from __future__ import annotations

from typing import Any

import httpx

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

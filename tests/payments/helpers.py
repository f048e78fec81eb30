"""Payments test helpers: move money through the API with a fresh Idempotency-Key, failing loudly."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.factories import Member


def keyed(who: Member, key: str | None = None) -> dict[str, str]:
    return {**who.headers, "Idempotency-Key": key or uuid.uuid4().hex}


async def pay(client: httpx.AsyncClient, who: Member, path: str, *, key: str | None = None, expect: int = 200,
              **fields: Any) -> dict[str, Any]:
    """POST a money-moving request as `who`; asserts the status and returns the JSON body."""
    response = await client.post(path, headers=keyed(who, key), json=fields)
    assert response.status_code == expect, response.text
    return response.json()


async def top_up(client: httpx.AsyncClient, who: Member, amount: int, currency: str = "usd") -> dict[str, Any]:
    return await pay(client, who, "/api/v1/wallet/top_up", amount=amount, currency=currency)


async def send(client: httpx.AsyncClient, sender: Member, recipient: Member, amount: int, *, expect: int = 200,
               **fields: Any) -> dict[str, Any]:
    return await pay(client, sender, "/api/v1/transfers", expect=expect, to=recipient.id, amount=amount, **fields)


async def available(client: httpx.AsyncClient, who: Member, currency: str = "usd") -> int:
    response = await client.get("/api/v1/wallet", headers=who.headers)
    assert response.status_code == 200, response.text
    return next((b["amount"] for b in response.json()["available"] if b["currency"] == currency), 0)


async def held(client: httpx.AsyncClient, who: Member, currency: str = "usd") -> int:
    response = await client.get("/api/v1/wallet", headers=who.headers)
    assert response.status_code == 200, response.text
    return next((b["amount"] for b in response.json()["held"] if b["currency"] == currency), 0)

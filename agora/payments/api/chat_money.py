"""Routes: money in chats — `POST /api/v1/chats/:id/transfers` (a transfer card the recipient accepts
with `POST /api/v1/transfers/:id/accept`), `POST /api/v1/chats/:id/red_packets`, and
`GET` / `POST …/open` on `/api/v1/red_packets/:id`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.oauth import Grant
from agora.kit.http import path_id
from agora.kit.runtime import runtime_of
from agora.models import Account, RedPacket
from agora.payments import chat_money, guard, red_packets, transfers
from agora.payments.api.common import (
    AMOUNT,
    CURRENCY,
    LIMITED,
    MEMBER,
    PIN,
    READ,
    STRIPE_SHAPED,
    TEXT,
    WRITE,
    action_once,
    amount_param,
    currency_param,
    documented,
    payment_params,
    run_once,
)
from agora.payments.api.transfers import checked_payment_emoji
from agora.payments.entities import accounts_by_id, red_packet_json, render_transfer

router = APIRouter(tags=["payments"], dependencies=STRIPE_SHAPED)


async def render_red_packet(session: AsyncSession, packet: RedPacket, request: Request, *, viewer_id: int
                            ) -> dict[str, Any]:
    claimed = await red_packets.claims(session, packet.id)
    accounts = await accounts_by_id(session, [packet.sender_id, *(c.account_id for c in claimed)])
    settings = runtime_of(request).settings
    best = max((c.amount for c in claimed), default=None) if packet.status != "open" else None
    rows = [{"account_id": str(c.account_id), "username": accounts[c.account_id].username if c.account_id in accounts
             else None, "amount": c.amount, "best_luck": packet.mode == "random" and c.amount == best,
             "created": int(c.created_at.timestamp())} for c in claimed]
    return red_packet_json(packet, accounts, settings, claims=rows, viewer_id=viewer_id)


@router.post("/api/v1/chats/{conversation_id}/transfers", dependencies=LIMITED, openapi_extra=documented(
    required=("amount",), amount=AMOUNT, currency=CURRENCY, note=TEXT, emoji=TEXT, to=MEMBER, pin=PIN))
async def transfer_in_chat(conversation_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Send money as a card in the chat: `amount`, `currency`, `note`, `emoji`; in a group, `to` names the
    member. It waits for the recipient to accept it, and returns to you if they decline or let it expire."""
    runtime = runtime_of(request)
    settings = runtime.settings
    params = await payment_params(request)
    amount = amount_param(params)
    currency = currency_param(params, settings.currencies, settings.default_currency)
    note = transfers.checked_note(params.get("note"))
    emoji = checked_payment_emoji(params.get("emoji"))
    target = path_id(conversation_id)
    await guard.check_pin(runtime.db, settings, account_id=grant.account.id, pin=params.get("pin"), amount=amount,
                          currency=currency)

    async def work(session: AsyncSession) -> dict[str, Any]:
        sender = await session.get_one(Account, grant.account.id)
        transfer = await chat_money.send_in_chat(session, settings, sender=sender, conversation_id=target,
                                                 to=params.get("to"), amount=amount, currency=currency, note=note,
                                                 emoji=emoji)
        return await render_transfer(session, transfer, settings, viewer_id=grant.account.id)

    return await run_once(request, grant, operation=f"chats.{target}.transfers", params=params, work=work)


@router.post("/api/v1/chats/{conversation_id}/red_packets", dependencies=LIMITED, openapi_extra=documented(
    required=("amount",), amount={**AMOUNT, "description": "The total to share"}, currency=CURRENCY,
    count={"type": "integer", "minimum": 1}, mode={"type": "string", "enum": ["random", "equal"]}, note=TEXT, pin=PIN))
async def send_red_packet(conversation_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """A red packet: `amount` (the total), `currency`, `count` (how many may open it), `mode` (`random`,
    the default, or `equal`), `note`. What nobody opens returns to you when it expires."""
    runtime = runtime_of(request)
    settings = runtime.settings
    params = await payment_params(request)
    amount = amount_param(params)
    currency = currency_param(params, settings.currencies, settings.default_currency)
    count, mode = red_packets.checked_shape(settings, amount=amount, count=params.get("count", 1),
                                            mode=params.get("mode"))
    note = transfers.checked_note(params.get("note"))
    target = path_id(conversation_id)
    await guard.check_pin(runtime.db, settings, account_id=grant.account.id, pin=params.get("pin"), amount=amount,
                          currency=currency)

    async def work(session: AsyncSession) -> dict[str, Any]:
        sender = await session.get_one(Account, grant.account.id)
        packet = await red_packets.create(session, settings, sender=sender, conversation_id=target, amount=amount,
                                          currency=currency, count=count, mode=mode, note=note)
        return await render_red_packet(session, packet, request, viewer_id=grant.account.id)

    return await run_once(request, grant, operation=f"chats.{target}.red_packets", params=params, work=work)


@router.get("/api/v1/red_packets/{packet_id}")
async def get_red_packet(packet_id: str, request: Request, grant: Grant = Depends(READ)) -> dict[str, Any]:
    """A red packet of a chat you are in: who opened it and how much, once it is finished."""
    async with runtime_of(request).db.transaction(write=False) as session:
        packet = await red_packets.visible(session, viewer_id=grant.account.id, packet_id=path_id(packet_id))
        return await render_red_packet(session, packet, request, viewer_id=grant.account.id)


@router.post("/api/v1/red_packets/{packet_id}/open", dependencies=LIMITED, openapi_extra=documented())
async def open_red_packet(packet_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Open a red packet: your share lands in your wallet (`my_amount`)."""
    target = path_id(packet_id)

    async def work(session: AsyncSession) -> dict[str, Any]:
        packet, _share = await red_packets.open_packet(session, viewer_id=grant.account.id, packet_id=target)
        return await render_red_packet(session, packet, request, viewer_id=grant.account.id)

    return await action_once(request, grant, operation=f"red_packets.open.{target}", act=work)

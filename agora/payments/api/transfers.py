"""Routes: `/api/v1/transfers` — send money, the history of what you sent and received, refunds, and
accepting or declining a transfer made in a chat."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.oauth import Grant
from agora.chat.messages import checked_emoji
from agora.config import Settings
from agora.kit.errors import AgoraError
from agora.kit.http import page_params, paged, path_id
from agora.kit.ids import parse_id
from agora.kit.params import request_params
from agora.kit.runtime import runtime_of
from agora.models import Account
from agora.payments import guard, transfers
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
    Work,
    action_once,
    amount_param,
    created_range,
    currency_param,
    documented,
    payment_params,
    run_once,
    text_param,
)
from agora.payments.entities import render_transfer, render_transfers, transfer_json
from agora.payments.errors import invalid
from agora.payments.members import counterparty

router = APIRouter(tags=["payments"], dependencies=STRIPE_SHAPED)


def checked_payment_emoji(raw: Any) -> str:
    if raw in (None, ""):
        return ""
    if not isinstance(raw, str):
        raise invalid("emoji must be one emoji", param="emoji")
    try:
        return checked_emoji(raw)
    except AgoraError:
        raise invalid("emoji must be one emoji", param="emoji") from None


def send_work(settings: Settings, *, payer: Account, to: Any, amount: int, currency: str, note: str, emoji: str
              ) -> Work:
    """The unit of work of a direct transfer, for `run_once` (the API) and `run_keyed` (the web page)."""
    async def work(session: AsyncSession) -> dict[str, Any]:
        recipient = await counterparty(session, payer_id=payer.id, to=to)
        # The payer is the signed-in account, already loaded: the hot path reads no row it has in hand.
        transfer = await transfers.send(session, settings, sender=payer, recipient=recipient, amount=amount,
                                        currency=currency, note=note, emoji=emoji)
        return transfer_json(transfer, {payer.id: payer, recipient.id: recipient}, settings, viewer_id=payer.id)

    return work


@router.post("/api/v1/transfers", dependencies=LIMITED, openapi_extra=documented(
    required=("to", "amount"), to=MEMBER, amount=AMOUNT, currency=CURRENCY, note=TEXT, emoji=TEXT, pin=PIN))
async def create_transfer(request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Send `amount` (minor units) of `currency` to `to` (an account id or acct), with a `note` and an
    optional `emoji`. Payments above the PIN threshold need `pin`."""
    runtime = runtime_of(request)
    settings = runtime.settings
    params = await payment_params(request)
    amount = amount_param(params)
    currency = currency_param(params, settings.currencies, settings.default_currency)
    note = transfers.checked_note(params.get("note"))
    emoji = checked_payment_emoji(params.get("emoji"))
    if amount > settings.payments_pin_threshold:  # a wrong `to` is refused before the PIN is asked (and counted)
        async with runtime.db.transaction(write=False) as session:
            await counterparty(session, payer_id=grant.account.id, to=params.get("to"))
    await guard.check_pin(runtime.db, settings, account_id=grant.account.id, pin=params.get("pin"), amount=amount,
                          currency=currency)

    work = send_work(settings, payer=grant.account, to=params.get("to"), amount=amount, currency=currency,
                     note=note, emoji=emoji)

    return await run_once(request, grant, operation="transfers.create", params=params, work=work)


@router.get("/api/v1/transfers")
async def list_transfers(request: Request, grant: Grant = Depends(READ)) -> JSONResponse:
    """Transfers you sent or received, newest first. Filters: `type` (direct, request, chat), `status`,
    `direction` (in, out), `counterparty` (account id), `currency`, `created[gte]` / `created[lt]`."""
    settings = runtime_of(request).settings
    params = await request_params(request)  # `created[gte]` arrives nested as params["created"]["gte"]
    kind, status, direction = text_param(params, "type"), text_param(params, "status"), text_param(params, "direction")
    for name, value, allowed in (("type", kind, transfers.KINDS), ("status", status, transfers.STATUSES),
                                 ("direction", direction, ("in", "out"))):
        if value and value not in allowed:
            raise invalid(f"{name} must be one of {', '.join(allowed)}", param=name)
    other = text_param(params, "counterparty")
    if other and parse_id(other) is None:
        raise invalid("counterparty must be an account id", param="counterparty")
    gte, lt = created_range(params)
    where = transfers.TransferFilter(
        kind=kind or None, status=status or None, direction=direction or None,
        counterparty_id=parse_id(other) if other else None,
        currency=currency_param(params, settings.currencies, "") if params.get("currency") else None,
        created_gte=gte, created_lt=lt)
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await transfers.history(session, viewer_id=grant.account.id, page=page_params(request), where=where)
        body = await render_transfers(session, found.items, settings, viewer_id=grant.account.id)
    return paged(request, found, body)


@router.get("/api/v1/transfers/{transfer_id}")
async def get_transfer(transfer_id: str, request: Request, grant: Grant = Depends(READ)) -> dict[str, Any]:
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await transfers.get(session, viewer_id=grant.account.id, transfer_id=path_id(transfer_id))
        return await render_transfer(session, found, runtime_of(request).settings, viewer_id=grant.account.id)


@router.post("/api/v1/transfers/{transfer_id}/refund", dependencies=LIMITED,
             openapi_extra=documented(amount={**AMOUNT, "description": "Part to refund; all that is left if omitted"}))
async def refund_transfer(transfer_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """The recipient returns a transfer: all of what is left, or `amount` of it."""
    params = await payment_params(request)
    amount = amount_param(params, required=False)
    target = path_id(transfer_id)

    async def work(session: Any) -> dict[str, Any]:
        found = await transfers.refund(session, viewer_id=grant.account.id, transfer_id=target, amount=amount)
        return await render_transfer(session, found, runtime_of(request).settings, viewer_id=grant.account.id)

    return await run_once(request, grant, operation=f"transfers.refund.{target}", params=params, work=work)


async def _resolve(request: Request, grant: Grant, transfer_id: str, action: str) -> JSONResponse:
    target = path_id(transfer_id)
    resolve = transfers.accept if action == "accept" else transfers.decline

    async def work(session: Any) -> dict[str, Any]:
        found = await resolve(session, viewer_id=grant.account.id, transfer_id=target)
        return await render_transfer(session, found, runtime_of(request).settings, viewer_id=grant.account.id)

    return await action_once(request, grant, operation=f"transfers.{action}.{target}", act=work)


@router.post("/api/v1/transfers/{transfer_id}/accept", dependencies=LIMITED, openapi_extra=documented())
async def accept_transfer(transfer_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Take a transfer sent to you in a chat."""
    return await _resolve(request, grant, transfer_id, "accept")


@router.post("/api/v1/transfers/{transfer_id}/decline", dependencies=LIMITED, openapi_extra=documented())
async def decline_transfer(transfer_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Send a chat transfer back to its sender."""
    return await _resolve(request, grant, transfer_id, "decline")

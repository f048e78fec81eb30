"""Routes: `/api/v1/wallet` — balances, top-up and withdrawal (sandbox), the PIN, history, statement."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from agora.accounts.oauth import Grant
from agora.kit.http import page_params, paged
from agora.kit.ids import parse_id
from agora.kit.params import request_params
from agora.kit.runtime import runtime_of
from agora.payments import funding, guard, ledger
from agora.payments.api.common import (
    AMOUNT,
    CURRENCY,
    LIMITED,
    PIN,
    READ,
    STRIPE_SHAPED,
    WRITE,
    amount_param,
    created_range,
    currency_param,
    documented,
    payment_params,
    run_once,
    text_param,
)
from agora.payments.entities import accounts_by_id, balance_transaction_json, wallet_json
from agora.payments.errors import invalid
from agora.payments.statement import StatementFilter, statement_csv, transactions

router = APIRouter(tags=["payments"], dependencies=STRIPE_SHAPED)


async def _wallet_body(request: Request, session: Any, account_id: int) -> dict[str, Any]:
    settings = runtime_of(request).settings
    return wallet_json(await ledger.balances(session, account_id), settings,
                       has_pin=await guard.has_pin(session, account_id))


@router.get("/api/v1/wallet")
async def get_wallet(request: Request, grant: Grant = Depends(READ)) -> dict[str, Any]:
    """Your balances per currency: `available` to spend, `held` promised (holds, chat transfers, red packets)."""
    async with runtime_of(request).db.transaction(write=False) as session:
        return await _wallet_body(request, session, grant.account.id)


async def _funding_move(request: Request, grant: Grant, operation: str) -> JSONResponse:
    settings = runtime_of(request).settings
    params = await payment_params(request)
    amount = amount_param(params)
    currency = currency_param(params, settings.currencies, settings.default_currency)
    move = funding.top_up if operation == "top_up" else funding.withdraw
    if operation == "withdraw":
        await guard.check_pin(runtime_of(request).db, settings, account_id=grant.account.id, pin=params.get("pin"),
                              amount=amount, currency=currency)

    async def work(session: Any) -> dict[str, Any]:
        entry = await move(session, settings, account_id=grant.account.id, amount=amount, currency=currency)
        body = await _wallet_body(request, session, grant.account.id)
        return {**body, "id": str(entry.id), "object": operation, "amount": amount, "currency": currency.lower()}

    return await run_once(request, grant, operation=f"wallet.{operation}", params=params, work=work)


@router.post("/api/v1/wallet/top_up", dependencies=LIMITED,
             openapi_extra=documented(required=("amount",), amount=AMOUNT, currency=CURRENCY))
async def top_up(request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Add money from the funding provider (the sandbox: test money). Answers with the new wallet."""
    return await _funding_move(request, grant, "top_up")


@router.post("/api/v1/wallet/withdraw", dependencies=LIMITED,
             openapi_extra=documented(required=("amount",), amount=AMOUNT, currency=CURRENCY, pin=PIN))
async def withdraw(request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Send money out through the funding provider."""
    return await _funding_move(request, grant, "withdraw")


@router.post("/api/v1/wallet/pin", dependencies=LIMITED)
async def set_pin(request: Request, grant: Grant = Depends(WRITE)) -> dict[str, Any]:
    """Set your six-digit payment PIN (`pin`); changing it needs the current one (`current_pin`)."""
    runtime = runtime_of(request)
    params = await payment_params(request)
    async with runtime.db.transaction(write=False) as session:
        exists = await guard.has_pin(session, grant.account.id)
    if exists:
        await guard.check_pin(runtime.db, runtime.settings, account_id=grant.account.id,
                              pin=params.get("current_pin"), amount=None)
    async with runtime.db.transaction() as session:
        await guard.set_pin(session, runtime.settings, account_id=grant.account.id, pin=params.get("pin"))
        return await _wallet_body(request, session, grant.account.id)


def _statement_filter(request: Request, params: dict[str, Any]) -> StatementFilter:
    settings = runtime_of(request).settings
    counterparty = text_param(params, "counterparty")
    counterparty_id = parse_id(counterparty) if counterparty else None
    if counterparty and counterparty_id is None:
        raise invalid("counterparty must be an account id", param="counterparty")
    gte, lt = created_range(params)
    return StatementFilter(kind=text_param(params, "type") or None, counterparty_id=counterparty_id,
                           currency=currency_param(params, settings.currencies, "") if params.get("currency")
                           else None, created_gte=gte, created_lt=lt)


@router.get("/api/v1/wallet/transactions")
async def list_transactions(request: Request, grant: Grant = Depends(READ)) -> JSONResponse:
    """Every change to your available balances, newest first: filter by `type`, `counterparty`,
    `currency`, `created[gte]` / `created[lt]` (or `since` / `until`)."""
    where = _statement_filter(request, await request_params(request))
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await transactions(session, owner_id=grant.account.id, page=page_params(request), where=where)
        accounts = await accounts_by_id(session, [p.counterparty_id for p, _ in found.items])
    return paged(request, found, [balance_transaction_json(p, e, accounts, runtime.settings) for p, e in found.items])


@router.get("/api/v1/wallet/statement.csv")
async def statement(request: Request, grant: Grant = Depends(READ)) -> StreamingResponse:
    """The same history as CSV, oldest first, with a running balance: for a spreadsheet or an accountant."""
    where = _statement_filter(request, await request_params(request))
    async with runtime_of(request).db.transaction(write=False) as session:
        lines = await statement_csv(session, owner_id=grant.account.id, where=where)
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="agora-statement-{grant.account.username}.csv"'})

"""Routes: `/api/v1/holds` — two-phase payments to a member: authorise now, capture (all or part) or
void later; one nobody resolves expires and its money returns to the payer.

Through this API a hold always pays a member (`to`); holds paying the operator's revenue (promoted
posts) are made by internal callers through `agora.payments.holds` directly.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from agora.accounts.oauth import Grant
from agora.config import Settings
from agora.kit.http import page_params, paged, path_id
from agora.kit.params import request_params
from agora.kit.runtime import runtime_of
from agora.models import Account, Hold
from agora.payments import guard, holds
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
    text_param,
)
from agora.payments.entities import accounts_by_id, hold_json
from agora.payments.errors import invalid
from agora.payments.members import counterparty
from agora.payments.transfers import checked_note

router = APIRouter(tags=["payments"], dependencies=STRIPE_SHAPED)


async def render_holds(session: Any, found: list[Hold], settings: Settings) -> list[dict[str, Any]]:
    accounts = await accounts_by_id(session, [i for h in found for i in (h.payer_id, h.payee_id)])
    return [hold_json(h, accounts, settings) for h in found]


def _ttl_param(params: dict[str, Any]) -> float | None:
    """`ttl_hours`: a JSON number, or a form's text spelling one (checked against the limits later)."""
    raw = params.get("ttl_hours")
    if raw in (None, ""):
        return None
    if isinstance(raw, str) and params.get("__form__"):
        try:
            raw = float(raw)
        except ValueError:
            raise invalid("ttl_hours must be a positive number of hours", param="ttl_hours") from None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise invalid("ttl_hours must be a positive number of hours", param="ttl_hours")
    return raw


@router.post("/api/v1/holds", dependencies=LIMITED, openapi_extra=documented(
    required=("to", "amount"), to=MEMBER, amount=AMOUNT, currency=CURRENCY, description=TEXT,
    ttl_hours={"type": "number", "description": "Hours until it expires (default 168)"}, pin=PIN))
async def create_hold(request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Authorise `amount` (minor units) of `currency` for `to` (a member's id or acct), with an optional
    `description` and `ttl_hours` (how long the payee has to capture it). Above the PIN threshold it
    needs `pin`. The money moves from your available balance to your held one."""
    runtime = runtime_of(request)
    settings = runtime.settings
    params = await payment_params(request)
    amount = amount_param(params)
    assert amount is not None
    currency = currency_param(params, settings.currencies, settings.default_currency)
    description = checked_note(params.get("description"), param="description")
    ttl_hours = holds.checked_ttl(settings, _ttl_param(params))
    async with runtime.db.transaction(write=False) as session:
        await counterparty(session, payer_id=grant.account.id, to=params.get("to"))  # 4xx before the PIN is asked
    await guard.check_pin(runtime.db, settings, account_id=grant.account.id, pin=params.get("pin"), amount=amount,
                          currency=currency)

    async def work(session: Any) -> dict[str, Any]:
        payee = await counterparty(session, payer_id=grant.account.id, to=params.get("to"))
        payer = await session.get_one(Account, grant.account.id)
        hold = await holds.authorise(session, settings, payer=payer, payee=payee, amount=amount, currency=currency,
                                     description=description, ttl_hours=ttl_hours)
        return (await render_holds(session, [hold], settings))[0]

    return await run_once(request, grant, operation="holds.create", params=params, work=work)


@router.get("/api/v1/holds")
async def list_holds(request: Request, grant: Grant = Depends(READ)) -> JSONResponse:
    """Holds you authorised or that pay you, newest first. Filters: `status` (authorised, captured,
    voided, expired), `role` (payer, payee)."""
    params = await request_params(request)
    status, role = text_param(params, "status"), text_param(params, "role")
    for name, value, allowed in (("status", status, holds.STATUSES), ("role", role, ("payer", "payee"))):
        if value and value not in allowed:
            raise invalid(f"{name} must be one of {', '.join(allowed)}", param=name)
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await holds.history(session, viewer_id=grant.account.id, page=page_params(request),
                                    where=holds.HoldFilter(status=status or None, role=role or None))
        body = await render_holds(session, found.items, runtime.settings)
    return paged(request, found, body)


@router.get("/api/v1/holds/{hold_id}")
async def get_hold(hold_id: str, request: Request, grant: Grant = Depends(READ)) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await holds.get(session, viewer_id=grant.account.id, hold_id=path_id(hold_id))
        return (await render_holds(session, [found], runtime.settings))[0]


@router.post("/api/v1/holds/{hold_id}/capture", dependencies=LIMITED,
             openapi_extra=documented(amount={**AMOUNT, "description": "Part to capture; all of it if omitted"}))
async def capture_hold(hold_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """The payee takes the hold: all of it, or `amount` of it (the rest returns to the payer). Once."""
    params = await payment_params(request)
    amount = amount_param(params, required=False)
    target = path_id(hold_id)
    settings = runtime_of(request).settings

    async def work(session: Any) -> dict[str, Any]:
        found = await holds.capture(session, hold_id=target, actor_id=grant.account.id, amount=amount)
        return (await render_holds(session, [found], settings))[0]

    return await run_once(request, grant, operation=f"holds.capture.{target}", params=params, work=work)


@router.post("/api/v1/holds/{hold_id}/void", dependencies=LIMITED, openapi_extra=documented())
async def void_hold(hold_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """The payer or the payee cancels the hold: all of it returns to the payer. Once."""
    target = path_id(hold_id)
    settings = runtime_of(request).settings

    async def work(session: Any) -> dict[str, Any]:
        found = await holds.void(session, hold_id=target, actor_id=grant.account.id)
        return (await render_holds(session, [found], settings))[0]

    return await action_once(request, grant, operation=f"holds.void.{target}", act=work)

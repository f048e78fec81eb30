"""Routes: `/api/v1/payment_requests` — ask members for money (one, several, or a bill split), and pay,
decline, cancel or remind.

Creating answers with a `payment_request_group` whatever the number of payers, so a client reads one
shape: `{"object": "payment_request_group", "id", "split", "amount", "currency", "data": [payment_request…]}`.
Its `id` is the split's id when there are several payers (the requests' `split`, and `?split=` on the list),
or the one request's id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.oauth import Grant
from agora.config import Settings
from agora.kit.http import page_params, paged, path_id
from agora.kit.ids import parse_id
from agora.kit.params import request_params
from agora.kit.runtime import runtime_of
from agora.models import PaymentRequest
from agora.payments import guard, requests, transfers
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
from agora.payments.entities import accounts_by_id, payment_request_json
from agora.payments.errors import invalid

router = APIRouter(tags=["payments"], dependencies=STRIPE_SHAPED)
SPLITS = ("equal", "amounts")


async def _render(session: AsyncSession, rows: list[PaymentRequest], settings: Settings) -> list[dict[str, Any]]:
    accounts = await accounts_by_id(session, [i for r in rows for i in (r.requester_id, r.payer_id)])
    return [payment_request_json(r, accounts, settings) for r in rows]


def _names(params: dict[str, Any]) -> list[Any]:
    raw = params.get("from")
    named = raw if isinstance(raw, list) else ([] if raw in (None, "") else [raw])
    if not named:
        raise invalid("from must name who pays: a member's id or username, or a list of them", param="from")
    if len(named) > requests.MAX_PAYERS:
        raise invalid(f"A request may ask at most {requests.MAX_PAYERS} members at once", param="from")
    return named


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if value in (None, False, "false", "0", ""):
        return False
    if value in (True, "true", "1"):
        return True
    raise invalid(f"{name} must be true or false", param=name)


def _amounts(params: dict[str, Any], count: int, settings: Settings) -> tuple[str | None, list[int]]:
    """What each payer is asked for: `amount` each; `split=equal` of `amount` among them (and the
    requester too with `include_me`); or `amounts`, one per payer."""
    split = text_param(params, "split") or None
    if split is not None and split not in SPLITS:
        raise invalid(f"split must be one of {', '.join(SPLITS)}", param="split")
    include_me = _flag(params, "include_me")
    if include_me and split != "equal":
        raise invalid("include_me applies only to split=equal", param="include_me")
    if params.get("amounts") is not None or split == "amounts":
        if params.get("amount") is not None:
            raise invalid("Send amount or amounts, not both", param="amounts")
        raw = params.get("amounts")
        if not isinstance(raw, list) or len(raw) != count:
            raise invalid(f"amounts must be a list of {count} amount{'' if count == 1 else 's'}, one for each "
                          "member in from, in the same order", param="amounts")
        form = params.get("__form__")
        amounts = [amount_param({f"amounts[{i}]": v, "__form__": form}, f"amounts[{i}]") for i, v in enumerate(raw)]
        split = "amounts"
    else:
        total = amount_param(params)
        assert total is not None
        if split == "equal":
            shares = requests.equal_shares(total, count + include_me)
            if shares[-1] < 1:
                raise invalid(f"amount is too small to split {count + include_me} ways: at least one minor unit "
                              "each", param="amount", code="amount_too_small")
            amounts = shares[:count]  # with include_me the requester bears the last (never larger) share
        else:
            amounts = [total] * count
    for index, amount in enumerate(amounts):
        if amount > settings.payments_max_transfer:
            raise invalid(f"A single payment may be at most {settings.payments_max_transfer} minor units: "
                          f"ask for less", param="amount" if split != "amounts" else f"amounts[{index}]",
                          code="amount_over_limit")
    return split, amounts  # type: ignore[return-value]


@router.post("/api/v1/payment_requests", dependencies=LIMITED, openapi_extra=documented(
    required=("from",), **{"from": {"oneOf": [MEMBER, {"type": "array", "items": MEMBER}]}}, amount=AMOUNT,
    split={"type": "string", "enum": ["equal"]}, include_me={"type": "boolean"},
    amounts={"type": "array", "items": AMOUNT}, currency=CURRENCY, note=TEXT))
async def create_request(request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Ask `from` (a member id or username, or a list of up to 50) for money: `amount` from each; or
    `split=equal` to divide `amount` (the total) among them, remainder cents falling to the first payers,
    with `include_me=true` counting you as one more share; or `amounts`, one per payer. `currency`, `note`.
    Needs an Idempotency-Key. Answers with a `payment_request_group` (see the module docstring)."""
    settings = runtime_of(request).settings
    params = await payment_params(request)
    named = _names(params)
    split, amounts = _amounts(params, len(named), settings)
    currency = currency_param(params, settings.currencies, settings.default_currency)
    note = transfers.checked_note(params.get("note"))

    async def work(session: AsyncSession) -> dict[str, Any]:
        asked = await requests.payers(session, requester_id=grant.account.id, named=named)
        rows = await requests.create(session, requester_id=grant.account.id, asked=asked, amounts=amounts,
                                     currency=currency, note=note)
        return {
            "id": str(rows[0].split_id or rows[0].id),
            "object": "payment_request_group",
            "split": split,
            "amount": sum(amounts),
            "currency": currency.lower(),
            "note": note,
            "data": await _render(session, rows, settings),
        }

    return await run_once(request, grant, operation="payment_requests.create", params=params, work=work)


@router.get("/api/v1/payment_requests")
async def list_requests(request: Request, grant: Grant = Depends(READ)) -> JSONResponse:
    """Requests made of you and by you, newest first, paged with `Link`. Filters: `direction` (in: asked
    of you, out: asked by you), `status` (open, paid, declined, cancelled), `split` (a split's id)."""
    params = await request_params(request)
    direction, status = text_param(params, "direction"), text_param(params, "status")
    split = text_param(params, "split")
    for name, value, allowed in (("direction", direction, ("in", "out")), ("status", status, requests.STATUSES)):
        if value and value not in allowed:
            raise invalid(f"{name} must be one of {', '.join(allowed)}", param=name)
    if split and parse_id(split) is None:
        raise invalid("split must be a split's id", param="split")
    where = requests.RequestFilter(direction=direction or None, status=status or None,
                                   split_id=parse_id(split) if split else None)
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await requests.history(session, viewer_id=grant.account.id, page=page_params(request), where=where)
        body = await _render(session, found.items, runtime.settings)
    return paged(request, found, body)


@router.get("/api/v1/payment_requests/{request_id}")
async def get_request(request_id: str, request: Request, grant: Grant = Depends(READ)) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        found = await requests.get(session, viewer_id=grant.account.id, request_id=path_id(request_id))
        return (await _render(session, [found], runtime.settings))[0]


@router.post("/api/v1/payment_requests/{request_id}/pay", dependencies=LIMITED, openapi_extra=documented(pin=PIN))
async def pay_request(request_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Pay a request made of you (a transfer to the requester); above the PIN threshold send `pin`.
    Answers with the request, now `paid`, its `transfer` the payment's id."""
    runtime = runtime_of(request)
    params = await payment_params(request)
    target = path_id(request_id)
    async with runtime.db.transaction(write=False) as session:
        # Who may pay is checked before the PIN is asked; the state is not, so a retry still replays.
        found = await requests.get(session, viewer_id=grant.account.id, request_id=target)
        requests.check_payer(found, grant.account.id)
    await guard.check_pin(runtime.db, runtime.settings, account_id=grant.account.id, pin=params.get("pin"),
                          amount=found.amount, currency=found.currency)

    async def work(session: AsyncSession) -> dict[str, Any]:
        paid = await requests.pay(session, runtime.settings, viewer_id=grant.account.id, request_id=target)
        return (await _render(session, [paid], runtime.settings))[0]

    return await run_once(request, grant, operation=f"payment_requests.pay.{target}", params=params, work=work)


async def _resolve(request: Request, grant: Grant, request_id: str, action: str) -> JSONResponse:
    target = path_id(request_id)
    resolve = {"decline": requests.decline, "cancel": requests.cancel, "remind": requests.remind}[action]

    async def work(session: AsyncSession) -> dict[str, Any]:
        found = await resolve(session, viewer_id=grant.account.id, request_id=target)
        return (await _render(session, [found], runtime_of(request).settings))[0]

    return await action_once(request, grant, operation=f"payment_requests.{action}.{target}", act=work)


@router.post("/api/v1/payment_requests/{request_id}/decline", dependencies=LIMITED, openapi_extra=documented())
async def decline_request(request_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Refuse a request made of you."""
    return await _resolve(request, grant, request_id, "decline")


@router.post("/api/v1/payment_requests/{request_id}/cancel", dependencies=LIMITED, openapi_extra=documented())
async def cancel_request(request_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Withdraw a request you made, while it is open."""
    return await _resolve(request, grant, request_id, "cancel")


@router.post("/api/v1/payment_requests/{request_id}/remind", dependencies=LIMITED, openapi_extra=documented())
async def remind_request(request_id: str, request: Request, grant: Grant = Depends(WRITE)) -> JSONResponse:
    """Notify the payer again: an hour after the request or your last reminder at the soonest (else 429
    `reminder_too_soon`)."""
    return await _resolve(request, grant, request_id, "remind")

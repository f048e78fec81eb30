"""What every payments route shares: scopes, Stripe-shaped errors, parameters, and `run_once` — the
idempotent, retried unit of work every money-moving POST goes through.

`run_once` writes the `Idempotency-Key` record *first* in the transaction that moves the money, and
the response into it last. So a second request with the same key waits on the first's row (or finds it
committed) and replays the stored answer; a request whose response was never committed moved nothing,
and retrying it is safe — which is what makes a crash at any instant harmless.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.auth import member, rate_limited
from agora.accounts.idempotency import KEEP_FOR, MAX_KEY, fingerprint, live_record
from agora.accounts.oauth import Grant
from agora.kit.db import insert_unless_exists
from agora.kit.errors import AgoraError
from agora.kit.ids import new_id
from agora.kit.money import MoneyError, parse_amount, parse_currency
from agora.kit.params import request_params
from agora.kit.runtime import runtime_of
from agora.kit.time import utcnow
from agora.models import IdempotencyRecord
from agora.payments.errors import from_money_error, invalid, wrong_state

log = logging.getLogger("agora.payments")
STRIPE_ERRORS = "agora.stripe_errors"
# PostgreSQL's "try again" answers: serialization_failure and deadlock_detected.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
ATTEMPTS = 6


async def _stripe_errors(request: Request) -> None:
    request.scope[STRIPE_ERRORS] = True


STRIPE_SHAPED = [Depends(_stripe_errors)]  # a router-level dependency: it runs before the routes' own
READ = member("read:payments")
WRITE = member("write:payments")
LIMITED = [Depends(rate_limited("payments"))]


# OpenAPI descriptions of the bodies the routes read with `payment_params` (which takes JSON, forms or
# a query string alike, so FastAPI cannot infer them).
AMOUNT = {"type": "integer", "minimum": 1, "description": "Minor units of the currency: 1050 is 10.50"}
CURRENCY = {"type": "string", "example": "usd", "description": "ISO 4217 code; the instance's default if left out"}
TEXT = {"type": "string"}
PIN = {"type": "string", "pattern": "^[0-9]{6}$", "description": "Payment PIN, needed above the PIN threshold"}
MEMBER = {"type": "string", "description": "An account id, or a username (`alice` or `@alice`)"}
_IDEMPOTENCY_HEADER = {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string"},
                       "description": "A unique key per operation (a UUID): a retry with the same key replays the "
                                      "first answer; the same key with other parameters is a 409"}


def documented(*, required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a money-moving POST: its Idempotency-Key header and its body."""
    schema = {"type": "object", "properties": properties, **({"required": list(required)} if required else {})}
    return {"parameters": [_IDEMPOTENCY_HEADER],
            "requestBody": {"required": bool(required), "content": {"application/json": {"schema": schema}}}}


def wants_stripe_errors(request: Request) -> bool:
    return bool(request.scope.get(STRIPE_ERRORS))


async def payment_params(request: Request) -> dict[str, Any]:
    """The request's parameters, marked when they came from a form (whose numbers arrive as text)."""
    params = await request_params(request)
    content_type = request.headers.get("content-type", "")
    params["__form__"] = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    return params


def amount_param(params: dict[str, Any], name: str = "amount", *, required: bool = True) -> int | None:
    """An integer amount. Forms send text, so a form's digits are read as the integer they spell;
    JSON must send a number (`"1050"` in JSON is refused, as Stripe refuses it)."""
    value = params.get(name)
    if value is None and not required:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and params.get("__form__"):
        value = int(value)
    try:
        return parse_amount(value, param=name)
    except MoneyError as error:
        raise from_money_error(error) from None


def currency_param(params: dict[str, Any], allowed: list[str], default: str) -> str:
    try:
        return parse_currency(params.get("currency", default.lower()), allowed=allowed)
    except MoneyError as error:
        raise from_money_error(error) from None


def text_param(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(f"{name} must be text", param=name)
    return value


def created_range(params: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """Stripe's `created[gte]` / `created[lt]` (Unix seconds), or `since` / `until` (ISO dates)."""
    created = params.get("created") if isinstance(params.get("created"), dict) else {}
    bounds: list[datetime | None] = []
    for stripe_key, iso_key in (("gte", "since"), ("lt", "until")):
        raw = created.get(stripe_key) if created.get(stripe_key) not in (None, "") else None
        try:
            if raw is not None:
                bounds.append(datetime.fromtimestamp(int(raw), UTC))
            elif params.get(iso_key):
                moment = datetime.fromisoformat(str(params[iso_key]))
                bounds.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
            else:
                bounds.append(None)
        except (ValueError, OverflowError, OSError):
            raise invalid(f"{iso_key} must be a date (YYYY-MM-DD) or created[{stripe_key}] Unix seconds",
                          param=f"created[{stripe_key}]") from None
    return bounds[0], bounds[1]


def _retryable(error: DBAPIError) -> bool:
    state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return state in RETRYABLE_SQLSTATES or "database is locked" in str(error.orig)


class _KeyTaken(Exception):
    """Another request with this Idempotency-Key committed first: replay its answer instead."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        # Plain values: the transaction rolls back on the way out, and that expires the ORM object.
        self.request_hash = record.request_hash
        self.response: dict[str, Any] | None = record.response


Work = Callable[[AsyncSession], Awaitable[dict[str, Any]]]


def _replay(taken: _KeyTaken, request_hash: str) -> JSONResponse:
    if taken.request_hash != request_hash:
        raise wrong_state("Keys for idempotent requests can only be used with the same parameters they were "
                          "first used with", code="idempotency_key_in_use")
    if taken.response is None:  # committed without an answer: cannot happen, but never move money twice
        raise wrong_state("A request with this Idempotency-Key is still being processed", code="idempotency_key_in_use")
    return JSONResponse(taken.response["body"], status_code=taken.response["status"],
                        headers={"Idempotent-Replayed": "true"})


async def _claim_key(session: AsyncSession, account_id: int, scope: str, key: str, request_hash: str) -> int:
    """Insert the key's record, first thing in the money's transaction, and return its id; `_KeyTaken`
    with the other request's record if it has the key. One `INSERT … ON CONFLICT DO NOTHING`, so a
    new key (every payment but a retry) costs one statement and no savepoint."""
    values = {"id": new_id(), "account_id": account_id, "scope": scope, "key": key, "request_hash": request_hash,
              "resource_id": 0}
    table = IdempotencyRecord.__table__
    if await insert_unless_exists(session, table, values):  # type: ignore[arg-type]
        return values["id"]
    found = await live_record(session, account_id=account_id, scope=scope, key=key)
    if found is not None:
        raise _KeyTaken(found)
    # A record past its 24 hours still holds the unique key: clear it (only an expired one) and claim anew.
    await session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.account_id == account_id, IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key, IdempotencyRecord.created_at <= utcnow() - KEEP_FOR))
    values["id"] = new_id()
    if await insert_unless_exists(session, table, values):  # type: ignore[arg-type]
        return values["id"]
    raise AgoraError("The payment could not be completed; retry with the same Idempotency-Key")


async def action_once(request: Request, grant: Grant, *, operation: str, act: Work) -> JSONResponse:
    """A money-moving POST on one object (accept, refund, capture, open …): its parameters, once per key."""
    return await run_once(request, grant, operation=operation, params=await payment_params(request), work=act)


async def run_once(request: Request, grant: Grant, *, operation: str, params: dict[str, Any], work: Work,
                   status: int = 200) -> JSONResponse:
    """Run `work` (which moves money and returns the response body) exactly once per Idempotency-Key."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise invalid("This request moves money and needs an Idempotency-Key header (a unique string per "
                      "payment, such as a UUID); retry with the same key to be safe", param="Idempotency-Key",
                      code="idempotency_key_missing")
    if not key or len(key) > MAX_KEY:
        raise invalid(f"Idempotency-Key must be 1–{MAX_KEY} characters", param="Idempotency-Key")
    # The PIN proves who pays; it is not what is paid, and a hash of six digits must not be stored.
    request_hash = fingerprint({k: v for k, v in params.items() if k not in ("pin", "__form__")})
    db = runtime_of(request).db
    account_id = grant.account.id
    for attempt in range(ATTEMPTS):
        try:
            async with db.transaction() as session:
                record_id = await _claim_key(session, account_id, operation, key, request_hash)
                body = await work(session)
                await session.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(
                    response={"status": status, "body": body}, resource_id=int(body.get("id") or 0)))
            return JSONResponse(body, status_code=status)
        except _KeyTaken as taken:  # nothing was written: the transaction only found the other's record
            return _replay(taken, request_hash)
        except DBAPIError as error:
            if not _retryable(error) or attempt == ATTEMPTS - 1:
                raise
            log.info("payment retried after a transient database conflict", extra={"attempt": attempt + 1})
            await asyncio.sleep(random.uniform(0.001, 0.02) * (2**attempt))
    raise AgoraError("The payment could not be completed; retry with the same Idempotency-Key")

"""`Idempotency-Key`: a repeated request returns what the first one made; the same key with other
parameters is a 409. Records are per member and per operation, and kept for 24 hours."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.db import insert_once
from agora.kit.errors import Conflict, Unprocessable
from agora.kit.time import utcnow
from agora.models import IdempotencyRecord

KEEP_FOR = timedelta(hours=24)
MAX_KEY = 255


def fingerprint(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


async def live_record(session: AsyncSession, *, account_id: int, scope: str, key: str) -> IdempotencyRecord | None:
    """The unexpired record of this member's key for this operation, if any."""
    return await session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.account_id == account_id, IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key, IdempotencyRecord.created_at > utcnow() - KEEP_FOR))


async def replayed(
    session: AsyncSession, *, account_id: int, scope: str, key: str | None, request_hash: str
) -> int | None:
    """The id the first request with this key made, or None if this key is new."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY:
        raise Unprocessable(f"Idempotency-Key must be 1–{MAX_KEY} characters")
    record = await live_record(session, account_id=account_id, scope=scope, key=key)
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise Conflict("Idempotency-Key was already used with different parameters")
    return record.resource_id


async def remember(
    session: AsyncSession, *, account_id: int, scope: str, key: str | None, request_hash: str,
    resource_id: int,
) -> None:
    if key is None:
        return
    # An expired record with the same key would collide with the unique constraint: clear it first.
    # (Only an expired one: a live record here was committed by a concurrent request since `replayed`.)
    await session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.account_id == account_id, IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key, IdempotencyRecord.created_at <= utcnow() - KEEP_FOR))
    record = IdempotencyRecord(account_id=account_id, scope=scope, key=key, request_hash=request_hash,
                               resource_id=resource_id)
    if not await insert_once(session, record):  # a concurrent request with this key got there first
        raise Conflict("A request with this Idempotency-Key is already being processed; retry it")

"""Time is timezone-aware UTC everywhere; the wire format ends in `Z`.

`clock_at()` lets an importer (the demo community, a migration from another server) create rows
"in the past": every default timestamp and new snowflake id inside it uses the given moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_override: ContextVar[datetime | None] = ContextVar("agora_clock_override", default=None)


def utcnow() -> datetime:
    return _override.get() or datetime.now(UTC)


def overridden() -> datetime | None:
    return _override.get()


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    token = _override.set(as_utc(moment))
    try:
        yield
    finally:
        _override.reset(token)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; we only ever store UTC, so naive means UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")

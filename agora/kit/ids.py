"""Snowflake ids in Mastodon's layout: 48 bits of Unix milliseconds, then 16 bits of sequence.

Sorting by id sorts by creation time, which is what timelines page on. Ids travel as strings.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from datetime import datetime

from agora.kit.time import overridden

_lock = threading.Lock()
_last_ms = 0
_sequence = 0
# A random start per process keeps two processes that create rows in the same millisecond apart.
_process_salt = (os.getpid() ^ secrets.randbits(16)) & 0xFFFF
_backdated: dict[int, int] = {}  # ms -> ids handed out at that (overridden) moment


def snowflake_from_ms(ms: int, sequence: int = 0) -> int:
    return (ms << 16) | (sequence & 0xFFFF)


def unix_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def first_id_at(moment: datetime) -> int:
    """The smallest id a row made at `moment` can have: "since then" as a primary-key range."""
    return snowflake_from_ms(unix_ms(moment))


def new_id() -> int:
    """A new id for now — or for the moment set by `agora.kit.time.clock_at` (imports)."""
    global _last_ms, _sequence
    moment = overridden()
    with _lock:
        if moment is not None:
            ms = unix_ms(moment)
            count = _backdated.get(ms, 0)
            _backdated[ms] = count + 1
            return snowflake_from_ms(ms, (count + _process_salt) & 0xFFFF)
        ms = int(time.time() * 1000)
        if ms <= _last_ms:
            ms = _last_ms
            _sequence += 1
            if _sequence > 0xFFFF:  # 65,536 ids in one millisecond: borrow the next one
                ms += 1
                _sequence = 0
        else:
            _sequence = 0
        _last_ms = ms
        return snowflake_from_ms(ms, (_sequence + _process_salt) & 0xFFFF)


def id_to_ms(snowflake: int) -> int:
    return snowflake >> 16


def parse_id(raw: object) -> int | None:
    """A client-supplied id, or None when it is not a valid snowflake (so lookups can 404 cleanly)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 0 < raw < 2**63 else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
        return value if 0 < value < 2**63 else None
    return None

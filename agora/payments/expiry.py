"""Return what has waited too long: chat transfers nobody accepted, red packets nobody finished, and
holds nobody captured. The server sweeps every `payments_sweep_seconds`; `agora payments expire`
does one pass by hand.

Each item expires in its own transaction with the same at-most-once update the API uses, so any
number of workers may sweep at once, and a sweep racing a member's accept resolves one way only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import ModuleType

from sqlalchemy.exc import DBAPIError

from agora.kit.db import Database
from agora.payments import holds, red_packets, transfers

log = logging.getLogger("agora.payments")
SWEEPS: dict[str, ModuleType] = {"transfers": transfers, "red_packets": red_packets, "holds": holds}
BATCH = 100


async def expire_due(db: Database) -> dict[str, int]:
    """One pass: how many of each kind were returned."""
    returned = dict.fromkeys(SWEEPS, 0)
    for name, module in SWEEPS.items():
        due_to_expire: Callable[..., Awaitable[list[int]]] = module.due_to_expire
        while True:
            async with db.transaction(write=False) as session:
                due = await due_to_expire(session, limit=BATCH)
            done = 0
            for item_id in due:
                try:
                    async with db.transaction() as session:
                        done += await module.expire_one(session, item_id) is not None
                except DBAPIError:  # a conflicting accept or capture won, or a transient conflict: next pass
                    log.info("expiry deferred", extra={"kind": name, "id": item_id})
            returned[name] += done
            if len(due) < BATCH or not done:
                break
    return returned


async def sweep_forever(db: Database, every_seconds: float) -> None:
    while True:
        try:
            returned = await expire_due(db)
            if any(returned.values()):
                log.info("expired payments returned", extra=returned)
        except asyncio.CancelledError:
            raise
        except Exception:  # the sweeper must outlive a bad pass (a database restart, say)
            log.exception("payment expiry sweep failed")
        await asyncio.sleep(every_seconds)

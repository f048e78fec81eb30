"""A bounded queue in front of an engine: so many generations at once, so many waiting, no more.

An in-process model uses every core for one generation; letting requests pile up without bound
would only make every one of them slow. Beyond the bound a request fails at once (HTTP 429) and
the client retries later. A waiter that gives up (a client that disconnected) leaves the queue,
and a slot handed to a waiter that was cancelled meanwhile is passed on, never lost.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agora.ai.engines.base import EngineBusy


class GenerationQueue:
    def __init__(self, *, max_concurrent: int, max_queue: int) -> None:
        self.max_concurrent = max(1, max_concurrent)
        self.max_queue = max(0, max_queue)
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        if self.active < self.max_concurrent and not self.waiting:
            self.active += 1
            return
        if self.waiting >= self.max_queue:
            raise EngineBusy(f"The model is busy ({self.active} generating, {self.waiting} waiting); "
                             "try again in a moment")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # _release hands its slot over: `active` stays counted for us
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was ours already: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.active -= 1

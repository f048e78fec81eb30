"""A per-process background task that hears what commits publish: the search embedder and the
assistant's worker are both one.

It taps the database's event sink (the events a transaction queued, delivered after its commit),
so a subclass's `notice` sees every write in this process the moment it lands and can wake the task;
writes made by other processes are found by the task's own polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from agora.kit.db import Database

log = logging.getLogger(__name__)


class BackgroundTask:
    name = "agora-background"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sink: Any = None
        self._tapped = False

    def notice(self, events: Iterable[Any]) -> None:
        """The events a commit published (override; must be quick: it runs on the request's path)."""

    async def run_forever(self) -> None:  # override
        raise NotImplementedError

    def _tap(self) -> None:
        original = self.db.event_sink

        async def sink(events: list[Any]) -> None:
            try:
                self.notice(events)
            except Exception:  # never break a request's publishing
                log.exception("%s could not read events", self.name)
            if original is not None:
                await original(events)

        self._sink, self._tapped = original, True
        self.db.event_sink = sink

    def start(self) -> None:
        self._tap()
        self._task = asyncio.create_task(self.run_forever(), name=self.name)

    async def stop(self) -> None:
        if self._tapped:
            self.db.event_sink = self._sink
            self._sink, self._tapped = None, False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

"""The long-lived parts a running server shares: settings, database, bus, rate limiter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from agora.config import Settings
from agora.kit.bus import Bus, BusMessage, create_bus
from agora.kit.db import Database
from agora.kit.ratelimit import RateLimiter, create_rate_limiter


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: Bus
    limiter: RateLimiter
    # What features keep for the life of the process (a feature names its own key), e.g. chat's
    # messages rendered once for all the connections that deliver them.
    shared: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        db = Database(settings.resolved_database_url)
        bus = create_bus(settings.redis_url)
        runtime = cls(settings, db, bus, create_rate_limiter(settings.redis_url))

        async def publish(events: list[BusMessage]) -> None:
            await bus.publish(events)

        db.event_sink = publish
        return runtime

    async def start(self) -> None:
        self.settings.media_dir.mkdir(parents=True, exist_ok=True)
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.stop()
        await self.limiter.close()
        await self.db.dispose()


def runtime_of(connection: HTTPConnection) -> Runtime:
    return connection.app.state.runtime

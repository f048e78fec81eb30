"""Fixed-window rate limits: in-process by default, shared through Redis when configured.

Answers carry Mastodon's `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as redis


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    def headers(self) -> dict[str, str]:
        reset = datetime.fromtimestamp(self.reset_at, UTC).isoformat(timespec="milliseconds")
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": reset.replace("+00:00", "Z"),
        }


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, *, limit: int, window: int) -> Verdict:
        now = time.time()
        bucket = int(now // window)
        reset_at = (bucket + 1) * window
        count = await self._increment(f"{key}:{bucket}", window)
        return Verdict(count <= limit, limit, limit - count, reset_at)

    async def _increment(self, key: str, window: int) -> int:
        now = int(time.time())
        if len(self._windows) > 100_000:  # forget windows that have passed
            self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        count, expires = self._windows.get(key, (0, now + window))
        self._windows[key] = (count + 1, expires)
        return count + 1

    async def close(self) -> None:
        return None


class RedisRateLimiter(RateLimiter):
    def __init__(self, url: str) -> None:
        super().__init__()
        self._redis: Any = redis.from_url(url)

    async def _increment(self, key: str, window: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr("agora:rl:" + key)
            pipe.expire("agora:rl:" + key, window + 1)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        await self._redis.aclose()


def create_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else RateLimiter()

"""ASGI middleware (pure ASGI, so streaming responses pass through untouched):
the general rate limit with Mastodon's headers, and Prometheus request metrics."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.kit.errors import PayloadTooLarge
from agora.kit.ratelimit import Verdict

REQUESTS = Counter("agora_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("agora_http_request_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class RequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime = scope["app"].state.runtime
        settings = runtime.settings
        verdict: Verdict | None = None
        path = scope["path"]
        if settings.rate_limit_enabled and path.startswith(("/api/", "/oauth/")) and "/streaming" not in path:
            verdict = await runtime.limiter.hit(f"all:{_caller(scope)}", limit=settings.rate_limit_requests,
                                                window=settings.rate_limit_window)
            # A wider budget per address as well: a made-up token per request must not escape the limit.
            by_address = await runtime.limiter.hit(f"ip:{_address(scope)}", limit=settings.rate_limit_ip_requests,
                                                   window=settings.rate_limit_window)
            if not by_address.allowed:
                verdict = by_address
            if not verdict.allowed:
                await _reject(send, 429, "Too many requests", verdict.headers())
                return
        query = scope.get("query_string", b"")
        if "\x00" in path or b"%00" in query or b"\x00" in query:  # PostgreSQL cannot take U+0000 in text
            await _reject(send, 400, "the URL must not contain NUL (%00) characters")
            return
        declared = _content_length(scope)
        if declared is not None and declared > settings.max_request_bytes:
            await _reject(send, 413, f"request body is larger than {settings.max_request_bytes} bytes")
            return
        receive = _bounded(receive, settings.max_request_bytes)
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                # A named limit (sign-in, posting…) is the tighter one: report that instead.
                shown = scope.get("agora.rate_limit") or verdict
                if shown is not None:
                    headers = list(message.get("headers", []))
                    headers += [(k.lower().encode(), v.encode()) for k, v in shown.headers().items()]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = _route_of(scope)
            REQUESTS.labels(scope["method"], route, str(status_holder["status"])).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def _caller(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return "t" + hashlib.sha256(value).hexdigest()[:24]
    client = scope.get("client")
    return "ip" + (client[0] if client else "unknown")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _bounded(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def bounded_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:  # a chunked body without Content-Length that keeps coming
                raise PayloadTooLarge(f"request body is larger than {limit} bytes")
        return message

    return bounded_receive


async def _reject(send: Send, status: int, error: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": error}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *[(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]]})
    await send({"type": "http.response.body", "body": body})


class CompressionMiddleware:
    """gzip for pages and JSON (they shrink ~10×), never for event streams: a compressor buffers,
    and a buffered stream delivers nothing live. Streams are recognised by path, not by trusting
    each Starlette version's own list of excluded content types."""

    def __init__(self, app: ASGIApp, *, streaming_paths: tuple[str, ...], minimum_size: int = 1024) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)
        self.streaming_paths = streaming_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.streaming_paths):
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)

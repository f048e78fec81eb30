"""Errors under /v1 in OpenAI's shape, so the `openai` SDKs raise the exception a developer expects:

    {"error": {"message": "...", "type": "invalid_request_error", "param": "messages", "code": null}}

`OpenAIRoute` is the router's route class: whatever a /v1 route (or its dependencies, or FastAPI's
own body validation) raises is answered in that shape with the right status; the rest of Agora
keeps its Mastodon-style `{"error": "..."}` answers.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from agora.ai.engines.base import EngineError
from agora.kit.errors import AgoraError, TooManyRequests
from agora.kit.ratelimit import Verdict

log = logging.getLogger("agora.ai")

# OpenAI's error type for each status it uses.
TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
         404: "invalid_request_error", 409: "conflict_error", 413: "invalid_request_error",
         422: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error", 502: "upstream_error",
         503: "service_unavailable"}


class OpenAIError(Exception):
    def __init__(self, status_code: int, message: str, *, type: str | None = None, param: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type or TYPES.get(status_code, "invalid_request_error")
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        headers = {"Retry-After": "1"} if self.status_code == 429 else None
        return JSONResponse(self.body(), status_code=self.status_code, headers=headers)


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


def model_not_found(model: str) -> OpenAIError:
    return OpenAIError(404, f"The model `{model}` does not exist or you do not have access to it.",
                       param="model", code="model_not_found")


def from_validation(errors: list[Any]) -> OpenAIError:
    """Pydantic's first complaint, named by the field it is about (`messages.0.role`)."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")) or None
    message = str(first.get("msg", "invalid request"))
    return bad_request(f"{where}: {message}" if where else message, param=where)


def rate_limit_headers(verdict: Verdict) -> dict[str, str]:
    """The member's AI budget under OpenAI's header names (RequestMiddleware adds Mastodon's X-RateLimit-*
    from the same verdict), so tools written for OpenAI can pace themselves."""
    return {"x-ratelimit-limit-requests": str(verdict.limit),
            "x-ratelimit-remaining-requests": str(max(verdict.remaining, 0)),
            "x-ratelimit-reset-requests": f"{_seconds_left(verdict)}s"}


def rate_limit_reached(verdict: Verdict) -> OpenAIError:
    return OpenAIError(429, f"Rate limit reached: {verdict.limit} requests to the AI endpoints per member in this "
                            f"window. Try again in {_seconds_left(verdict)}s.", code="rate_limit_exceeded")


def _seconds_left(verdict: Verdict) -> int:
    return max(math.ceil(verdict.reset_at - time.time()), 1)


def as_openai(exc: Exception) -> OpenAIError | None:
    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, EngineError):
        return OpenAIError(exc.status_code, exc.message, type=exc.type, code=exc.code)
    if isinstance(exc, AgoraError):
        code = "invalid_api_key" if exc.status_code == 401 else None
        status = 400 if exc.status_code == 422 else exc.status_code  # OpenAI says 400 for any bad input
        return OpenAIError(status, exc.message, code=code)
    if isinstance(exc, RequestValidationError):
        return from_validation(list(exc.errors()))
    if isinstance(exc, ValidationError):
        return from_validation(list(exc.errors()))
    if isinstance(exc, HTTPException):
        return OpenAIError(exc.status_code, str(exc.detail))
    return None


class OpenAIRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def openai_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:  # every error under /v1 is answered in OpenAI's shape
                response = _error_response(request, exc)
            # Set by the route's `rate_limited("ai")` dependency (POST /v1/chat/completions, /v1/embeddings).
            verdict: Verdict | None = request.scope.get("agora.rate_limit")
            if verdict is not None:
                response.headers.update(rate_limit_headers(verdict))
            return response

        return openai_handler


def _error_response(request: Request, exc: Exception) -> Response:
    verdict: Verdict | None = request.scope.get("agora.rate_limit")
    if isinstance(exc, TooManyRequests) and verdict is not None:
        # The member's AI budget is spent: say how many and for how long, and when to come back (not in 1 s).
        response = rate_limit_reached(verdict).response()
        response.headers["Retry-After"] = str(_seconds_left(verdict))
        return response
    error = as_openai(exc)
    if error is None:
        log.exception("unhandled error under /v1", exc_info=exc)
        error = OpenAIError(500, "Something went wrong on our side; it has been logged.", type="server_error")
    return error.response()

"""What every inference engine offers: a finished completion, or the same completion as a stream.

Two engines implement it: `LocalEngine` (the promoted run, in this process, PyTorch) and
`UpstreamEngine` (any OpenAI-compatible server, e.g. vLLM, at AGORA_AI_URL). The API and the
assistant only ever see this interface, so they do not care where the text is made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason


@dataclass(frozen=True)
class Delta:
    """A piece of a stream. The last one has `finish_reason` set and carries the usage."""

    text: str = ""
    finish_reason: FinishReason | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class Sampling:
    """How to pick tokens; the same for `complete` and `stream`."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


class EngineError(Exception):
    """A generation that could not be made; carries its HTTP status and OpenAI's error type/code."""

    status_code = 503
    type = "service_unavailable"
    code: str | None = "engine_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EngineBusy(EngineError):
    status_code = 429
    type = "rate_limit_exceeded"
    code = "engine_busy"


class UpstreamError(EngineError):
    status_code = 502
    type = "upstream_error"
    code = "upstream_error"


class UpstreamRejected(EngineError):
    """The upstream server refused the request itself (its 4xx): the caller's input was wrong."""

    status_code = 400
    type = "invalid_request_error"
    code = None


class Engine(Protocol):
    model_id: str

    async def resolve_model_id(self) -> str:
        """The model id clients name (an upstream engine may have to ask its server once)."""
        ...

    async def complete(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 1.0,
                       top_p: float = 1.0, stop: list[str] | None = None, seed: int | None = None) -> Generation:
        ...

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 1.0,
               top_p: float = 1.0, stop: list[str] | None = None, seed: int | None = None) -> AsyncIterator[Delta]:
        ...


def sampling(*, max_tokens: int, temperature: float, top_p: float, stop: list[str] | None,
             seed: int | None) -> Sampling:
    return Sampling(max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                    stop=tuple(s for s in (stop or []) if s), seed=seed)

"""Server-sent events in OpenAI's streaming format: `data: {chunk}` events, then `data: [DONE]`.

The first chunk carries the role, the next ones the text, the last one the finish reason (and
Agora's extension field); with `stream_options.include_usage`, a last usage-only chunk follows.
An error after the stream began cannot change the status any more: it is sent as an event of
OpenAI's error shape, which the SDKs raise.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from agora.ai.engines.base import Delta
from agora.ai.openai_errors import as_openai
from agora.ai.openai_schemas import chunk, usage_chunk

log = logging.getLogger("agora.ai")


def event(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


async def chat_events(deltas: AsyncIterator[Delta], *, id: str, model: str, include_usage: bool,
                      agora: dict[str, Any]) -> AsyncIterator[bytes]:
    """The event stream for `deltas` (an engine's stream, already started so that it is not busy)."""
    created = int(time.time())
    yield event(chunk(id=id, created=created, model=model, delta={"role": "assistant", "content": ""},
                      include_usage=include_usage))
    try:
        async for delta in deltas:
            if delta.text:
                yield event(chunk(id=id, created=created, model=model, delta={"content": delta.text},
                                  include_usage=include_usage))
            if delta.finish_reason is not None:
                yield event(chunk(id=id, created=created, model=model, delta={},
                                  finish_reason=delta.finish_reason, include_usage=include_usage, agora=agora))
                if include_usage:
                    yield event(usage_chunk(id=id, created=created, model=model, final=delta))
    except Exception as exc:  # the status is sent already: report in the stream
        error = as_openai(exc)
        if error is None:
            log.exception("unhandled error in a /v1 stream", exc_info=exc)
            yield event({"error": {"message": "Something went wrong on our side; it has been logged.",
                                   "type": "server_error", "param": None, "code": None}})
        else:
            yield event(error.body())
        return
    finally:
        close = getattr(deltas, "aclose", None)
        if close is not None:
            await close()  # a client that went away frees the engine's slot now
    yield event("[DONE]")


async def started(deltas: AsyncIterator[Delta]) -> AsyncIterator[Delta]:
    """`deltas` with its first item already fetched: a busy engine or an unknown model fails here,
    while an HTTP status can still say so, instead of inside a stream that already answered 200."""
    iterator = aiter(deltas)
    first = await anext(iterator, None)

    async def rest() -> AsyncIterator[Delta]:
        try:
            if first is not None:
                yield first
            async for delta in iterator:
                yield delta
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()

    return rest()

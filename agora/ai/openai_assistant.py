"""`agora-assistant` over /v1: the grounded assistant (agora/ai/assistant/) as a chat completion.

The question is the conversation's last user message; the answer comes with its citations in the
extension field `agora` (`citations`, `mode`, `refused`, `ai_generated`). A stream sends the finished
answer in small pieces, with the extension on the final chunk.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from agora.accounts.oauth import Grant
from agora.ai.engines import Delta, engine_for
from agora.ai.openai_errors import OpenAIError, bad_request
from agora.ai.openai_schemas import ASSISTANT_MODEL, chat_completion, completion_id
from agora.ai.openai_stream import chat_events
from agora.kit.runtime import Runtime

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\s*\S+")


def approximate_tokens(text: str) -> int:
    """Words and punctuation marks: the answer may come from no model at all (extractive mode), so
    there is no tokenizer to count with; this is the usual order of magnitude of one."""
    return len(_TOKEN.findall(text))


async def assistant_completion(runtime: Runtime, *, grant: Grant, messages: list[dict[str, str]], stream: bool,
                               include_usage: bool) -> Any:
    question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "").strip()
    if not question:
        raise bad_request("agora-assistant answers the last user message, and there is none.", param="messages")
    try:
        from agora.ai.assistant import answer_question
    except ImportError as error:
        raise OpenAIError(503, "The assistant is not available on this server yet.",
                          code="assistant_unavailable") from error
    settings = runtime.settings
    engine = engine_for(settings)
    assert grant.account is not None  # member() lets only members through
    async with runtime.db.transaction(write=False) as session:
        answer = await answer_question(session, asker_id=grant.account.id, question=question, settings=settings,
                                       engine=engine)
    agora = {"ai_generated": True, "mode": answer.mode, "refused": answer.refused,
             "model_version": getattr(answer, "model", None),
             "citations": answer.to_json().get("citations", [])}
    prompt_tokens = sum(approximate_tokens(m["content"]) for m in messages)
    completion_tokens = approximate_tokens(answer.text)
    id = completion_id()
    if not stream:
        return chat_completion(id=id, model=ASSISTANT_MODEL, text=answer.text, finish_reason="stop",
                               prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, agora=agora)

    async def pieces() -> AsyncIterator[Delta]:
        for piece in _PIECE.findall(answer.text):
            yield Delta(text=piece)
        yield Delta(finish_reason="stop", prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    return StreamingResponse(chat_events(pieces(), id=id, model=ASSISTANT_MODEL, include_usage=include_usage,
                                         agora=agora), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

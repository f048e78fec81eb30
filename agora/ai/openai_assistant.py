"""`agora-assistant` over /v1: the grounded assistant (agora/ai/assistant/) as a chat completion.

The question is the conversation's last user message — read with the member's earlier questions when
it is a follow-up ("and when does it close?": followup.py); the answer comes with its citations in the
extension field `agora` (`citations`, `mode`, `refused`, `ai_generated`). A stream sends the finished
answer in small pieces, with the extension on the final chunk. Every answer is written to the audit
log (agora/ai/audit.py) before it is sent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi.responses import StreamingResponse

from agora.accounts.oauth import Grant
from agora.ai.audit import last_user_message, raw_answer, record_answer
from agora.ai.engines import Delta, engine_for
from agora.ai.openai_errors import OpenAIError, bad_request
from agora.ai.openai_schemas import ASSISTANT_MODEL, chat_completion, completion_id
from agora.ai.openai_stream import chat_events
from agora.kit.runtime import Runtime

log = logging.getLogger("agora.ai")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\s*\S+")
AUDIT_GRACE_S = 10.0  # how long a stream the reader left may take to close and be audited


def approximate_tokens(text: str) -> int:
    """Words and punctuation marks: the answer may come from no model at all (extractive mode), so
    there is no tokenizer to count with; this is the usual order of magnitude of one."""
    return len(_TOKEN.findall(text))


async def assistant_completion(runtime: Runtime, *, grant: Grant, messages: list[dict[str, str]], stream: bool,
                               include_usage: bool) -> Any:
    asked = [m["content"] for m in messages if m["role"] == "user"]
    if not last_user_message(messages).strip():
        raise bad_request("agora-assistant answers the last user message, and there is none.", param="messages")
    try:
        from agora.ai.assistant import MAX_QUESTION_CHARS, answer_question
        from agora.ai.assistant.followup import standalone_question
    except ImportError as error:
        raise OpenAIError(503, "The assistant is not available on this server yet.",
                          code="assistant_unavailable") from error
    # A follow-up ("and when does it close?") is read with the member's earlier questions (followup.py);
    # the assistant's own earlier answers are never read back as the asker's words.
    question = standalone_question(asked[-1], asked[:-1], max_chars=MAX_QUESTION_CHARS)
    settings = runtime.settings
    engine = engine_for(settings)
    assert grant.account is not None  # member() lets only members through
    answer = await answer_question(runtime.db, asker_id=grant.account.id, question=question, settings=settings,
                                   engine=engine)
    # Recorded before anything is sent (a stream too: the whole answer is known already), in a short
    # write transaction of its own: answering may take seconds, and must not hold the write lock.
    async with runtime.db.transaction() as session:
        await record_answer(session, asker_id=grant.account.id, surface="api", question=question, answer=answer)
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


# --- a raw model's completions are audited too ----------------------------------------------------

async def record_raw(runtime: Runtime, *, grant: Grant, messages: list[dict[str, str]], text: str,
                     model: str) -> None:
    """Audit a plain chat completion from a model (no retrieval: its sources are empty)."""
    async with runtime.db.transaction() as session:
        await record_answer(session, asker_id=grant.account.id if grant.account is not None else None,
                            surface="api", question=last_user_message(messages),
                            answer=raw_answer(text, model=model), model_version=model)


def recording(deltas: AsyncIterator[Delta], runtime: Runtime, *, grant: Grant, messages: list[dict[str, str]],
              model: str) -> AsyncIterator[Delta]:
    """`deltas`, audited once the answer is known: when the finish arrives, before it is sent on (so a
    client that saw the end of the stream finds the row); a stream cut short is audited as far as it got."""

    async def audited() -> AsyncIterator[Delta]:
        pieces: list[str] = []
        done = False
        try:
            async for delta in deltas:
                pieces.append(delta.text or "")
                if delta.finish_reason is not None and not done:
                    await record_raw(runtime, grant=grant, messages=messages, text="".join(pieces), model=model)
                    done = True  # after the write: cancelled during it, the finally below still records
                yield delta
        finally:
            # A reader who leaves cancels the response's task scope, and anyio cancels every later
            # await in that scope too: shielded, the model's stream is closed (freeing its slot)
            # and the partial answer still reaches the audit log.
            with anyio.move_on_after(AUDIT_GRACE_S, shield=True):  # shielded, but never stuck
                close = getattr(deltas, "aclose", None)
                if close is not None:
                    await close()
                if not done and pieces:
                    try:
                        await record_raw(runtime, grant=grant, messages=messages, text="".join(pieces), model=model)
                    except Exception:  # the client is gone and the stream is over: say so in the log, go on
                        log.exception("could not audit a /v1 stream that was cut short")

    return audited()

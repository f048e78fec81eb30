"""The OpenAI-compatible API under /v1: models, chat completions (plain and streamed), embeddings.

Any OpenAI client works against Agora with an Agora access token as its API key. The models:
`agora-assistant` (the grounded assistant: answers from the community's posts, with citations),
the promoted run's id (or the upstream server's model, with AGORA_AI_URL) for plain chat, and
all-MiniLM-L6-v2 for embeddings. Every completion says it was AI-generated (`agora.ai_generated`), and
every completion is written to the audit log (agora/ai/audit.py), the raw models' too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from agora.accounts.auth import member, rate_limited
from agora.accounts.oauth import Grant
from agora.ai.engines import Engine, EngineError, engine_for
from agora.ai.openai_assistant import assistant_completion, record_raw, recording
from agora.ai.openai_errors import OpenAIError, OpenAIRoute, bad_request, model_not_found
from agora.ai.openai_schemas import (
    ASSISTANT_MODEL,
    ChatCompletionRequest,
    EmbeddingRequest,
    completion_id,
    from_generation,
    model_entry,
)
from agora.ai.openai_stream import chat_events, started
from agora.config import Settings
from agora.kit.runtime import runtime_of

router = APIRouter(prefix="/v1", route_class=OpenAIRoute, tags=["OpenAI-compatible"])
caller = member("read")
Body = TypeVar("Body", bound=BaseModel)
EMBEDDING_MAX_INPUTS = 2048  # OpenAI's own limit per request
# One budget per member for everything that runs a model (`rate_limit_ai`): a completion may take seconds,
# and RequestMiddleware's general limit covers /api/ and /oauth/ only. Listing models is not counted.
AI_LIMITED = [Depends(rate_limited("ai"))]


async def parse(request: Request, schema: type[Body]) -> Body:
    try:
        data = await request.json()
    except ValueError as error:
        raise bad_request("The body must be a JSON object (Content-Type: application/json).") from error
    if not isinstance(data, dict):
        raise bad_request("The body must be a JSON object.")
    return schema.model_validate(data)  # a ValidationError is a 400 naming the field (OpenAIRoute)


async def serving_engine(settings: Settings, model: str) -> Engine | None:
    """The engine that serves `model`, if one does (an unreachable upstream serves nothing)."""
    engine = engine_for(settings)
    if engine is None:
        return None
    try:
        return engine if await engine.resolve_model_id() == model else None
    except EngineError:
        return None


@router.get("/models")
async def list_models(request: Request, _grant: Grant = Depends(caller)) -> dict[str, Any]:
    from agora.search.embeddings import MODEL_NAME

    settings = runtime_of(request).settings
    created = 0
    data = [model_entry(ASSISTANT_MODEL, created), model_entry(MODEL_NAME, created)]
    engine = engine_for(settings)
    if engine is not None:
        with contextlib.suppress(EngineError):  # an upstream server that is down: its model is not listed now
            data.append(model_entry(await engine.resolve_model_id(), created))
    return {"object": "list", "data": data}


@router.get("/models/{model_id:path}")
async def get_model(model_id: str, request: Request, grant: Grant = Depends(caller)) -> dict[str, Any]:
    for entry in (await list_models(request, grant))["data"]:
        if entry["id"] == model_id:
            return entry
    raise model_not_found(model_id)


@router.post("/chat/completions", response_model=None, dependencies=AI_LIMITED)
async def chat_completions(request: Request, grant: Grant = Depends(caller)) -> Any:
    settings = runtime_of(request).settings
    body = await parse(request, ChatCompletionRequest)
    try:
        messages = body.plain_messages()
    except ValueError as error:
        raise bad_request(str(error), param="messages") from error
    if sum(len(m["content"]) for m in messages) > settings.ai_max_input_chars:
        raise bad_request(f"The messages are longer than {settings.ai_max_input_chars} characters together.",
                          param="messages", code="context_length_exceeded")
    limit = body.limit()
    if limit is not None and limit > settings.ai_max_tokens:
        raise bad_request(f"max_tokens is too large: this server makes at most {settings.ai_max_tokens} tokens "
                          "per completion.", param="max_tokens")
    if body.stream_options is not None and not body.stream:
        raise bad_request("stream_options is only allowed when stream is true.", param="stream_options")
    if not settings.ai_enabled:
        raise OpenAIError(503, "The assistant is switched off on this server.", code="ai_disabled")
    max_tokens = limit or settings.ai_max_tokens
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    if body.model == ASSISTANT_MODEL:
        return await assistant_completion(runtime_of(request), grant=grant, messages=messages, stream=body.stream,
                                          include_usage=include_usage)
    engine = await serving_engine(settings, body.model)
    if engine is None:
        raise model_not_found(body.model)
    id = completion_id()
    agora = {"ai_generated": True, "model_version": engine.model_id}
    options = dict(max_tokens=max_tokens, temperature=1.0 if body.temperature is None else body.temperature,
                   top_p=1.0 if body.top_p is None else body.top_p, stop=body.stops(), seed=body.seed)
    runtime = runtime_of(request)
    if not body.stream:
        generation = await engine.complete(messages, **options)  # type: ignore[arg-type]
        await record_raw(runtime, grant=grant, messages=messages, text=generation.text, model=engine.model_id)
        return from_generation(generation, id=id, model=engine.model_id, agora=agora)
    deltas = recording(await started(engine.stream(messages, **options)),  # type: ignore[arg-type]
                       runtime, grant=grant, messages=messages, model=engine.model_id)
    return StreamingResponse(chat_events(deltas, id=id, model=engine.model_id, include_usage=include_usage,
                                         agora=agora), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/embeddings", dependencies=AI_LIMITED)
async def embeddings(request: Request, _grant: Grant = Depends(caller)) -> dict[str, Any]:
    from agora.search import embeddings as sentence

    settings = runtime_of(request).settings
    body = await parse(request, EmbeddingRequest)
    if body.model != sentence.MODEL_NAME:
        raise model_not_found(body.model)
    texts = body.texts()
    if len(texts) > EMBEDDING_MAX_INPUTS:
        raise bad_request(f"At most {EMBEDDING_MAX_INPUTS} inputs per request.", param="input")
    if any(not text.strip() for text in texts):
        raise bad_request("An input must not be empty.", param="input")
    if sum(len(text) for text in texts) > settings.ai_max_input_chars:
        raise bad_request(f"The inputs are longer than {settings.ai_max_input_chars} characters together.",
                          param="input", code="context_length_exceeded")
    if body.dimensions is not None and body.dimensions != sentence.DIMENSIONS:
        raise bad_request(f"{sentence.MODEL_NAME} makes {sentence.DIMENSIONS}-dimensional vectors only.",
                          param="dimensions")
    vectors = await sentence.embed_async(texts)
    tokens = await asyncio.to_thread(_count_tokens, texts)
    data = [{"object": "embedding", "index": i,
             "embedding": base64.b64encode(sentence.to_bytes(v)).decode() if body.encoding_format == "base64"
             else [float(x) for x in v]} for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": sentence.MODEL_NAME,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _count_tokens(texts: list[str]) -> int:
    """Word pieces as the embedding model reads them (its tokenizer, special tokens included)."""
    from agora.search.embeddings import MAX_TEXT_CHARS, model

    tokenizer = model().tokenizer
    return sum(len(ids) for ids in tokenizer([t[:MAX_TEXT_CHARS] for t in texts])["input_ids"])


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def unknown(path: str) -> None:
    """Last of the /v1 routes: what OpenAI has and Agora does not (files, images…) is a 404 in OpenAI's shape."""
    raise OpenAIError(404, f"Invalid URL (/v1/{path}): Agora serves models, chat/completions and embeddings.",
                      code="unknown_url")

"""OpenAI's wire format: the requests /v1 accepts and the objects it answers with.

Requests are validated here (pydantic), so each bad field is a 400 naming that field. Parameters
OpenAI has and Agora does not use (`user`, penalties, `logit_bias`…) are accepted and ignored, as
the SDKs send some of them by default. Responses are plain dicts built by the functions below, with
Agora's own extension field `agora` (AI-generated flag, model version, the assistant's citations):
the SDKs keep unknown fields in `model_extra`.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agora.ai.engines.base import Delta, Generation

ASSISTANT_MODEL = "agora-assistant"
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None

    @field_validator("role")
    @classmethod
    def known_role(cls, role: str) -> str:
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not supported: use system, developer, user or assistant")
        return role

    def text(self) -> str:
        """The message's text: a string, or its text parts joined (images are not understood)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        parts = []
        for part in self.content:
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ValueError("only text content parts are supported")
            parts.append(part["text"])
        return "".join(parts)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, ge=1, le=1)
    seed: int | None = None
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def few_stops(cls, stop: str | list[str] | None) -> str | list[str] | None:
        if isinstance(stop, list) and len(stop) > 4:
            raise ValueError("at most 4 stop sequences")
        return stop

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def plain_messages(self) -> list[dict[str, str]]:
        return [{"role": ROLES[m.role], "content": m.text()} for m in self.messages]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    input: str | list[str] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


def completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def chat_completion(*, id: str, model: str, text: str, finish_reason: str, prompt_tokens: int,
                    completion_tokens: int, agora: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": id, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                     "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage(prompt_tokens, completion_tokens), "system_fingerprint": None, "agora": agora,
    }


def from_generation(generation: Generation, *, id: str, model: str, agora: dict[str, Any]) -> dict[str, Any]:
    return chat_completion(id=id, model=model, text=generation.text, finish_reason=generation.finish_reason,
                           prompt_tokens=generation.prompt_tokens, completion_tokens=generation.completion_tokens,
                           agora=agora)


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def chunk(*, id: str, created: int, model: str, delta: dict[str, Any], finish_reason: str | None = None,
          include_usage: bool = False, agora: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                            "system_fingerprint": None,
                            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                         "finish_reason": finish_reason}]}
    if include_usage:
        body["usage"] = None  # as OpenAI: null on every chunk but the last, usage-only one
    if agora is not None:
        body["agora"] = agora
    return body


def usage_chunk(*, id: str, created: int, model: str, final: Delta) -> dict[str, Any]:
    return {"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": None, "choices": [],
            "usage": usage(final.prompt_tokens or 0, final.completion_tokens or 0)}


def model_entry(model_id: str, created: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "agora"}

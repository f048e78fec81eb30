"""An OpenAI-compatible server (vLLM, llama.cpp's server, another Agora…) at AGORA_AI_URL.

The scale-out path: the model runs on GPUs elsewhere, Agora forwards each chat completion to
`{ai_url}/chat/completions` and reads the answer, or its server-sent events, back as `Delta`s.
Whatever goes wrong on the way (unreachable, 5xx, a reply that is not OpenAI's format) becomes an
`UpstreamError` (HTTP 502); a 429 from upstream is passed on as busy, and its other 4xx as the
caller's bad request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from agora.ai.engines.base import Delta, EngineBusy, Generation, UpstreamError, UpstreamRejected


class UpstreamEngine:
    def __init__(self, base_url: str, *, api_key: str | None, model_id: str | None = None,
                 timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_id = model_id or ""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(base_url=self.base_url, headers=headers,
                                        timeout=httpx.Timeout(timeout, connect=10.0))

    async def resolve_model_id(self) -> str:
        """The configured model, else the first one the server lists (asked once)."""
        if not self.model_id:
            data = await self._json("GET", "/models")
            try:
                self.model_id = str(data["data"][0]["id"])
            except (KeyError, IndexError, TypeError) as error:
                raise UpstreamError(f"the model server at {self.base_url} lists no model") from error
        return self.model_id

    def _body(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, top_p: float,
              stop: list[str] | None, seed: int | None, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model_id, "messages": messages, "max_tokens": max_tokens,
                                "temperature": temperature, "top_p": top_p, "stream": stream}
        if stop:
            body["stop"] = stop
        if seed is not None:
            body["seed"] = seed
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 1.0,
                       top_p: float = 1.0, stop: list[str] | None = None, seed: int | None = None) -> Generation:
        await self.resolve_model_id()
        data = await self._json("POST", "/chat/completions", json=self._body(
            messages, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed,
            stream=False))
        try:
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            return Generation(text=choice["message"].get("content") or "",
                              prompt_tokens=int(usage.get("prompt_tokens") or 0),
                              completion_tokens=int(usage.get("completion_tokens") or 0),
                              finish_reason=_finish(choice.get("finish_reason")))
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as error:
            raise UpstreamError(f"the model server's answer is not a chat completion: {error!r}") from error

    async def stream(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 1.0,
                     top_p: float = 1.0, stop: list[str] | None = None,
                     seed: int | None = None) -> AsyncIterator[Delta]:
        await self.resolve_model_id()
        body = self._body(messages, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop,
                          seed=seed, stream=True)
        finish, usage = None, {}
        try:
            async with self.client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    await response.aread()
                    _raise_for(response)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue  # blank separators, comments, `event:` lines
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    chunk = json.loads(payload)
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield Delta(text=text)
                        finish = choice.get("finish_reason") or finish
        except httpx.HTTPError as error:
            raise UpstreamError(f"the model server at {self.base_url} failed: {error}") from error
        except (ValueError, AttributeError, TypeError) as error:
            raise UpstreamError(f"the model server sent an event that is not a chat chunk: {error!r}") from error
        yield Delta(finish_reason=_finish(finish), prompt_tokens=int(usage.get("prompt_tokens") or 0),
                    completion_tokens=int(usage.get("completion_tokens") or 0))

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise UpstreamError(f"the model server at {self.base_url} cannot be reached: {error}") from error
        _raise_for(response)
        try:
            data = response.json()
        except ValueError as error:
            raise UpstreamError("the model server's answer is not JSON") from error
        if not isinstance(data, dict):
            raise UpstreamError("the model server's answer is not a JSON object")
        return data

    async def aclose(self) -> None:
        await self.client.aclose()


def _finish(reason: object) -> Any:
    return "length" if reason == "length" else "stop"


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:300]
    if response.status_code == 429:
        raise EngineBusy(f"the model server is busy: {message}")
    if response.status_code in (400, 404, 413, 422):
        raise UpstreamRejected(f"the model server refused the request: {message}")
    raise UpstreamError(f"the model server answered {response.status_code}: {message}")

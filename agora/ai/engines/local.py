"""The promoted run served in this process: transformers for the weights, our own decoding loop.

Our own loop rather than `model.generate`, because a stream needs each token as it is made, and a
cancelled stream must stop spending CPU at the next token. The loop keeps the attention cache
(`past_key_values`), so after the prompt each step runs the model on one new token only.

Every generation runs in a worker thread (the event loop keeps serving other requests) behind a
bounded queue (agora/ai/engines/queue.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from agora.ai.engines.base import Delta, EngineError, Generation, Sampling, sampling
from agora.ai.engines.decoding import cut_at_stop, pick_token, safe_length
from agora.ai.engines.queue import GenerationQueue

log = logging.getLogger("agora.ai")


class Cancelled(Exception):
    """The stream's reader went away: stop generating."""


class LoadedModel:
    """A model folder (Hugging Face format) in memory, loaded on first use, once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.model: Any = None
        self.tokenizer: Any = None
        self.stop_ids: set[int] = set()
        self.context = 0
        self._cache_arg = "past_key_values"

    def load(self) -> None:
        with self._lock:
            if self.model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as transformers_logging

            from agora.ai.tokenizer import stop_token_ids

            if not (self.path / "config.json").is_file():
                raise EngineError(f"the model folder {self.path} has no config.json")
            device = "cuda" if torch.cuda.is_available() else "cpu"
            dtype = torch.bfloat16 if device == "cuda" else torch.float32  # bf16 is slower than fp32 on CPUs
            transformers_logging.disable_progress_bar()  # no "Loading weights" bar in the server's log
            try:
                tokenizer = AutoTokenizer.from_pretrained(str(self.path))
                model = AutoModelForCausalLM.from_pretrained(str(self.path), dtype=dtype).to(device).eval()
            except (OSError, ValueError) as error:
                raise EngineError(f"the model at {self.path} cannot be loaded: {error}") from error
            self.tokenizer = tokenizer
            self.stop_ids = set(stop_token_ids(tokenizer))
            self.context = int(getattr(model.config, "max_position_embeddings", 0) or 2048)
            self._cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
            self.model = model
            log.info("model loaded", extra={"path": str(self.path), "device": device})

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def generate(self, messages: list[dict[str, str]], chosen: Sampling,
                 emit: Callable[[str], None] | None = None, cancelled: threading.Event | None = None) -> Generation:
        """Generate one reply; `emit` receives each new piece of text that is safe to show."""
        import torch

        self.load()
        prompt = self.prompt_ids(messages)
        prompt_tokens = len(prompt)
        # Room for the reply inside the context: the prompt loses its beginning, never its end
        # (the question being asked is at the end), but always keeps half the context.
        room = min(chosen.max_tokens, max(1, self.context // 2))
        if len(prompt) + room > self.context:
            prompt = prompt[-(self.context - room):]
        budget = min(chosen.max_tokens, self.context - len(prompt))
        generator = None
        if chosen.seed is not None and chosen.temperature > 0:
            generator = torch.Generator(device=self.model.device).manual_seed(chosen.seed)
        ids: list[int] = []
        text, shown, finish = "", 0, "length"
        with torch.inference_mode():
            logits, cache = self._forward(torch.tensor([prompt], device=self.model.device), None)
            while len(ids) < budget:
                if cancelled is not None and cancelled.is_set():
                    raise Cancelled
                token = pick_token(logits, temperature=chosen.temperature, top_p=chosen.top_p,
                                   generator=generator)
                if token in self.stop_ids:
                    finish = "stop"
                    break
                ids.append(token)
                text = self.tokenizer.decode(ids, skip_special_tokens=True)
                text, stopped = cut_at_stop(text, chosen.stop)
                if stopped:
                    finish = "stop"
                    break
                visible = safe_length(text, chosen.stop)
                if emit is not None and visible > shown:
                    emit(text[shown:visible])
                    shown = visible
                if len(ids) >= budget:
                    break
                logits, cache = self._forward(torch.tensor([[token]], device=self.model.device), cache)
        if emit is not None and len(text) > shown:
            emit(text[shown:])  # the held-back tail: no stop string came after all
        return Generation(text=text, prompt_tokens=prompt_tokens, completion_tokens=len(ids),
                          finish_reason=finish)  # type: ignore[arg-type]


    def _forward(self, input_ids: Any, cache: Any) -> tuple[Any, Any]:
        """One forward pass with the attention cache: the last position's logits and the grown cache.
        transformers 5 calls the cache `cache`; earlier versions `past_key_values`."""
        kwargs = {} if cache is None else {self._cache_arg: cache}
        output = self.model(input_ids=input_ids, use_cache=True, logits_to_keep=1, **kwargs)
        grown = getattr(output, "cache", None)
        return output.logits[0, -1], grown if grown is not None else output.past_key_values


class LocalEngine:
    """A training run's model (`model_id` is the run id), in this process."""

    def __init__(self, model_id: str, loaded: LoadedModel, queue: GenerationQueue) -> None:
        self.model_id = model_id
        self.loaded = loaded
        self.queue = queue

    async def resolve_model_id(self) -> str:
        return self.model_id

    async def complete(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 1.0,
                       top_p: float = 1.0, stop: list[str] | None = None, seed: int | None = None) -> Generation:
        chosen = sampling(max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed)
        async with self.queue.slot():
            cancelled = threading.Event()
            work = asyncio.get_running_loop().run_in_executor(None, self.loaded.generate, messages, chosen,
                                                               None, cancelled)
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                await _stop(work, cancelled)  # the slot is freed only once the thread has let go
                raise

    async def stream(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float = 1.0,
                     top_p: float = 1.0, stop: list[str] | None = None,
                     seed: int | None = None) -> AsyncIterator[Delta]:
        chosen = sampling(max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed)
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()
        async with self.queue.slot():
            cancelled = threading.Event()

            def emit(piece: str) -> None:
                loop.call_soon_threadsafe(pieces.put_nowait, piece)

            def run() -> Generation:
                try:
                    return self.loaded.generate(messages, chosen, emit, cancelled)
                finally:
                    loop.call_soon_threadsafe(pieces.put_nowait, None)

            work = loop.run_in_executor(None, run)
            try:
                while (piece := await pieces.get()) is not None:
                    yield Delta(text=piece)
                result = await work
                yield Delta(finish_reason=result.finish_reason, prompt_tokens=result.prompt_tokens,
                            completion_tokens=result.completion_tokens)
            finally:
                await _stop(work, cancelled)


async def _stop(work: asyncio.Future[Generation], cancelled: threading.Event) -> None:
    """Ask the generating thread to stop, and wait until it has (a cancelled wait still waits)."""
    cancelled.set()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.shield(work)

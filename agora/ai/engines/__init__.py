"""Inference engines: where the assistant's and /v1's text comes from.

`engine_for(settings)` picks one: the OpenAI-compatible server at AGORA_AI_URL when set, else the
promoted run in this process, else None (no model: the assistant answers extractively, and /v1
lists no generative model). Engines are kept per process, so a model's weights load once.
"""

from __future__ import annotations

import asyncio
import threading

from agora.ai.engines.base import (
    Delta,
    Engine,
    EngineBusy,
    EngineError,
    Generation,
    UpstreamError,
    UpstreamRejected,
)
from agora.config import Settings

__all__ = ["Delta", "Engine", "EngineBusy", "EngineError", "Generation", "UpstreamError", "UpstreamRejected",
           "engine_for"]

_engines: dict[tuple, Engine] = {}
_models: dict[str, object] = {}
_lock = threading.Lock()


def engine_for(settings: Settings) -> Engine | None:
    if settings.ai_url:
        return _upstream(settings)
    from agora.ai.registry import promoted

    record = promoted(settings)
    if record is None or not record.has_model or record.path is None:
        return None
    from agora.ai.engines.local import LoadedModel, LocalEngine
    from agora.ai.engines.queue import GenerationQueue

    folder = (record.path / "model").resolve()
    # The weights are kept per model folder; the queue per folder and limits (tests and several
    # apps in one process may bound the same model differently).
    key = ("local", str(folder), settings.ai_max_concurrent, settings.ai_max_queue)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            loaded = _models.get(str(folder))
            if loaded is None:
                loaded = _models[str(folder)] = LoadedModel(folder)
            engine = LocalEngine(record.id, loaded,  # type: ignore[arg-type]
                                 GenerationQueue(max_concurrent=settings.ai_max_concurrent,
                                                 max_queue=settings.ai_max_queue))
            _engines[key] = engine
    return engine


def _upstream(settings: Settings) -> Engine:
    from agora.ai.engines.upstream import UpstreamEngine

    try:
        loop_id = id(asyncio.get_running_loop())  # an HTTP client's connections belong to one event loop
    except RuntimeError:
        loop_id = 0
    key = ("upstream", settings.ai_url, settings.ai_key, settings.ai_model, loop_id)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = UpstreamEngine(settings.ai_url or "", api_key=settings.ai_key,
                                                    model_id=settings.ai_model,
                                                    timeout=settings.ai_upstream_timeout_seconds)
    return engine

"""The inference engines: the in-process model's own decoding loop, its queue, the upstream client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch

from agora.ai.engines import EngineBusy, UpstreamError, UpstreamRejected, engine_for
from agora.ai.engines.decoding import safe_length
from agora.ai.engines.local import LoadedModel, LocalEngine
from agora.ai.engines.queue import GenerationQueue
from agora.ai.engines.upstream import UpstreamEngine
from tests.ai.serving import RUN_ID, install_and_promote, live_member, trained_run
from tests.conftest import make_settings

QUESTIONS = ["How was the night market?", "What about Postgres 17?", "Tell me about our choir"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    model = LoadedModel(trained_run(tmp_path_factory.getbasetemp()) / "model")
    model.load()
    return model


def engine(loaded: LoadedModel, *, max_concurrent: int = 1, max_queue: int = 8) -> LocalEngine:
    return LocalEngine(RUN_ID, loaded, GenerationQueue(max_concurrent=max_concurrent, max_queue=max_queue))


def chat(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}]


def reference(loaded: LoadedModel, messages: list[dict[str, str]], max_new_tokens: int, *,
              stop_ids: list[int]) -> str:
    """What transformers' own generate() makes greedily: the new token ids and their text."""
    from transformers import GenerationConfig

    prompt = loaded.prompt_ids(messages)
    config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stop_ids,
                              pad_token_id=loaded.tokenizer.pad_token_id)
    with torch.inference_mode():
        out = loaded.model.generate(torch.tensor([prompt]), generation_config=config)
    new = [int(t) for t in out[0, len(prompt):] if int(t) not in stop_ids]
    return loaded.tokenizer.decode(new, skip_special_tokens=True)


@pytest.mark.parametrize("question", QUESTIONS)
async def test_greedy_decoding_matches_transformers_generate(loaded: LoadedModel, question: str) -> None:
    stops = sorted(loaded.stop_ids)
    expected = reference(loaded, chat(question), 40, stop_ids=stops)
    result = await engine(loaded).complete(chat(question), max_tokens=40, temperature=0)
    assert result.text == expected
    assert result.prompt_tokens == len(loaded.prompt_ids(chat(question)))
    assert result.completion_tokens >= 1


def uncached_greedy(loaded: LoadedModel, messages: list[dict[str, str]], steps: int) -> str:
    """Greedy decoding the slow way: the whole sequence through the model at every step, no cache."""
    sequence = loaded.prompt_ids(messages)
    new: list[int] = []
    with torch.inference_mode():
        for _ in range(steps):
            token = int(loaded.model(input_ids=torch.tensor([sequence + new])).logits[0, -1].argmax())
            new.append(token)
    return loaded.tokenizer.decode(new, skip_special_tokens=True)


async def test_the_attention_cache_stays_right_over_many_tokens(loaded: LoadedModel) -> None:
    """Without stop tokens the model runs its whole budget: 60 cached steps equal 60 uncached ones."""
    expected = uncached_greedy(loaded, chat(QUESTIONS[0]), 60)
    saved = loaded.stop_ids
    loaded.stop_ids = set()
    try:
        result = await engine(loaded).complete(chat(QUESTIONS[0]), max_tokens=60, temperature=0)
    finally:
        loaded.stop_ids = saved
    assert result.text == expected
    assert (result.completion_tokens, result.finish_reason) == (60, "length")


async def test_a_stream_joins_to_the_same_text_with_usage_at_the_end(loaded: LoadedModel) -> None:
    local = engine(loaded)
    for question in QUESTIONS:
        whole = await local.complete(chat(question), max_tokens=40, temperature=0)
        deltas = [d async for d in local.stream(chat(question), max_tokens=40, temperature=0)]
        assert "".join(d.text for d in deltas) == whole.text
        assert all(d.finish_reason is None for d in deltas[:-1])
        final = deltas[-1]
        assert (final.finish_reason, final.prompt_tokens, final.completion_tokens) == (
            whole.finish_reason, whole.prompt_tokens, whole.completion_tokens)
        # Token by token, not the whole text at the end (ASCII text: one piece per token here).
        assert len(deltas) == final.completion_tokens + 1


async def test_stop_strings_end_the_text_before_them(loaded: LoadedModel) -> None:
    local = engine(loaded)
    whole = await local.complete(chat(QUESTIONS[0]), max_tokens=40, temperature=0)
    words = whole.text.split()
    assert len(words) >= 2, whole.text
    stop = words[1]
    expected = whole.text[:whole.text.index(stop)]
    stopped = await local.complete(chat(QUESTIONS[0]), max_tokens=40, temperature=0, stop=["never there", stop])
    assert (stopped.text, stopped.finish_reason) == (expected, "stop")
    deltas = [d async for d in local.stream(chat(QUESTIONS[0]), max_tokens=40, temperature=0, stop=[stop])]
    assert "".join(d.text for d in deltas) == expected  # no piece of the stop string was streamed


async def test_max_tokens_caps_the_completion(loaded: LoadedModel) -> None:
    saved = loaded.stop_ids
    loaded.stop_ids = set()
    try:
        result = await engine(loaded).complete(chat(QUESTIONS[1]), max_tokens=3, temperature=0)
    finally:
        loaded.stop_ids = saved
    assert (result.completion_tokens, result.finish_reason) == (3, "length")


async def test_a_prompt_longer_than_the_context_keeps_its_end(loaded: LoadedModel) -> None:
    long = "the river loop was lovely today, yes. " * 200  # thousands of tokens; the context is 256
    result = await engine(loaded).complete([{"role": "user", "content": long + QUESTIONS[0]}], max_tokens=20,
                                           temperature=0)
    assert result.prompt_tokens > loaded.context
    assert 1 <= result.completion_tokens <= 20


async def test_sampling_follows_its_seed(loaded: LoadedModel) -> None:
    local = engine(loaded)
    one = await local.complete(chat(QUESTIONS[2]), max_tokens=20, temperature=1.0, top_p=0.9, seed=7)
    two = await local.complete(chat(QUESTIONS[2]), max_tokens=20, temperature=1.0, top_p=0.9, seed=7)
    assert one.text == two.text


def test_streamed_text_never_splits_a_character_or_shows_a_stop_string_early() -> None:
    assert safe_length("caf\ufffd", ()) == 3  # the rest of "é" is still coming
    assert safe_length("hello wor", ("world",)) == 6  # "wor" may be the start of the stop string
    assert safe_length("hello", ("world",)) == 5


async def test_the_queue_refuses_beyond_its_bound_and_frees_cancelled_waiters() -> None:
    queue = GenerationQueue(max_concurrent=1, max_queue=1)
    release = asyncio.Event()
    order: list[str] = []

    async def job(name: str) -> None:
        async with queue.slot():
            order.append(name)
            await release.wait()

    first = asyncio.create_task(job("first"))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(job("waiter"))
    await asyncio.sleep(0)
    with pytest.raises(EngineBusy):
        await job("third")  # one running, one waiting: full
    waiter.cancel()  # a client that went away leaves the queue
    await asyncio.gather(waiter, return_exceptions=True)
    late = asyncio.create_task(job("late"))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, late)
    assert order == ["first", "late"]
    assert (queue.active, queue.waiting) == (0, 0)


async def test_a_busy_model_answers_busy_and_a_closed_stream_frees_its_slot(loaded: LoadedModel) -> None:
    local = engine(loaded, max_concurrent=1, max_queue=0)
    saved = loaded.stop_ids
    loaded.stop_ids = set()  # a stream that would go on for the whole budget
    try:
        stream = local.stream(chat(QUESTIONS[0]), max_tokens=200, temperature=0)
        first = await anext(stream)
        assert first.text
        with pytest.raises(EngineBusy):
            await local.complete(chat(QUESTIONS[1]), max_tokens=5, temperature=0)
        await stream.aclose()  # the reader disconnected
    finally:
        loaded.stop_ids = saved
    assert local.queue.active == 0
    assert (await local.complete(chat(QUESTIONS[1]), max_tokens=5, temperature=0)).completion_tokens >= 1


async def test_engine_for_picks_upstream_then_the_promoted_run_then_none(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db", tmp_path / "data")
    assert engine_for(settings) is None  # nothing promoted
    install_and_promote(tmp_path_factory.getbasetemp(), settings)
    local = engine_for(settings)
    assert isinstance(local, LocalEngine) and local.model_id == RUN_ID
    assert engine_for(settings) is local  # the model loads once per process
    upstream = engine_for(settings.model_copy(update={"ai_url": "http://127.0.0.1:9/v1", "ai_key": "k"}))
    assert isinstance(upstream, UpstreamEngine)


async def test_an_unreachable_upstream_is_an_upstream_error() -> None:
    from tests.conftest import free_port

    upstream = UpstreamEngine(f"http://127.0.0.1:{free_port()}/v1", api_key="x", model_id="m", timeout=5)
    with pytest.raises(UpstreamError):
        await upstream.complete(chat("hello"), max_tokens=5)
    with pytest.raises(UpstreamError):
        _ = [d async for d in upstream.stream(chat("hello"), max_tokens=5)]
    await upstream.aclose()


async def test_upstream_engine_against_an_openai_compatible_server(live_server, tmp_path_factory) -> None:
    """Agora's own /v1 on a live server is the upstream: the same model answers through both paths."""
    run_id = install_and_promote(tmp_path_factory.getbasetemp(), live_server.settings)
    token = (await asyncio.to_thread(live_member, live_server, "ops")).token
    upstream = UpstreamEngine(live_server.url + "/v1", api_key=token)
    try:
        assert await upstream.resolve_model_id() != ""
        upstream.model_id = run_id
        whole = await upstream.complete(chat(QUESTIONS[0]), max_tokens=30, temperature=0)
        assert whole.text and whole.prompt_tokens > 0 and whole.completion_tokens > 0
        deltas = [d async for d in upstream.stream(chat(QUESTIONS[0]), max_tokens=30, temperature=0)]
        assert "".join(d.text for d in deltas) == whole.text
        assert (deltas[-1].finish_reason, deltas[-1].completion_tokens) == (whole.finish_reason,
                                                                            whole.completion_tokens)
        with pytest.raises(UpstreamRejected):  # the upstream's own 4xx: the caller's mistake
            await upstream.complete(chat(QUESTIONS[0]), max_tokens=10**6)
    finally:
        await upstream.aclose()
    wrong_key = UpstreamEngine(live_server.url + "/v1", api_key="not-a-token", model_id=run_id)
    with pytest.raises(UpstreamError):
        await wrong_key.complete(chat(QUESTIONS[0]), max_tokens=5)
    await wrong_key.aclose()


def test_edge_sampling_settings_pick_the_best_token_instead_of_failing() -> None:
    from agora.ai.engines.decoding import pick_token

    logits = torch.tensor([0.1, 2.0, -1.0, 1.9])
    best = int(torch.argmax(logits))
    assert pick_token(logits, temperature=1.0, top_p=0.0, generator=None) == best  # top_p 0: greedy
    assert pick_token(logits, temperature=1e-40, top_p=1.0, generator=None) == best  # no overflow
    assert pick_token(logits, temperature=1.0, top_p=1e-9, generator=None) == best  # the best is always kept

"""The official `openai` SDK against a live Agora: models, chat completions, embeddings, errors.

An Agora access token is the API key. Each test sees what a developer pointing the SDK at
`{server}/v1` would see: the objects it parses, and the exceptions it raises.
"""

from __future__ import annotations

import httpx
import numpy as np
import openai
import pytest

from agora.ai.engines import engine_for
from tests.ai.serving import RUN_ID, install_and_promote, live_member, sdk
from tests.conftest import LiveServer

QUESTION = [{"role": "user", "content": "How was the night market?"}]


@pytest.fixture
def promoted(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    return install_and_promote(tmp_path_factory.getbasetemp(), live_server.settings)


@pytest.fixture
def ai(live_server: LiveServer) -> openai.OpenAI:
    return sdk(live_server, live_member(live_server, "alice").token)


def test_models_list_the_assistant_the_embedder_and_the_promoted_run(ai: openai.OpenAI, promoted: str) -> None:
    models = {m.id: m for m in ai.models.list()}
    assert {"agora-assistant", "all-MiniLM-L6-v2", promoted} <= set(models)
    assert all(m.object == "model" and m.owned_by == "agora" for m in models.values())
    assert ai.models.retrieve(promoted).id == promoted


def test_without_a_promoted_model_only_the_assistant_and_embedder_are_served(ai: openai.OpenAI) -> None:
    assert {m.id for m in ai.models.list()} == {"agora-assistant", "all-MiniLM-L6-v2"}
    with pytest.raises(openai.NotFoundError) as caught:
        ai.chat.completions.create(model=RUN_ID, messages=QUESTION)
    assert caught.value.code == "model_not_found"


def test_a_chat_completion_from_the_promoted_model(ai: openai.OpenAI, promoted: str) -> None:
    completion = ai.chat.completions.create(model=promoted, messages=QUESTION, temperature=0, max_tokens=30)
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    assert completion.model == promoted
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert completion.model_extra["agora"] == {"ai_generated": True, "model_version": promoted}

    capped = ai.chat.completions.create(model=promoted, messages=QUESTION, temperature=0, max_completion_tokens=1,
                                        stop=["zzz"])
    assert (capped.usage.completion_tokens, capped.choices[0].finish_reason) == (1, "length")


def test_a_streamed_chat_completion_equals_the_plain_one(ai: openai.OpenAI, promoted: str) -> None:
    whole = ai.chat.completions.create(model=promoted, messages=QUESTION, temperature=0, max_tokens=30)
    chunks = list(ai.chat.completions.create(model=promoted, messages=QUESTION, temperature=0, max_tokens=30,
                                             stream=True, stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    last_choice = [c for c in chunks if c.choices][-1]
    assert last_choice.choices[0].finish_reason == whole.choices[0].finish_reason
    assert last_choice.model_extra["agora"]["ai_generated"] is True
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == whole.usage.total_tokens


def test_embeddings_are_unit_vectors_of_384_floats(ai: openai.OpenAI) -> None:
    texts = ["The night market opens at seven.", "Postgres 17 is fast."]
    result = ai.embeddings.create(model="all-MiniLM-L6-v2", input=texts)  # the SDK asks for base64
    as_floats = ai.embeddings.create(model="all-MiniLM-L6-v2", input=texts, encoding_format="float")
    assert [d.index for d in result.data] == [0, 1]
    for packed, plain in zip(result.data, as_floats.data, strict=True):
        vector = np.array(plain.embedding)
        assert vector.shape == (384,)
        assert abs(np.linalg.norm(vector) - 1) < 1e-3
        assert np.allclose(np.array(packed.embedding), vector, atol=1e-6)
    assert result.usage.prompt_tokens > 0 and result.usage.total_tokens == result.usage.prompt_tokens
    single = ai.embeddings.create(model="all-MiniLM-L6-v2", input="Postgres 17 is fast.", encoding_format="float")
    assert np.allclose(single.data[0].embedding, as_floats.data[1].embedding, atol=1e-5)
    with pytest.raises(openai.NotFoundError):
        ai.embeddings.create(model="text-embedding-3-small", input="hello")
    with pytest.raises(openai.BadRequestError):
        ai.embeddings.create(model="all-MiniLM-L6-v2", input="")


def test_bad_requests_are_openai_errors(live_server: LiveServer, ai: openai.OpenAI, promoted: str) -> None:
    with pytest.raises(openai.AuthenticationError):
        sdk(live_server, "not-a-token").models.list()
    with pytest.raises(openai.AuthenticationError):
        sdk(live_server, "not-a-token").chat.completions.create(model=promoted, messages=QUESTION)
    bad = [dict(messages=[]), dict(messages=[{"role": "wizard", "content": "hi"}]), dict(n=2),
           dict(max_tokens=100_000), dict(max_tokens=0), dict(temperature=3), dict(stop=["a", "b", "c", "d", "e"]),
           dict(messages=[{"role": "user", "content": "x" * 40_000}])]
    for fields in bad:
        with pytest.raises(openai.BadRequestError) as caught:
            ai.chat.completions.create(**{"model": promoted, "messages": QUESTION, **fields})
        assert caught.value.body["type"] == "invalid_request_error", fields
    with pytest.raises(openai.NotFoundError):
        ai.chat.completions.create(model="gpt-4o", messages=QUESTION)
    # Not JSON at all: still OpenAI's error shape, never a 500.
    raw = httpx.post(live_server.url + "/v1/chat/completions", content=b"{not json",
                     headers={"Authorization": f"Bearer {ai.api_key}", "Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["type"] == "invalid_request_error"
    missing = httpx.post(live_server.url + "/v1/images/generations", json={},
                         headers={"Authorization": f"Bearer {ai.api_key}"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_url"


def test_the_kill_switch_answers_503(server_with, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = server_with(ai_enabled=False)
    run_id = install_and_promote(tmp_path_factory.getbasetemp(), server.settings)
    ai = sdk(server, live_member(server, "alice").token)
    for model in (run_id, "agora-assistant"):
        with pytest.raises(openai.InternalServerError) as caught:
            ai.chat.completions.create(model=model, messages=QUESTION)
        assert caught.value.status_code == 503


def test_a_busy_model_answers_429(server_with, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = server_with(ai_max_concurrent=1, ai_max_queue=0)
    run_id = install_and_promote(tmp_path_factory.getbasetemp(), server.settings)
    ai = sdk(server, live_member(server, "alice").token)
    engine = engine_for(server.settings)  # the very engine (and queue) the server uses: one per process
    assert engine is not None
    with occupied(engine.queue):  # type: ignore[attr-defined]
        with pytest.raises(openai.RateLimitError):
            ai.chat.completions.create(model=run_id, messages=QUESTION)
        with pytest.raises(openai.RateLimitError):
            ai.chat.completions.create(model=run_id, messages=QUESTION, stream=True)
    assert ai.chat.completions.create(model=run_id, messages=QUESTION, max_tokens=5).choices[0].message.content


class occupied:
    """Another generation holds every slot. Taken directly: a real one on this tiny model ends in
    milliseconds, too fast to race against deterministically."""

    def __init__(self, queue) -> None:
        self.queue = queue

    def __enter__(self) -> None:
        self.queue.active += self.queue.max_concurrent

    def __exit__(self, *exc: object) -> None:
        self.queue.active -= self.queue.max_concurrent


def test_the_assistant_answers_with_citations(live_server: LiveServer, ai: openai.OpenAI) -> None:
    bob = live_member(live_server, "bob")
    posted = httpx.post(live_server.url + "/api/v1/statuses", headers=bob.headers,
                        json={"status": "The night market opens at seven on Fridays, with dumplings."})
    assert posted.status_code == 200, posted.text
    completion = ai.chat.completions.create(
        model="agora-assistant", messages=[{"role": "user", "content": "When does the night market open?"}])
    assert completion.model == "agora-assistant"
    assert completion.choices[0].message.content
    extension = completion.model_extra["agora"]
    assert extension["ai_generated"] is True and extension["mode"] in ("extractive", "generative")
    assert posted.json()["id"] in {str(c["status_id"]) for c in extension["citations"]}
    chunks = list(ai.chat.completions.create(
        model="agora-assistant", messages=[{"role": "user", "content": "When does the night market open?"}],
        stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == completion.choices[0].message.content
    assert chunks[-1].model_extra["agora"]["citations"] == extension["citations"]

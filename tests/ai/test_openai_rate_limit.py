"""The per-member budget on the AI endpoints (`rate_limit_ai`), as the official `openai` SDK sees it.

Each completion may hold the model for seconds, so POST /v1/chat/completions and /v1/embeddings share
one budget per member; past it the SDK raises `openai.RateLimitError`, and other members are still served.
"""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from tests.ai.serving import live_member, sdk
from tests.conftest import LiveServer

LIMIT = 3
# One fixed window for the whole test: a window that rolled over midway would refill the budget.
WHOLE_TEST = 10**6
ASK = dict(model="agora-assistant", messages=[{"role": "user", "content": "When does the night market open?"}])
EMBEDDER = "all-MiniLM-L6-v2"


@pytest.fixture
def limited(server_with: Callable[..., LiveServer]) -> LiveServer:
    return server_with(rate_limit_ai=LIMIT, rate_limit_ai_window=WHOLE_TEST)


def assert_rate_limited(error: openai.RateLimitError) -> None:
    """A 429 in OpenAI's error shape, saying what the limit is, with OpenAI's and Mastodon's headers."""
    assert error.status_code == 429 and error.code == "rate_limit_exceeded"
    assert error.body["type"] == "rate_limit_exceeded" and f"{LIMIT} requests" in error.body["message"]
    headers = error.response.headers
    assert headers["x-ratelimit-limit-requests"] == str(LIMIT) and headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"].endswith("s") and int(headers["retry-after"]) > 0
    assert headers["x-ratelimit-remaining"] == "0"


def test_the_fourth_completion_is_refused_and_another_member_is_still_served(limited: LiveServer) -> None:
    alice = sdk(limited, live_member(limited, "alice").token)
    bob = sdk(limited, live_member(limited, "bob").token)
    for left in range(LIMIT - 1, -1, -1):
        raw = alice.chat.completions.with_raw_response.create(**ASK)
        assert raw.parse().choices[0].message.content
        assert raw.headers["x-ratelimit-limit-requests"] == str(LIMIT)
        assert raw.headers["x-ratelimit-remaining-requests"] == raw.headers["x-ratelimit-remaining"] == str(left)
    with pytest.raises(openai.RateLimitError) as caught:
        alice.chat.completions.create(**ASK)
    assert_rate_limited(caught.value)
    with pytest.raises(openai.RateLimitError):
        alice.chat.completions.create(**ASK, stream=True)  # a stream is refused before it starts

    assert bob.chat.completions.create(**ASK).choices[0].message.content  # bob has a budget of his own
    # Listing models runs no model: it is not counted, and still answers once the budget is spent.
    for _ in range(LIMIT + 1):
        listed = alice.models.with_raw_response.list()
        assert "agora-assistant" in {m.id for m in listed.parse()}
        assert "x-ratelimit-limit-requests" not in listed.headers


def test_embeddings_count_against_the_same_budget(limited: LiveServer) -> None:
    carol = sdk(limited, live_member(limited, "carol").token)
    for _ in range(LIMIT - 1):
        assert len(carol.embeddings.create(model=EMBEDDER, input="The night market opens at seven.").data) == 1
    assert carol.chat.completions.create(**ASK).choices[0].message.content  # the budget's last request
    with pytest.raises(openai.RateLimitError) as caught:
        carol.embeddings.create(model=EMBEDDER, input="Postgres 17 is fast.")
    assert_rate_limited(caught.value)
    with pytest.raises(openai.RateLimitError):
        carol.chat.completions.create(**ASK)

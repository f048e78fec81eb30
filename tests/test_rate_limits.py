"""Rate limits as a client sees them: Mastodon's headers, and no way around them."""

from __future__ import annotations

import httpx

from agora.app import create_app
from tests.conftest import make_settings


async def test_made_up_tokens_do_not_escape_the_limit(database_url: str, tmp_path) -> None:
    settings = make_settings(database_url, tmp_path, rate_limit_ip_requests=3)
    app = create_app(settings)
    await app.state.runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            statuses = [(await http.get("/api/v1/timelines/public",
                                        headers={"Authorization": f"Bearer fake-{i}"})).status_code for i in range(4)]
            assert statuses[:3] == [401, 401, 401]
            assert statuses[3] == 429
            limited = await http.get("/api/v1/instance")
            assert limited.status_code == 429 and limited.json() == {"error": "Too many requests"}
            assert limited.headers["X-RateLimit-Limit"] == "3"
            assert limited.headers["X-RateLimit-Remaining"] == "0"
    finally:
        await app.state.runtime.stop()


async def test_every_api_answer_carries_the_rate_limit_headers(client) -> None:
    first = await client.get("/api/v1/instance")
    second = await client.get("/api/v1/instance")
    assert int(first.headers["X-RateLimit-Limit"]) > 0
    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1
    assert second.headers["X-RateLimit-Reset"].endswith("Z")

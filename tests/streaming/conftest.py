"""Fixtures shared by the streaming tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.streaming import Api, api_for


@pytest.fixture
async def api(live_server) -> AsyncIterator[Api]:
    """The HTTP API of the live server, for posting while a stream listens."""
    async with api_for(live_server.url) as client:
        yield client

"""Fixtures the /v1 tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, make_settings


@pytest.fixture
def server_with(database_url: str, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Starts live servers with settings of the test's own (`server_with(ai_enabled=False)`)."""
    servers: list[LiveServer] = []

    def start(**overrides: object) -> LiveServer:
        name = f"s{len(servers)}"
        server = LiveServer(lambda url: make_settings(database_url, tmp_path / name, base_url=url, **overrides))
        servers.append(server.__enter__())
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)

"""Browser tests: Playwright's sync API driving Debian's Chromium against a live server.

Fixtures:
- ``browser`` (module): headless Chromium from /usr/bin/chromium; skips when it is not installed.
- ``web_server``: a live uvicorn server (``WebServer``, a ``LiveServer``) on a fresh SQLite database; ``.url`` is
  its base URL, ``.runtime`` the app's Runtime, and ``.run(coro)`` runs a coroutine on the server's event loop
  and returns its result, e.g. ``alice = web_server.run(make_member(web_server.runtime, "alice"))``.
  Override ``web_settings_overrides`` (a dict fixture) in a test module to change the server's settings.
- ``new_page``: ``new_page(locale="en-US", viewport=(1280, 800), **context_options) -> Page``; each call opens
  a fresh browser context (own cookies, so two members can be signed in side by side) whose ``base_url`` is the
  live server's, so ``page.goto("/")`` works. Every context is closed at teardown.

Browser tests are plain ``def test_...`` functions, and run on SQLite only (they are slow; the API tests cover
PostgreSQL). While Playwright's sync API is started it marks its own event loop as running in the main thread, so
``asyncio.run()`` fails there and an async test could not run: hence ``browser`` is module-scoped (it stops at the
end of each module; a launch costs well under a second), and data is seeded with ``web_server.run()`` on the
server's own loop, where the Runtime's database engine lives.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from agora.kit.runtime import Runtime
from tests.conftest import LiveServer, make_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
DEFAULT_TIMEOUT_MS = 10_000
T = TypeVar("T")


class WebServer(LiveServer):
    """A LiveServer that also runs coroutines (seeding data through the services) on the server's loop."""

    @property
    def runtime(self) -> Runtime:
        return self.server.config.app.state.runtime

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        loop = self.server.servers[0].get_loop()
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright not installed: pip install -e '.[dev]'")
    # Never `playwright install`: the pip package brings its own driver, the browser is Debian's.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def web_settings_overrides() -> dict[str, Any]:
    """Extra Settings for the live server; override this fixture in a module to change them."""
    return {}


@pytest.fixture
def web_server(tmp_path: Path, sqlite_template: Path, web_settings_overrides: dict[str, Any]) -> Iterator[WebServer]:
    target = tmp_path / "agora.db"
    shutil.copy(sqlite_template, target)
    database_url = f"sqlite+aiosqlite:///{target}"
    with WebServer(lambda url: make_settings(database_url, tmp_path / "live", base_url=url,
                                              **web_settings_overrides)) as server:
        yield server


@pytest.fixture
def new_page(browser: Browser, web_server: WebServer) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def open_page(locale: str = "en-US", viewport: tuple[int, int] = (1280, 800), **context_options: Any) -> Page:
        width, height = viewport
        context = browser.new_context(base_url=web_server.url, locale=locale,
                                      viewport={"width": width, "height": height}, **context_options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()

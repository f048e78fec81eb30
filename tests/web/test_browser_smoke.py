"""Proves the browser-test infrastructure: Chromium loads a page from the live server."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.factories import make_member

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.web.conftest import WebServer


def test_about_page_loads_in_chromium(new_page: Callable[..., Page]) -> None:
    page = new_page()
    response = page.goto("/")
    assert response is not None and response.ok
    assert "Agora" in page.title()


def test_contexts_are_separate_and_send_their_locale(new_page: Callable[..., Page]) -> None:
    english, french = new_page(), new_page(locale="fr-FR")
    sent = french.goto("/")
    english.goto("/")
    assert english.context is not french.context
    assert sent is not None and (sent.request.header_value("accept-language") or "").startswith("fr-FR")
    assert english.evaluate("navigator.language") == "en-US"
    assert french.evaluate("navigator.language") == "fr-FR"


def test_data_seeded_on_the_server_shows_in_the_browser(web_server: WebServer, new_page: Callable[..., Page]) -> None:
    alice = web_server.run(make_member(web_server.runtime, "alice"))
    page = new_page()
    response = page.goto(f"/api/v1/accounts/{alice.id}")
    assert response is not None and response.ok
    assert response.json()["username"] == "alice"

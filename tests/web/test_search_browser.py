"""Search in Chromium, as a member uses it: type a query, read the results, switch to People, open the
syntax help; Home's For you / Following switch; and axe-core finds no serious accessibility problem on
these pages, at desktop and phone widths, light and dark."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from agora.search import trends
from tests.factories import Member, make_member
from tests.web.browser import sign_up

if TYPE_CHECKING:
    from tests.web.conftest import WebServer

BLOCKING = {"serious", "critical"}
FIRST_SEARCH_MS = 60_000  # the first search loads the sentence-embedding model (seconds on 2 cores)


@pytest.fixture(autouse=True)
def fresh_trends():
    trends.clear_cache()
    yield
    trends.clear_cache()


def api_post(web_server: WebServer, who: Member, text: str) -> None:
    answer = httpx.post(f"{web_server.url}/api/v1/statuses", headers=who.headers, json={"status": text}, timeout=30)
    assert answer.status_code == 200, answer.text


def seed(web_server: WebServer) -> None:
    """A baker who posts about sourdough, and enough people using #BreadWeek today for it to trend."""
    sam = web_server.run(make_member(web_server.runtime, "sourdoughsam"))
    api_post(web_server, sam, "My sourdough starter doubled overnight")
    for i in range(3):
        baker = web_server.run(make_member(web_server.runtime, f"baker{i}"))
        api_post(web_server, baker, f"Loaf number {i} is out of the oven #BreadWeek")


def serious(axe: Axe, page: Page, where: str) -> list[str]:
    page.wait_for_load_state("networkidle")
    return [f"{where}: {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}: {v['help']}"
            for v in axe.run(page).response["violations"] if v["impact"] in BLOCKING]


def test_type_a_query_see_results_and_switch_to_people(web_server: WebServer,
                                                       new_page: Callable[..., Page]) -> None:
    seed(web_server)
    page = new_page()
    sign_up(page, "reader")
    page.get_by_role("link", name="Search").first.click()
    expect(page).to_have_url(re.compile(r"/search$"))
    # Nothing asked yet: the trends.
    expect(page.locator(".trends-page .tag-line", has_text="#BreadWeek")).to_be_visible()
    page.locator("#search-q").fill("sourdough")
    page.locator("#search-q").press("Enter")
    expect(page.locator("#search-results .post", has_text="starter doubled overnight")).to_be_visible(
        timeout=FIRST_SEARCH_MS)
    expect(page.locator(".search-tabs a[aria-current=page]")).to_have_text("Top")

    page.locator(".search-tabs").get_by_role("link", name="People").click()
    expect(page).to_have_url(re.compile(r"type=people"))
    expect(page.locator("#search-results .account-row", has_text="@sourdoughsam")).to_be_visible()
    expect(page.locator("#search-results .post")).to_have_count(0)
    # A new search from the People tab stays on People.
    page.locator("#search-q").fill("baker")
    page.locator("#search-q").press("Enter")
    expect(page.locator("#search-results .account-row")).to_have_count(3)

    # The syntax help opens, and a malformed query says what is wrong beside the box.
    page.get_by_text("Search syntax").click()
    expect(page.locator(".search-help dl")).to_contain_text("lang:de")
    page.goto("/search?q=since:2026-02-30")
    expect(page.locator("#search-q-error")).to_contain_text("not a date on the calendar")
    expect(page.locator("#search-q")).to_have_value("since:2026-02-30")


@pytest.mark.parametrize("scheme, viewport", [("light", (1280, 800)), ("dark", (390, 844))])
def test_search_pages_have_no_serious_accessibility_problems(web_server: WebServer, new_page: Callable[..., Page],
                                                            scheme: str, viewport: tuple[int, int]) -> None:
    seed(web_server)
    axe = Axe()
    visitor = new_page(color_scheme=scheme, viewport=viewport)
    visitor.goto("/search")
    found = serious(axe, visitor, "/search (signed out)")
    page = new_page(color_scheme=scheme, viewport=viewport)
    sign_up(page, "reader")
    for path in ("/search", "/search?q=sourdough", "/search?q=sourdough&type=people", "/search?q=%23bread&type=tags",
                 "/search?q=until:nope", "/home?feed=for_you", "/home?feed=following", "/explore"):
        page.goto(path, timeout=FIRST_SEARCH_MS)
        if path == "/search":
            page.get_by_text("Search syntax").click()  # checked open too
        found += serious(axe, page, path)
    assert not found, "\n".join(found)


def test_home_switch_remembers_the_chosen_feed(web_server: WebServer, new_page: Callable[..., Page]) -> None:
    page = new_page(viewport=(390, 844))
    sign_up(page, "reader")
    switch = page.get_by_role("navigation", name="Feed")
    expect(switch.locator("[aria-current=page]")).to_have_text("Following")
    switch.get_by_role("link", name="For you").click()
    expect(switch.locator("[aria-current=page]")).to_have_text("For you")
    page.get_by_role("navigation", name="Main (phone)").get_by_role("link", name="Home").click()
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.get_by_role("navigation", name="Feed").locator("[aria-current=page]")).to_have_text("For you")

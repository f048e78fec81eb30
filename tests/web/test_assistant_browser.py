"""The assistant in Chromium, as a member uses it: ask a question, watch the answer arrive word by word
with its AI-generated label, open the cited post from its chip; explain a post from its card; and
axe-core finds no serious accessibility problem on the page with an answer on it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from agora.search.embedder import embed_missing
from tests.factories import Member, make_member
from tests.web.browser import sign_up

if TYPE_CHECKING:
    from tests.web.conftest import WebServer

BLOCKING = {"serious", "critical"}
FIRST_ANSWER_MS = 60_000  # the first answer loads the sentence-embedding model (seconds on 2 cores)
RAMEN = "When did the ramen place on Mill Lane open?"
OPENED = "The ramen place on Mill Lane opened on Thursday, the queue went round the block."
CLOSES = "The ramen place on Mill Lane closes at 10 pm on weekdays and midnight on Saturdays."
LIBRARY = "The library closes at 6 pm on Mondays from January."

# Counts the text pieces added to the answer while it streams (the finished answer replaces them).
COUNT_PIECES = """() => {
  window.__pieces = 0;
  new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach((n) => {
    const inText = c.target.classList && c.target.classList.contains("answer-text");
    if (n.nodeType === Node.TEXT_NODE && inText) window.__pieces++;
  }))).observe(document.getElementById("assistant-answer"), { childList: true, subtree: true });
}"""


def api_post(web_server: WebServer, who: Member, text: str) -> str:
    answer = httpx.post(f"{web_server.url}/api/v1/statuses", headers=who.headers, json={"status": text}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def seed(web_server: WebServer) -> tuple[str, str]:
    """Alice's posts about the ramen place (its opening, its hours) and the library's hours, embedded
    as `agora search embed` would; the ids of the first two."""
    alice = web_server.run(make_member(web_server.runtime, "alice"))
    opened, closes = api_post(web_server, alice, OPENED), api_post(web_server, alice, CLOSES)
    api_post(web_server, alice, LIBRARY)
    web_server.run(embed_missing(web_server.runtime.db), timeout=120)
    return opened, closes


def serious(axe: Axe, page: Page, where: str) -> list[str]:
    page.wait_for_load_state("networkidle")
    return [f"{where}: {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}: {v['help']}"
            for v in axe.run(page).response["violations"] if v["impact"] in BLOCKING]


def test_ask_see_the_answer_stream_in_and_open_the_cited_post(web_server: WebServer,
                                                              new_page: Callable[..., Page]) -> None:
    _, status_id = seed(web_server)
    page = new_page()
    sign_up(page, "reader")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assistant").click()
    expect(page).to_have_url(re.compile(r"/assistant$"))
    page.evaluate(COUNT_PIECES)
    page.get_by_label("Your question").fill(RAMEN)
    page.get_by_role("button", name="Ask").click()

    answer = page.locator("#assistant-answer")
    expect(answer.locator(".answer-text")).to_contain_text("@alice wrote", timeout=FIRST_ANSWER_MS)
    expect(answer.locator(".cite-chip", has_text="@alice").first).to_be_visible()
    expect(answer).to_have_attribute("aria-busy", "false")
    assert page.evaluate("window.__pieces") > 5  # it arrived in pieces, not all at once
    expect(answer.locator(".ai-badge")).to_have_text("AI-generated")
    expect(answer.locator(".answer-mode")).to_contain_text("Extractive")
    expect(answer.get_by_role("link", name="About the model")).to_have_attribute("href", "/ai/model")
    expect(answer.locator(".answer-text")).to_contain_text("queue went round the block")
    assert not serious(Axe(), page, "/assistant (answered)")

    # A follow-up is read with the question before it: "it" is the ramen place, not the library.
    follow = page.locator("#assistant-follow")
    expect(follow).to_be_visible()
    page.get_by_label("Your question").fill("And when does it close?")
    page.get_by_role("button", name="Ask").click()
    expect(answer.locator(".answer-text")).to_contain_text("10 pm on weekdays", timeout=FIRST_ANSWER_MS)
    chip = answer.locator(".cite-chip").first
    expect(chip).to_have_attribute("href", f"/@alice/{status_id}")
    page.get_by_role("link", name="Start a new topic").click()
    expect(follow).to_be_hidden()
    expect(page.get_by_label("Your question")).to_have_value("")

    chip.click()
    expect(page).to_have_url(re.compile(rf"/@alice/{status_id}$"))
    expect(page.locator(f"#post-{status_id}")).to_contain_text("10 pm on weekdays")

    # From the post's card: "Ask the assistant" explains it, citing it first.
    page.locator(f"#post-{status_id}").get_by_role("link", name="Ask the assistant").click()
    expect(page).to_have_url(re.compile(rf"/assistant\?explain={status_id}$"))
    expect(answer.locator(".cite-chip").first).to_have_attribute("href", f"/@alice/{status_id}",
                                                                  timeout=FIRST_ANSWER_MS)

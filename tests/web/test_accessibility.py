"""Accessibility of the main pages, checked by axe-core (the engine behind Lighthouse's audit) in
Chromium: no serious or critical violations, signed out and signed in, light and dark, desktop and
phone. Keyboard use and visible focus are checked in test_browser_journey.py."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.factories import make_member
from tests.web.browser import compose, png, sign_up

SIGNED_OUT = ["/", "/auth/sign_in", "/auth/sign_up", "/explore", "/ai/model"]
SIGNED_IN = ["/home", "/explore", "/@ally", "/@ally/followers", "/notifications", "/bookmarks", "/compose",
             "/settings/profile", "/settings/password", "/settings/preferences", "/tags/garden", "/chat", "/assistant"]
BLOCKING = {"serious", "critical"}


def problems(axe: Axe, page: Page, path: str) -> list[str]:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    found = axe.run(page).response["violations"]
    return [f"{path}: {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}: {v['help']}"
            for v in found if v["impact"] in BLOCKING]


@pytest.mark.parametrize("scheme, viewport", [("light", (1280, 800)), ("dark", (390, 844))])
def test_main_pages_have_no_serious_accessibility_problems(new_page, web_server, scheme: str, viewport) -> None:
    axe = Axe()
    visitor = new_page(color_scheme=scheme, viewport=viewport)
    found = [p for path in SIGNED_OUT for p in problems(axe, visitor, path)]

    ally = new_page(color_scheme=scheme, viewport=viewport)
    sign_up(ally, "ally")
    ally.set_viewport_size({"width": 1280, "height": 800})  # the desktop compose box, then back
    compose(ally, "Tomatoes are in #garden", image=png(), alt="Red tomatoes on the vine")
    ally.locator("#timeline .post", has_text="Tomatoes").locator("button.like").click()
    ally.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    found += [p for path in SIGNED_IN for p in problems(axe, ally, path)]
    ally.goto("/@ally")
    thread = ally.locator(".post a.when").first.get_attribute("href")
    assert thread
    found += problems(axe, ally, thread)
    found += chat_problems(axe, ally, web_server)
    assert not found, "\n".join(found)


def chat_problems(axe: Axe, ally: Page, web_server) -> list[str]:
    """A direct chat with a message and a reaction, and a group with its info panel open."""
    web_server.run(make_member(web_server.runtime, "bea"))
    ally.goto("/chat/new")
    ally.fill("input[name=username]", "bea")
    ally.click("#chat-new-direct-form button[type=submit]")
    ally.locator("#chat-text").fill("Hello Bea! 👋")
    ally.locator("#chat-text").press("Enter")
    expect(ally.locator("li.msg.mine")).to_have_count(1)
    ally.locator("li.msg.mine").hover()
    ally.locator("li.msg.mine .react-picker summary").click()
    ally.get_by_role("button", name="React with 👍").click()
    expect(ally.locator("li.msg.mine button.reaction")).to_have_count(1)
    found = problems(axe, ally, ally.url)
    chat_url = ally.url
    ally.locator("li.msg.mine").hover()
    ally.locator("li.msg.mine .msg-edit-link").click()  # the edit form in the message's place
    expect(ally.locator("form.msg-edit textarea")).to_be_focused()
    found += [f"{chat_url} (editing): {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}: {v['help']}"
              for v in axe.run(ally).response["violations"] if v["impact"] in BLOCKING]
    found += problems(axe, ally, chat_url + "/search?q=hello")
    ally.goto("/chat/new/group")
    ally.fill("input[name=name]", "Garden club")
    ally.fill("input[name=members]", "bea")
    ally.click("#chat-new-group-form button[type=submit]")
    ally.locator("#chat-info summary").click()
    found += [f"{ally.url}: {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}: {v['help']}"
              for v in axe.run(ally).response["violations"] if v["impact"] in BLOCKING]
    ally.goto("/chat")
    ally.locator("[data-dialog=chat-new-group]").click()
    found += [f"/chat (dialog): {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}: {v['help']}"
              for v in axe.run(ally).response["violations"] if v["impact"] in BLOCKING]
    return found

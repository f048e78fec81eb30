"""Accessibility of the main pages, checked by axe-core (the engine behind Lighthouse's audit) in
Chromium: no serious or critical violations, signed out and signed in, light and dark, desktop and
phone. Keyboard use and visible focus are checked in test_browser_journey.py."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.web.browser import compose, png, sign_up

SIGNED_OUT = ["/", "/auth/sign_in", "/auth/sign_up", "/explore"]
SIGNED_IN = ["/home", "/explore", "/@ally", "/@ally/followers", "/notifications", "/bookmarks", "/compose",
             "/settings/profile", "/settings/password", "/settings/preferences", "/tags/garden", "/chat"]
BLOCKING = {"serious", "critical"}


def problems(axe: Axe, page: Page, path: str) -> list[str]:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    found = axe.run(page).response["violations"]
    return [f"{path}: {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}: {v['help']}"
            for v in found if v["impact"] in BLOCKING]


@pytest.mark.parametrize("scheme, viewport", [("light", (1280, 800)), ("dark", (390, 844))])
def test_main_pages_have_no_serious_accessibility_problems(new_page, scheme: str, viewport) -> None:
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
    assert not found, "\n".join(found)

"""The web app in a real browser (Chromium), as two new members meet it.

A and B sign up in two browser contexts; B follows A; A posts with an image and B sees it arrive
live, without a reload; B likes and replies; A's notification badge counts up live; A opens the
thread and finds the reply; A's followers-only post stays hidden from a stranger; the German and
Chinese interfaces speak their own language; forms keep what was typed when they refuse it.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.browser import PASSWORD, badge, compose, png, sign_up


def test_two_members_meet_in_the_browser(new_page) -> None:
    ana = new_page()
    ben = new_page()
    sign_up(ana, "ana")
    sign_up(ben, "ben")

    # B follows A from A's profile.
    ben.goto("/@ana")
    ben.locator(".profile-actions button", has_text="Follow").click()
    expect(ben.locator(".profile-actions button")).to_contain_text(re.compile("Following|Unfollow"))

    # B waits on the home timeline; A posts with an image; it arrives without a reload.
    ben.goto("/home")
    ben.evaluate("window.__sameDocument = true")  # gone if the page were reloaded
    ana.goto("/home")
    compose(ana, "Sunset over the harbour 🌅 #photo", image=png(), alt="An orange sky over the water")
    expect(ana.locator("#timeline .post").first).to_contain_text("Sunset over the harbour")

    new_posts = ben.locator("#new-posts")
    expect(new_posts).to_be_visible()
    expect(new_posts).to_contain_text("1")
    new_posts.click()
    arrived = ben.locator("#timeline .post", has_text="Sunset over the harbour")
    expect(arrived).to_have_count(1)
    expect(arrived.locator("img[alt='An orange sky over the water']")).to_have_count(1)
    assert ben.evaluate("window.__sameDocument") is True

    # A keeps the page open: the badge must count what B does, live.
    expect(badge(ana)).to_have_text("1")  # B's follow, counted when A's page was rendered
    arrived.locator("button.like").click()
    expect(arrived.locator("button.like")).to_have_attribute("aria-pressed", "true")
    expect(badge(ana)).to_have_text("2")  # B's like, live
    expect(ana).to_have_title(re.compile(r"^\(2\) "))  # and in the tab's title

    # Reply opens a box right under the post (no page change); sent, the box becomes the reply.
    arrived.locator("a.reply").click()
    inline = ben.locator("form.compose.inline")
    expect(inline.locator("textarea")).to_be_focused()
    inline.locator("textarea").fill("Beautiful! Where was this taken? 你好")
    inline.locator("button[type=submit]").click()
    expect(inline).to_have_count(0)
    expect(ben.locator("#timeline .post", has_text="Where was this taken?")).to_have_count(1)
    expect(arrived.locator("a.reply .count")).to_have_text("1")  # the card counts its new reply
    assert ben.evaluate("window.__sameDocument") is True
    expect(badge(ana)).to_have_text("3")  # and B's reply

    # A opens the thread and sees the reply under the post.
    ana.locator("#timeline .post", has_text="Sunset over the harbour").locator("a.when").click()
    expect(ana.locator(".post.focus")).to_contain_text("Sunset over the harbour")
    expect(ana.locator("#replies .post")).to_contain_text("Where was this taken? 你好")
    ana.locator("form#reply textarea").fill("By the old lighthouse!")  # and answers in the thread
    ana.locator("form#reply button[type=submit]").click()
    expect(ana.locator("#replies .post").last).to_contain_text("By the old lighthouse!")

    # A's followers-only post: B (a follower) sees it; a stranger does not, not even by its address.
    ana.goto("/home")
    compose(ana, "Only for my followers: the secret picnic spot", visibility="private")
    mine = ana.locator("#timeline .post", has_text="secret picnic spot")
    expect(mine).to_have_count(1)
    address = mine.locator("a.when").get_attribute("href")
    stranger = new_page()
    stranger.goto("/@ana")
    expect(stranger.locator("main")).to_contain_text("Sunset over the harbour")
    expect(stranger.locator("main")).not_to_contain_text("secret picnic spot")
    response = stranger.goto(address)
    assert response is not None and response.status == 404
    expect(stranger.locator("main")).not_to_contain_text("secret picnic spot")
    ben.goto(address)
    expect(ben.locator(".post.focus")).to_contain_text("secret picnic spot")


def test_german_and_chinese_interfaces(new_page) -> None:
    german = new_page(locale="de-DE")
    german.goto("/auth/sign_in")
    expect(german.locator("html")).to_have_attribute("lang", "de")
    expect(german.locator("main h1")).to_have_text("Anmelden")
    expect(german.locator("label[for=password]")).to_have_text("Passwort")

    chinese = new_page(locale="zh-CN")
    chinese.goto("/auth/sign_in")
    expect(chinese.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(chinese.locator("main h1")).to_have_text("登录")

    # A member can override the browser: the setting sticks to the browser (and the account).
    sign_up(chinese, "lin")
    expect(chinese.locator("header.side nav")).to_contain_text("首页")
    chinese.select_option("#lang-side", "de")
    expect(chinese.locator("header.side nav")).to_contain_text("Startseite")


def test_forms_keep_what_was_typed_and_say_what_is_wrong(new_page) -> None:
    page = new_page()
    page.goto("/auth/sign_up")
    page.fill("#username", "kim_2")
    page.fill("#email", "not an address")
    page.fill("#new-password", "short")
    page.click("form[action='/auth/sign_up'] button[type=submit]")
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.locator("#username")).to_have_value("kim_2")
    expect(page.locator("#email")).to_have_value("not an address")
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")

    page.fill("#email", "kim@example.org")
    page.fill("#new-password", PASSWORD)
    page.check("input[name=agreement]")
    page.click("form[action='/auth/sign_up'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/home$"))

    # Over the limit: the counter warns and the button is disabled before the server ever sees it…
    text = "ü" * 501
    page.locator("form#compose textarea").fill(text)
    expect(page.locator("#compose-count")).to_have_text("-1")
    expect(page.locator("form#compose button[type=submit]")).to_be_disabled()
    # …and a blank post is refused by the server with the message beside the box.
    page.locator("form#compose textarea").fill("   ")
    page.locator("form#compose button[type=submit]").click()
    expect(page.locator("#status-error")).to_be_visible()
    expect(page.locator("#timeline .post")).to_have_count(0)


def test_read_post_and_follow_with_javascript_off(new_page) -> None:
    writer = new_page()
    sign_up(writer, "wren")
    compose(writer, "Plain HTML still works 👍")
    expect(writer.locator("#timeline .post").first).to_contain_text("Plain HTML still works")

    reader = new_page(java_script_enabled=False)
    sign_up(reader, "rhea")
    reader.goto("/@wren")
    expect(reader.locator("main")).to_contain_text("Plain HTML still works")
    reader.locator(".profile-actions button", has_text="Follow").click()  # a plain form post, then a redirect
    expect(reader.locator(".profile-actions button")).to_contain_text(re.compile("Following|Unfollow"))
    reader.goto("/home")
    expect(reader.locator("#timeline")).to_contain_text("Plain HTML still works")
    reader.locator("form#compose textarea").fill("Posted without a line of JavaScript")
    reader.locator("form#compose button[type=submit]").click()
    expect(reader).to_have_url(re.compile(r"/home$"))
    expect(reader.locator("#timeline .post").first).to_contain_text("Posted without a line of JavaScript")
    reader.locator("#timeline .post", has_text="Plain HTML").locator("button.like").click()
    expect(reader.locator("#timeline .post", has_text="Plain HTML").locator("button.like")).to_have_attribute(
        "aria-pressed", "true")


def test_phone_and_desktop_layouts_and_the_dark_theme(new_page) -> None:
    phone = new_page(viewport=(390, 844), color_scheme="dark")
    sign_up(phone, "pat")
    expect(phone.locator("nav.bottom")).to_be_visible()
    expect(phone.locator("header.side")).to_be_hidden()
    expect(phone.locator("a.fab")).to_be_visible()
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(11, 15, 20)", background  # the dark palette, from the system setting
    # Nothing is wider than the phone's screen (no sideways scrolling).
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    desktop = new_page(viewport=(1280, 800), color_scheme="light")
    sign_up(desktop, "dee")
    expect(desktop.locator("header.side nav")).to_be_visible()
    expect(desktop.locator("nav.bottom")).to_be_hidden()
    assert desktop.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"

    # Keyboard: the first Tab reaches "Skip to content", which moves focus to the main column.
    desktop.keyboard.press("Tab")
    expect(desktop.locator("a.skip-link")).to_be_focused()
    desktop.keyboard.press("Enter")
    assert desktop.evaluate("document.activeElement.id") == "main"

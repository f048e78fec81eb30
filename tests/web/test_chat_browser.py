"""Chat in a real browser (Chromium): two members, each in their own browser context, chat live.

Alice starts the chat from the "New message" dialog; Bob's badge counts her message and his inbox
shows it without a reload; opening it marks it read and Alice sees "Seen"; what each writes appears
on the other's screen as it is sent, with "bob is typing…" before; Enter pressed twice sends once;
a reaction shows up on the other side; a photo with its description, and an edit made in place,
show up on both.
"""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, Member, make_member
from tests.web.browser import png


def sign_in(page: Page, member: Member) -> None:
    page.goto("/auth/sign_in")
    page.fill("#login", member.username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/auth/sign_in'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/home$"))


def write(page: Page, text: str) -> None:
    box = page.locator("#chat-text")
    box.fill(text)
    box.press("Enter")


def test_two_members_chat_live(new_page, web_server) -> None:
    alice = web_server.run(make_member(web_server.runtime, "alice"))
    bob = web_server.run(make_member(web_server.runtime, "bob"))
    # Bob follows Alice, so her chat comes to his inbox rather than his message requests.
    followed = httpx.post(f"{web_server.url}/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    assert followed.status_code == 200
    ana, ben = new_page(), new_page()
    sign_in(ana, alice)
    sign_in(ben, bob)

    # Alice starts the chat from the dialog and says hello.
    ana.goto("/chat")
    ana.get_by_role("link", name="New message").click()
    dialog = ana.locator("dialog#chat-new-direct")
    expect(dialog).to_be_visible()
    dialog.locator("input[name=username]").fill("bob")
    dialog.locator("button[type=submit]").click()
    expect(ana).to_have_url(re.compile(r"/chat/\d+$"))
    conversation = ana.url.rsplit("/", 1)[1]

    ben.goto("/chat")
    ben.evaluate("window.__sameDocument = true")  # gone if the page were reloaded
    write(ana, "Hi Bob! 👋")
    expect(ana.locator("li.msg.mine")).to_have_count(1)
    # Bob's badge and inbox learn of it live.
    expect(ben.locator("header.side .chat-badge")).to_have_text("1")
    row = ben.locator(f"#chat-row-{conversation}")
    expect(row).to_contain_text("Hi Bob! 👋")
    assert ben.evaluate("window.__sameDocument") is True

    # Bob opens it: it is read, and Alice sees "Seen" without a reload.
    row.locator("a").click()
    expect(ben.locator("li.msg")).to_contain_text(["Hi Bob! 👋"])
    expect(ana.locator("#chat-seen")).to_have_text("Seen")

    # Live both ways: Alice's next message appears on Bob's open page, which marks it read too.
    ben.evaluate("window.__sameDocument = true")
    write(ana, "Lunch today?")
    expect(ben.locator("li.msg").last).to_contain_text("Lunch today?")
    # "Seen" moves to the new message (the moment between, unread, can be too short to catch).
    expect(ana.locator("li.msg.mine").last.locator("#chat-seen")).to_have_text("Seen")

    # Bob types: Alice sees it; he sends: his message replaces the indicator.
    ben.locator("#chat-text").press_sequentially("Sure", delay=20)
    expect(ana.locator("#chat-typing")).to_have_text("bob is typing…")
    ben.locator("#chat-text").press_sequentially(", at noon", delay=10)
    ben.locator("#chat-text").press("Enter")
    ben.locator("#chat-text").press("Enter")  # pressed twice: one message
    expect(ana.locator("li.msg").last).to_contain_text("Sure, at noon")
    expect(ana.locator("#chat-typing")).to_have_text("")
    expect(ben.locator("li.msg.mine")).to_have_count(1)
    expect(ana.locator("li.msg:not(.mine)")).to_have_count(1)
    assert ben.evaluate("window.__sameDocument") is True

    # Alice reacts to it from the picker; Bob sees the reaction arrive.
    theirs = ana.locator("li.msg:not(.mine)").last
    theirs.hover()
    theirs.locator(".react-picker summary").click()
    theirs.get_by_role("button", name="React with 👍").click()
    expect(ana.locator("li.msg:not(.mine) button.reaction.on")).to_have_text("👍 1")
    expect(ben.locator("li.msg.mine button.reaction")).to_have_text("👍 1")

    # Bob sends a photo with its description (Enter, no text): both screens show it with its alt text.
    ben.locator("#chat-image").set_input_files({"name": "lunch.png", "mimeType": "image/png", "buffer": png()})
    ben.locator("#chat-image-alt").fill("A bowl of noodles")
    ben.locator("#chat-text").press("Enter")
    expect(ana.locator('li.msg:not(.mine) img[alt="A bowl of noodles"]')).to_have_count(1)
    expect(ben.locator('li.msg.mine img[alt="A bowl of noodles"]')).to_have_count(1)
    expect(ben.locator("#chat-image")).to_have_value("")

    # Alice edits her last message in place; Bob sees the new text, marked "Edited", without a reload.
    lunch = ana.locator("li.msg.mine").last
    lunch.hover()
    lunch.locator(".msg-edit-link").click()
    box = ana.locator("form.msg-edit textarea")
    expect(box).to_be_focused()
    box.fill("Lunch tomorrow?")
    ana.locator("form.msg-edit button[type=submit]").click()
    expect(ana.locator("li.msg.mine").last).to_contain_text("Lunch tomorrow?")
    expect(ben.locator("li.msg:not(.mine)").last).to_contain_text("Lunch tomorrow?")
    expect(ben.locator("li.msg:not(.mine)").last.locator(".edited")).to_have_text("Edited")
    assert ben.evaluate("window.__sameDocument") is True

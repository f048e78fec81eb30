"""The wallet in a real browser (Chromium): Alice tops up and sends Bob 12.34 with a note; Bob sees it on
his wallet and in his history; the statement downloads with the row; a send the balance cannot cover says
so and moves nothing; a transfer sent in a chat is accepted by Bob from the card. Axe finds no serious
accessibility problem on the wallet."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, Member, make_member

BLOCKING = {"serious", "critical"}


def sign_in(page: Page, member: Member) -> None:
    page.goto("/auth/sign_in")
    page.fill("#login", member.username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/auth/sign_in'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/home$"))


def balance(page: Page, currency: str = "usd") -> str:
    return page.locator(f".balance[data-currency={currency}] .balance-available").inner_text()


def test_send_money_and_see_it_on_both_sides(new_page, web_server) -> None:
    alice = web_server.run(make_member(web_server.runtime, "alice"))
    bob = web_server.run(make_member(web_server.runtime, "bob"))
    ana, ben = new_page(), new_page()
    sign_in(ana, alice)
    sign_in(ben, bob)

    ana.goto("/wallet")
    expect(ana.locator(".sandbox-badge")).to_have_text("Sandbox — test money")
    top_up = ana.locator("#top-up form")
    top_up.get_by_label("Amount").fill("50")
    top_up.get_by_role("button", name="Top up").click()
    expect(ana.locator(".wallet-done")).to_have_text("Money added to your wallet.")
    assert balance(ana) == "$50.00"

    send = ana.locator("#send form")
    send.get_by_label("To").fill("bob")
    send.get_by_label("Amount").fill("12.34")
    send.get_by_label("What is it for?").fill("Pizza night")
    send.get_by_label("🍕").check()
    send.get_by_role("button", name="Send").dblclick()  # a double click pays once
    expect(ana.locator(".wallet-done")).to_have_text("You sent $12.34 to @bob.")
    assert balance(ana) == "$37.66"

    ben.goto("/wallet")
    assert balance(ben) == "$12.34"
    expect(ben.locator("#activity .transfer")).to_have_count(1)
    expect(ben.locator("#activity .transfer")).to_contain_text("@alice paid you")
    ben.get_by_role("link", name="All history").click()
    expect(ben.locator("#wallet-history .transfer")).to_contain_text(["Pizza night"])
    expect(ben.locator("#wallet-history .transfer-amount")).to_have_text(["+$12.34"])

    with ben.expect_download() as download:
        ben.locator(".wallet-statement a").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["type"], r["counterparty"], r["description"], r["amount"]) for r in rows] == [
        ("transfer", "alice", "Pizza night", "12.34")]

    # More than she has: the message beside the amount, and nothing moves.
    ana.goto("/wallet")
    send = ana.locator("#send form")
    send.get_by_label("To").fill("bob")
    send.get_by_label("Amount").fill("100")
    send.get_by_role("button", name="Send").click()
    too_low = "Your balance is too low for this payment. Nothing was sent."
    expect(ana.locator("#send-amount-error")).to_have_text(too_low)
    expect(ana.locator("#send-amount")).to_have_attribute("aria-invalid", "true")
    ana.goto("/wallet")
    assert balance(ana) == "$37.66"
    ben.goto("/wallet")
    assert balance(ben) == "$12.34"

    found = Axe().run(ana).response["violations"]
    assert not [v["id"] for v in found if v["impact"] in BLOCKING], found


def test_a_transfer_in_a_chat_is_accepted_from_the_card(new_page, web_server) -> None:
    alice = web_server.run(make_member(web_server.runtime, "alice"))
    bob = web_server.run(make_member(web_server.runtime, "bob"))
    base = web_server.url
    assert httpx.post(f"{base}/api/v1/accounts/{alice.id}/follow", headers=bob.headers).status_code == 200
    topped = httpx.post(f"{base}/api/v1/wallet/top_up", json={"amount": 5000, "currency": "usd"},
                        headers={**alice.headers, "Idempotency-Key": "top-up-1"})
    assert topped.status_code == 200, topped.text
    ana, ben = new_page(), new_page()
    sign_in(ana, alice)
    sign_in(ben, bob)
    ana.goto("/chat/new")
    ana.fill("input[name=username]", "bob")
    ana.click("#chat-new-direct-form button[type=submit]")
    expect(ana).to_have_url(re.compile(r"/chat/\d+$"))
    chat = ana.url.rsplit("/", 1)[1]

    ana.get_by_role("link", name="Send money").click()
    ana.get_by_label("Amount").fill("7.50")
    ana.get_by_label("Note").fill("Train tickets")
    ana.get_by_role("button", name="Send").click()
    expect(ana).to_have_url(re.compile(rf"/chat/{chat}"))
    expect(ana.locator(".transfer-card")).to_contain_text("Waiting for @bob to accept")

    ben.goto(f"/chat/{chat}")
    card = ben.locator(".transfer-card")
    expect(card).to_contain_text("$7.50")
    expect(card).to_contain_text("Train tickets")
    card.get_by_role("button", name="Accept").click()
    expect(ben.locator(".transfer-card")).to_contain_text("Accepted")
    expect(ben.locator(".transfer-card button")).to_have_count(0)
    ben.goto("/wallet")
    assert balance(ben) == "$7.50"
    ana.goto("/wallet")
    assert balance(ana) == "$42.50"

"""The wallet in the browser, through the real app (SQLite and PostgreSQL): balances with the sandbox
badge, top up, send with a decimal amount, the same form sent twice moving money once, refusals shown
on the page with nothing moved (balance, PIN, unknown member, bad amount), history filters and the
CSV statement for the signed-in browser."""

from __future__ import annotations

import csv
import io
import re

import httpx

from tests.factories import Member
from tests.payments.helpers import available, pay
from tests.web.pages import csrf_of, signed_in

KEY = re.compile(r'name="key" value="([^"]+)"')


async def wallet_form(client: httpx.AsyncClient, action: str, data: dict[str, str], *,
                      htmx: bool = False) -> httpx.Response:
    """Open the wallet, then send one of its forms with that page's CSRF token and one-time key."""
    page = await client.get("/wallet")
    assert page.status_code == 200, page.text[:500]
    form = page.text[page.text.index(f'action="{action}"'):]
    key = KEY.search(form)
    fields = {"csrf": csrf_of(page.text), **({"key": key.group(1)} if key else {}), **data}
    return await client.post(action, data=fields, headers={"HX-Request": "true"} if htmx else {})


def balance_shown(html: str, currency: str = "usd") -> str:
    found = re.search(rf'data-currency="{currency}">.*?class="balance-available">([^<]+)<', html, re.S)
    assert found, html[:3000]
    return found.group(1)


async def test_the_wallet_shows_balances_and_says_it_is_test_money(client, alice: Member) -> None:
    await signed_in(client, alice)
    page = await client.get("/wallet")
    assert page.status_code == 200
    assert "Sandbox — test money" in page.text
    assert balance_shown(page.text) == "$0.00"
    assert 'action="/wallet/send"' in page.text and 'action="/wallet/top_up"' in page.text
    assert "This part of Agora is being built" not in page.text


async def test_signed_out_the_wallet_asks_to_sign_in(client) -> None:
    answer = await client.get("/wallet")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/sign_in")


async def test_top_up_then_send_a_decimal_amount(client, alice: Member, bob: Member) -> None:
    await signed_in(client, alice)
    topped = await wallet_form(client, "/wallet/top_up", {"amount": "50", "currency": "usd"})
    assert topped.status_code == 303 and topped.headers["location"] == "/wallet?done=top_up"
    done = await client.get(topped.headers["location"])
    assert "Money added to your wallet." in done.text and balance_shown(done.text) == "$50.00"

    sent = await wallet_form(client, "/wallet/send", {"to": "@bob", "amount": "12.34", "currency": "usd",
                                                      "note": "Pizza night", "emoji": "🍕"})
    assert sent.status_code == 303, sent.text[:2000]
    page = await client.get(sent.headers["location"])
    assert "You sent $12.34 to @bob." in page.text
    assert balance_shown(page.text) == "$37.66"
    assert "Pizza night" in page.text and "You paid @bob" in page.text
    assert await available(client, alice) == 3766 and await available(client, bob) == 1234

    await signed_in(client, bob)
    theirs = await client.get("/wallet")
    assert balance_shown(theirs.text) == "$12.34" and "@alice paid you" in theirs.text


async def test_the_same_form_sent_twice_pays_once(client, alice: Member, bob: Member) -> None:
    await pay(client, alice, "/api/v1/wallet/top_up", amount=10_000, currency="usd")
    await signed_in(client, alice)
    page = await client.get("/wallet")
    form = page.text[page.text.index('action="/wallet/send"'):]
    data = {"csrf": csrf_of(page.text), "key": KEY.search(form).group(1), "to": "bob", "amount": "5",
            "currency": "usd", "note": "once"}
    first = await client.post("/wallet/send", data=data)
    again = await client.post("/wallet/send", data=data)  # a double click, or a resend after a timeout
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert await available(client, bob) == 500 and await available(client, alice) == 9500


async def test_the_same_split_form_sent_twice_asks_once(client, alice: Member, bob: Member) -> None:
    await signed_in(client, alice)
    page = await client.get("/wallet")
    form = page.text[page.text.index('action="/wallet/requests"'):]
    data = {"csrf": csrf_of(page.text), "key": KEY.search(form).group(1), "from": "bob", "amount": "12.00",
            "currency": "usd", "note": "pizza", "split": "1"}
    first = await client.post("/wallet/requests", data=data)
    again = await client.post("/wallet/requests", data=data)  # a double click
    assert first.status_code == again.status_code == 303
    asked = await client.get("/api/v1/payment_requests", headers=alice.headers)
    assert [r["amount"] for r in asked.json()] == [600]  # one request: bob's half


async def test_refusals_show_on_the_page_and_move_nothing(client, alice: Member, bob: Member) -> None:
    await pay(client, alice, "/api/v1/wallet/top_up", amount=1000, currency="usd")
    await signed_in(client, alice)
    cases = [
        ({"to": "bob", "amount": "10.01"}, "Your balance is too low for this payment. Nothing was sent."),
        ({"to": "nobody_here", "amount": "1"}, "There is no member with this username."),
        ({"to": "alice", "amount": "1"}, "You cannot pay yourself."),
        ({"to": "bob", "amount": "1.234"}, "Enter an amount such as 10.50."),
        ({"to": "bob", "amount": "0"}, "Enter an amount greater than zero."),
        ({"to": "bob", "amount": "ten"}, "Enter an amount such as 10.50."),
        ({"to": "", "amount": "1"}, "Enter the username of the member you are paying."),
    ]
    for fields, message in cases:
        answer = await wallet_form(client, "/wallet/send", {"currency": "usd", "note": "kept", **fields})
        assert answer.status_code == 422, (fields, answer.status_code)
        assert message in answer.text, (fields, answer.text[:3000])
        assert 'value="kept"' in answer.text  # what was typed stays
        assert 'aria-invalid="true"' in answer.text
    assert await available(client, alice) == 1000 and await available(client, bob) == 0
    # With htmx the refusal is swapped in place (422 is swapped by the page script).
    answer = await wallet_form(client, "/wallet/send", {"to": "bob", "amount": "99", "currency": "usd"}, htmx=True)
    assert answer.status_code == 422 and "Your balance is too low" in answer.text


async def test_large_payments_need_the_pin(client, alice: Member, bob: Member) -> None:
    await pay(client, alice, "/api/v1/wallet/top_up", amount=100_000, currency="usd")
    await signed_in(client, alice)
    big = {"to": "bob", "amount": "250.00", "currency": "usd"}
    answer = await wallet_form(client, "/wallet/send", big)
    assert answer.status_code == 422 and "need a payment PIN. Set one below first." in answer.text
    set_pin = await wallet_form(client, "/wallet/pin", {"pin": "123456", "pin_again": "123456"})
    assert set_pin.status_code == 303
    wrong = await wallet_form(client, "/wallet/send", {**big, "pin": "000000"})
    assert wrong.status_code == 422 and "The payment PIN is wrong. Nothing was sent." in wrong.text
    assert await available(client, bob) == 0
    right = await wallet_form(client, "/wallet/send", {**big, "pin": "123456"})
    assert right.status_code == 303
    assert await available(client, bob) == 25_000


async def test_history_filters_and_the_statement(client, alice: Member, bob: Member, carol: Member) -> None:
    await pay(client, alice, "/api/v1/wallet/top_up", amount=10_000, currency="usd")
    await signed_in(client, alice)
    for to, amount, note in (("bob", "12.34", "Pizza night"), ("carol", "1.50", "Coffee")):
        assert (await wallet_form(client, "/wallet/send", {"to": to, "amount": amount, "currency": "usd",
                                                           "note": note})).status_code == 303
    everything = await client.get("/wallet/history")
    assert everything.status_code == 200
    assert "Pizza night" in everything.text and "Coffee" in everything.text
    assert everything.text.index("Coffee") < everything.text.index("Pizza night")  # newest first
    with_bob = await client.get("/wallet/history", params={"with": "bob"})
    assert "Pizza night" in with_bob.text and "Coffee" not in with_bob.text
    received = await client.get("/wallet/history", params={"direction": "in"})
    assert "No payments match." in received.text
    future = await client.get("/wallet/history", params={"since": "2999-01-01"})
    assert "No payments match." in future.text
    unknown = await client.get("/wallet/history", params={"with": "nobody_here"})
    assert unknown.status_code == 422 and "There is no member with this username." in unknown.text
    paged = await client.get("/wallet/history", params={"limit": "1"})
    assert "Coffee" in paged.text and "Pizza night" not in paged.text
    older = re.search(r'<a class="more" href="([^"]+)">Older</a>', paged.text)
    assert older and "Pizza night" in (await client.get(older.group(1).replace("&amp;", "&"))).text

    statement = await client.get("/wallet/statement.csv")
    assert statement.status_code == 200 and statement.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(statement.text)))
    assert [(r["type"], r["counterparty"], r["amount"]) for r in rows] == [
        ("top_up", "", "100.00"), ("transfer", "bob", "-12.34"), ("transfer", "carol", "-1.50")]
    only_bob = list(csv.DictReader(io.StringIO((await client.get("/wallet/statement.csv?with=bob")).text)))
    assert [r["description"] for r in only_bob] == ["Pizza night"]


async def test_the_statement_is_the_signed_in_members_own(client, alice: Member, bob: Member) -> None:
    await pay(client, alice, "/api/v1/wallet/top_up", amount=500, currency="usd")
    await signed_in(client, bob)
    rows = list(csv.DictReader(io.StringIO((await client.get("/wallet/statement.csv")).text)))
    assert rows == []
    client.cookies.clear()
    assert (await client.get("/wallet/statement.csv")).status_code == 303


async def test_wallet_forms_need_the_csrf_token(client, alice: Member) -> None:
    await signed_in(client, alice)
    answer = await client.post("/wallet/top_up", data={"amount": "5", "currency": "usd", "key": "k" * 20})
    assert answer.status_code == 403
    assert await available(client, alice) == 0


async def test_split_a_bill_then_pay_decline_and_cancel(client, alice: Member, bob: Member, carol: Member) -> None:
    await pay(client, bob, "/api/v1/wallet/top_up", amount=5000, currency="usd")
    await signed_in(client, alice)
    asked = await wallet_form(client, "/wallet/requests", {"from": "@bob, carol", "amount": "30.00", "currency": "usd",
                                                           "note": "Dinner", "split": "1"})
    assert asked.status_code == 303
    page = (await client.get(asked.headers["location"])).text
    assert "Your request was sent." in page
    assert "You asked @bob for $10.00" in page and "You asked @carol for $10.00" in page
    unknown = await wallet_form(client, "/wallet/requests", {"from": "nobody_here", "amount": "1", "currency": "usd"})
    assert unknown.status_code == 422 and "There is no member with this username." in unknown.text

    await signed_in(client, bob)
    page = await client.get("/wallet")
    assert "@alice asks you for $10.00" in page.text
    request_id = re.search(r'id="request-(\d+)"', page.text).group(1)
    paid = await wallet_form(client, f"/wallet/requests/{request_id}/pay", {})
    assert paid.status_code == 303, paid.text[:2000]
    assert await available(client, bob) == 4000 and await available(client, alice) == 1000
    # The same button from a stale page (another key): already paid, nothing moves.
    again = await client.post(f"/wallet/requests/{request_id}/pay", data={"csrf": csrf_of(page.text), "key": "other"})
    assert again.status_code == 422 and "already been paid" in again.text
    assert await available(client, bob) == 4000

    await signed_in(client, carol)
    page = await client.get("/wallet")
    request_id = re.search(r'id="request-(\d+)"', page.text).group(1)
    declined = await wallet_form(client, f"/wallet/requests/{request_id}/decline", {})
    assert declined.status_code == 303
    assert "asks you for" not in (await client.get("/wallet")).text
    await signed_in(client, alice)
    assert "You asked" not in (await client.get("/wallet")).text  # one paid, one declined: none open

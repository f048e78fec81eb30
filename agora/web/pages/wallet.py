"""The wallet in the browser: balances, send money, top up and withdraw (sandbox), the payment PIN,
history with filters, and the CSV statement.

Every form works without JavaScript: success is a 303 back to the wallet (which says what happened),
a refusal is the page again with the message beside the field and what was typed kept, status 422.
With htmx the same answers swap the wallet in place. Money moves through the payments services in
one transaction, by way of the API's `run_once` keyed by the form's one-time key (see wallet_data).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from agora.accounts.auth import rate_limited
from agora.accounts.service import get_account_by_username
from agora.kit.errors import AgoraError, NotFound
from agora.kit.http import page_params
from agora.kit.ids import parse_id
from agora.kit.pagination import PageParams
from agora.kit.runtime import runtime_of
from agora.payments import funding, guard, ledger, transfers
from agora.payments.api.transfers import checked_payment_emoji, send_work
from agora.payments.entities import render_transfer, render_transfers, wallet_json
from agora.payments.members import counterparty
from agora.payments.statement import StatementFilter, statement_csv
from agora.web import forms, wallet_data
from agora.web.forms import FieldErrors
from agora.web.i18n import N_
from agora.web.i18n import gettext as _
from agora.web.render import is_htmx, page, prepare
from agora.web.session import Viewer, require_viewer, verify_csrf
from agora.web.wallet_data import HistoryFilter, day, day_after, read_amount, read_currency, refused

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])
LIMITED = [Depends(rate_limited("payments"))]
RECENT = 5
EMOJI = ("💸", "🍕", "☕", "🍻", "🎉", "🎁", "🏠", "🚕", "🛒", "❤️")
DONE = {"top_up": N_("Money added to your wallet."), "withdraw": N_("Your withdrawal is on its way."),
        "pin": N_("Your payment PIN is set."), "asked": N_("Your request was sent."),
        "request_pay": N_("Paid. The request is settled."), "request_decline": N_("Request declined."),
        "request_cancel": N_("Request cancelled."), "request_remind": N_("Reminder sent.")}
FORMS = ("send", "ask", "requests", "top_up", "withdraw", "pin")


async def _wallet_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    settings = runtime_of(request).settings
    async with runtime_of(request).db.transaction(write=False) as session:
        wallet = wallet_json(await ledger.balances(session, viewer.id), settings,
                             has_pin=await guard.has_pin(session, viewer.id))
        recent = await transfers.history(session, viewer_id=viewer.id, page=PageParams(limit=RECENT),
                                         where=transfers.TransferFilter())
        shown = await render_transfers(session, recent.items, settings, viewer_id=viewer.id)
        sent = None
        if (sent_id := parse_id(request.query_params.get("sent") or "")) is not None:
            try:
                found = await transfers.get(session, viewer_id=viewer.id, transfer_id=sent_id)
                sent = await render_transfer(session, found, settings, viewer_id=viewer.id)
            except AgoraError:
                sent = None
        asked = await wallet_data.open_requests(session, viewer.id, settings)
    done = request.query_params.get("done")
    return {**wallet_data.shared_context(), "wallet": wallet, "balances": wallet_data.balance_rows(wallet),
            "recent": shown, "sent": sent, "asked": asked, "done": _(DONE[done]) if done in DONE else None,
            "emoji_choices": EMOJI, "example": wallet_data.example_amount(settings.default_currency)}


async def wallet_page_with(request: Request, viewer: Viewer, *, which: str | None = None,
                       form: dict[str, str] | None = None, errors: FieldErrors | None = None, status: int = 200,
                       extra: dict[str, Any] | None = None) -> Response:
    context = await _wallet_context(request, viewer)
    forms_state = {name: {"form": {}, "errors": {}, "key": forms.new_key()} for name in FORMS}
    if which is not None:
        forms_state[which] = {"form": form or {}, "errors": errors or {},
                              "key": (form or {}).get("key") or forms.new_key()}
    if request.method == "GET" and (prefill := _send_prefill(request)):
        forms_state["send"]["form"] = prefill
        extra = {"drafted": request.query_params.get("draft") == "assistant", **(extra or {})}
    return await page(request, "wallet.html", {**context, "forms": forms_state, **(extra or {})}, status=status)


# A link can fill in the send form (a profile's "Pay" link, the assistant's payment drafts:
# /wallet?to=bob&amount=20.00&currency=usd&note=pizza#send). It only fills the form: nothing is sent
# until the member presses Send (and gives their PIN where the amount needs it).
PREFILLED = {"to": 100, "amount": 20, "currency": 3, "note": 500}


def _send_prefill(request: Request) -> dict[str, str]:
    query = request.query_params
    return {name: query[name][:limit] for name, limit in PREFILLED.items() if query.get(name)}


@router.get("/wallet")
async def wallet_page(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await wallet_page_with(request, viewer)


def done_redirect(request: Request, target: str) -> Response:
    """After a payment: back to the wallet, which says what happened (a fresh page, fresh keys)."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


# --- send money -----------------------------------------------------------------------------------

@router.post("/wallet/send", dependencies=LIMITED)
async def send(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    raw = await request.form()
    runtime = runtime_of(request)
    settings = runtime.settings
    form = {name: forms.text(raw, name, limit=1000) for name in ("to", "amount", "currency", "note", "emoji", "key")}
    pin = forms.text(raw, "pin", limit=20)
    errors: FieldErrors = {}
    currency = read_currency(form["currency"], settings, errors)
    amount = read_amount(form["amount"], currency, errors)
    to = form["to"].strip().removeprefix("@")
    if not to:
        errors["to"] = _("Enter the username of the member you are paying.")
    emoji = ""
    try:
        note = transfers.checked_note(form["note"])
        emoji = checked_payment_emoji(form["emoji"])
    except AgoraError as error:
        refused(error, settings, currency, errors)
    if errors or amount is None:
        return await wallet_page_with(request, viewer, which="send", form=form, errors=errors, status=422)
    params = {"to": to, "amount": amount, "currency": currency.lower(), "note": note, "emoji": emoji}
    try:
        async with runtime.db.transaction(write=False) as session:
            await counterparty(session, payer_id=viewer.id, to=to)  # who, before the PIN is asked
        await guard.check_pin(runtime.db, settings, account_id=viewer.id, pin=pin, amount=amount, currency=currency)

        work = send_work(settings, payer=viewer.account, to=to, amount=amount, currency=currency, note=note,
                         emoji=emoji)
        body = await wallet_data.run_keyed(request, viewer, operation="transfers.create", key=form["key"],
                                           params=params, work=work)
    except AgoraError as error:
        refused(error, settings, currency, errors)
        return await wallet_page_with(request, viewer, which="send", form=form, errors=errors, status=422)
    return done_redirect(request, f"/wallet?sent={body['id']}")


# --- top up, withdraw -----------------------------------------------------------------------------

async def _funding(request: Request, viewer: Viewer, operation: str) -> Response:
    raw = await request.form()
    runtime = runtime_of(request)
    settings = runtime.settings
    form = {name: forms.text(raw, name, limit=100) for name in ("amount", "currency", "key")}
    errors: FieldErrors = {}
    currency = read_currency(form["currency"], settings, errors)
    amount = read_amount(form["amount"], currency, errors)
    if errors or amount is None:
        return await wallet_page_with(request, viewer, which=operation, form=form, errors=errors, status=422)
    move = funding.top_up if operation == "top_up" else funding.withdraw
    try:
        if operation == "withdraw":
            await guard.check_pin(runtime.db, settings, account_id=viewer.id, pin=forms.text(raw, "pin", limit=20),
                                  amount=amount, currency=currency)

        async def work(session: Any) -> dict[str, Any]:
            entry = await move(session, settings, account_id=viewer.id, amount=amount, currency=currency)
            return {"id": str(entry.id), "object": operation, "amount": amount, "currency": currency.lower()}

        await wallet_data.run_keyed(request, viewer, operation=f"wallet.{operation}", key=form["key"],
                                    params={"amount": amount, "currency": currency.lower()}, work=work)
    except AgoraError as error:
        refused(error, settings, currency, errors)
        return await wallet_page_with(request, viewer, which=operation, form=form, errors=errors, status=422)
    return done_redirect(request, f"/wallet?done={operation}")


@router.post("/wallet/top_up", dependencies=LIMITED)
async def top_up(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _funding(request, viewer, "top_up")


@router.post("/wallet/withdraw", dependencies=LIMITED)
async def withdraw(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _funding(request, viewer, "withdraw")


# --- the payment PIN ------------------------------------------------------------------------------

@router.post("/wallet/pin", dependencies=LIMITED)
async def set_pin(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    raw = await request.form()
    runtime = runtime_of(request)
    pin, again = forms.text(raw, "pin", limit=20), forms.text(raw, "pin_again", limit=20)
    errors: FieldErrors = {}
    if not (len(pin) == guard.PIN_LENGTH and pin.isascii() and pin.isdigit()):
        errors["pin"] = _("A payment PIN is %(n)d digits.") % {"n": guard.PIN_LENGTH}
    elif pin != again:
        errors["pin_again"] = _("The two PINs do not match.")
    if not errors:
        try:
            async with runtime.db.transaction(write=False) as session:
                exists = await guard.has_pin(session, viewer.id)
            if exists:
                await guard.check_pin(runtime.db, runtime.settings, account_id=viewer.id,
                                      pin=forms.text(raw, "current_pin", limit=20), amount=None)
            async with runtime.db.transaction() as session:
                await guard.set_pin(session, runtime.settings, account_id=viewer.id, pin=pin)
        except AgoraError as error:
            # The only PIN that can be wrong here is the current one.
            message = wallet_data.worded(error, runtime.settings, runtime.settings.default_currency)
            errors["current_pin" if error.details.get("param") == "pin" else "form"] = message
    if errors:  # PINs are never sent back into the page
        return await wallet_page_with(request, viewer, which="pin", errors=errors, status=422)
    return done_redirect(request, "/wallet?done=pin")


# --- history and statement ------------------------------------------------------------------------

async def _counterparty_id(session: Any, username: str, errors: FieldErrors) -> int | None:
    if not username:
        return None
    try:
        return (await get_account_by_username(session, username=username.removeprefix("@").split("@")[0])).id
    except NotFound:
        errors["with"] = _("There is no member with this username.")
        return None


def _history_filter(request: Request) -> HistoryFilter:
    query = request.query_params
    found = HistoryFilter(kind=query.get("type", "")[:20], direction=query.get("direction", "")[:5],
                          counterparty=query.get("with", "")[:100].strip(), since=query.get("since", "")[:20],
                          until=query.get("until", "")[:20])
    if found.kind not in ("", *transfers.KINDS):
        found.kind = ""
    if found.direction not in ("", "in", "out"):
        found.direction = ""
    return found


@router.get("/wallet/history")
async def history(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    """Your transfers, newest first: by type, direction, the other member and dates, 20 a page."""
    runtime = runtime_of(request)
    chosen = _history_filter(request)
    since, until = day(chosen.since, chosen.errors, "since"), day(chosen.until, chosen.errors, "until")
    paging = page_params(request)
    async with runtime.db.transaction(write=False) as session:
        other = await _counterparty_id(session, chosen.counterparty, chosen.errors)
        where = transfers.TransferFilter(kind=chosen.kind or None, direction=chosen.direction or None,
                                         counterparty_id=other, created_gte=since, created_lt=day_after(until))
        found = None if chosen.errors else await transfers.history(session, viewer_id=viewer.id, page=paging,
                                                                    where=where)
        shown = await render_transfers(session, found.items, runtime.settings, viewer_id=viewer.id) if found else []
    base = chosen.query()
    older = newer = None
    if found is not None and found.items:
        if len(found.items) >= paging.limit:
            older = _url("/wallet/history", {**base, "max_id": str(found.next_max_id)})
        if paging.max_id is not None or paging.min_id is not None:
            newer = _url("/wallet/history", {**base, "min_id": str(found.prev_min_id)})
    statement = {k: v for k, v in base.items() if k in ("with", "since", "until")}
    return await page(request, "wallet_history.html", {
        "filter": chosen, "errors": chosen.errors, "transfers": shown, "older_url": older, "newer_url": newer,
        "statement_url": _url("/wallet/statement.csv", statement), **wallet_data.shared_context()},
        status=422 if chosen.errors else 200)


def _url(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


@router.get("/wallet/statement.csv")
async def statement(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    """The CSV statement for the signed-in browser (the API's needs a bearer token): the same rows."""
    chosen = _history_filter(request)
    since, until = day(chosen.since, chosen.errors, "since"), day(chosen.until, chosen.errors, "until")
    async with runtime_of(request).db.transaction(write=False) as session:
        other = await _counterparty_id(session, chosen.counterparty, chosen.errors)
        if chosen.errors:
            raise AgoraError(next(iter(chosen.errors.values())))
        lines = await statement_csv(session, owner_id=viewer.id, where=StatementFilter(
            counterparty_id=other, created_gte=since, created_lt=day_after(until)))
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="agora-statement-{viewer.account.username}.csv"',
        "Cache-Control": "no-store"})

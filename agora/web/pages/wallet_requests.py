"""Requesting money in the browser: ask one or more members (or split a bill with them), and the open
requests on the wallet page — pay or decline those asked of you, cancel or remind those you made.

Same shape as the wallet's other forms: 303 back to the wallet on success, the page again with the
message beside the field on refusal (422); money moves only in `pay`, through the keyed `run_once`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.errors import AgoraError, NotFound
from agora.kit.http import path_id
from agora.kit.runtime import runtime_of
from agora.payments import guard, requests, transfers
from agora.web import forms, wallet_data
from agora.web.forms import FieldErrors
from agora.web.i18n import gettext as _
from agora.web.pages.wallet import LIMITED, done_redirect, wallet_page_with
from agora.web.render import prepare
from agora.web.session import Viewer, require_viewer, verify_csrf
from agora.web.wallet_data import read_amount, read_currency, refused

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])


@router.post("/wallet/requests", dependencies=LIMITED)
async def ask(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    """Ask each named member for the amount, or (split) share the amount equally with them."""
    raw = await request.form()
    runtime = runtime_of(request)
    settings = runtime.settings
    form = {name: forms.text(raw, name, limit=1000) for name in ("from", "amount", "currency", "note", "split", "key")}
    errors: FieldErrors = {}
    currency = read_currency(form["currency"], settings, errors)
    amount = read_amount(form["amount"], currency, errors)
    names = [n.removeprefix("@") for n in re.split(r"[\s,]+", form["from"]) if n.strip()]
    split = forms.flag(raw, "split")
    if not names:
        errors["from"] = _("Enter the username of at least one member.")
    elif len(names) > requests.MAX_PAYERS:
        errors["from"] = _("You can ask at most %(n)d members at once.") % {"n": requests.MAX_PAYERS}
    if not errors and amount is not None and split and amount < len(names) + 1:
        errors["amount"] = _("This amount is too small to split.")
    if errors or amount is None:
        return await wallet_page_with(request, viewer, which="ask", form=form, errors=errors, status=422)
    try:
        note = transfers.checked_note(form["note"])

        async def work(session: AsyncSession) -> dict[str, Any]:
            asked = await requests.payers(session, requester_id=viewer.id, named=names)
            # A split counts the requester in: their share is the last (smallest), as the API gives it.
            amounts = requests.equal_shares(amount, len(asked) + 1)[:len(asked)] if split else [amount] * len(asked)
            made = await requests.create(session, requester_id=viewer.id, asked=asked, amounts=amounts,
                                         currency=currency, note=note)
            return {"id": str(made[0].id), "object": "list", "data": [str(r.id) for r in made]}

        # Keyed like every money form: a double click or a resubmitted page asks once, not twice.
        await wallet_data.run_keyed(request, viewer, operation="payment_requests.create", key=form["key"],
                                    params={"from": names, "amount": amount, "currency": currency.lower(),
                                            "note": note, "split": split}, work=work)
    except AgoraError as error:
        refused(error, settings, currency, errors)
        if str(error.details.get("param") or "").startswith("from") or "to" in errors:  # who was named
            errors["from"] = errors.pop("to", None) or errors.pop("form", None) or wallet_data.worded(
                error, settings, currency)
        return await wallet_page_with(request, viewer, which="ask", form=form, errors=errors, status=422)
    return done_redirect(request, "/wallet?done=asked")


async def _act(request: Request, viewer: Viewer, request_id: str, action: str) -> Response:
    runtime = runtime_of(request)
    settings = runtime.settings
    raw = await request.form()
    target = path_id(request_id)
    errors: FieldErrors = {}
    try:
        if action == "pay":
            async with runtime.db.transaction(write=False) as session:
                found = await requests.get(session, viewer_id=viewer.id, request_id=target)
                requests.check_payer(found, viewer.id)
            await guard.check_pin(runtime.db, settings, account_id=viewer.id, pin=forms.text(raw, "pin", limit=20),
                                  amount=found.amount, currency=found.currency)

            async def work(session: AsyncSession) -> dict[str, Any]:
                paid = await requests.pay(session, settings, viewer_id=viewer.id, request_id=target)
                return {"id": str(paid.id), "object": "payment_request", "status": paid.status}

            await wallet_data.run_keyed(request, viewer, operation=f"payment_requests.pay.{target}",
                                        key=forms.text(raw, "key", limit=100), params={}, work=work)
        else:
            change = {"decline": requests.decline, "cancel": requests.cancel, "remind": requests.remind}[action]
            async with runtime.db.transaction() as session:
                await change(session, viewer_id=viewer.id, request_id=target)
    except AgoraError as error:
        refused(error, settings, settings.default_currency, errors)
        message = errors.get("form") or next(iter(errors.values()))
        return await wallet_page_with(request, viewer, which="requests", errors={"form": message,
                                                                                "id": str(target)}, status=422)
    return done_redirect(request, f"/wallet?done=request_{action}#requests")


@router.post("/wallet/requests/{request_id}/{action}", dependencies=LIMITED)
async def act(request: Request, request_id: str, action: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    if action not in ("pay", "decline", "cancel", "remind"):
        raise NotFound()
    return await _act(request, viewer, request_id, action)

"""The wallet ready for a template, and the web's way into the payments services.

Amounts are typed as decimals ("10.50") and read exactly (`parse_decimal`, never a float); they are
shown in the reader's locale ("$12.34", "12,34 $", "US$12.34"). Every money-moving form goes through
the payments API's own `run_once` with the one-time key rendered into the form, so a double click, a
resend after a network error or the Back button moves the money once. Refusals are worded by their
Stripe `code` in the reader's language; one we do not know is shown as the service wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency
from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.idempotency import MAX_KEY
from agora.config import Settings
from agora.kit.errors import AgoraError
from agora.kit.money import EXPONENTS, MoneyError, decimal_string, parse_decimal
from agora.kit.pagination import PageParams
from agora.models import RedPacket, RedPacketClaim, Transfer
from agora.payments import requests
from agora.payments.api.common import run_once
from agora.payments.entities import accounts_by_id, payment_request_json
from agora.web import i18n
from agora.web.forms import FieldErrors
from agora.web.i18n import gettext as _
from agora.web.i18n import refusal
from agora.web.session import Viewer

Work = Callable[[AsyncSession], Awaitable[dict[str, Any]]]
# Form fields a refusal's `param` can point at; anything else is shown above the form.
FIELDS = ("to", "amount", "currency", "note", "emoji", "pin", "count", "mode")


def money(amount: int, currency: str) -> str:
    """Minor units as the reader writes money: `1234, "usd"` → "$12.34" / "12,34 $" / "US$12.34"."""
    code = currency.upper()
    exponent = EXPONENTS.get(code, 2)
    return format_currency(Decimal(amount).scaleb(-exponent), code, locale=i18n.current())


def example_amount(currency: str) -> str:
    """What a member could type for this currency: "10.50", or "1050" where there are no minor units."""
    return decimal_string(1050, currency.upper())


def read_amount(text: str, currency: str, errors: FieldErrors, name: str = "amount") -> int | None:
    """The typed decimal as exact minor units, or None with the reason beside the field."""
    if not text.strip():
        errors[name] = _("Enter an amount.")
        return None
    try:
        return parse_decimal(text, currency.upper(), param=name)
    except MoneyError as error:
        if error.code == "amount_too_small":
            errors[name] = _("Enter an amount greater than zero.")
        elif error.code == "amount_too_large":
            errors[name] = _("This amount is too large.")
        else:
            errors[name] = _("Enter an amount such as %(example)s.") % {"example": example_amount(currency)}
        return None


def read_currency(text: str, settings: Settings, errors: FieldErrors) -> str:
    code = text.strip().upper() or settings.default_currency
    if code not in settings.currencies:
        errors["currency"] = _("Choose a currency from the list.")
        return settings.default_currency
    return code


def worded(error: AgoraError, settings: Settings, currency: str) -> str:
    """A payments refusal in the reader's language, by its code (the service's English otherwise)."""
    code = error.details.get("code")
    limits = {"most": money(settings.payments_max_transfer, currency),
              "limit": money(settings.payments_daily_limit, currency),
              "top_up": money(settings.payments_max_top_up, currency),
              "pin_above": money(settings.payments_pin_threshold, currency),
              "minutes": settings.payments_pin_lockout_minutes}
    messages = {
        "insufficient_funds": _("Your balance is too low for this payment. Nothing was sent."),
        "daily_limit_exceeded": _("This would take what you paid in the last 24 hours past your daily limit "
                                  "of %(limit)s. Nothing was sent."),
        "pin_not_set": _("Payments above %(pin_above)s need a payment PIN. Set one below first."),
        "pin_required": _("This payment needs your payment PIN."),
        "pin_incorrect": _("The payment PIN is wrong. Nothing was sent."),
        "pin_locked": _("Too many wrong PINs: your payment PIN is locked for %(minutes)d minutes."),
        "resource_missing": _("There is no member with this username."),
        "same_account": _("You cannot pay yourself."),
        "account_blocked": _("You cannot move money with this member."),
        "not_in_chat": _("This member is not in this chat."),
        "currency_not_supported": _("Choose a currency from the list."),
        "idempotency_key_in_use": _("This form was already sent. Check your history before sending again."),
        "amount_too_small": _("Enter an amount greater than zero."),
        "red_packet_already_opened": _("You already opened this red packet."),
        "red_packet_emptied": _("This red packet is empty."),
        "red_packet_returned": _("This red packet has expired."),
        "transfer_already_succeeded": _("This transfer has already been accepted."),
        "transfer_already_returned": _("This transfer has already been returned."),
        "not_recipient": _("Only the recipient can accept or decline this transfer."),
        "request_already_paid": _("This request has already been paid."),
        "request_already_declined": _("This request has already been declined."),
        "request_already_cancelled": _("This request has already been cancelled."),
        "reminder_too_soon": _("You can send a reminder once an hour."),
    }
    if code == "amount_over_limit":
        top_up = "top-up" in error.message.lower()
        return (_("A top-up may be at most %(top_up)s.") if top_up
                else _("A single payment may be at most %(most)s.")) % limits
    if code in messages:
        return messages[code] % limits if "%(" in messages[code] else messages[code]
    return refusal(error.message)


def refused(error: AgoraError, settings: Settings, currency: str, errors: FieldErrors) -> None:
    """Put a refusal beside the field it is about (or above the form)."""
    # A balance too low is about the amount typed, an unknown member about the name: beside them.
    param = {"insufficient_funds": "amount", "resource_missing": "to"}.get(error.details.get("code") or "",
                                                                           error.details.get("param"))
    errors[param if param in FIELDS else "form"] = worded(error, settings, currency)


async def run_keyed(request: Request, viewer: Viewer, *, operation: str, key: str, params: dict[str, Any],
                    work: Work) -> dict[str, Any]:
    """`work` once per form key, through the API's own `run_once` (the same record, replay and retries):
    the key the page rendered stands in for the `Idempotency-Key` header an app would send."""
    if not key or len(key) > MAX_KEY:
        raise AgoraError(_("This form is out of date. Reload the page and try again."))
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"idempotency-key"]
    keyed = Request({**request.scope, "headers": [*headers, (b"idempotency-key", key.encode())]}, request.receive)
    answer = await run_once(keyed, viewer.grant, operation=operation, params=params, work=work)
    return json.loads(bytes(answer.body))


OPEN_SHOWN = 20


async def open_requests(session: AsyncSession, viewer_id: int, settings: Any) -> dict[str, list[dict[str, Any]]]:
    """The open requests asked of the viewer ("in") and made by them ("out"), newest first."""
    shown: dict[str, list[dict[str, Any]]] = {}
    for direction in ("in", "out"):
        found = await requests.history(session, viewer_id=viewer_id, page=PageParams(limit=OPEN_SHOWN),
                                       where=requests.RequestFilter(direction=direction, status="open"))
        accounts = await accounts_by_id(session, [i for r in found.items for i in (r.requester_id, r.payer_id)])
        shown[direction] = [payment_request_json(r, accounts, settings) for r in found.items]
    return shown


# --- what the page shows --------------------------------------------------------------------------


@dataclass(slots=True)
class BalanceRow:
    currency: str
    available: int
    held: int


def balance_rows(wallet: dict[str, Any]) -> list[BalanceRow]:
    held = {b["currency"]: b["amount"] for b in wallet["held"]}
    return [BalanceRow(b["currency"], b["amount"], held.get(b["currency"], 0)) for b in wallet["available"]]


@dataclass(slots=True)
class HistoryFilter:
    """The history page's filters as typed (kept in the form) and as the service reads them."""

    kind: str = ""
    direction: str = ""
    counterparty: str = ""
    since: str = ""
    until: str = ""
    errors: FieldErrors = field(default_factory=dict)

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("type", self.kind), ("direction", self.direction), ("with", self.counterparty),
                                  ("since", self.since), ("until", self.until)) if v}


def day(text: str, errors: FieldErrors, name: str) -> datetime | None:
    """A date field ("2026-03-01") as midnight UTC; None when empty or unreadable (with a message)."""
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        errors[name] = _("Enter a date such as 2026-03-01.")
        return None


def day_after(moment: datetime | None) -> datetime | None:
    """"Until" a day includes that day."""
    return moment + timedelta(days=1) if moment is not None else None


def transfer_line(transfer: dict[str, Any]) -> str:
    """"You paid @bob" / "@alice paid you", in the reader's language."""
    if transfer["direction"] == "out":
        who = (transfer["recipient"] or {}).get("username", "?")
        return _("You paid @%(name)s") % {"name": who}
    who = (transfer["sender"] or {}).get("username", "?")
    return _("@%(name)s paid you") % {"name": who}


STATUS_WORDS = {"pending": i18n.N_("Waiting to be accepted"), "succeeded": i18n.N_("Completed"),
                "returned": i18n.N_("Returned")}
KIND_WORDS = {"direct": i18n.N_("Payment"), "request": i18n.N_("Paid request"), "chat": i18n.N_("In a chat")}


def when(unix: int | None) -> datetime | None:
    """The entities' Unix seconds back as a datetime, for the date filters."""
    return datetime.fromtimestamp(unix, UTC) if unix is not None else None


def shared_context() -> dict[str, Any]:
    """What every wallet template uses to show money and transfers."""
    return {"money": money, "line": transfer_line, "when": when, "status_words": STATUS_WORDS,
            "kind_words": KIND_WORDS}


# --- money in chat ---------------------------------------------------------------------------------


async def chat_cards(session: AsyncSession, found: list[Any], *, viewer_id: int) -> dict[int, dict[str, Any]]:
    """The live state of the payment cards among `found` chat messages, by message id: a transfer's
    status and whether the viewer may accept it; a red packet's openings (who got what, once it is
    done, as WeChat shows it) and the viewer's own share."""
    wanted = {m.id: m.action for m in found if m.kind == "payment" and isinstance(m.action, dict)}
    transfer_ids = {int(a["id"]) for a in wanted.values() if a.get("type") == "transfer" and a.get("id")}
    packet_ids = {int(a["id"]) for a in wanted.values() if a.get("type") == "red_packet" and a.get("id")}
    found_transfers = {t.id: t for t in await session.scalars(select(Transfer).where(Transfer.id.in_(transfer_ids)))} \
        if transfer_ids else {}
    packets = {p.id: p for p in await session.scalars(select(RedPacket).where(RedPacket.id.in_(packet_ids)))} \
        if packet_ids else {}
    claims: dict[int, list[RedPacketClaim]] = {}
    if packets:
        for claim in await session.scalars(select(RedPacketClaim).where(RedPacketClaim.packet_id.in_(packets))
                                           .order_by(RedPacketClaim.id)):
            claims.setdefault(claim.packet_id, []).append(claim)
    people = await accounts_by_id(session, [*(t.recipient_id for t in found_transfers.values()),
                                            *(c.account_id for cs in claims.values() for c in cs)])
    cards: dict[int, dict[str, Any]] = {}
    for message_id, action in wanted.items():
        ident = int(action["id"]) if str(action.get("id") or "").isdigit() else None
        transfer = found_transfers.get(ident) if action.get("type") == "transfer" and ident else None
        packet = packets.get(ident) if action.get("type") == "red_packet" and ident else None
        if transfer is not None:
            recipient = people.get(transfer.recipient_id)
            cards[message_id] = {"type": "transfer", "id": str(transfer.id), "shown": money(transfer.amount,
                                                                                           transfer.currency),
                                 "note": transfer.note, "emoji": transfer.emoji,
                                 "status": transfer.status, "to": recipient.username if recipient else "?",
                                 "for_me": transfer.recipient_id == viewer_id,
                                 "can_answer": transfer.recipient_id == viewer_id and transfer.status == "pending"}
        elif packet is not None:
            opened = claims.get(packet.id, [])
            mine = next((c.amount for c in opened if c.account_id == viewer_id), None)
            reveal = packet.status != "open" or packet.sender_id == viewer_id
            cards[message_id] = {
                "type": "red_packet", "id": str(packet.id),
                "mine_shown": money(mine, packet.currency) if mine else None,
                "note": packet.note, "count": packet.count, "claimed": packet.claimed_count, "status": packet.status,
                "mine": mine, "can_open": mine is None and packet.status == "open",
                "openings": [{"name": people[c.account_id].username if c.account_id in people else "?",
                              "shown": money(c.amount, packet.currency)} for c in opened] if reveal else []}
    return cards

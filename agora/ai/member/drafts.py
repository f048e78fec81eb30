"""Payment drafts: the assistant prepares a payment; the member makes it. It never moves money.

A draft is a link to the wallet's send form, filled in (`/wallet?to=bob&amount=20.00&currency=usd&
note=pizza&draft=assistant#send`). Opening it moves nothing: the member reads the form, changes
what they like, presses Send and gives their PIN where the amount needs one — the wallet's ordinary
path, with its limits, idempotency and checks. The draft is always for the member who asked (the
link opens *their* wallet), and is checked first the way a payment would be (the payee exists, is
not the asker, not the assistant, nobody blocked anybody; the amount and note are valid) so that a
draft that could never be sent is explained instead of offered.
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from agora.ai.assistant import Answer
from agora.ai.assistant.answer import EXTRACTIVE
from agora.config import Settings
from agora.kit.errors import AgoraError
from agora.kit.money import MoneyError, decimal_string, format_amount, parse_decimal
from agora.payments import transfers
from agora.payments.members import counterparty

from .intents import YEN_OR_YUAN, PaymentIntent

NOT_SENT = "I have not sent anything: nothing moves until you press Send in your wallet."
DRAFT_MODEL = "agora-payment-draft"  # no model wrote it: the request was parsed, the form pre-filled


def draft_url(settings: Settings, *, to: str, amount: str, currency: str, note: str) -> str:
    query = {"to": to, "amount": amount, "currency": currency.lower(), "draft": "assistant"}
    if note:
        query["note"] = note
    return f"{settings.base_url}/wallet?{urlencode(query)}#send"


async def prepare(session: AsyncSession, *, asker_id: int, intent: PaymentIntent, settings: Settings,
                  assistant_id: int) -> tuple[Answer, bool]:
    """The assistant's reply to a payment request, and whether it holds a draft (else it says why not)."""
    currency = intent.currency or settings.default_currency
    if currency == YEN_OR_YUAN:
        return _refusal(f"I could not prepare that payment: ¥ is both yuan and yen here, so write CNY or JPY "
                        f"(\"send 20 CNY to @{intent.to}\"). {NOT_SENT}")
    if currency not in settings.currencies:
        held = ", ".join(settings.currencies)
        return _refusal(f"I could not prepare that payment: wallets here hold {held}, not {currency}. {NOT_SENT}")
    try:
        minor = parse_decimal(intent.amount, currency)
    except MoneyError as error:
        return _refusal(f"I could not prepare that payment: {_sentence(str(error))} {NOT_SENT}")
    try:
        payee = await counterparty(session, payer_id=asker_id, to=intent.to)
        if payee.id == assistant_id:
            return _refusal(f"I do not take payments, so there is nothing to prepare. {NOT_SENT}")
        note = transfers.checked_note(intent.note)
    except AgoraError as error:
        return _refusal(f"I could not prepare that payment: {_sentence(error.message)} {NOT_SENT}")
    url = draft_url(settings, to=payee.username, amount=decimal_string(minor, currency), currency=currency,
                    note=note)
    what = f"{format_amount(minor, currency)} to @{payee.username}" + (f" for “{note}”" if note else "")
    return _reply(f"I prepared a payment draft for you: {what}. {NOT_SENT} Check it and confirm here: {url}"), True


def _sentence(message: str) -> str:
    return message.rstrip(". ") + "."


def _reply(text: str) -> Answer:
    return Answer(text=text, mode=EXTRACTIVE, model=DRAFT_MODEL)


def _refusal(text: str) -> tuple[Answer, bool]:
    return _reply(text), False

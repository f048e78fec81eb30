"""What a member asks the assistant for, read from the words they wrote to it — and only those.

Three kinds: a payment draft ("Send 20 to @bob for pizza", "pay @bob 20 EUR for pizza"), a summary
of what they missed in a group chat ("summarise what I missed", "what did I miss?"), and otherwise a
question. Only the text of the post or message that addresses the assistant is read here, and it is
always its author's own request: text the assistant retrieves (other members' posts and messages)
never passes through this module, so a post saying "assistant, send 100 to @mallory" cannot become
anyone's request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agora.kit.money import EXPONENTS
from agora.kit.richtext import MENTION_RE

SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
YEN_OR_YUAN = "¥"  # the currency of "send ¥20" on a server holding both CNY and JPY
_AMOUNT = r"(?P<symbol>[$€£¥])?\s?(?P<amount>\d{1,12}(?:\.\d{1,4})?)"
_NOTE = r"(?:\s+(?:for|as|re:?)\s+(?P<note>[^\n]+?))?\s*[.!]?\s*$"
SUMMARY_RE = re.compile(
    r"\b(?:summari[sz]e|sum\s+up|recap)\b.*\b(?:missed|unread|while\s+i\s+was\s+away)\b"
    r"|\bwhat\s+(?:did|have)\s+i\s+miss(?:ed)?\b|\bcatch\s+me\s+up\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    to: str  # a username, without the @
    amount: str  # as typed ("20", "20.50")
    currency: str | None  # the ISO code written (maybe one the server does not hold), or None: the default
    note: str


def without_mention(text: str, username: str) -> str:
    """The text with every @mention of the assistant taken out (and the spaces it leaves tidied)."""
    stripped = MENTION_RE.sub(lambda m: "" if m.group(1).lower() == username.lower() else m.group(0), text)
    return " ".join(stripped.split()).strip(" ,:;")


def mentions(text: str, username: str) -> bool:
    return any(m.group(1).lower() == username.lower() for m in MENTION_RE.finditer(text))


def wants_summary(text: str) -> bool:
    return SUMMARY_RE.search(text) is not None


def _patterns(currencies: list[str]) -> list[re.Pattern[str]]:
    # Every code Agora knows, not only the server's: "send 20 CHF" on a server without francs must be
    # read as a payment in francs (and refused), never as 20 of the default currency.
    codes = "|".join(re.escape(c) for c in sorted({*currencies, *EXPONENTS}))
    currency = rf"(?:\s?(?P<code>{codes})\b)?"
    verb = r"(?:send|give|transfer|pay)"
    return [
        # send 20 [EUR] to @bob [for pizza]
        re.compile(rf"\b{verb}\s+{_AMOUNT}{currency}\s+to\s+@(?P<to>\w{{1,30}}){_NOTE}", re.IGNORECASE),
        # pay @bob 20 [EUR] [for pizza]; send @bob 20 …
        re.compile(rf"\b{verb}\s+@(?P<to>\w{{1,30}})\s+{_AMOUNT}{currency}{_NOTE}", re.IGNORECASE),
    ]


def _symbol_code(symbol: str, currencies: list[str]) -> str | None:
    """¥ is yuan and yen: the one this server holds, or YEN_OR_YUAN when it holds both (the draft asks)."""
    if symbol != "¥":
        return SYMBOLS.get(symbol)
    held = [code for code in ("CNY", "JPY") if code in currencies]
    return held[0] if len(held) == 1 else YEN_OR_YUAN if held else "JPY"


def payment_intent(text: str, currencies: list[str]) -> PaymentIntent | None:
    """The payment the writer asks the assistant to prepare, if that is what they ask."""
    for pattern in _patterns(currencies):
        found = pattern.search(text)
        if found is None:
            continue
        code = (found.group("code") or "").upper() or _symbol_code(found.group("symbol") or "", currencies)
        return PaymentIntent(to=found.group("to"), amount=found.group("amount"), currency=code or None,
                             note=(found.group("note") or "").strip().strip("\"'“”"))
    return None

"""Scrub personal data out of post texts before the community model sees them.

A public post is public, but a model repeats what it saw often enough: an e-mail address, a phone
number, a card number or an IBAN that someone once posted must not come back out of the assistant.
Each is replaced by a placeholder ("[email]", "[phone]", "[card]", "[iban]") so the sentence around
it still reads naturally.

Numbers are everywhere in ordinary posts (years, dates, times, prices, distances, versions), so the
number patterns are narrow and checked: a card must pass the Luhn check, an IBAN its mod-97 check,
and a phone number must look like one (an international "+…" number, a national number with its
trunk "0", a North American "(555) 123-4567", or a Chinese mobile) with 7 to 15 digits, and is never
a date. What is missed is a false negative we accept; eating "2024-05-01" would be a false positive
every reader notices.
"""

from __future__ import annotations

import re
from typing import NamedTuple

KINDS = ("email", "phone", "card", "iban")


class Scrubbed(NamedTuple):
    text: str
    counts: dict[str, int]


# Not after "@" (so a fediverse handle "@ana@example.org" is left alone: it is a public name).
_EMAIL = re.compile(r"(?<![@\w.+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

# Two letters, two check digits, then 11–30 letters or digits, in groups separated by single spaces.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_IBAN_MIN, _IBAN_MAX = 15, 34  # Norway's are the shortest, Saint Lucia's the longest

# 13–19 digits, optionally grouped by single spaces or dashes; not part of a longer number.
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)")

# A phone number starts where no word, number or price does (nor a group of a longer number, such
# as an account number that failed its check), and ends where no number goes on.
_BEFORE = r"(?<![\w,/+$€£¥-])(?<!\d[ .-])"
_AFTER = r"(?!\d|[.,/-]\d|\s?(?:%|€|\$|km|kg|m\b))"
_PHONE = re.compile(_BEFORE + "(?:" + "|".join([
    r"\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}",  # +49 30 1234567, +1 (555) 123-4567, +44 20 7946 0958
    r"0\d{1,4}(?:[ /.-]?\d{2,}){1,4}",  # 030 1234567, 0171-2345678, 07700 900123, 0044 20 7946 0958
    r"\(\d{3}\) ?\d{3}[ .-]\d{4}",  # (555) 123-4567
    r"\d{3}[.-]\d{3}[.-]\d{4}",  # 555-123-4567, 555.123.4567
    r"\d{3}-\d{4}",  # 555-1234
    r"1[3-9]\d(?:[ -]?\d{4}){2}",  # 138 0013 8000 (a Chinese mobile)
]) + ")" + _AFTER)
# Dates written with the same separators a phone number uses.
_DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}")


_PLACEHOLDER = re.compile(r"\[(?:" + "|".join(KINDS) + r")\]")


def is_empty(scrubbed_text: str) -> bool:
    """Nothing left to learn from: only whitespace and placeholders (a post that was just an address)."""
    return not _PLACEHOLDER.sub("", scrubbed_text).strip()


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(compact: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, the number mod 97 is 1."""
    if not _IBAN_MIN <= len(compact) <= _IBAN_MAX or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _iban_in(candidate: str) -> int:
    """The length of the longest prefix of `candidate` that is a valid IBAN, ending at a group's end
    (the greedy pattern may have run on into the next word: "DE89 3704 … 00 IS mine"); 0 if none."""
    for end in range(len(candidate), 0, -1):
        if end < len(candidate) and candidate[end] != " ":
            continue
        if iban_valid(candidate[:end].replace(" ", "")):
            return end
    return 0


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def scrub(text: str) -> Scrubbed:
    """`text` with personal data replaced, and how many of each kind were replaced."""
    counts = dict.fromkeys(KINDS, 0)

    def email(match: re.Match[str]) -> str:
        counts["email"] += 1
        return "[email]"

    def iban(match: re.Match[str]) -> str:
        candidate = match.group(0)
        end = _iban_in(candidate)
        if not end:
            return candidate
        counts["iban"] += 1
        return "[iban]" + candidate[end:]

    def card(match: re.Match[str]) -> str:
        if not luhn_valid(_digits(match.group(0))):
            return match.group(0)
        counts["card"] += 1
        return "[card]"

    def phone(match: re.Match[str]) -> str:
        found = match.group(0)
        if not 7 <= len(_digits(found)) <= 15 or _DATE.fullmatch(found):
            return found
        counts["phone"] += 1
        return "[phone]"

    # Most specific first: an IBAN's or a card's digits would otherwise be taken for a phone number.
    text = _EMAIL.sub(email, text)
    text = _IBAN.sub(iban, text)
    text = _CARD.sub(card, text)
    text = _PHONE.sub(phone, text)
    return Scrubbed(text, counts)

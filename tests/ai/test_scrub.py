"""Personal data is taken out of post texts before the model sees them; ordinary numbers stay."""

from __future__ import annotations

import pytest

from agora.ai.scrub import iban_valid, is_empty, luhn_valid, scrub


@pytest.mark.parametrize("address", ["ana.lopez@example.com", "ana+news@mail.example.co.uk", "A_B-c@sub.example.org"])
def test_email_addresses_are_replaced(address: str) -> None:
    result = scrub(f"write to {address} today")
    assert result.text == "write to [email] today"
    assert result.counts == {"email": 1, "phone": 0, "card": 0, "iban": 0}


def test_a_fediverse_handle_is_a_public_name_not_an_email() -> None:
    assert scrub("thanks @ana@example.org!").text == "thanks @ana@example.org!"


@pytest.mark.parametrize("number", [
    "+49 30 1234567", "+1 (555) 123-4567", "+44 20 7946 0958", "+33612345678", "030 1234567", "0171-2345678",
    "07700 900123", "0044 20 7946 0958", "(555) 123-4567", "555-123-4567", "555.123.4567", "555-1234",
    "138 0013 8000", "13800138000",
])
def test_phone_numbers_are_replaced(number: str) -> None:
    result = scrub(f"call me on {number}, thanks")
    assert result.text == "call me on [phone], thanks"
    assert result.counts["phone"] == 1


@pytest.mark.parametrize("number", ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005",
                                    "4012888888881881"])
def test_card_numbers_that_pass_luhn_are_replaced(number: str) -> None:
    result = scrub(f"my card is {number}.")
    assert result.text == "my card is [card]."
    assert result.counts["card"] == 1


@pytest.mark.parametrize("iban", ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32",
                                  "GB82WEST12345698765432", "FR14 2004 1010 0505 0001 3M02 606"])
def test_ibans_that_pass_mod_97_are_replaced(iban: str) -> None:
    result = scrub(f"send it to {iban} please")
    assert result.text == "send it to [iban] please"
    assert result.counts["iban"] == 1


def test_an_iban_followed_by_capitals_keeps_the_words() -> None:
    assert scrub("DE89 3704 0044 0532 0130 00 IS MINE").text == "[iban] IS MINE"


def test_several_kinds_are_counted_each() -> None:
    result = scrub("ana@example.com, +49 30 1234567, 4111-1111-1111-1111 and DE89370400440532013000; bo@example.org")
    assert result.text == "[email], [phone], [card] and [iban]; [email]"
    assert result.counts == {"email": 2, "phone": 1, "card": 1, "iban": 1}


NEAR_MISSES = [
    "On 2024-05-01 at 12:30 we met.",
    "Deadline 05.01.2024 or 05/01/2024 or 10-20-2024.",
    "It cost $1,299.99, or 1.299,00 €, or 1 234 567 €.",
    "We ran 21 km, then 555 km by train.",
    "Upgraded to v1.2.3, then 10.15.7 and Python 3.11.4.",
    "Born 1999; class of 2023/2024; 100 000 people came.",
    "Order 12345678, ticket 20240501, timestamp 1700000000000.",
    "Population 8,000,000; pi is 3.14159; host 192.168.0.1.",
    "Not a card: 1234 5678 9012 3456.",
    "Not an IBAN: DE89 3704 0044 0532 0130 09 XY.",
    "Room 101, bus 42, score 3-1, 0.99 cents.",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_ordinary_numbers_survive(text: str) -> None:
    result = scrub(text)
    assert result.text == text
    assert sum(result.counts.values()) == 0


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE89370400440532013001")


def test_a_post_that_was_only_personal_data_is_empty_once_scrubbed() -> None:
    assert is_empty(scrub("ana@example.org  +49 30 1234567").text)
    assert not is_empty(scrub("mail ana@example.org").text)

"""Money on the wire: an integer count of minor units beside an ISO 4217 code. Never a float.

Parsing is strict, as Stripe's is: `1050` is ten euros fifty; `"1050"`, `10.5`, `true`, `0`, `-5`
and anything past the ceiling are refused with the parameter named, before anything moves.
"""

from __future__ import annotations

from typing import Any

# Minor-unit exponents (ISO 4217) of the currencies Agora knows; an operator enables a subset.
EXPONENTS = {"USD": 2, "EUR": 2, "GBP": 2, "CNY": 2, "JPY": 0, "CHF": 2, "CAD": 2, "AUD": 2, "INR": 2,
             "BRL": 2, "KRW": 0, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "HKD": 2, "SGD": 2, "MXN": 2}
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥", "JPY": "¥", "KRW": "₩", "INR": "₹"}
# 2^53 - 1: the largest integer every JSON client reads exactly (JavaScript's Number.MAX_SAFE_INTEGER).
MAX_MINOR_UNITS = 9_007_199_254_740_991


class MoneyError(ValueError):
    """A malformed amount or currency; `param` names the field and `code` is Stripe's error code."""

    def __init__(self, message: str, *, param: str, code: str) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


def parse_amount(value: Any, *, param: str = "amount", minimum: int = 1) -> int:
    # bool is an int in Python; JSON `true` is not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyError(f"{param} must be a whole number of minor units (e.g. 1050 for 10.50)",
                         param=param, code="parameter_invalid_integer")
    if value < minimum:
        raise MoneyError(f"{param} must be at least {minimum}", param=param, code="amount_too_small")
    if value > MAX_MINOR_UNITS:
        raise MoneyError(f"{param} is too large", param=param, code="amount_too_large")
    return value


def parse_currency(value: Any, *, allowed: list[str], param: str = "currency") -> str:
    if not isinstance(value, str) or value.upper() not in allowed:
        raise MoneyError(f"{param} must be one of {', '.join(c.lower() for c in allowed)}",
                         param=param, code="currency_not_supported")
    return value.upper()


def format_amount(amount: int, currency: str) -> str:
    """`1050, "EUR"` → `€10.50`: for notes, statements and pages (the API sends integers)."""
    exponent = EXPONENTS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**exponent) if exponent else (abs(amount), 0)
    text = f"{whole:,}" + (f".{minor:0{exponent}d}" if exponent else "")
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def decimal_string(amount: int, currency: str) -> str:
    """`1050, "EUR"` → `10.50`: the plain decimal a CSV statement or a form field shows."""
    exponent = EXPONENTS.get(currency, 2)
    if not exponent:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}.{minor:0{exponent}d}"


def parse_decimal(text: str, currency: str, *, param: str = "amount") -> int:
    """A form's "10.50" → 1050, exactly (no float): the web app's way in; the API takes integers."""
    exponent = EXPONENTS.get(currency, 2)
    cleaned = text.strip().replace(",", "").replace(" ", "")
    whole, _, minor = cleaned.partition(".")
    if not whole.isdigit() and not (whole == "" and minor):
        raise MoneyError("Enter an amount such as 10.50", param=param, code="parameter_invalid_integer")
    if (not minor.isdigit() and minor != "") or len(minor) > exponent:
        raise MoneyError(f"Enter at most {exponent} decimal places" if exponent else "Enter a whole amount",
                         param=param, code="parameter_invalid_integer")
    units = int(whole or "0") * 10**exponent + int((minor or "0").ljust(exponent, "0") or "0")
    return parse_amount(units, param=param)

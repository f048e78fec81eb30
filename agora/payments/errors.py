"""Refusals the wallet gives, each with Stripe's error `type` and `code` (and the `param` at fault).

They are ordinary `AgoraError`s, so the web app shows their message and the API its status; the
payments API renders them as `{"error": {"type": …, "code": …, "message": …, "param": …}}`.
"""

from __future__ import annotations

from agora.kit.errors import AgoraError, Conflict, Forbidden, NotFound, TooManyRequests, Unprocessable
from agora.kit.money import MoneyError


def _coded(error: AgoraError, *, code: str, param: str | None = None, type_: str | None = None) -> AgoraError:
    error.details.update({"code": code, **({"param": param} if param else {}), **({"type": type_} if type_ else {})})
    return error


def invalid(message: str, *, param: str, code: str = "parameter_invalid") -> AgoraError:
    """A parameter that is missing or malformed: 400, nothing moved."""
    return _coded(AgoraError(message), code=code, param=param)


def from_money_error(error: MoneyError) -> AgoraError:
    return invalid(str(error), param=error.param, code=error.code)


def missing(what: str) -> AgoraError:
    return _coded(NotFound(f"No such {what}"), code="resource_missing")


def wrong_state(message: str, *, code: str) -> AgoraError:
    """The object has already been resolved (captured, refunded, claimed …): 409."""
    return _coded(Conflict(message), code=code)


class PaymentDeclined(AgoraError):
    """The request was understood but the money cannot move: 402, as Stripe's declines."""

    status_code = 402


def insufficient_funds() -> AgoraError:
    return _coded(PaymentDeclined("Your balance is too low for this payment"), code="insufficient_funds",
                  type_="payment_error")


def limit_exceeded(message: str, *, code: str) -> AgoraError:
    return _coded(PaymentDeclined(message), code=code, param="amount", type_="payment_error")


def pin_refused(message: str, *, code: str) -> AgoraError:
    return _coded(Forbidden(message), code=code, param="pin", type_="payment_error")


def pin_locked(message: str) -> AgoraError:
    return _coded(TooManyRequests(message), code="pin_locked", param="pin", type_="payment_error")


def not_allowed(message: str, *, code: str = "not_allowed") -> AgoraError:
    return _coded(Forbidden(message), code=code)


def unprocessable(message: str, *, param: str, code: str) -> AgoraError:
    return _coded(Unprocessable(message), code=code, param=param)


STRIPE_TYPES = {401: "authentication_error", 402: "payment_error", 403: "permission_error",
                429: "rate_limit_error"}


def stripe_body(error: AgoraError) -> dict:
    """The error as Stripe shapes it."""
    details = error.details
    status = error.status_code
    type_ = details.get("type") or ("idempotency_error" if details.get("code") == "idempotency_key_in_use"
                                    else STRIPE_TYPES.get(status, "api_error" if status >= 500
                                                          else "invalid_request_error"))
    code = details.get("code") or {404: "resource_missing", 409: "conflict", 413: "request_too_large",
                                   429: "rate_limit"}.get(status, "invalid_request")
    body = {"type": type_, "code": code, "message": error.message}
    if details.get("param"):
        body["param"] = details["param"]
    return {"error": body}

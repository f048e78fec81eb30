"""Errors that carry their HTTP status, so services can refuse without knowing about HTTP."""

from __future__ import annotations


class AgoraError(Exception):
    status_code = 400

    def __init__(self, message: str, *, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadRequest(AgoraError):
    status_code = 400


class Unauthorized(AgoraError):
    status_code = 401


class Forbidden(AgoraError):
    status_code = 403


class NotFound(AgoraError):
    status_code = 404

    def __init__(self, message: str = "Record not found", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class Conflict(AgoraError):
    status_code = 409


class Gone(AgoraError):
    status_code = 410


class PayloadTooLarge(AgoraError):
    status_code = 413


class UnsupportedMediaType(AgoraError):
    status_code = 415


class Unprocessable(AgoraError):
    """Mastodon answers validation failures with 422."""

    status_code = 422


class TooManyRequests(AgoraError):
    status_code = 429

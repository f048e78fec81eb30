"""Passwords (Argon2) and bearer secrets (random, stored only as SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from agora.config import Settings

# A real hash of a random password: verifying against it when the account does not exist costs the
# same time as a real check, so sign-in timing does not reveal which e-mails are registered.
_DUMMY_PASSWORD = secrets.token_urlsafe(16)


class Passwords:
    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._ph = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._dummy = self._ph.hash(_DUMMY_PASSWORD)  # one Argon2 run: build a Passwords once, reuse it

    @staticmethod
    def for_settings(settings: Settings) -> Passwords:
        """The shared instance for these settings' Argon2 cost."""
        return _shared(settings.argon2_time_cost, settings.argon2_memory_kib)

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._ph.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


@lru_cache(maxsize=4)
def _shared(time_cost: int, memory_kib: int) -> Passwords:
    return Passwords(time_cost=time_cost, memory_kib=memory_kib)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())

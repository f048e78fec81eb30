"""OAuth scopes as Mastodon defines them: top-level scopes cover their granular children."""

from __future__ import annotations

from agora.kit.errors import BadRequest

# "chats" and "payments" are Agora's own (chat is not part of Mastodon's API); `read` and `write` include it.
READ = {"accounts", "blocks", "bookmarks", "chats", "favourites", "filters", "follows", "lists", "mutes",
        "notifications", "payments", "search", "statuses"}
WRITE = {"accounts", "blocks", "bookmarks", "chats", "conversations", "favourites", "filters", "follows", "lists",
         "media", "mutes", "notifications", "payments", "reports", "statuses"}
FOLLOW = {"read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes"}
TOP_LEVEL = {"read", "write", "follow", "push", "profile"}
# Money needs its own consent, as a bank's OAuth does: `read` and `write` do not imply these, so a
# Mastodon client granted `write` to post cannot move a member's money.
EXPLICIT = {"read:payments", "write:payments"}
ALL = TOP_LEVEL | {f"read:{s}" for s in READ} | {f"write:{s}" for s in WRITE}


def parse(raw: str | None, *, default: str = "read") -> list[str]:
    """Requested scopes in the order given (clients compare the echo with what they asked for)."""
    scopes = list(dict.fromkeys((raw or "").replace("+", " ").split())) or [default]
    unknown = [s for s in scopes if s not in ALL]
    if unknown:
        raise BadRequest(f"unknown scope: {unknown[0]}")
    return scopes


def allows(granted: set[str], required: str) -> bool:
    if required in granted:
        return True
    family = required.split(":", 1)[0]
    if family in granted and required not in EXPLICIT:
        return True
    if required in FOLLOW and "follow" in granted:
        return True
    # verify_credentials may be read with the narrow `profile` scope, or anything that reads accounts.
    return required == "profile" and bool(granted & {"read", "read:accounts"})


def covered(requested: list[str], registered: list[str]) -> bool:
    """May an app registered for `registered` ask for `requested`?"""
    return all(allows(set(registered), scope) for scope in requested)

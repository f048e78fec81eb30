"""Mastodon's Account entity (and CredentialAccount) as JSON: the wire format, next to the routes."""

from __future__ import annotations

from typing import Any

from agora.accounts.service import ai_training_effective, profile_url
from agora.config import Settings
from agora.kit.richtext import sanitize
from agora.kit.time import iso
from agora.models import Account

MISSING_AVATAR = "/static/avatar-missing.png"
MISSING_HEADER = "/static/header-missing.png"


def media_url(settings: Settings, relative_path: str | None, fallback: str) -> str:
    return f"{settings.base_url}/media/{relative_path}" if relative_path else settings.base_url + fallback


def account_json(account: Account, settings: Settings) -> dict[str, Any]:
    avatar = media_url(settings, account.avatar_path, MISSING_AVATAR)
    header = media_url(settings, account.header_path, MISSING_HEADER)
    created_midnight = account.created_at.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "id": str(account.id),
        "username": account.username,
        "acct": account.username,  # local accounts have no @domain part
        "display_name": account.display_name,
        "locked": account.locked,
        "bot": account.bot,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "group": False,
        "created_at": iso(created_midnight),  # Mastodon rounds to the day for privacy
        "note": sanitize(account.note_html),
        "url": profile_url(settings, account.username),
        "uri": f"{settings.base_url}/users/{account.username}",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": account.followers_count,
        "following_count": account.following_count,
        "statuses_count": account.statuses_count,
        "last_status_at": account.last_status_at.date().isoformat() if account.last_status_at else None,
        "hide_collections": False,
        "noindex": not account.indexable,
        "emojis": [],
        "roles": [{"id": "3", "name": "Admin", "color": ""}] if account.admin else [],
        "fields": [],
    }


def credential_account_json(account: Account, settings: Settings, *,
                            follow_requests_count: int) -> dict[str, Any]:
    data = account_json(account, settings)
    data["source"] = {
        "privacy": account.default_visibility,
        "sensitive": account.default_sensitive,
        "language": account.default_language or "",
        "note": account.note,
        "fields": [],
        "follow_requests_count": follow_requests_count,
        "hide_collections": False,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        # Agora's extension: the effective answer (the operator's default until the member chooses).
        "ai_training": ai_training_effective(account, settings),
        # …and whether the assistant may read, quote and cite this member's posts.
        "ai_reading": account.ai_reading,
    }
    data["role"] = {"id": "3" if account.admin else "-99", "name": "Admin" if account.admin else "",
                    "permissions": "1" if account.admin else "0", "color": "", "highlighted": account.admin}
    return data

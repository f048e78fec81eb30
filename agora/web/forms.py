"""Reading HTML form posts: single strings (never a list or a file where text was expected), and
the error messages shown beside each field."""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData, UploadFile

from agora.config import Settings
from agora.kit.ids import parse_id
from agora.social.statuses import MAX_SPOILER
from agora.web.i18n import gettext as _

FieldErrors = dict[str, str]


def text(form: FormData, name: str, *, limit: int = 100_000) -> str:
    """A text field as typed ('' when absent); oversized input is cut here and refused by the service."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").replace("\x00", "")[:limit]


def texts(form: FormData, name: str, *, limit: int = 100_000) -> list[str]:
    return [v.replace("\x00", "")[:limit] for v in form.getlist(name) if isinstance(v, str)]


def flag(form: FormData, name: str) -> bool:
    return text(form, name, limit=10).lower() in ("1", "on", "true", "yes")


def an_id(form: FormData, name: str) -> int | None:
    return parse_id(text(form, name, limit=30)) if text(form, name, limit=30) else None


def files(form: FormData, name: str) -> list[UploadFile]:
    """Chosen files only: a browser sends an empty part for a file input left empty."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def new_key() -> str:
    """A one-time key rendered into a form, so a form sent twice (a double click, a resend after a
    network error) makes one post, not two."""
    return secrets.token_urlsafe(16)


def post_text_errors(text: str, spoiler: str, settings: Settings, *, has_media: bool,
                     empty: str | None = None) -> FieldErrors:
    """What a new post and an edit share: text within the limit (or images), a short warning."""
    errors: FieldErrors = {}
    if not text.strip() and not has_media:
        errors["status"] = empty or _("Write something.")
    elif len(text) > settings.max_status_chars:
        errors["status"] = _("Posts can be at most %(max)d characters; this one has %(n)d.") % {
            "max": settings.max_status_chars, "n": len(text)}
    if len(spoiler) > MAX_SPOILER:
        errors["spoiler_text"] = _("The content warning can be at most %(max)d characters.") % {"max": MAX_SPOILER}
    return errors

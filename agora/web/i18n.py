"""Interface language: which locale a request gets, its gettext catalog, localised dates and numbers.

Catalogs are the `.po` files under `locale/` (what translators edit, and what git diffs well);
they are compiled in memory the first time a locale is used, so no binary `.mo` is committed and
no build step is needed. The request's locale lives in a context variable, so `_()` works the
same in templates and in Python code that prepares a page.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime, format_skeleton, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_decimal, format_decimal
from babel.support import NullTranslations, Translations
from starlette.responses import Response

from agora.kit.time import utcnow

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
# Babel's identifiers; the `lang` attribute and the settings form use the BCP 47 form (`zh-Hans`).
LOCALES: dict[str, str] = {"en": "English", "de": "Deutsch", "zh_Hans": "简体中文"}
LANG_COOKIE = "agora_lang"
LANG_COOKIE_MAX_AGE = 365 * 86400
AUTO = "auto"  # "follow my browser": no cookie

_current: ContextVar[str] = ContextVar("agora_web_locale", default=DEFAULT)


@cache
def translations(locale: str) -> NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled)


def use(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT)


def current() -> str:
    return _current.get()


def html_lang() -> str:
    return current().replace("_", "-")


def gettext(message: str) -> str:
    return translations(current()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ungettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """A word that translates differently by use: "Post" the heading (Beitrag) vs the button (Posten)."""
    return translations(current()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(current()).npgettext(context, singular, plural, n)


def refusal(message: str) -> str:
    """A service's refusal in the reader's language, where the catalogs know it (see service_messages)."""
    return gettext(message)


def N_(message: str) -> str:
    """Mark a string for the catalog where it is defined; `gettext` translates it where it is shown."""
    return message


def from_tag(tag: str | None) -> str | None:
    """One of our locales for a language tag (`de-AT`, `zh-CN`, `zh_Hans`), or None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    if primary == "zh":
        return "zh_Hans"  # the only Chinese we ship; a traditional-script reader still reads it
    return primary if primary in LOCALES else None


def account_locale(locale: str) -> str:
    """One of our locales as the accounts table stores it (en / de / zh; `from_tag` maps back)."""
    return "zh" if locale == "zh_Hans" else locale if locale in LOCALES else DEFAULT


def remember(response: Response, choice: str, *, secure: bool) -> None:
    """Keep the interface language chosen in this browser (`AUTO`: forget it, follow the browser)."""
    if choice == AUTO:
        response.delete_cookie(LANG_COOKIE, path="/")
    else:
        response.set_cookie(LANG_COOKIE, choice, max_age=LANG_COOKIE_MAX_AGE, samesite="lax", path="/",
                            secure=secure)


def chosen(cookie: str | None, account_locale: str | None) -> str | None:
    """The member's explicit choice, if any: this browser's cookie, else the account's. The account's
    "en" does not count: it is every account's default, not necessarily a choice."""
    return from_tag(cookie) or (from_tag(account_locale) if account_locale != DEFAULT else None)


def negotiate(*, choice: str | None, accept_language: str | None) -> str:
    """The member's explicit choice first, then the browser's `Accept-Language`, then English."""
    chosen = from_tag(choice)
    if chosen:
        return chosen
    for tag, _quality in _accepted(accept_language or ""):
        found = from_tag(tag)
        if found:
            return found
    return DEFAULT


def _accepted(header: str) -> list[tuple[str, float]]:
    ranked: list[tuple[str, float]] = []
    for part in header.split(",")[:20]:  # a header of thousands of tags is someone's attack, not a browser
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((tag, quality))
    return sorted(ranked, key=lambda pair: -pair[1])  # stable: equal weights keep the browser's order


# --- localised formatting (used as Jinja filters) ---------------------------------------------

def _babel_locale() -> Locale:
    return Locale.parse(current())


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """X's compact post time: "5m" for today, "Nov 3" this year, "Nov 3, 2024" before."""
    if moment is None:
        return ""
    now = now or utcnow()
    delta = now - moment
    if delta < timedelta(hours=23):
        if delta < timedelta(seconds=45):
            return gettext("now")
        return format_timedelta(delta, format="narrow", threshold=1, locale=_babel_locale())
    skeleton = "MMMd" if moment.year == now.year else "yMMMd"
    return format_skeleton(skeleton, moment, locale=_babel_locale())


def month_year(moment: datetime) -> str:
    """"March 2024" / "März 2024" / "2024年3月" (when a member joined)."""
    return format_skeleton("yMMMM", moment, locale=_babel_locale())


def full_datetime(moment: datetime | None) -> str:
    return format_datetime(moment, "medium", locale=_babel_locale()) + " UTC" if moment else ""


def number(value: int) -> str:
    return format_decimal(value, locale=_babel_locale())


def compact(value: int) -> str:
    """Counts on buttons: 1.2K in English, 1.2万 in Chinese; exact below ten thousand."""
    if value < 10_000:
        return format_decimal(value, locale=_babel_locale())
    return format_compact_decimal(value, locale=_babel_locale(), fraction_digits=1)

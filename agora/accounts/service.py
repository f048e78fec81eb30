"""Members: registration, sign-in, lookups and profile edits. Plain async functions, no HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import ColumnElement, Select, and_, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.secrets import Passwords
from agora.config import Registrations, Settings
from agora.kit import richtext
from agora.kit.errors import Forbidden, NotFound, Unprocessable
from agora.models import Account

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$")  # ISO 639 (en, zh, zh-CN): fits String(10)
RESERVED_USERNAMES = {
    "admin", "administrator", "root", "support", "help", "agora", "assistant", "api", "oauth", "about",
    "settings", "web", "static", "media", "system", "moderator", "security", "postmaster", "abuse",
}
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


@dataclass(frozen=True, slots=True)
class Registration:
    username: str
    email: str
    password: str
    locale: str = "en"
    reason: str = ""


def validate_registration(form: Registration, settings: Settings) -> None:
    if not USERNAME_RE.match(form.username):
        raise Unprocessable("username must be 1–30 letters, digits or underscores")
    if form.username.lower() in RESERVED_USERNAMES:
        raise Unprocessable("username is reserved")
    if len(form.email) > 254 or not EMAIL_RE.match(form.email):
        raise Unprocessable("email is not a valid address")
    if not MIN_PASSWORD <= len(form.password) <= MAX_PASSWORD:
        raise Unprocessable(f"password must be {MIN_PASSWORD}–{MAX_PASSWORD} characters")
    if len(form.reason) > 1000:
        raise Unprocessable("reason is too long")
    if settings.registrations is Registrations.approval and not form.reason.strip():
        raise Unprocessable("reason is required: new accounts on this server are approved by hand")


async def register(
    session: AsyncSession,
    *,
    form: Registration,
    settings: Settings,
    passwords: Passwords,
    admin: bool = False,
    by_operator: bool = False,
) -> Account:
    """A new member. Operators (`by_operator`) may create accounts whatever the registration mode."""
    if not by_operator and settings.registrations is Registrations.closed:
        raise Forbidden("registrations are closed on this server")
    validate_registration(form, settings)
    if await find_by_username(session, username=form.username) is not None:
        raise Unprocessable("username is already taken")
    email = form.email.strip().lower()
    if (await session.scalar(select(Account.id).where(Account.email == email))) is not None:
        raise Unprocessable("email is already registered")
    account = Account(
        username=form.username,
        username_key=form.username.lower(),
        email=email,
        password_hash=passwords.hash(form.password),
        locale=form.locale if form.locale in INTERFACE_LOCALES else "en",
        admin=admin,
        approved=by_operator or settings.registrations is not Registrations.approval,
        registration_reason=form.reason,
    )
    session.add(account)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent sign-up took the name or e-mail after our checks (PostgreSQL)
        raise Unprocessable("username or email is already taken") from None
    return account


async def authenticate(
    session: AsyncSession, *, login: str, password: str, passwords: Passwords
) -> Account | None:
    """The member whose e-mail (as in Mastodon) or username is `login`, if the password matches."""
    login = login.strip()
    if "@" in login:
        account = await session.scalar(select(Account).where(Account.email == login.lower()))
    else:
        account = await find_by_username(session, username=login.lstrip("@"))
    stored = account.password_hash if account is not None else None
    if not passwords.verify(stored, password[:MAX_PASSWORD]) or account is None:
        return None
    return account


async def change_password(
    session: AsyncSession, *, account: Account, current: str, new: str, passwords: Passwords
) -> None:
    if not passwords.verify(account.password_hash, current):
        raise Forbidden("current password is wrong")
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        raise Unprocessable(f"password must be {MIN_PASSWORD}–{MAX_PASSWORD} characters")
    account.password_hash = passwords.hash(new)
    await session.flush()


async def find_by_username(session: AsyncSession, *, username: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.username_key == username.lower()))


def is_public(account: Account) -> bool:
    """Suspended members and sign-ups waiting for approval are not shown to anyone (as in Mastodon)."""
    return account.approved and not account.suspended


def public_accounts() -> ColumnElement[bool]:
    """`is_public` as SQL, for lists of accounts."""
    return and_(Account.approved, Account.suspended.is_(False))


def hidden_accounts() -> Select:
    """The ids of members no one sees (not `is_public`): a handful of rows, found through the partial
    index ix_accounts_hidden, whose condition this repeats to the letter (SQLite requires it)."""
    return select(Account.id).where(or_(Account.suspended, not_(Account.approved)))


async def get_account(session: AsyncSession, *, account_id: int | None) -> Account:
    account = await session.get(Account, account_id) if account_id is not None else None
    if account is None or not is_public(account):
        raise NotFound()
    return account


async def get_account_by_username(session: AsyncSession, *, username: str) -> Account:
    """The public member called `username` (any case); anyone else is simply not found."""
    account = await find_by_username(session, username=username) if USERNAME_RE.match(username) else None
    if account is None or not is_public(account):
        raise NotFound()
    return account


async def accounts_by_username(session: AsyncSession, *, usernames: list[str]) -> dict[str, Account]:
    """Members by lower-cased username, one query (for resolving @mentions)."""
    if not usernames:
        return {}
    keys = {u.lower() for u in usernames}
    rows = await session.scalars(select(Account).where(Account.username_key.in_(keys)))
    return {a.username_key: a for a in rows if is_public(a)}


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    display_name: str | None = None
    note: str | None = None
    locked: bool | None = None
    bot: bool | None = None
    discoverable: bool | None = None
    indexable: bool | None = None
    ai_training: bool | None = None  # may the community model learn from my public posts
    ai_reading: bool | None = None  # may the assistant read, quote and cite my posts
    default_visibility: str | None = None  # one of DEFAULT_VISIBILITIES
    default_sensitive: bool | None = None
    default_language: str | None = None
    avatar_path: str | None = None
    header_path: str | None = None
    locale: str | None = None  # the interface language: one of INTERFACE_LOCALES


# A posting default may be any visibility but "direct" (as in Mastodon).
DEFAULT_VISIBILITIES = ("public", "unlisted", "private")
# What the `locale` column holds (the web app maps them to its catalogs: zh → Simplified Chinese).
INTERFACE_LOCALES = ("en", "de", "zh")


async def update_profile(
    session: AsyncSession, *, account: Account, changes: ProfileChanges, settings: Settings
) -> Account:
    if changes.display_name is not None:
        if len(changes.display_name) > settings.max_display_name_chars:
            raise Unprocessable(f"display_name is longer than {settings.max_display_name_chars} characters")
        account.display_name = changes.display_name.strip()
    if changes.note is not None:
        if len(changes.note) > settings.max_bio_chars:
            raise Unprocessable(f"note is longer than {settings.max_bio_chars} characters")
        account.note = changes.note
        account.note_html = await render_bio(session, text=changes.note, settings=settings)
    if changes.default_visibility is not None:
        if changes.default_visibility not in DEFAULT_VISIBILITIES:
            raise Unprocessable("source[privacy] must be public, unlisted or private")
        account.default_visibility = changes.default_visibility
    language = changes.default_language
    if language is not None and not (isinstance(language, str) and LANGUAGE_RE.fullmatch(language)):
        raise Unprocessable("source[language] must be an ISO 639 language code, such as en or zh-CN")
    if changes.locale is not None and changes.locale not in INTERFACE_LOCALES:
        raise Unprocessable("locale must be one of " + ", ".join(INTERFACE_LOCALES))
    for name in ("locked", "bot", "discoverable", "indexable", "ai_training", "ai_reading", "default_sensitive",
                 "default_language", "avatar_path", "header_path", "locale"):
        value = getattr(changes, name)
        if value is not None:
            setattr(account, name, value)
    await session.flush()
    return account


def ai_training_effective(account: Account, settings: Settings) -> bool:
    """The member's own answer, or the operator's default for a member who never chose."""
    return settings.ai_training_default if account.ai_training is None else account.ai_training


async def render_text(session: AsyncSession, *, text: str, settings: Settings) -> tuple[str, list[Account]]:
    """HTML for what a member typed (a post, a bio), and the members it mentions."""
    mentioned = await accounts_by_username(session, usernames=richtext.extract_mentions(text))
    html = richtext.render(
        text,
        mention_url=lambda name: profile_url(settings, mentioned[name.lower()].username)
        if name.lower() in mentioned else None,
        tag_url=lambda tag: tag_url(settings, tag),
    )
    return html, list(mentioned.values())


async def render_bio(session: AsyncSession, *, text: str, settings: Settings) -> str:
    return (await render_text(session, text=text, settings=settings))[0]


def profile_url(settings: Settings, username: str) -> str:
    return f"{settings.base_url}/@{username}"


def tag_url(settings: Settings, tag: str) -> str:
    return f"{settings.base_url}/tags/{quote(tag)}"


async def bump_counter(session: AsyncSession, *, account_id: int, column: str, by: int) -> None:
    """Atomic `counter = counter + by`, never below zero, safe under concurrent requests."""
    col = getattr(Account, column)
    await session.execute(
        update(Account).where(Account.id == account_id).values({column: col + by}).execution_options(
            synchronize_session=False
        )
    )
    if by < 0:
        await session.execute(
            update(Account).where(Account.id == account_id, col < 0).values({column: 0}).execution_options(
                synchronize_session=False
            )
        )

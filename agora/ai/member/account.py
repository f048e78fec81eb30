"""The @assistant account: a bot member that answers in threads and chats.

Made by the app at start-up (and again by anything that needs it: the function is idempotent and
safe when two processes start at once). It has no e-mail and no password, so nobody can sign in as
it; it is a bot, so it is never in the training corpus and never cited (`readable_by_assistant`
refuses bots); and it opts out of search and of being read by the assistant, so its own answers
never come back as sources.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.service import find_by_username, render_bio
from agora.config import Settings
from agora.kit.db import insert_once
from agora.models import Account

DISPLAY_NAME = "Assistant"


def bio(settings: Settings) -> str:
    return ("I am an AI. I answer from the community's posts that you can see, and cite every post I quote. "
            "Mention me in a post or message me. I never move money: I prepare drafts you confirm. "
            f"My model: {settings.base_url}/ai/model")


async def ensure_assistant_account(session: AsyncSession, settings: Settings) -> Account:
    """The assistant's account, made the first time (flushes; the caller commits)."""
    username = settings.assistant_username
    found = await find_by_username(session, username=username)
    if found is not None:
        if found.password_hash is not None or found.email is not None:
            # A member who can sign in: never speak as them (a changed AGORA_ASSISTANT_USERNAME).
            raise RuntimeError(f"AGORA_ASSISTANT_USERNAME={username!r} names a member's account: choose an unused name")
        if not found.bot:
            found.bot = True  # ours (no way to sign in), whatever an older version left
            await session.flush()
        return found
    account = Account(username=username, username_key=username.lower(), display_name=DISPLAY_NAME,
                      note=bio(settings), note_html=await render_bio(session, text=bio(settings), settings=settings),
                      bot=True, discoverable=True, indexable=False, ai_training=False, email=None,
                      password_hash=None, approved=True, ai_reading=False)
    if not await insert_once(session, account):  # another process made it at the same moment
        account = await session.scalar(select(Account).where(Account.username_key == username.lower()))
        assert account is not None
    return account


async def assistant_account(session: AsyncSession, settings: Settings) -> Account | None:
    """The assistant's account if it exists (the worker's cheap look-up; it makes nothing)."""
    account = await find_by_username(session, username=settings.assistant_username)
    return account if account is not None and account.bot else None

"""Favourites, bookmarks and pins: one member's reactions to a status, each idempotent."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.db import insert_once
from agora.kit.errors import Unprocessable
from agora.models import Account, Bookmark, Favourite, Status, StatusPin
from agora.social import notifications
from agora.social.statuses import get_visible, visible_original

MAX_PINS = 5


async def _target(session: AsyncSession, account: Account, status_id: int | None) -> Status:
    return await visible_original(session, status_id=status_id, viewer_id=account.id)


async def favourite(session: AsyncSession, *, account: Account, status_id: int | None) -> Status:
    status = await _target(session, account, status_id)
    exists = await session.scalar(select(Favourite.id).where(Favourite.account_id == account.id,
                                                             Favourite.status_id == status.id))
    if exists is None and await insert_once(session, Favourite(account_id=account.id, status_id=status.id)):
        await _recount(session, status.id)
        await notifications.notify(session, recipient_id=status.account_id, actor_id=account.id,
                                   kind="favourite", status_id=status.id)
    return status


async def unfavourite(session: AsyncSession, *, account: Account, status_id: int | None) -> Status:
    status = await _target(session, account, status_id)
    result = await session.execute(delete(Favourite).where(Favourite.account_id == account.id,
                                                           Favourite.status_id == status.id))
    if result.rowcount:
        await _recount(session, status.id)
        await notifications.dismiss_kind(session, recipient_id=status.account_id, actor_id=account.id,
                                         kind="favourite", status_id=status.id)
    return status


async def _recount(session: AsyncSession, status_id: int) -> None:
    count = select(func.count()).select_from(Favourite).where(Favourite.status_id == status_id).scalar_subquery()
    await session.execute(update(Status).where(Status.id == status_id).values(favourites_count=count)
                          .execution_options(synchronize_session=False))


async def bookmark(session: AsyncSession, *, account: Account, status_id: int | None) -> Status:
    status = await _target(session, account, status_id)
    exists = await session.scalar(select(Bookmark.id).where(Bookmark.account_id == account.id,
                                                            Bookmark.status_id == status.id))
    if exists is None:
        await insert_once(session, Bookmark(account_id=account.id, status_id=status.id))
    return status


async def unbookmark(session: AsyncSession, *, account: Account, status_id: int | None) -> Status:
    status = await _target(session, account, status_id)
    await session.execute(delete(Bookmark).where(Bookmark.account_id == account.id, Bookmark.status_id == status.id))
    return status


async def pin(session: AsyncSession, *, account: Account, status_id: int | None) -> Status:
    status = await get_visible(session, status_id=status_id, viewer_id=account.id, for_rendering=False)
    if status.account_id != account.id or status.reblog_of_id is not None:
        raise Unprocessable("Validation failed: You can only pin your own posts")
    if status.visibility == "direct":
        raise Unprocessable("Validation failed: Direct messages cannot be pinned")
    exists = await session.scalar(select(StatusPin.id).where(StatusPin.account_id == account.id,
                                                             StatusPin.status_id == status.id))
    if exists is None:
        count = await session.scalar(
            select(func.count()).select_from(StatusPin).where(StatusPin.account_id == account.id))
        if (count or 0) >= MAX_PINS:
            raise Unprocessable(f"Validation failed: You can pin at most {MAX_PINS} posts")
        await insert_once(session, StatusPin(account_id=account.id, status_id=status.id))
    return status


async def unpin(session: AsyncSession, *, account: Account, status_id: int | None) -> Status:
    status = await get_visible(session, status_id=status_id, viewer_id=account.id, for_rendering=False)
    await session.execute(delete(StatusPin).where(StatusPin.account_id == account.id, StatusPin.status_id == status.id))
    return status

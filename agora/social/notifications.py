"""Notifications (mention, reply, reblog, favourite, follow, follow_request, update, quote, status)
and read markers."""

from __future__ import annotations

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agora.kit.db import insert_once
from agora.kit.errors import NotFound, Unprocessable
from agora.kit.pagination import Page, PageParams
from agora.kit.time import utcnow
from agora.models import Block, Marker, Mute, Notification, Status
from agora.models.notifications import NOTIFICATION_TYPES, PAYMENT_NOTIFICATION_TYPES
from agora.social.events import queue_notification_event
from agora.social.visibility import blocked_either_way, visible_to

MARKER_TIMELINES = ("home", "notifications")


async def _silenced(session: AsyncSession, *, recipient_id: int, actor_id: int) -> bool:
    """The recipient blocked the actor, or muted them with notifications (one round trip: every
    payment asks this while its transaction is open)."""
    blocked = exists().where(Block.account_id == recipient_id, Block.target_account_id == actor_id)
    muted = exists().where(Mute.account_id == recipient_id, Mute.target_account_id == actor_id,
                           Mute.hide_notifications)
    return bool(await session.scalar(select(or_(blocked, muted))))


async def notify(
    session: AsyncSession, *, recipient_id: int, actor_id: int, kind: str, status_id: int | None = None,
    payment_id: int | None = None,
) -> Notification | None:
    """Tell `recipient_id` — unless it is the actor, it has silenced them, or it may not see the post."""
    if recipient_id == actor_id or await _silenced(session, recipient_id=recipient_id, actor_id=actor_id):
        return None
    if status_id is not None:
        may_see = await session.scalar(select(Status.id).where(Status.id == status_id, visible_to(recipient_id)))
        if may_see is None:
            return None
    notification = Notification(account_id=recipient_id, from_account_id=actor_id, type=kind, status_id=status_id,
                                payment_id=payment_id)
    session.add(notification)
    await session.flush()
    queue_notification_event(session, account_id=recipient_id, notification_id=notification.id)
    return notification


async def dismiss_kind(
    session: AsyncSession, *, recipient_id: int, actor_id: int, kind: str, status_id: int | None = None
) -> None:
    """Take back what an undone action notified (an unfavourite takes back that post's favourite only)."""
    await session.execute(delete(Notification).where(
        Notification.account_id == recipient_id, Notification.from_account_id == actor_id,
        Notification.type == kind, Notification.status_id.is_(None) if status_id is None
        else Notification.status_id == status_id,
    ))


def _visible_notifications(account_id: int):
    """A notification whose post the recipient can no longer see (deleted, made private…) is hidden."""
    return select(Notification).outerjoin(Status, Status.id == Notification.status_id).where(
        Notification.account_id == account_id,
        (Notification.status_id.is_(None)) | visible_to(account_id),
        # Blocking someone hides what they did before the block, too.
        Notification.from_account_id.not_in(blocked_either_way(account_id)),
    )


def _check_types(types: list[str]) -> None:
    unknown = [t for t in types if t not in NOTIFICATION_TYPES + PAYMENT_NOTIFICATION_TYPES]
    if unknown:
        raise Unprocessable(f"unknown notification type: {unknown[0]}")


async def list_notifications(
    session: AsyncSession, *, account_id: int, page: PageParams, types: list[str], exclude_types: list[str],
    from_account_id: int | None = None,
) -> Page[Notification]:
    _check_types(types + exclude_types)
    query = _visible_notifications(account_id).options(selectinload(Notification.from_account))
    if types:
        query = query.where(Notification.type.in_(types))
    if exclude_types:
        query = query.where(Notification.type.not_in(exclude_types))
    if from_account_id is not None:
        query = query.where(Notification.from_account_id == from_account_id)
    rows = page.finish(list(await session.scalars(page.apply(query, Notification.id))))
    return Page.of(rows, [n.id for n in rows])


async def get_notification(session: AsyncSession, *, account_id: int, notification_id: int | None) -> Notification:
    query = _visible_notifications(account_id).where(Notification.id == (notification_id or 0)).options(
        selectinload(Notification.from_account))
    found = await session.scalar(query)
    if found is None:
        raise NotFound()
    return found


async def dismiss(session: AsyncSession, *, account_id: int, notification_id: int | None) -> None:
    result = await session.execute(delete(Notification).where(
        Notification.id == (notification_id or 0), Notification.account_id == account_id))
    if not result.rowcount:
        raise NotFound()


async def clear(session: AsyncSession, *, account_id: int) -> None:
    await session.execute(delete(Notification).where(Notification.account_id == account_id))


async def unread_count(session: AsyncSession, *, account_id: int, limit: int = 100) -> int:
    marker = await session.scalar(select(Marker.last_read_id).where(
        Marker.account_id == account_id, Marker.timeline == "notifications"))
    query = _visible_notifications(account_id)
    if marker is not None:
        query = query.where(Notification.id > marker)
    return int(await session.scalar(select(func.count()).select_from(query.limit(limit).subquery())) or 0)


async def get_markers(session: AsyncSession, *, account_id: int, timelines: list[str]) -> list[Marker]:
    wanted = [t for t in timelines if t in MARKER_TIMELINES] or list(MARKER_TIMELINES)
    return list(await session.scalars(select(Marker).where(
        Marker.account_id == account_id, Marker.timeline.in_(wanted))))


async def save_marker(session: AsyncSession, *, account_id: int, timeline: str, last_read_id: int) -> Marker:
    if timeline not in MARKER_TIMELINES:
        raise Unprocessable(f"timeline must be one of {', '.join(MARKER_TIMELINES)}")
    query = select(Marker).where(Marker.account_id == account_id, Marker.timeline == timeline)
    marker = await session.scalar(query)
    if marker is None:
        marker = Marker(account_id=account_id, timeline=timeline, last_read_id=last_read_id, version=1)
        if await insert_once(session, marker):
            return marker
        marker = await session.scalar(query)  # a concurrent request saved the first one
    marker.last_read_id = last_read_id
    marker.version += 1
    marker.updated_at = utcnow()
    await session.flush()
    return marker

"""What the public square tells the streaming gateway, and on which channels.

Events carry ids, not rendered posts: each listener renders for its own viewer after checking that
the viewer may see the post (see `agora.streaming`), so fan-out can be generous and still private.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.bus import BusMessage
from agora.kit.db import queue_event
from agora.models import Follow, Status


def home_channel(account_id: int) -> str:
    return f"timeline:{account_id}"


def notifications_channel(account_id: int) -> str:
    return f"notifications:{account_id}"


PUBLIC_CHANNEL = "public"


def hashtag_channel(tag_key: str) -> str:
    return f"hashtag:{tag_key}"


async def status_channels(
    session: AsyncSession, *, status: Status, mentioned_ids: Iterable[int], tag_keys: Iterable[str]
) -> list[str]:
    """Every channel on which this status may belong to someone's view."""
    followers = await session.scalars(select(Follow.account_id).where(Follow.target_account_id == status.account_id))
    audience = {status.account_id, *mentioned_ids}
    if status.visibility != "direct":
        audience.update(followers)
    channels = [home_channel(a) for a in sorted(audience)]
    if status.visibility == "public" and status.reblog_of_id is None:
        channels.append(PUBLIC_CHANNEL)
        channels.extend(hashtag_channel(t) for t in tag_keys)
    return channels


def queue_status_event(session: AsyncSession, *, event: str, status_id: int, channels: Iterable[str]) -> None:
    """`event` is Mastodon's: update (new), status.update (edited) or delete."""
    for channel in channels:
        queue_event(session, BusMessage(channel, event, {"status_id": str(status_id)}))


def queue_notification_event(session: AsyncSession, *, account_id: int, notification_id: int) -> None:
    queue_event(session, BusMessage(notifications_channel(account_id), "notification",
                                    {"notification_id": str(notification_id)}))


# --- inside the transaction ----------------------------------------------------------------------
# Bus events reach listeners after the commit. Some listeners must write *with* the post instead —
# the keyword index (agora.search), so that a post is findable the moment its transaction commits,
# gone the moment its deletion does, and neither if it rolls back. They subscribe here; the social
# package publishes without knowing who listens.

StatusWritten = Callable[[AsyncSession, str, Status], Awaitable[None]]
_written_listeners: list[StatusWritten] = []


def on_status_written(listener: StatusWritten) -> None:
    """Subscribe `listener(session, event, status)` to every post created ("update"), edited
    ("status.update") or deleted ("delete"), called inside the transaction that writes it."""
    if listener not in _written_listeners:
        _written_listeners.append(listener)


async def status_written(session: AsyncSession, *, event: str, status: Status) -> None:
    for listener in _written_listeners:
        await listener(session, event, status)

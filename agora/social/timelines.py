"""Timelines: home, public, hashtag, an account's posts, favourites and bookmarks.

Each is one query: a condition (who may see what, what belongs here) plus id-cursor paging. The
streaming gateway reuses the same conditions, so a live stream shows exactly what a reload would.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.db import unindexed
from agora.kit.pagination import Page, PageParams
from agora.models import Bookmark, Favourite, MediaAttachment, Status, StatusPin, StatusTag, Tag
from agora.social.statuses import load
from agora.social.visibility import home_filter, not_muted, visible_to, visible_with_original


@dataclass(frozen=True, slots=True)
class Feed:
    """A timeline's condition on `Status` (joined with `original`, the post a reblog wraps)."""

    condition: ColumnElement[bool]
    original: type[Status]


DENSE_HOME_FOLLOWING = 20  # measured in bench/: above this, walking the newest posts wins on SQLite


def home_feed(viewer_id: int, *, following_count: int = 0) -> Feed:
    original, visible = visible_with_original(viewer_id)
    home = home_filter(viewer_id, original, dense=following_count >= DENSE_HOME_FOLLOWING)
    return Feed(and_(visible, home, not_muted(viewer_id, original)), original)


def public_feed(viewer_id: int | None, *, only_media: bool = False) -> Feed:
    original, visible = visible_with_original(viewer_id)
    condition = and_(_public_original(), unindexed(Status.in_reply_to_id).is_(None), visible, not_muted(viewer_id))
    if only_media:
        condition = and_(condition, _has_media())
    return Feed(condition, original)


def tag_feed(viewer_id: int | None, tag_key: str) -> Feed:
    original, visible = visible_with_original(viewer_id)
    # Driven from the tag's own index: a page costs what the tag holds, not what the server holds.
    tagged = Status.id.in_(select(StatusTag.status_id).join(Tag, Tag.id == StatusTag.tag_id)
                           .where(Tag.name_key == tag_key))
    condition = and_(_public_original(), tagged, visible, not_muted(viewer_id))
    return Feed(condition, original)


def account_feed(
    viewer_id: int | None, account_id: int, *, exclude_replies: bool = False, exclude_reblogs: bool = False,
    only_media: bool = False, pinned: bool = False, tagged: str | None = None,
) -> Feed:
    original, visible = visible_with_original(viewer_id)
    condition = and_(Status.account_id == account_id, visible)
    if exclude_replies:  # a self-thread continuation is still shown, as in Mastodon
        condition = and_(condition, (Status.in_reply_to_id.is_(None)) | (Status.in_reply_to_account_id == account_id))
    if exclude_reblogs:
        condition = and_(condition, Status.reblog_of_id.is_(None))
    if only_media:
        condition = and_(condition, _has_media())
    if pinned:
        pin = exists().where(StatusPin.status_id == Status.id, StatusPin.account_id == account_id)
        condition = and_(condition, pin)
    if tagged:
        condition = and_(condition, exists().where(
            StatusTag.status_id == Status.id, StatusTag.tag_id == Tag.id, Tag.name_key == tagged.casefold()))
    return Feed(condition, original)


def _public_original() -> ColumnElement[bool]:
    return and_(unindexed(Status.visibility) == "public", unindexed(Status.reblog_of_id).is_(None))


def _has_media() -> ColumnElement[bool]:
    return exists().where(MediaAttachment.status_id == Status.id)


async def read(session: AsyncSession, *, feed: Feed, page: PageParams) -> Page[Status]:
    query = select(Status.id).outerjoin(feed.original, feed.original.id == Status.reblog_of_id).where(feed.condition)
    ids = page.finish(list(await session.scalars(page.apply(query, Status.id))))
    statuses = await load(session, ids=ids)
    return Page.of(statuses, [s.id for s in statuses])


async def matches(session: AsyncSession, *, feed: Feed, status_id: int) -> bool:
    """Does this status belong on this feed for its viewer? (Used by live streams.)"""
    query = select(Status.id).outerjoin(feed.original, feed.original.id == Status.reblog_of_id).where(
        feed.condition, Status.id == status_id)
    return (await session.scalar(query)) is not None


async def reacted(
    session: AsyncSession, *, viewer_id: int, kind: type[Favourite] | type[Bookmark], page: PageParams
) -> Page[Status]:
    """The viewer's favourites or bookmarks, newest reaction first, paged by the reaction's id."""
    query = (select(kind.id, kind.status_id).join(Status, Status.id == kind.status_id)
             .where(kind.account_id == viewer_id, visible_to(viewer_id)))
    rows = page.finish(list((await session.execute(page.apply(query, kind.id))).all()))
    statuses = {s.id: s for s in await load(session, ids=[r.status_id for r in rows])}
    kept = [(r.id, statuses[r.status_id]) for r in rows if r.status_id in statuses]
    return Page.of([s for _, s in kept], [cursor for cursor, _ in kept])

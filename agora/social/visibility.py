"""Who may see which status — one rule, written once, as SQL, used by every read path.

Timelines, threads, notifications, account pages, streams and single fetches all filter through
`visible_to`, so a `private` or `direct` post cannot leak through a path that forgot a check.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from agora.accounts.service import hidden_accounts
from agora.kit.db import unindexed
from agora.models import Block, Follow, Mention, Mute, Status

PUBLICLY_READABLE = ("public", "unlisted")


def blocked_either_way(viewer_id: int) -> Select:
    """Accounts the viewer blocks or that block the viewer: they see nothing of each other."""
    return select(Block.target_account_id).where(Block.account_id == viewer_id).union(
        select(Block.account_id).where(Block.target_account_id == viewer_id)
    )


def followed_by(viewer_id: int) -> Select:
    return select(Follow.target_account_id).where(Follow.account_id == viewer_id)


def muted_by(viewer_id: int) -> Select:
    return select(Mute.target_account_id).where(Mute.account_id == viewer_id)


def visible_to(viewer_id: int | None, status: type[Status] = Status) -> ColumnElement[bool]:
    """Rows of `status` (Status or an alias) that `viewer_id` (None: signed out) may read."""
    readable = unindexed(status.visibility).in_(PUBLICLY_READABLE)
    shown_author = status.account_id.not_in(hidden_accounts())  # suspended, or awaiting approval
    if viewer_id is None:
        return and_(readable, shown_author)
    mentioned = select(Mention.status_id).where(Mention.account_id == viewer_id)
    return and_(
        shown_author,
        or_(
            status.account_id == viewer_id,
            readable,
            and_(status.visibility == "private",
                 or_(status.account_id.in_(followed_by(viewer_id)), status.id.in_(mentioned))),
            and_(status.visibility == "direct", status.id.in_(mentioned)),
        ),
        status.account_id.not_in(blocked_either_way(viewer_id)),
    )


# The post a boost wraps. One alias serves every query (each joins it once): building a fresh one per
# request costs more than the rest of the condition.
BOOSTED = aliased(Status, name="boosted")


def visible_with_original(viewer_id: int | None) -> tuple[type[Status], ColumnElement[bool]]:
    """For lists that include reblogs: the reblog row and the post it wraps must both be visible.

    Returns the alias of the original to outer-join on `Status.reblog_of_id`, and the condition.
    """
    condition = and_(
        visible_to(viewer_id),
        or_(Status.reblog_of_id.is_(None), visible_to(viewer_id, BOOSTED)),
    )
    return BOOSTED, condition


def not_muted(viewer_id: int | None, original: type[Status] | None = None) -> ColumnElement[bool]:
    """Hide accounts the viewer muted from timelines (not from direct fetches, as in Mastodon)."""
    if viewer_id is None:
        return true()
    muted = muted_by(viewer_id)
    condition = Status.account_id.not_in(muted)
    if original is not None:
        condition = and_(condition, or_(Status.reblog_of_id.is_(None), original.account_id.not_in(muted)))
    return condition


def reply_on_home(viewer_id: int, followed: Select | None = None) -> ColumnElement[bool]:
    """A followed account's reply belongs on a member's home only when it is not a reply, a reply to
    themselves or to the member, or a reply to someone the member also follows."""
    return or_(
        Status.in_reply_to_account_id.is_(None),
        Status.in_reply_to_account_id == Status.account_id,
        Status.in_reply_to_account_id == viewer_id,
        Status.in_reply_to_account_id.in_(followed if followed is not None else followed_by(viewer_id)),
    )


def home_filter(viewer_id: int, original: type[Status], *, dense: bool = False) -> ColumnElement[bool]:
    """What belongs on a member's home timeline (before visibility): own posts, followed accounts'
    posts (replies only when the member also follows who was replied to), and direct mentions.

    `dense` (the member follows many accounts, so recent posts are mostly theirs): on SQLite, walk
    the newest posts and stop at a page, rather than gather every post of every followed account
    and sort them. With few followed accounts the gathering is the cheaper plan. PostgreSQL
    chooses for itself.
    """
    author = unindexed(Status.account_id) if dense else Status.account_id
    followed = followed_by(viewer_id)
    hide_reblogs_of = select(Follow.target_account_id).where(
        Follow.account_id == viewer_id, Follow.show_reblogs == false()
    )
    mentioned = select(Mention.status_id).where(Mention.account_id == viewer_id)
    reply_ok = reply_on_home(viewer_id, followed)  # the same Select, used twice in one statement
    return and_(
        or_(
            author == viewer_id,
            and_(author.in_(followed), reply_ok),
            and_(Status.visibility == "direct", Status.id.in_(mentioned)),
        ),
        or_(Status.reblog_of_id.is_(None), Status.account_id.not_in(hide_reblogs_of)),
        or_(Status.reblog_of_id.is_(None), original.account_id != viewer_id),  # not your own posts back
    )

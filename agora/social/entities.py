"""Mastodon's Status, Notification, StatusEdit and Context entities as JSON.

`render_statuses` renders a whole page at once: what the viewer did to each post (favourited,
reblogged, bookmarked, pinned) and which quoted posts they may see come from a fixed number of
queries over all the page's ids, never one query per post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.entities import account_json
from agora.accounts.service import profile_url, tag_url
from agora.config import Settings
from agora.kit.time import iso
from agora.media.service import media_json
from agora.models import Account, Bookmark, Favourite, MediaAttachment, Notification, Status, StatusEdit, StatusPin
from agora.social.statuses import load
from agora.social.visibility import visible_to


@dataclass(slots=True)
class ViewerState:
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)
    visible_quotes: set[int] = field(default_factory=set)


def _all_ids(statuses: list[Status]) -> tuple[set[int], set[int]]:
    shown: set[int] = set()
    quoted: set[int] = set()
    for status in statuses:
        inner = status.reblog if status.reblog_of_id is not None else None
        for s in (status, inner):
            if s is None:
                continue
            shown.add(s.id)
            if s.quote_id is not None:
                quoted.add(s.quote_id)
                shown.add(s.quote_id)
    return shown, quoted


async def viewer_state(session: AsyncSession, statuses: list[Status], viewer_id: int | None) -> ViewerState:
    shown, quoted = _all_ids(statuses)
    state = ViewerState()
    if quoted:
        state.visible_quotes = set(await session.scalars(
            select(Status.id).where(Status.id.in_(quoted), visible_to(viewer_id))))
    if viewer_id is None or not shown:
        return state
    state.favourited = set(await session.scalars(
        select(Favourite.status_id).where(Favourite.account_id == viewer_id, Favourite.status_id.in_(shown))))
    state.reblogged = set(await session.scalars(
        select(Status.reblog_of_id).where(Status.account_id == viewer_id, Status.reblog_of_id.in_(shown))))
    state.bookmarked = set(await session.scalars(
        select(Bookmark.status_id).where(Bookmark.account_id == viewer_id, Bookmark.status_id.in_(shown))))
    state.pinned = set(await session.scalars(
        select(StatusPin.status_id).where(StatusPin.account_id == viewer_id, StatusPin.status_id.in_(shown))))
    return state


def _url(settings: Settings, status: Status) -> str:
    return f"{profile_url(settings, status.account.username)}/{status.id}"


def _quote_json(status: Status, state: ViewerState, settings: Settings, viewer_id: int | None,
                depth: int) -> dict[str, Any] | None:
    if status.quote_id is None:
        return None
    if status.quote_id not in state.visible_quotes or status.quote is None:
        return {"state": "unauthorized", "quoted_status": None}
    if depth > 0:  # Mastodon's ShallowQuote: quotes of quotes are ids only
        return {"state": "accepted", "quoted_status_id": str(status.quote_id)}
    return {"state": "accepted",
            "quoted_status": _status_json(status.quote, state, settings, viewer_id, depth=depth + 1)}


def _status_json(status: Status, state: ViewerState, settings: Settings, viewer_id: int | None,
                 depth: int = 0) -> dict[str, Any]:
    reblog = status.reblog if status.reblog_of_id is not None else None
    own = viewer_id is not None and status.account_id == viewer_id
    return {
        "id": str(status.id),
        "uri": f"{settings.base_url}/users/{status.account.username}/statuses/{status.id}",
        "url": _url(settings, status) if reblog is None else None,
        "created_at": iso(status.created_at),
        "edited_at": iso(status.edited_at),
        "account": account_json(status.account, settings),
        "content": status.content,
        "visibility": status.visibility,
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "media_attachments": [media_json(m, settings) for m in status.media],
        "application": {"name": status.application_name, "website": None} if own and status.application_name else None,
        "mentions": [{"id": str(m.account.id), "username": m.account.username, "acct": m.account.username,
                      "url": profile_url(settings, m.account.username)} for m in status.mentions],
        "tags": [{"name": t.name, "url": tag_url(settings, t.name)} for t in status.tags],
        "emojis": [],
        "reblogs_count": status.reblogs_count,
        "favourites_count": status.favourites_count,
        "replies_count": status.replies_count,
        "quotes_count": status.quotes_count,
        "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
        "in_reply_to_account_id": str(status.in_reply_to_account_id) if status.in_reply_to_account_id else None,
        "reblog": _status_json(reblog, state, settings, viewer_id, depth) if reblog is not None else None,
        "quote": _quote_json(status, state, settings, viewer_id, depth),
        "quote_approval": {"automatic": ["public"], "manual": [], "current_user": "automatic"},
        "poll": None,
        "card": None,
        "language": status.language,
        "text": None,
        "favourited": status.id in state.favourited,
        "reblogged": status.id in state.reblogged,
        "muted": False,
        "bookmarked": status.id in state.bookmarked,
        "pinned": status.id in state.pinned if own else None,
        "filtered": [],
    }


async def render_statuses(session: AsyncSession, statuses: list[Status], *, viewer_id: int | None,
                          settings: Settings) -> list[dict[str, Any]]:
    state = await viewer_state(session, statuses, viewer_id)
    return [_status_json(s, state, settings, viewer_id) for s in statuses]


async def render_status(session: AsyncSession, status: Status, *, viewer_id: int | None,
                        settings: Settings) -> dict[str, Any]:
    return (await render_statuses(session, [status], viewer_id=viewer_id, settings=settings))[0]


async def render_notifications(session: AsyncSession, items: list[Notification], *, viewer_id: int,
                               settings: Settings) -> list[dict[str, Any]]:
    statuses = {s.id: s for s in await load(session, ids=[n.status_id for n in items if n.status_id])}
    rendered = {s["id"]: s for s in await render_statuses(session, list(statuses.values()), viewer_id=viewer_id,
                                                          settings=settings)}
    out = []
    for n in items:
        out.append({
            "id": str(n.id),
            "type": n.type,
            "group_key": f"ungrouped-{n.id}",
            "created_at": iso(n.created_at),
            "account": account_json(n.from_account, settings),
            "status": rendered.get(str(n.status_id)) if n.status_id else None,
            # Agora's payment notifications name the transfer, request or red packet (Mastodon clients
            # skip types they do not know; Agora's web app links to the wallet).
            **({"payment_id": str(n.payment_id)} if n.payment_id is not None else {}),
        })
    return out


async def render_history(session: AsyncSession, status: Status, edits: list[StatusEdit], *,
                         settings: Settings) -> list[dict[str, Any]]:
    media_ids = {int(i) for e in edits for i in e.media_ids.split(",") if i}
    media: dict[int, MediaAttachment] = {}
    if media_ids:
        found = await session.scalars(select(MediaAttachment).where(MediaAttachment.id.in_(media_ids)))
        media = {m.id: m for m in found}
    author: Account = status.account
    return [{
        "content": e.content,
        "spoiler_text": e.spoiler_text,
        "sensitive": e.sensitive,
        "created_at": iso(e.created_at),
        "account": account_json(author, settings),
        "media_attachments": [media_json(media[int(i)], settings)
                              for i in e.media_ids.split(",") if i and int(i) in media],
        "emojis": [],
        "poll": None,
    } for e in edits]


def source_json(status: Status) -> dict[str, Any]:
    return {"id": str(status.id), "text": status.text, "spoiler_text": status.spoiler_text}

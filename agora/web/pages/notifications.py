"""Notifications in the browser: who liked, reposted, followed, mentioned or replied, newest first.

Opening the page marks everything shown as read (the "notifications" read marker, which the nav
badge and Mastodon apps share), so the badge on this very page already reads 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from agora.kit.http import page_params
from agora.kit.runtime import runtime_of
from agora.models import Notification, Status
from agora.social import notifications, statuses
from agora.social.entities import ViewerState, viewer_state
from agora.web.feeds import next_page_url
from agora.web.i18n import N_
from agora.web.render import fragment, fragment_kind, page, prepare
from agora.web.session import Viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])

# What each kind of notification says and shows; `%(name)s` becomes the actor's linked name.
KINDS: dict[str, tuple[str, str]] = {
    "favourite": ("heart", N_("%(name)s liked your post")),
    "reblog": ("repost", N_("%(name)s reposted your post")),
    "follow": ("user", N_("%(name)s followed you")),
    "follow_request": ("lock", N_("%(name)s requested to follow you")),
    "mention": ("mail", N_("%(name)s mentioned you")),
    "reply": ("reply", N_("%(name)s replied to your post")),
    "quote": ("quote", N_("%(name)s quoted your post")),
    "status": ("pen", N_("%(name)s posted")),
    "update": ("pen", N_("%(name)s edited a post you interacted with")),
    # The wallet's: the notification list links them to /wallet.
    "payment_received": ("bell", N_("%(name)s sent you money")),
    "payment_requested": ("bell", N_("%(name)s asked you for money")),
    "payment_returned": ("bell", N_("Money came back to your wallet from %(name)s")),
}
# The tabs: which types each shows (an empty list: all of them).
FILTERS: dict[str, list[str]] = {"all": [], "mentions": ["mention", "reply"]}


@dataclass(slots=True)
class Item:
    """One notification as the template shows it."""

    notification: Notification
    icon: str
    sentence: str  # untranslated msgid: the template translates it, with the actor's name as HTML
    status: Status | None
    unread: bool


@dataclass(slots=True)
class NotificationList:
    items: list[Item]
    state: ViewerState
    more_url: str | None


def _filter(request: Request) -> str:
    chosen = request.query_params.get("filter", "all")
    return chosen if chosen in FILTERS else "all"


async def _read_marker(session: AsyncSession, account_id: int) -> int:
    found = await notifications.get_markers(session, account_id=account_id, timelines=["notifications"])
    return found[0].last_read_id if found else 0


@router.get("/notifications")
async def notifications_page(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    kind = _filter(request)
    params = page_params(request)
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        # The service hides notifications whose post the viewer can no longer see (deleted, made
        # private, author blocked), so no post text leaks through a stale notification.
        found = await notifications.list_notifications(session, account_id=viewer.id, page=params,
                                                       types=FILTERS[kind], exclude_types=[])
        status_ids = list(dict.fromkeys(n.status_id for n in found.items if n.status_id is not None))
        posts = {s.id: s for s in await statuses.load(session, ids=status_ids)}
        state = await viewer_state(session, list(posts.values()), viewer.id)
        marker = await _read_marker(session, viewer.id)
    # Later pages carry the marker as it was when the first page was opened, so they still show what
    # was new then (the first page already moved the stored marker past them).
    raw_read = request.query_params.get("read", "")
    well_formed = raw_read.isascii() and raw_read.isdigit() and len(raw_read) < 20
    shown_marker = int(raw_read) if params.max_id is not None and well_formed else None
    read_up_to = shown_marker if shown_marker is not None else marker
    items = [Item(n, *KINDS.get(n.type, ("bell", N_("%(name)s sent you a notification"))),
                  status=posts.get(n.status_id) if n.status_id is not None else None, unread=n.id > read_up_to)
             for n in found.items]
    newest = max((n.id for n in found.items), default=0)
    # Only "All" moves the marker: it is one id for every type, so reading Mentions must not mark the
    # likes and follows between them as seen.
    if kind == "all" and newest > marker:
        # A separate, short write: scrolling older pages should not take SQLite's write lock.
        async with runtime.db.transaction() as session:
            if newest > await _read_marker(session, viewer.id):  # another tab may have read further
                await notifications.save_marker(session, account_id=viewer.id, timeline="notifications",
                                                last_read_id=newest)
    listing = NotificationList(items, state, next_page_url(request, found, params, read=str(read_up_to)))
    if fragment_kind(request) == "list":
        return await fragment(request, "_notification_list.html", {"listing": listing})
    # `page` counts unread notifications after the marker moved: the badge on this page reads 0.
    return await page(request, "notifications.html", {"listing": listing, "filter": kind})

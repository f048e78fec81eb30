"""Follows, follow requests, blocks and mutes, and the Relationship between two members."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from agora.accounts.service import bump_counter, get_account, public_accounts
from agora.kit.db import insert_once
from agora.kit.errors import Forbidden, NotFound, Unprocessable
from agora.kit.pagination import Page, PageParams
from agora.models import Account, Block, Follow, FollowRequest, Mute
from agora.social import notifications
from agora.social.visibility import blocked_either_way


async def _edge(session: AsyncSession, model: type, source: int, target: int):
    return await session.scalar(select(model).where(model.account_id == source, model.target_account_id == target))


async def is_blocked_either_way(session: AsyncSession, a: int, b: int) -> bool:
    found = await session.scalar(select(Block.id).where(
        ((Block.account_id == a) & (Block.target_account_id == b))
        | ((Block.account_id == b) & (Block.target_account_id == a))
    ).limit(1))
    return found is not None


async def follow(
    session: AsyncSession, *, follower: Account, target_id: int | None, reblogs: bool = True, notify: bool = False
) -> None:
    target = await get_account(session, account_id=target_id)
    if target.id == follower.id:
        raise Forbidden("You cannot follow yourself")
    if await is_blocked_either_way(session, follower.id, target.id):
        raise Forbidden("This action is not allowed")
    existing = await _edge(session, Follow, follower.id, target.id)
    if existing is not None:  # already following: just update the options (Mastodon does the same)
        existing.show_reblogs, existing.notify = reblogs, notify
        await session.flush()
        return
    if target.locked:
        request = FollowRequest(account_id=follower.id, target_account_id=target.id,
                                show_reblogs=reblogs, notify=notify)
        if await _edge(session, FollowRequest, follower.id, target.id) is None and await insert_once(session, request):
            await notifications.notify(session, recipient_id=target.id, actor_id=follower.id, kind="follow_request")
        return
    if await _create_follow(session, follower_id=follower.id, target_id=target.id, reblogs=reblogs, notify=notify):
        await notifications.notify(session, recipient_id=target.id, actor_id=follower.id, kind="follow")


async def _create_follow(
    session: AsyncSession, *, follower_id: int, target_id: int, reblogs: bool, notify: bool
) -> bool:
    """Follow and count it; False when a concurrent request made the same follow first."""
    row = Follow(account_id=follower_id, target_account_id=target_id, show_reblogs=reblogs, notify=notify)
    if not await insert_once(session, row):
        return False
    await bump_counter(session, account_id=follower_id, column="following_count", by=1)
    await bump_counter(session, account_id=target_id, column="followers_count", by=1)
    return True


async def _remove_follow(session: AsyncSession, *, follower_id: int, target_id: int) -> bool:
    result = await session.execute(
        delete(Follow).where(Follow.account_id == follower_id, Follow.target_account_id == target_id)
    )
    if result.rowcount:
        await bump_counter(session, account_id=follower_id, column="following_count", by=-1)
        await bump_counter(session, account_id=target_id, column="followers_count", by=-1)
    return bool(result.rowcount)


async def unfollow(session: AsyncSession, *, follower: Account, target_id: int | None) -> None:
    target = await get_account(session, account_id=target_id)
    await _remove_follow(session, follower_id=follower.id, target_id=target.id)
    await session.execute(delete(FollowRequest).where(
        FollowRequest.account_id == follower.id, FollowRequest.target_account_id == target.id
    ))


async def _take_request(session: AsyncSession, *, owner: Account, requester_id: int | None) -> FollowRequest:
    """Remove a pending request (once, even when answered twice at the same moment) and its notification."""
    request = await _edge(session, FollowRequest, requester_id or 0, owner.id)
    if request is None or not (await session.execute(
            delete(FollowRequest).where(FollowRequest.id == request.id))).rowcount:
        raise NotFound("Follow request not found")
    await notifications.dismiss_kind(session, recipient_id=owner.id, actor_id=request.account_id,
                                     kind="follow_request")
    return request


async def authorize_request(session: AsyncSession, *, owner: Account, requester_id: int | None) -> None:
    request = await _take_request(session, owner=owner, requester_id=requester_id)
    if await _edge(session, Follow, request.account_id, owner.id) is None:
        await _create_follow(session, follower_id=request.account_id, target_id=owner.id,
                             reblogs=request.show_reblogs, notify=request.notify)


async def reject_request(session: AsyncSession, *, owner: Account, requester_id: int | None) -> None:
    await _take_request(session, owner=owner, requester_id=requester_id)


async def remove_follower(session: AsyncSession, *, owner: Account, follower_id: int | None) -> None:
    follower = await get_account(session, account_id=follower_id)
    await _remove_follow(session, follower_id=follower.id, target_id=owner.id)


async def block(session: AsyncSession, *, blocker: Account, target_id: int | None) -> None:
    target = await get_account(session, account_id=target_id)
    if target.id == blocker.id:
        raise Unprocessable("You cannot block yourself")
    if await _edge(session, Block, blocker.id, target.id) is None:
        await insert_once(session, Block(account_id=blocker.id, target_account_id=target.id))
    # A block severs the graph both ways, as in Mastodon.
    await _remove_follow(session, follower_id=blocker.id, target_id=target.id)
    await _remove_follow(session, follower_id=target.id, target_id=blocker.id)
    await session.execute(delete(FollowRequest).where(
        ((FollowRequest.account_id == blocker.id) & (FollowRequest.target_account_id == target.id))
        | ((FollowRequest.account_id == target.id) & (FollowRequest.target_account_id == blocker.id))
    ))


async def unblock(session: AsyncSession, *, blocker: Account, target_id: int | None) -> None:
    target = await get_account(session, account_id=target_id)
    await session.execute(delete(Block).where(Block.account_id == blocker.id, Block.target_account_id == target.id))


async def mute(session: AsyncSession, *, muter: Account, target_id: int | None, notifications_too: bool = True) -> None:
    target = await get_account(session, account_id=target_id)
    if target.id == muter.id:
        raise Unprocessable("You cannot mute yourself")
    existing = await _edge(session, Mute, muter.id, target.id)
    row = Mute(account_id=muter.id, target_account_id=target.id, hide_notifications=notifications_too)
    if existing is None and await insert_once(session, row):
        return
    await session.execute(update(Mute).where(Mute.account_id == muter.id, Mute.target_account_id == target.id)
                          .values(hide_notifications=notifications_too))


async def unmute(session: AsyncSession, *, muter: Account, target_id: int | None) -> None:
    target = await get_account(session, account_id=target_id)
    await session.execute(delete(Mute).where(Mute.account_id == muter.id, Mute.target_account_id == target.id))


@dataclass(slots=True)
class Relationship:
    id: int
    following: bool = False
    showing_reblogs: bool = False
    notifying: bool = False
    followed_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    muting_notifications: bool = False
    requested: bool = False
    requested_by: bool = False

    def json(self) -> dict:
        return {
            "id": str(self.id), "following": self.following, "showing_reblogs": self.showing_reblogs,
            "notifying": self.notifying, "languages": None, "followed_by": self.followed_by,
            "blocking": self.blocking, "blocked_by": self.blocked_by, "muting": self.muting,
            "muting_notifications": self.muting_notifications, "requested": self.requested,
            "requested_by": self.requested_by, "domain_blocking": False, "endorsed": False, "note": "",
        }


async def relationships(session: AsyncSession, *, viewer_id: int, target_ids: list[int]) -> list[Relationship]:
    """The viewer's relationship to each target, in a fixed number of queries."""
    result = {t: Relationship(t) for t in target_ids}
    if not target_ids:
        return []

    async def pairs(model: type, outgoing: bool):
        if outgoing:
            stmt = select(model).where(model.account_id == viewer_id, model.target_account_id.in_(target_ids))
        else:
            stmt = select(model).where(model.target_account_id == viewer_id, model.account_id.in_(target_ids))
        return list(await session.scalars(stmt))

    for f in await pairs(Follow, True):
        rel = result[f.target_account_id]
        rel.following, rel.showing_reblogs, rel.notifying = True, f.show_reblogs, f.notify
    for f in await pairs(Follow, False):
        result[f.account_id].followed_by = True
    for b in await pairs(Block, True):
        result[b.target_account_id].blocking = True
    for b in await pairs(Block, False):
        result[b.account_id].blocked_by = True
    for m in await pairs(Mute, True):
        result[m.target_account_id].muting = True
        result[m.target_account_id].muting_notifications = m.hide_notifications
    for r in await pairs(FollowRequest, True):
        result[r.target_account_id].requested = True
    for r in await pairs(FollowRequest, False):
        result[r.account_id].requested_by = True
    return [result[t] for t in target_ids]


# --- lists of accounts: newest edge first, paged by the edge's id (the API and the web pages share these) ---

async def _account_page(session: AsyncSession, query: Select, cursor: InstrumentedAttribute,
                        page: PageParams) -> Page[Account]:
    """Accounts from `select(edge.id, Account)`; suspended and unapproved members are shown to no one."""
    query = query.where(public_accounts())
    rows = page.finish(list((await session.execute(page.apply(query, cursor))).all()))
    return Page.of([row[1] for row in rows], [row[0] for row in rows])


def _hide_blocked(query: Select, viewer_id: int | None) -> Select:
    """Members who block the viewer, or whom the viewer blocks, are left out of lists they read."""
    return query if viewer_id is None else query.where(Account.id.not_in(blocked_either_way(viewer_id)))


async def followers(session: AsyncSession, *, account_id: int, viewer_id: int | None,
                    page: PageParams) -> Page[Account]:
    query = select(Follow.id, Account).join(Account, Account.id == Follow.account_id).where(
        Follow.target_account_id == account_id)
    return await _account_page(session, _hide_blocked(query, viewer_id), Follow.id, page)


async def following(session: AsyncSession, *, account_id: int, viewer_id: int | None,
                    page: PageParams) -> Page[Account]:
    query = select(Follow.id, Account).join(Account, Account.id == Follow.target_account_id).where(
        Follow.account_id == account_id)
    return await _account_page(session, _hide_blocked(query, viewer_id), Follow.id, page)


async def follow_requesters(session: AsyncSession, *, owner_id: int, page: PageParams) -> Page[Account]:
    """Members waiting for `owner_id` to answer their follow request."""
    query = select(FollowRequest.id, Account).join(Account, Account.id == FollowRequest.account_id).where(
        FollowRequest.target_account_id == owner_id)
    return await _account_page(session, query, FollowRequest.id, page)


async def blocked_accounts(session: AsyncSession, *, owner_id: int, page: PageParams) -> Page[Account]:
    query = select(Block.id, Account).join(Account, Account.id == Block.target_account_id).where(
        Block.account_id == owner_id)
    return await _account_page(session, query, Block.id, page)


async def muted_accounts(session: AsyncSession, *, owner_id: int, page: PageParams) -> Page[Account]:
    query = select(Mute.id, Account).join(Account, Account.id == Mute.target_account_id).where(
        Mute.account_id == owner_id)
    return await _account_page(session, query, Mute.id, page)

"""Routes: follow, block, mute, relationships, followers/following, follow requests, account posts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.auth import member, optional_viewer
from agora.accounts.entities import account_json
from agora.accounts.oauth import Grant
from agora.accounts.service import get_account, public_accounts
from agora.kit.http import page_params, paged, path_id, truthy
from agora.kit.ids import parse_id
from agora.kit.pagination import Page
from agora.kit.params import request_params
from agora.kit.runtime import runtime_of
from agora.models import Account
from agora.social import graph, timelines
from agora.social.entities import render_statuses

router = APIRouter(tags=["accounts"])


async def _relationship(session: AsyncSession, viewer_id: int, target_id: int) -> dict[str, Any]:
    return (await graph.relationships(session, viewer_id=viewer_id, target_ids=[target_id]))[0].json()


@router.post("/api/v1/accounts/{account_id}/follow")
async def follow(request: Request, account_id: str, grant: Grant = Depends(member("write:follows"))) -> dict:
    params = await request_params(request)
    target = path_id(account_id)
    async with runtime_of(request).db.transaction() as session:
        await graph.follow(session, follower=grant.account, target_id=target,
                           reblogs=truthy(params.get("reblogs", True)), notify=truthy(params.get("notify", False)))
        return await _relationship(session, grant.account.id, target)


def _simple(action, scope: str):
    async def endpoint(request: Request, account_id: str, grant: Grant = Depends(member(scope))) -> dict:
        target = path_id(account_id)
        params = await request_params(request)
        async with runtime_of(request).db.transaction() as session:
            await action(session, grant.account, target, params)
            return await _relationship(session, grant.account.id, target)
    return endpoint


_ACTIONS = {
    "unfollow": (lambda s, a, t, p: graph.unfollow(s, follower=a, target_id=t), "write:follows"),
    "block": (lambda s, a, t, p: graph.block(s, blocker=a, target_id=t), "write:blocks"),
    "unblock": (lambda s, a, t, p: graph.unblock(s, blocker=a, target_id=t), "write:blocks"),
    "mute": (lambda s, a, t, p: graph.mute(s, muter=a, target_id=t,
                                           notifications_too=truthy(p.get("notifications", True))), "write:mutes"),
    "unmute": (lambda s, a, t, p: graph.unmute(s, muter=a, target_id=t), "write:mutes"),
    "remove_from_followers": (lambda s, a, t, p: graph.remove_follower(s, owner=a, follower_id=t), "write:follows"),
}
for _name, (_action, _scope) in _ACTIONS.items():
    router.add_api_route(f"/api/v1/accounts/{{account_id}}/{_name}", _simple(_action, _scope), methods=["POST"],
                         name=_name)


@router.get("/api/v1/accounts/relationships")
async def relationships(request: Request, grant: Grant = Depends(member("read:follows"))) -> list[dict]:
    params = await request_params(request)
    raw = params.get("id", [])
    ids = [parse_id(i) for i in (raw if isinstance(raw, list) else [raw])][:40]
    async with runtime_of(request).db.transaction(write=False) as session:
        existing = set(await session.scalars(select(Account.id).where(
            Account.id.in_([i for i in ids if i]), public_accounts())))
        found = [i for i in ids if i in existing]
        return [r.json() for r in await graph.relationships(session, viewer_id=grant.account.id, target_ids=found)]


def _accounts(request: Request, found: Page[Account]) -> JSONResponse:
    settings = runtime_of(request).settings
    return paged(request, found, [account_json(a, settings) for a in found.items])


async def _visible_account(session: AsyncSession, request: Request, account_id: str) -> tuple[Account, Account | None]:
    viewer = await optional_viewer(request)
    return await get_account(session, account_id=path_id(account_id)), viewer


@router.get("/api/v1/accounts/{account_id}/followers")
async def followers(request: Request, account_id: str) -> JSONResponse:
    page = page_params(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        target, viewer = await _visible_account(session, request, account_id)
        found = await graph.followers(session, account_id=target.id, viewer_id=viewer.id if viewer else None,
                                      page=page)
    return _accounts(request, found)


@router.get("/api/v1/accounts/{account_id}/following")
async def following(request: Request, account_id: str) -> JSONResponse:
    page = page_params(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        target, viewer = await _visible_account(session, request, account_id)
        found = await graph.following(session, account_id=target.id, viewer_id=viewer.id if viewer else None,
                                      page=page)
    return _accounts(request, found)


@router.get("/api/v1/accounts/{account_id}/statuses")
async def account_statuses(request: Request, account_id: str) -> JSONResponse:
    page = page_params(request)
    q = request.query_params
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        target, viewer = await _visible_account(session, request, account_id)
        viewer_id = viewer.id if viewer else None
        feed = timelines.account_feed(
            viewer_id, target.id, exclude_replies=truthy(q.get("exclude_replies")),
            exclude_reblogs=truthy(q.get("exclude_reblogs")), only_media=truthy(q.get("only_media")),
            pinned=truthy(q.get("pinned")), tagged=q.get("tagged") or None,
        )
        result = await timelines.read(session, feed=feed, page=page)
        body = await render_statuses(session, result.items, viewer_id=viewer_id, settings=runtime.settings)
    return paged(request, result, body)


@router.get("/api/v1/follow_requests")
async def follow_requests(request: Request, grant: Grant = Depends(member("read:follows"))) -> JSONResponse:
    page = page_params(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await graph.follow_requesters(session, owner_id=grant.account.id, page=page)
    return _accounts(request, found)


@router.post("/api/v1/follow_requests/{account_id}/authorize")
async def authorize_follow(request: Request, account_id: str, grant: Grant = Depends(member("write:follows"))) -> dict:
    requester = path_id(account_id)
    async with runtime_of(request).db.transaction() as session:
        await graph.authorize_request(session, owner=grant.account, requester_id=requester)
        return await _relationship(session, grant.account.id, requester)


@router.post("/api/v1/follow_requests/{account_id}/reject")
async def reject_follow(request: Request, account_id: str, grant: Grant = Depends(member("write:follows"))) -> dict:
    requester = path_id(account_id)
    async with runtime_of(request).db.transaction() as session:
        await graph.reject_request(session, owner=grant.account, requester_id=requester)
        return await _relationship(session, grant.account.id, requester)


@router.get("/api/v1/blocks")
async def blocks(request: Request, grant: Grant = Depends(member("read:blocks"))) -> JSONResponse:
    page = page_params(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await graph.blocked_accounts(session, owner_id=grant.account.id, page=page)
    return _accounts(request, found)


@router.get("/api/v1/mutes")
async def mutes(request: Request, grant: Grant = Depends(member("read:mutes"))) -> JSONResponse:
    page = page_params(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await graph.muted_accounts(session, owner_id=grant.account.id, page=page)
    return _accounts(request, found)

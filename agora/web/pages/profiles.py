"""Profiles and the social graph in the browser: a member's page and its tabs, who follows whom,
the follow button, and answering follow requests.

Every path under /@{username} here is fixed (/followers, /media …): this router is registered
before the thread's /@{username}/{status_id}, which would otherwise claim them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.service import get_account, get_account_by_username
from agora.kit.http import page_params, path_id
from agora.kit.pagination import Page, PageParams
from agora.kit.runtime import runtime_of
from agora.models import Account
from agora.social import graph, timelines
from agora.social.interactions import MAX_PINS
from agora.web import i18n
from agora.web.feeds import answer_posts, next_page_url, read_feed, with_state
from agora.web.render import back, fragment, fragment_kind, is_htmx, page, prepare
from agora.web.session import Viewer, current_viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])


async def _relations(session: AsyncSession, viewer: Viewer | None,
                     accounts: list[Account]) -> dict[int, graph.Relationship]:
    """The viewer's relationship to each account, for its follow button (none when signed out)."""
    if viewer is None or not accounts:
        return {}
    found = await graph.relationships(session, viewer_id=viewer.id, target_ids=[a.id for a in accounts])
    return {r.id: r for r in found}


async def _header(session: AsyncSession, viewer: Viewer | None, account: Account) -> dict[str, Any]:
    """What the top of every profile page needs: the member, the viewer's relationship, the tabs' owner."""
    relations = await _relations(session, viewer, [account])
    own = viewer is not None and viewer.id == account.id
    has_requests = own and bool((await graph.follow_requesters(
        session, owner_id=account.id, page=PageParams(limit=1))).items)
    return {"account": account, "rel": relations.get(account.id), "own": own, "has_requests": has_requests,
            "joined": i18n.month_year(account.created_at)}


# --- the profile and its post tabs ---------------------------------------------------------------

async def _profile(request: Request, username: str, tab: str) -> Response:
    viewer = await current_viewer(request)
    viewer_id = viewer.id if viewer else None
    async with runtime_of(request).db.transaction(write=False) as session:
        account = await get_account_by_username(session, username=username)
        feed = timelines.account_feed(viewer_id, account.id, exclude_replies=tab == "posts",
                                      only_media=tab == "media")
        posts = await read_feed(session, request, feed=feed, viewer_id=viewer_id)
        pinned = None
        if tab == "posts":
            # Pinned posts lead the Posts tab; they are left out of the list below so no card (and
            # no element id) appears twice on a page.
            found = await timelines.read(session, feed=timelines.account_feed(viewer_id, account.id, pinned=True),
                                         page=PageParams(limit=MAX_PINS))
            pinned_ids = {s.id for s in found.items}
            posts.statuses = [s for s in posts.statuses if s.id not in pinned_ids]
            first_page = not request.query_params.get("max_id") and fragment_kind(request) is None
            if found.items and first_page:
                pinned = await with_state(session, found.items, viewer_id)
        context = await _header(session, viewer, account) if fragment_kind(request) is None else {}
    return await answer_posts(request, "profile.html", posts, tab=tab, pinned=pinned, **context)


@router.get("/@{username}")
async def profile(request: Request, username: str) -> Response:
    return await _profile(request, username, "posts")


@router.get("/@{username}/with_replies")
async def profile_with_replies(request: Request, username: str) -> Response:
    return await _profile(request, username, "with_replies")


@router.get("/@{username}/media")
async def profile_media(request: Request, username: str) -> Response:
    return await _profile(request, username, "media")


# --- lists of accounts ---------------------------------------------------------------------------

async def _accounts_answer(request: Request, template: str, found: Page[Account], params: PageParams,
                           relations: dict[int, graph.Relationship], **context: Any) -> Response:
    """The whole page, or only the rows and the next "more" link when infinite scroll asks."""
    rows = {"accounts": found.items, "rels": relations, "more_url": next_page_url(request, found, params),
            "mode": context.pop("mode", "graph")}
    if fragment_kind(request) == "list":
        return await fragment(request, "_account_list.html", rows)
    return await page(request, template, {**rows, **context})


async def _graph_list(request: Request, username: str, which: str) -> Response:
    viewer = await current_viewer(request)
    params = page_params(request)
    list_of = graph.followers if which == "followers" else graph.following
    async with runtime_of(request).db.transaction(write=False) as session:
        account = await get_account_by_username(session, username=username)
        found = await list_of(session, account_id=account.id, viewer_id=viewer.id if viewer else None, page=params)
        relations = await _relations(session, viewer, found.items)
    return await _accounts_answer(request, "accounts.html", found, params, relations, tab=which,
                                  account=account)


@router.get("/@{username}/followers")
async def followers(request: Request, username: str) -> Response:
    return await _graph_list(request, username, "followers")


@router.get("/@{username}/following")
async def following(request: Request, username: str) -> Response:
    return await _graph_list(request, username, "following")


# --- the follow button ---------------------------------------------------------------------------

async def _change_follow(request: Request, viewer: Viewer, account_id: str, *, follow: bool) -> Response:
    target_id = path_id(account_id)
    async with runtime_of(request).db.transaction() as session:
        target = await get_account(session, account_id=target_id)
        if follow:
            await graph.follow(session, follower=viewer.account, target_id=target.id)
        else:  # also withdraws a pending request, which is what "Requested" offers to do
            await graph.unfollow(session, follower=viewer.account, target_id=target.id)
        relations = await _relations(session, viewer, [target])
    if not is_htmx(request):
        return back(request, f"/@{target.username}")
    return await fragment(request, "_follow_button.html", {"account": target, "rel": relations[target.id]})


@router.post("/web/accounts/{account_id}/follow")
async def follow(request: Request, account_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _change_follow(request, viewer, account_id, follow=True)


@router.post("/web/accounts/{account_id}/unfollow")
async def unfollow(request: Request, account_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _change_follow(request, viewer, account_id, follow=False)


# --- follow requests (for a locked account) ------------------------------------------------------

@router.get("/follow_requests")
async def follow_requests(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    params = page_params(request)
    async with runtime_of(request).db.transaction(write=False) as session:
        found = await graph.follow_requesters(session, owner_id=viewer.id, page=params)
    return await _accounts_answer(request, "follow_requests.html", found, params, {}, mode="requests")


async def _answer_request(request: Request, viewer: Viewer, account_id: str, *, accept: bool) -> Response:
    requester_id = path_id(account_id)
    async with runtime_of(request).db.transaction() as session:
        requester = await get_account(session, account_id=requester_id)
        answer = graph.authorize_request if accept else graph.reject_request
        await answer(session, owner=viewer.account, requester_id=requester.id)
    if not is_htmx(request):
        return back(request, "/follow_requests")
    return await fragment(request, "_account_row.html", {
        "a": requester, "rel": None, "mode": "requests", "decided": "accepted" if accept else "rejected"})


@router.post("/web/follow_requests/{account_id}/authorize")
async def authorize(request: Request, account_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _answer_request(request, viewer, account_id, accept=True)


@router.post("/web/follow_requests/{account_id}/reject")
async def reject(request: Request, account_id: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _answer_request(request, viewer, account_id, accept=False)


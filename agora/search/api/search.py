"""Routes: Mastodon's search — `GET /api/v2/search` and `GET /api/v1/accounts/search`.

`/api/v2/search` answers `{"accounts": [Account], "statuses": [Status], "hashtags": [Tag]}` as
Mastodon does, with its parameters: `q` (required), `type` (accounts | hashtags | statuses; absent:
all three), `limit` (default 20, at most 40, per type), `offset`, `account_id` (only this author's
posts), `following` (only accounts the viewer follows), `max_id` / `min_id` (posts older / newer than
that id), `resolve` and `exclude_unreviewed` (accepted; Agora does not federate, so there is nothing
remote to resolve, and every hashtag is "reviewed").

Agora's documented extensions: `mode` = hybrid (the default: keyword and meaning fused, see
`search/hybrid.py`) | lexical | semantic, and `sort` = top (best first) | latest (newest first).
The query syntax (`"phrase"`, `from:`, `#tag`, `since:`, `until:`, `lang:`) is in docs/search.md.

Who may search: anyone, as on Mastodon — without a token only what is public and discoverable is
found; a token must carry `read` or `read:search`. Paging with `offset` needs a signed-in member,
as on Mastodon (401 otherwise), which keeps anonymous scrapers from walking the whole index.
`/api/v1/accounts/search` is for signed-in members with `read:accounts`, as on Mastodon.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts import scopes as scope_rules
from agora.accounts.auth import bearer_token, grant_for, member, require_approved
from agora.accounts.entities import account_json
from agora.accounts.oauth import Grant
from agora.config import Settings
from agora.kit.errors import Forbidden, Unauthorized, Unprocessable
from agora.kit.http import offset_params, truthy
from agora.kit.ids import parse_id
from agora.kit.runtime import runtime_of
from agora.models import Account
from agora.search import hybrid, lexical, trends
from agora.search.api.trends import tag_json
from agora.search.query import MAX_QUERY_CHARS
from agora.social.entities import render_statuses
from agora.social.statuses import load

router = APIRouter(tags=["search"])

TYPES = ("accounts", "hashtags", "statuses")
DEFAULT_LIMIT = 20
MAX_LIMIT = 40
ACCOUNTS_DEFAULT_LIMIT = 40  # /api/v1/accounts/search: Mastodon's defaults
ACCOUNTS_MAX_LIMIT = 80


def _id(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    parsed = parse_id(raw)
    if parsed is None:
        raise Unprocessable(f"{name} must be an id")
    return parsed


def _choice(request: Request, name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    if raw not in choices:
        raise Unprocessable(f"{name} must be one of: {', '.join(choices)}")
    return raw


def _q(request: Request) -> str:
    q = (request.query_params.get("q") or "").strip()
    if not q:
        raise Unprocessable("q: the search must not be empty")
    if len(q) > MAX_QUERY_CHARS:
        raise Unprocessable(f"q: the search is too long: at most {MAX_QUERY_CHARS} characters")
    if "\x00" in q:
        raise Unprocessable("q must not contain NUL (U+0000) characters")
    return q


async def _searcher(request: Request) -> Account | None:
    """The signed-in member, if any; a token given must allow searching (`read` / `read:search`)."""
    grant = await grant_for(request)
    if grant is None:
        if bearer_token(request) is not None:  # a wrong token is not the same as none (Mastodon: 401)
            raise Unauthorized("The access token is invalid")
        return None
    if not scope_rules.allows(set(grant.scopes), "read:search"):
        raise Forbidden("This action is outside the authorized scopes")
    return require_approved(grant.account) if grant.account is not None else None


async def _render_accounts(session: AsyncSession, ids: list[int], settings: Settings) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = {a.id: a for a in await session.scalars(select(Account).where(Account.id.in_(ids)))}
    return [account_json(rows[i], settings) for i in ids if i in rows]


async def _render_tags(session: AsyncSession, names: list[str], settings: Settings, *,
                       signed_in: bool) -> list[dict[str, Any]]:
    return [tag_json(tag_id, name, history, settings, signed_in=signed_in)
            for tag_id, name, history in await trends.named_tag_histories(session, names)]


@router.get("/api/v2/search")
async def search_v2(request: Request) -> JSONResponse:
    q = _q(request)
    kind = _choice(request, "type", TYPES, None)
    mode = _choice(request, "mode", hybrid.MODES, "hybrid")
    sort = _choice(request, "sort", hybrid.SORTS, "top")
    limit, offset = offset_params(request, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    account_id, max_id, min_id = _id(request, "account_id"), _id(request, "max_id"), _id(request, "min_id")
    following = truthy(request.query_params.get("following"))
    viewer = await _searcher(request)
    if offset and viewer is None:
        raise Unauthorized("Search queries pagination is not supported without authentication")
    viewer_id = viewer.id if viewer else None
    runtime = runtime_of(request)
    settings = runtime.settings
    body: dict[str, list[Any]] = {"accounts": [], "statuses": [], "hashtags": []}
    async with runtime.db.transaction(write=False) as session:
        if kind in (None, "accounts"):
            ids = await lexical.search_account_ids(session, q, viewer_id=viewer_id, limit=limit, offset=offset,
                                                   following=following)
            body["accounts"] = await _render_accounts(session, ids, settings)
        if kind in (None, "hashtags"):
            names = await lexical.search_tag_names(session, q, limit=limit, offset=offset)
            body["hashtags"] = await _render_tags(session, names, settings, signed_in=viewer is not None)
        if kind in (None, "statuses"):
            ids = await hybrid.search_statuses(session, q, viewer_id=viewer_id, limit=limit, offset=offset,
                                               mode=mode, sort=sort, account_id=account_id, max_id=max_id,
                                               min_id=min_id)
            body["statuses"] = await render_statuses(session, await load(session, ids=ids), viewer_id=viewer_id,
                                                     settings=settings)
    return JSONResponse(body)


@router.get("/api/v1/accounts/search")
async def search_accounts(request: Request, grant: Grant = Depends(member("read:accounts"))) -> JSONResponse:
    q = _q(request)
    limit, offset = offset_params(request, default=ACCOUNTS_DEFAULT_LIMIT, maximum=ACCOUNTS_MAX_LIMIT)
    following = truthy(request.query_params.get("following"))
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        ids = await lexical.search_account_ids(session, q, viewer_id=grant.account.id, limit=limit, offset=offset,
                                               following=following)
        body = await _render_accounts(session, ids, runtime.settings)
    return JSONResponse(body)

"""Routes: registration, own credentials, public profiles (Mastodon's /api/v1/accounts)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from agora.accounts import oauth, service
from agora.accounts.auth import app_or_member, member, rate_limited
from agora.accounts.entities import account_json, credential_account_json
from agora.accounts.oauth import Grant
from agora.accounts.secrets import Passwords
from agora.kit.errors import NotFound, Unprocessable
from agora.kit.http import path_id
from agora.kit.params import request_params, validate
from agora.kit.runtime import runtime_of
from agora.media.service import prepare_profile_image, store_profile_images
from agora.models import Account, FollowRequest, OAuthApp

router = APIRouter(tags=["accounts"])


def passwords_for(request: Request) -> Passwords:
    settings = runtime_of(request).settings
    return Passwords.for_settings(settings)


class RegisterForm(BaseModel):
    username: str = Field(max_length=100)
    email: str = Field(max_length=300)
    password: str = Field(max_length=2000)
    agreement: bool
    locale: str = Field("en", max_length=10)
    reason: str = Field("", max_length=2000)


@router.post("/api/v1/accounts", dependencies=[Depends(rate_limited("sign_up"))])
async def register(request: Request,
                   grant: Grant = Depends(app_or_member("write:accounts"))) -> dict[str, Any]:
    """Create an account with an app token; answers with the new member's access token."""
    form = validate(RegisterForm, await request_params(request))
    if not form.agreement:
        raise Unprocessable("agreement: you must accept the server rules")
    runtime = runtime_of(request)
    async with runtime.db.transaction() as session:
        account = await service.register(
            session,
            form=service.Registration(form.username, form.email, form.password, form.locale, form.reason),
            settings=runtime.settings, passwords=passwords_for(request),
        )
        # The member's first token belongs to the registering app, with the app token's scopes.
        app = await session.get(OAuthApp, grant.app_id) if grant.app_id is not None else None
        issued = await oauth.issue_token(session, app=app, account=account, scopes=list(grant.scopes),
                                         ttl=runtime.settings.access_token_ttl)
    return token_json(issued)


def token_json(issued: oauth.IssuedToken) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": issued.token.scopes,
        "created_at": int(issued.token.created_at.timestamp()),
    }
    if issued.refresh_token:
        body["refresh_token"] = issued.refresh_token
    if issued.token.expires_at is not None:
        body["expires_in"] = int((issued.token.expires_at - issued.token.created_at).total_seconds())
    return body


@router.get("/api/v1/accounts/verify_credentials")
async def verify_credentials(request: Request, grant: Grant = Depends(member("profile"))) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        account = await service.get_account(session, account_id=grant.account.id)
        return credential_account_json(account, runtime.settings,
                                       follow_requests_count=await _pending_requests(session, account))


async def _pending_requests(session: AsyncSession, account: Account) -> int:
    return int(await session.scalar(select(func.count()).select_from(FollowRequest).where(
        FollowRequest.target_account_id == account.id)) or 0)


class CredentialsForm(BaseModel):
    display_name: str | None = None
    note: str | None = None
    locked: bool | None = None
    bot: bool | None = None
    discoverable: bool | None = None
    indexable: bool | None = None
    # Agora's extension: may the community model learn from my public posts (see docs/ai.md).
    ai_training: bool | None = None
    # …and may the assistant read, quote and cite my posts (see docs/assistant.md).
    ai_reading: bool | None = None
    source: dict[str, Any] | None = None


@router.patch("/api/v1/accounts/update_credentials")
async def update_credentials(request: Request,
                             grant: Grant = Depends(member("write:accounts"))) -> dict[str, Any]:
    params = await request_params(request)
    uploads = {k: params.pop(k) for k in ("avatar", "header") if k in params}
    form = validate(CredentialsForm, params)
    runtime = runtime_of(request)
    source = form.source or {}
    images: dict[str, bytes] = {}
    for kind, value in uploads.items():
        if not isinstance(value, UploadFile):
            raise Unprocessable(f"{kind} must be an uploaded image file")
        data = await value.read(runtime.settings.max_image_bytes + 1)
        images[kind] = await prepare_profile_image(data=data, kind=kind, settings=runtime.settings)
    sensitive = source.get("sensitive")
    ai_training = form.ai_training
    if ai_training is None and source.get("ai_training") is not None:  # as source[…] too, like privacy
        ai_training = validate(CredentialsForm, {"ai_training": source["ai_training"]}).ai_training
    ai_reading = form.ai_reading
    if ai_reading is None and source.get("ai_reading") is not None:
        ai_reading = validate(CredentialsForm, {"ai_reading": source["ai_reading"]}).ai_reading
    changes = service.ProfileChanges(
        display_name=form.display_name, note=form.note, locked=form.locked, bot=form.bot,
        discoverable=form.discoverable, indexable=form.indexable, ai_training=ai_training,
        ai_reading=ai_reading,
        default_visibility=source.get("privacy") or None,
        default_sensitive=str(sensitive).lower() in ("1", "true") if sensitive is not None else None,
        default_language=source.get("language") or None,
    )
    async with runtime.db.transaction() as session:
        stored = await store_profile_images(session, images=images, settings=runtime.settings)
        changes = dataclasses.replace(changes, **stored)
        account = await service.get_account(session, account_id=grant.account.id)
        await service.update_profile(session, account=account, changes=changes, settings=runtime.settings)
        return credential_account_json(account, runtime.settings,
                                       follow_requests_count=await _pending_requests(session, account))


@router.get("/api/v1/accounts/lookup")
async def lookup(request: Request, acct: str = "") -> dict[str, Any]:
    runtime = runtime_of(request)
    username = acct.lstrip("@").split("@", 1)[0]
    domain = acct.lstrip("@").split("@", 1)[1] if "@" in acct.lstrip("@") else None
    if domain is not None and domain.lower() != runtime.settings.domain.lower():
        raise NotFound()
    async with runtime.db.transaction(write=False) as session:
        account = await service.get_account_by_username(session, username=username)
    return account_json(account, runtime.settings)


@router.get("/api/v1/accounts/{account_id}")
async def get_account(request: Request, account_id: str) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        account = await service.get_account(session, account_id=path_id(account_id))
    return account_json(account, runtime.settings)


@router.get("/api/v1/preferences")
async def preferences(request: Request, grant: Grant = Depends(member("read:accounts"))) -> dict[str, Any]:
    """The member's posting defaults, as apps read them to prefill a compose box."""
    async with runtime_of(request).db.transaction(write=False) as session:
        account = await service.get_account(session, account_id=grant.account.id)
    return {
        "posting:default:visibility": account.default_visibility,
        "posting:default:sensitive": account.default_sensitive,
        "posting:default:language": account.default_language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    }

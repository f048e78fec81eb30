"""Routes: `/api/v1/instance`, `/api/v2/instance` and the small lists clients fetch at start-up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from agora import MASTODON_COMPAT_VERSION, __version__
from agora.config import Registrations, Settings
from agora.kit.runtime import runtime_of
from agora.media.images import FORMATS
from agora.models import Account, Status

router = APIRouter(tags=["instance"])
API_VERSIONS = {"mastodon": 6}


def version() -> str:
    return f"{MASTODON_COMPAT_VERSION}+agora.{__version__}"


def _limits(settings: Settings) -> dict[str, Any]:
    return {
        "statuses": {"max_characters": settings.max_status_chars,
                     "max_media_attachments": settings.max_media_attachments, "characters_reserved_per_url": 23},
        "media_attachments": {
            "supported_mime_types": [mime for mime, _ in FORMATS.values()],
            "image_size_limit": settings.max_image_bytes,
            "image_matrix_limit": settings.max_image_pixels,
            "video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0,
            "description_limit": 1500,
        },
        "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0},
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 5},
    }


@router.get("/api/v1/instance")
@router.get("/api/v1/instance/", include_in_schema=False)  # Mastodon.py asks with the slash
async def instance_v1(request: Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    settings = runtime.settings
    async with runtime.db.transaction(write=False) as session:
        users = await session.scalar(select(func.count()).select_from(Account))
        posts = await session.scalar(select(func.count()).select_from(Status))
    return {
        "uri": settings.domain,
        "title": settings.instance_title,
        "short_description": settings.instance_description,
        "description": settings.instance_description,
        "email": settings.contact_email,
        "version": version(),
        "urls": {"streaming_api": settings.streaming_url},
        "stats": {"user_count": users or 0, "status_count": posts or 0, "domain_count": 1},
        "thumbnail": None,
        "languages": ["en", "de", "zh"],
        "registrations": settings.registrations is not Registrations.closed,
        "approval_required": settings.registrations is Registrations.approval,
        "invites_enabled": False,
        "configuration": _limits(settings),
        "contact_account": None,
        "rules": [],
    }


@router.get("/api/v2/instance")
@router.get("/api/v2/instance/", include_in_schema=False)
async def instance_v2(request: Request) -> dict[str, Any]:
    settings = runtime_of(request).settings
    return {
        "domain": settings.domain,
        "title": settings.instance_title,
        "version": version(),
        "source_url": settings.base_url,
        "description": settings.instance_description,
        "usage": {"users": {"active_month": 0}},
        "thumbnail": {"url": f"{settings.base_url}/static/avatar-missing.png"},
        "languages": ["en", "de", "zh"],
        "configuration": {
            "urls": {"streaming": settings.streaming_url, "status": None},
            "vapid": {"public_key": ""},
            "translation": {"enabled": False},
            **_limits(settings),
        },
        "registrations": {
            "enabled": settings.registrations is not Registrations.closed,
            "approval_required": settings.registrations is Registrations.approval,
            "message": None,
        },
        "api_versions": API_VERSIONS,
        "contact": {"email": settings.contact_email, "account": None},
        "rules": [],
    }


@router.get("/api/v1/custom_emojis")
async def custom_emojis() -> list[Any]:
    return []


@router.get("/api/v1/instance/rules")
async def rules() -> list[Any]:
    return []


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}

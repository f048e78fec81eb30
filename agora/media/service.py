"""Media attachments: store uploads, describe them, attach them to posts, serve their files."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.kit.db import on_rollback
from agora.kit.errors import NotFound, Unprocessable
from agora.kit.ids import new_id
from agora.kit.time import utcnow
from agora.media.images import ProcessedImage, process_profile_image, process_upload
from agora.models import MediaAttachment

MAX_DESCRIPTION = 1500
AVATAR_SIZE = (400, 400)
HEADER_SIZE = (1500, 500)


def _relative_dir(media_id: int) -> str:
    now = utcnow()
    return f"{now:%Y/%m}/{media_id % 1000:03d}"


def _write(root: Path, relative: str, data: bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)  # readers never see half a file


async def _write_in(session: AsyncSession, root: Path, relative: str, data: bytes) -> None:
    """Write a file that belongs to the current transaction: if it rolls back, the file goes too."""
    await asyncio.to_thread(_write, root, relative, data)
    on_rollback(session, lambda: (root / relative).unlink(missing_ok=True))


async def prepare_upload(*, data: bytes, settings: Settings) -> ProcessedImage:
    """Check, re-encode and preview an upload (in a worker thread). Call it *before* opening the
    transaction that stores it: on SQLite a write transaction holds the one write lock, and decoding
    a 16 MB photo inside it would stall every other writer."""
    return await asyncio.to_thread(
        process_upload, data, max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels,
        preview_side=settings.preview_max_side,
    )


async def store_upload(
    session: AsyncSession, *, account_id: int, image: ProcessedImage, description: str,
    focus: tuple[float, float], settings: Settings,
) -> MediaAttachment:
    if len(description) > MAX_DESCRIPTION:
        raise Unprocessable(f"description is longer than {MAX_DESCRIPTION} characters")
    media_id = new_id()
    folder = _relative_dir(media_id)
    # Files are served without a permission check (like any CDN), so their names are unguessable:
    # the URL of an attachment to a followers-only post is known only to those who can see the post.
    name = f"{media_id}-{secrets.token_urlsafe(12)}"
    original = f"{folder}/{name}.{image.extension}"
    preview = f"{folder}/{name}.small.{image.preview_extension}"
    await _write_in(session, settings.media_dir, original, image.original)
    await _write_in(session, settings.media_dir, preview, image.preview)
    # GIFs stay "image" (Mastodon would transcode them to "gifv" video; a laptop install has no ffmpeg).
    media = MediaAttachment(
        id=media_id, account_id=account_id, kind="image",
        content_type=image.content_type, file_path=original, preview_path=preview, file_size=len(image.original),
        width=image.width, height=image.height, preview_width=image.preview_width,
        preview_height=image.preview_height, description=description, focus_x=focus[0], focus_y=focus[1],
    )
    session.add(media)
    await session.flush()
    return media


async def prepare_profile_image(*, data: bytes, kind: str, settings: Settings) -> bytes:
    """An avatar or header, checked and cropped (before any transaction: Pillow work takes a while)."""
    size = AVATAR_SIZE if kind == "avatar" else HEADER_SIZE
    return await asyncio.to_thread(
        process_profile_image, data, size=size, max_bytes=settings.max_image_bytes,
        max_pixels=settings.max_image_pixels,
    )


async def store_profile_image(session: AsyncSession, *, png: bytes, kind: str, settings: Settings) -> str:
    media_id = new_id()
    relative = f"{_relative_dir(media_id)}/{kind}-{media_id}-{secrets.token_urlsafe(12)}.png"
    await _write_in(session, settings.media_dir, relative, png)
    return relative


async def store_profile_images(session: AsyncSession, *, images: dict[str, bytes],
                               settings: Settings) -> dict[str, str]:
    """Store prepared avatars and headers ({"avatar": png, ...}) in the caller's transaction, so a refused
    profile edit leaves no file; returns the new paths as `ProfileChanges` fields (`avatar_path`, …).
    Shared by the API's update_credentials and the web settings page."""
    return {f"{kind}_path": await store_profile_image(session, png=png, kind=kind, settings=settings)
            for kind, png in images.items()}


def parse_focus(raw: object) -> tuple[float, float]:
    """Mastodon's focus is "x,y" with each in [-1, 1]."""
    if raw in (None, ""):
        return (0.0, 0.0)
    try:
        x_raw, y_raw = str(raw).split(",")
        x, y = float(x_raw), float(y_raw)
    except ValueError:
        raise Unprocessable("focus must be two numbers \"x,y\" between -1.0 and 1.0") from None
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise Unprocessable("focus must be two numbers \"x,y\" between -1.0 and 1.0")
    return (x, y)


async def own_media(session: AsyncSession, *, account_id: int, media_id: int | None) -> MediaAttachment:
    media = await session.get(MediaAttachment, media_id) if media_id is not None else None
    if media is None or media.account_id != account_id:
        raise NotFound()
    return media


async def update_media(
    session: AsyncSession, *, media: MediaAttachment, description: str | None, focus: object,
) -> MediaAttachment:
    if description is not None:
        if len(description) > MAX_DESCRIPTION:
            raise Unprocessable(f"description is longer than {MAX_DESCRIPTION} characters")
        media.description = description
    if focus not in (None, ""):
        media.focus_x, media.focus_y = parse_focus(focus)
    await session.flush()
    return media


async def media_for_status(
    session: AsyncSession, *, account_id: int, media_ids: list[int], status_id: int | None, limit: int,
) -> list[MediaAttachment]:
    """The caller's own uploads, in the order given, not yet attached to another status."""
    if len(media_ids) > limit:
        raise Unprocessable(f"a post can have at most {limit} media attachments")
    if len(set(media_ids)) != len(media_ids):
        raise Unprocessable("media_ids contains the same id twice")
    if not media_ids:
        return []
    rows = {m.id: m for m in await session.scalars(select(MediaAttachment).where(MediaAttachment.id.in_(media_ids)))}
    found = []
    for position, media_id in enumerate(media_ids):
        media = rows.get(media_id)
        if media is None or media.account_id != account_id or media.status_id not in (None, status_id):
            raise Unprocessable(f"media {media_id} does not exist or is already attached to another post")
        media.position = position
        found.append(media)
    return found


def media_json(media: MediaAttachment, settings: Settings) -> dict:
    url = f"{settings.base_url}/media/{media.file_path}"
    preview = f"{settings.base_url}/media/{media.preview_path}"
    return {
        "id": str(media.id),
        "type": media.kind,
        "url": url,
        "preview_url": preview,
        "remote_url": None,
        "text_url": None,
        "meta": {
            "original": {"width": media.width, "height": media.height, "size": f"{media.width}x{media.height}",
                         "aspect": round(media.width / media.height, 4) if media.height else 1},
            "small": {"width": media.preview_width, "height": media.preview_height,
                      "size": f"{media.preview_width}x{media.preview_height}",
                      "aspect": round(media.preview_width / media.preview_height, 4) if media.preview_height else 1},
            "focus": {"x": media.focus_x, "y": media.focus_y},
        },
        "description": media.description or None,
        "blurhash": media.blurhash,
    }

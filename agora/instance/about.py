"""The about page: what this server is and how to connect. The web app shows it at `/` to
visitors who are not signed in (members go straight to their home timeline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from agora.instance.api import version
from agora.kit.pagination import PageParams
from agora.kit.runtime import runtime_of
from agora.models import Account, Status
from agora.social import timelines

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


async def about(request: Request) -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.db.transaction(write=False) as session:
        members = await session.scalar(select(func.count()).select_from(Account)) or 0
        posts = await session.scalar(select(func.count()).select_from(Status).where(Status.reblog_of_id.is_(None))) or 0
        latest = await timelines.read(session, feed=timelines.public_feed(None), page=PageParams(limit=20))
    return templates.TemplateResponse(request, "about.html", {
        "settings": runtime.settings, "version": version(), "members": members, "posts": posts,
        "statuses": latest.items,
    })

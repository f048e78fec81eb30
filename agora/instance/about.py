"""What a visitor learns about this server at a glance: how many members and posts it has.

The web app's front page (`/` for visitors who are not signed in) shows these beside the latest
public posts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.service import public_accounts
from agora.models import Account, Status


@dataclass(frozen=True, slots=True)
class InstanceFacts:
    members: int
    posts: int


async def facts(session: AsyncSession) -> InstanceFacts:
    members = await session.scalar(select(func.count()).select_from(Account).where(public_accounts())) or 0
    posts = await session.scalar(select(func.count()).select_from(Status).where(
        Status.reblog_of_id.is_(None))) or 0
    return InstanceFacts(members=members, posts=posts)

"""What the search page and the trends panel show, from the search services (no HTTP here).

The trends panel is on several pages (the search page with nothing asked, and the side column of
home and explore), so it is made here once. It is cheap: the trend rankings are cached per process
(`search.trends`), and only the few posts shown are loaded, with the viewer's blocks and mutes
applied by `trending_status_ids` on every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.kit.runtime import runtime_of
from agora.models import Account, Status
from agora.search import trends
from agora.social import graph
from agora.social.statuses import load
from agora.web.render import fragment_kind

SIDE_TAGS = 5  # the side column is narrow: a few of each
SIDE_POSTS = 3
SPARK_WIDTH, SPARK_HEIGHT = 56, 18


@dataclass(slots=True)
class TagLine:
    """A hashtag as a list shows it: its name, its uses over the week, and a sparkline of them."""

    name: str
    week_uses: int
    week_accounts: int
    spark: str  # SVG polyline points, oldest day on the left


@dataclass(slots=True)
class TrendsPanel:
    tags: list[TagLine] = field(default_factory=list)
    posts: list[Status] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.tags and not self.posts


def sparkline(history: tuple[trends.DayUse, ...]) -> str:
    """Polyline points for the week's uses (history is newest day first; drawn oldest first)."""
    uses = [day.uses for day in reversed(history)]
    if len(uses) < 2:
        return ""
    top = max(uses) or 1
    step = SPARK_WIDTH / (len(uses) - 1)
    # Keep a pixel clear at top and bottom, so the 2px stroke is never clipped.
    return " ".join(f"{i * step:.1f},{SPARK_HEIGHT - 1 - (u / top) * (SPARK_HEIGHT - 2):.1f}"
                    for i, u in enumerate(uses))


def tag_line(name: str, history: tuple[trends.DayUse, ...]) -> TagLine:
    return TagLine(name, sum(d.uses for d in history), max((d.accounts for d in history), default=0),
                   sparkline(history))


async def trends_panel(session: AsyncSession, *, viewer_id: int | None, settings: Settings,
                       tags: int = SIDE_TAGS, posts: int = SIDE_POSTS) -> TrendsPanel:
    """Trending tags (with a week of history) and posts the viewer may see, best first."""
    config = trends.TrendConfig.from_settings(settings)
    found_tags = await trends.trending_tags(session, limit=tags, config=config) if tags else []
    ids = await trends.trending_status_ids(session, viewer_id=viewer_id, limit=posts, config=config) if posts else []
    return TrendsPanel([tag_line(t.name, t.history) for t in found_tags], await load(session, ids=ids))


async def tag_lines(session: AsyncSession, names: list[str]) -> list[TagLine]:
    """Search results for hashtags, in the order found, each with its week of use (one query more)."""
    return [tag_line(name, history) for _, name, history in await trends.named_tag_histories(session, names)]


async def accounts_with_relations(session: AsyncSession, ids: list[int], *,
                                  viewer_id: int | None) -> tuple[list[Account], dict[int, graph.Relationship]]:
    """Members by id in the order given, and the viewer's relationship to each (for the follow button)."""
    if not ids:
        return [], {}
    rows = {a.id: a for a in await session.scalars(select(Account).where(Account.id.in_(ids)))}
    accounts = [rows[i] for i in ids if i in rows]
    if viewer_id is None:
        return accounts, {}
    found = await graph.relationships(session, viewer_id=viewer_id, target_ids=[a.id for a in accounts])
    return accounts, {r.id: r for r in found}


async def side_trends(session: AsyncSession, request: Request, viewer_id: int | None) -> TrendsPanel | None:
    """The side column's trends panel: on whole pages only, never on a piece scrolled in."""
    if fragment_kind(request) is not None:
        return None
    return await trends_panel(session, viewer_id=viewer_id, settings=runtime_of(request).settings)

"""Mastodon-style id-cursor pagination: `max_id`, `since_id`, `min_id`, `limit`, and `Link` headers.

Mastodon.py (and every Mastodon app) pages only through the `Link` header, so every list sets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, quote, urlencode

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute
from starlette.datastructures import URL

from agora.kit.errors import Unprocessable
from agora.kit.ids import parse_id

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None

    @classmethod
    def parse(cls, query: dict[str, Any], *, default: int = 20, maximum: int = 40) -> PageParams:
        raw_limit = query.get("limit")
        limit = default
        if raw_limit not in (None, ""):
            try:
                limit = int(raw_limit)
            except (TypeError, ValueError):
                raise Unprocessable("limit must be an integer") from None
        limit = max(1, min(limit, maximum))
        cursors: dict[str, int | None] = {}
        for name in ("max_id", "since_id", "min_id"):
            raw = query.get(name)
            if raw in (None, ""):
                cursors[name] = None
                continue
            parsed = parse_id(raw)
            if parsed is None:
                raise Unprocessable(f"{name} must be an id")
            cursors[name] = parsed
        return cls(limit=limit, **cursors)

    def apply(self, query: Select, cursor: InstrumentedAttribute) -> Select:
        """Bound and order `query` by `cursor` (an id column). Use `finish()` on the rows after."""
        if self.max_id is not None:
            query = query.where(cursor < self.max_id)
        if self.since_id is not None:
            query = query.where(cursor > self.since_id)
        if self.min_id is not None:
            # min_id pages forward from a point: the oldest items just after it, shown newest first.
            return query.where(cursor > self.min_id).order_by(cursor.asc()).limit(self.limit)
        return query.order_by(cursor.desc()).limit(self.limit)

    def finish(self, rows: Sequence[T]) -> list[T]:
        return list(reversed(rows)) if self.min_id is not None else list(rows)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_max_id: int | None  # cursor of the oldest item: older items come after it
    prev_min_id: int | None  # cursor of the newest item: newer items come before it

    @classmethod
    def of(cls, items: list[T], cursors: list[int]) -> Page[T]:
        if not items:
            return cls(items, None, None)
        return cls(items, cursors[-1], cursors[0])


def link_header(url: URL, page: Page[Any], *, base_url: str) -> str | None:
    """`<…?max_id=N>; rel="next", <…?min_id=M>; rel="prev"` keeping the request's other parameters.

    Links start from the configured public `base_url`, not the Host the request came in on, so
    they stay right behind a proxy.
    """
    if page.next_max_id is None:
        return None
    base = [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True)
            if k not in ("max_id", "min_id", "since_id")]
    # The path arrives decoded (a tag like 美食): percent-encode it, or the header cannot be sent at all.
    target = base_url.rstrip("/") + quote(url.path, safe="/@!$&'()*+,;=%~:")
    links = []
    for rel, key, value in (("next", "max_id", page.next_max_id), ("prev", "min_id", page.prev_min_id)):
        params = [*base, (key, str(value))]
        links.append(f'<{target}?{urlencode(params)}>; rel="{rel}"')
    return ", ".join(links)

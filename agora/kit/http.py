"""HTTP edge helpers shared by every router: JSON answers, paged lists with `Link`, id parsing."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

from agora.kit.errors import NotFound, Unprocessable
from agora.kit.ids import parse_id
from agora.kit.pagination import Page, PageParams, link_header


def path_id(raw: str) -> int:
    """An id from the URL; anything that is not a snowflake is simply not found."""
    parsed = parse_id(raw)
    if parsed is None:
        raise NotFound()
    return parsed


def page_params(request: Request) -> PageParams:
    settings = request.app.state.runtime.settings
    return PageParams.parse(dict(request.query_params), default=settings.default_page_limit,
                            maximum=settings.max_page_limit)


def paged(request: Request, page: Page[Any], body: list[Any]) -> JSONResponse:
    response = JSONResponse(body)
    link = link_header(request.url, page, base_url=request.app.state.runtime.settings.base_url)
    if link:
        response.headers["Link"] = link
    return response


def truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


MAX_OFFSET = 10_000  # offset paging (search, trends) goes no deeper: bounds what one request can cost


def int_param(request: Request, name: str, default: int) -> int:
    """An integer query parameter, or `default` when absent or empty; anything else is a 422."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:  # also a 5,000-digit number, which int() refuses
        raise Unprocessable(f"{name} must be an integer") from None


def offset_params(request: Request, *, default: int, maximum: int) -> tuple[int, int]:
    """`limit` clamped to [1, maximum], as every list in the API; `offset` a count from 0 to MAX_OFFSET."""
    limit = max(1, min(int_param(request, "limit", default), maximum))
    offset = int_param(request, "offset", 0)
    if not 0 <= offset <= MAX_OFFSET:
        raise Unprocessable(f"offset must be between 0 and {MAX_OFFSET}")
    return limit, offset

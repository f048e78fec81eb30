"""HTTP edge helpers shared by every router: JSON answers, paged lists with `Link`, id parsing."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

from agora.kit.errors import NotFound
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

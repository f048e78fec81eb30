"""Read request parameters the way Mastodon does: query string, form, multipart or JSON, merged.

Clients differ (Mastodon.py sends forms, browsers JSON, curl either), and arrays arrive as `key[]`.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from agora.kit.errors import AgoraError, BadRequest, PayloadTooLarge, Unprocessable

M = TypeVar("M", bound=BaseModel)

MAX_JSON_BODY = 1024 * 1024


def _merge(into: dict[str, Any], key: str, value: Any) -> None:
    if key.endswith("[]"):
        existing = into.get(key[:-2])
        if isinstance(existing, list):
            existing.append(value)
        else:  # `x=a&x[]=b`: the array form wins, as it names itself a list
            into[key[:-2]] = [value]
        return
    if "[" in key and key.endswith("]"):  # home[last_read_id], source[privacy]…: keep one level
        outer, inner = key[:-1].split("[", 1)
        nested = into.get(outer)
        if not isinstance(nested, dict):
            nested = into[outer] = {}
        nested[inner] = value
        return
    into[key] = value


async def request_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        _merge(params, key, value)
    if request.method in ("GET", "HEAD", "DELETE") and not request.headers.get("content-length"):
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        if len(body) > MAX_JSON_BODY:
            raise PayloadTooLarge(f"a JSON request body may be at most {MAX_JSON_BODY} bytes")
        if body.strip():
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[… nested too deep
                raise BadRequest("request body is not valid JSON") from None
            if not isinstance(data, dict):
                raise BadRequest("request body must be a JSON object")
            params.update(data)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form(max_files=16, max_fields=200)
        except AgoraError:
            raise
        except Exception:
            raise BadRequest("request body is not a valid form") from None
        for key, value in form.multi_items():
            _merge(params, key, value)
    if _contains_nul(params):  # PostgreSQL cannot store U+0000 in text (a 500 there), and no one types it
        raise Unprocessable("text must not contain NUL (U+0000) characters")
    return params


def _contains_nul(value: Any) -> bool:
    stack = [value]  # iterative: a JSON body may nest as deep as the parser allows
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def validate(model: type[M], params: dict[str, Any]) -> M:
    """Parse into `model`, turning the first validation problem into a readable 422."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise Unprocessable(f"{field}: {first['msg']}") from None


def upload(params: dict[str, Any], name: str) -> UploadFile | None:
    value = params.get(name)
    return value if isinstance(value, UploadFile) else None

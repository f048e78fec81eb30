"""`/web/live`: the signed-in browser's live stream — the `user` stream of the streaming API,
authenticated by the session cookie (EventSource cannot send an Authorization header).

It is the same gateway and the same per-viewer checks as `/api/v1/streaming/user`; the page's
script only counts new posts and notifications and asks the server for the HTML when the member
wants it, so nothing private is rendered into an event.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from agora.kit.runtime import runtime_of
from agora.streaming.api import event_stream
from agora.streaming.gateway import Listener
from agora.streaming.streams import Stream
from agora.web.render import prepare
from agora.web.session import Viewer, require_viewer

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare)])
LIVE_PATH = "/web/live"  # an event stream: the server's compression leaves it alone


@router.get(LIVE_PATH)
async def live(request: Request, viewer: Viewer = Depends(require_viewer)) -> StreamingResponse:
    stream = Stream("user")
    listener = Listener(runtime_of(request), viewer.id, viewer.token)  # ends when the session is signed out
    listener.streams.append(stream)
    return event_stream(runtime_of(request), listener, stream)

"""`/web/live`: the signed-in browser's live stream — the `user` stream of the streaming API, and
the `chat` stream on the same connection, authenticated by the session cookie (EventSource cannot
send an Authorization header).

It is the same gateway and the same per-viewer checks as `/api/v1/streaming/user` and
`/api/v1/streaming/chat`; the page's script only counts new posts, notifications and unread chats,
and asks the server for the HTML when the member wants it, so nothing private is rendered into an
event. Chat rides this connection rather than one of its own because a browser opens at most six
connections to a site: two streams per tab would leave a member with three tabs unable to load a page.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from agora.chat.delivery import ChatFeed, parse_cursor
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
    runtime = runtime_of(request)
    listener = Listener(runtime, viewer.id, viewer.token)  # ends when the session is signed out
    listener.streams.append(stream)
    # Chat events carry an `id:` (their cursor); EventSource resends the last one as Last-Event-ID
    # when it reconnects, and that is newer than the `cursor` the page was rendered with.
    cursor = request.headers.get("last-event-id") or request.query_params.get("cursor")
    listener.chat = ChatFeed(runtime, viewer.id, parse_cursor(cursor))
    return event_stream(runtime, listener, stream)

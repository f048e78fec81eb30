"""create_app(settings) -> FastAPI: mounts every router; the lifespan starts and stops the runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from agora import __version__
from agora.accounts import api as accounts_api
from agora.accounts import oauth_api
from agora.accounts.oauth import OAuthError
from agora.ai import openai_api
from agora.ai.member import start_assistant
from agora.chat import api as chat_api
from agora.config import Settings
from agora.instance import api as instance_api
from agora.kit.errors import AgoraError, Unprocessable
from agora.kit.logging import configure_logging
from agora.kit.middleware import CompressionMiddleware, RequestMiddleware
from agora.kit.runtime import Runtime
from agora.media import api as media_api
from agora.payments.api import chat_money as chat_money_api
from agora.payments.api import holds as holds_api
from agora.payments.api import requests as payment_requests_api
from agora.payments.api import transfers as transfers_api
from agora.payments.api import wallet as wallet_api
from agora.payments.api.common import wants_stripe_errors
from agora.payments.errors import stripe_body
from agora.payments.expiry import sweep_forever
from agora.search.api import for_you as for_you_api
from agora.search.api import search as search_api
from agora.search.api import trends as trends_api
from agora.search.embedder import start_embedder
from agora.social.api import graph as graph_api
from agora.social.api import notifications as notifications_api
from agora.social.api import statuses as statuses_api
from agora.social.api import timelines as timelines_api
from agora.streaming import api as streaming_api
from agora.web import app as web_app
from agora.web.pages.live import LIVE_PATH

log = logging.getLogger("agora")
STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    runtime = Runtime.create(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        # Chat transfers, red packets and holds that waited too long go back to their senders.
        sweeper = asyncio.create_task(sweep_forever(runtime.db, settings.payments_sweep_seconds)) \
            if settings.payments_sweep_seconds > 0 else None
        # New and edited posts get their sentence embeddings in the background, within seconds.
        embedder = start_embedder(runtime) if settings.embedder_enabled else None
        # The @assistant member: its account (made once), and its worker answering mentions and chats.
        assistant = await start_assistant(runtime)
        backend = "sqlite" if settings.is_sqlite else "postgresql"
        log.info("agora started", extra={"base_url": settings.base_url, "database": backend})
        try:
            yield
        finally:
            if assistant is not None:
                await assistant.stop()
            if embedder is not None:
                await embedder.stop()
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await runtime.stop()

    app = FastAPI(title="Agora", version=__version__, lifespan=lifespan,
                  description="Agora's API: the Mastodon client API, OAuth 2, and Agora's own extensions.")
    app.state.runtime = runtime
    _install_error_handlers(app)
    app.add_middleware(RequestMiddleware)
    # Streams are never gzipped (a compressor buffers): live updates, the assistant's tokens, SSE completions.
    app.add_middleware(CompressionMiddleware, streaming_paths=("/api/v1/streaming", LIVE_PATH, "/assistant/ask",
                                                               "/v1/chat/completions"))

    # Order matters where paths overlap: /api/v1/accounts/relationships before /api/v1/accounts/{id}.
    # search_api first: its /api/v1/accounts/search must win over /api/v1/accounts/{id}.
    for router in (search_api.router, graph_api.router, accounts_api.router, oauth_api.router, statuses_api.router,
                   timelines_api.router, notifications_api.router, media_api.router, instance_api.router,
                   chat_api.router, streaming_api.router, wallet_api.router, transfers_api.router,
                   payment_requests_api.router, holds_api.router, chat_money_api.router, trends_api.router,
                   for_you_api.router, openai_api.router):
        app.include_router(router)
    web_app.install(app)  # the browser's pages, and `/`

    settings.media_dir.mkdir(parents=True, exist_ok=True)
    app.mount("/media", StaticFiles(directory=settings.media_dir), name="media")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OAuthError)
    async def oauth_error(_request: Request, exc: OAuthError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "error_description": exc.message}, status_code=exc.status_code)

    @app.exception_handler(AgoraError)
    async def agora_error(request: Request, exc: AgoraError) -> Response:
        if web_app.is_web_request(request):
            return await web_app.error_page(request, exc)
        headers = exc.details.get("headers")
        if wants_stripe_errors(request):
            return JSONResponse(stripe_body(exc), status_code=exc.status_code, headers=headers)
        return JSONResponse({"error": exc.message}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        if wants_stripe_errors(request):
            return JSONResponse(stripe_body(Unprocessable(f"{where}: {first.get('msg')}", details={
                "param": where, "code": "parameter_invalid"})), status_code=422)
        return JSONResponse({"error": f"{where}: {first.get('msg')}" if where else str(first.get("msg"))},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and web_app.wants_page(request):  # a browser on a mistyped address
            return await web_app.not_found_page(request)
        message = "Record not found" if exc.status_code == 404 else str(exc.detail)
        if wants_stripe_errors(request):
            error = AgoraError(message)
            error.status_code = exc.status_code
            return JSONResponse(stripe_body(error), status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "Something went wrong on our side; it has been logged."}, status_code=500)

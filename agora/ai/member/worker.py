"""The assistant's worker: finds mentions and chat messages to answer, and answers each exactly once.

Never on the posting path: a member's post or message commits first, and the worker answers within
a poll interval (sooner: it wakes when it hears of a notification for the assistant or of any chat
activity after a commit, by wrapping the database's event sink as the search embedder does).

Every server process runs one, and that is safe: each answer is claimed with a unique row inserted
in the reply's own transaction (models.py), so of two processes (or a process and the CLI's
`agora ai assistant-run-once`) that pick the same mention, one replies and the other finds the claim
taken and moves on. A restart forgets nothing: what is pending is read from the database each time.

A mention or message whose answer fails in an unexpected way is claimed without a reply (and the
failure logged), so that one bad input cannot make the worker retry it forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import DBAPIError

from agora.ai.assistant.generative import EngineLike
from agora.config import Settings
from agora.kit.background import BackgroundTask
from agora.kit.db import Database
from agora.models.ai import CHAT_MESSAGE, STATUS
from agora.social.events import notifications_channel

from . import chats, mentions
from .account import assistant_account, ensure_assistant_account
from .claims import claim

log = logging.getLogger("agora.ai")
BATCH = 20
RUNTIME_KEY = "ai.member.worker"


def _engine(settings: Settings) -> EngineLike | None:
    if not settings.assistant_generative:
        return None  # extractive answers need no model: do not load one
    from agora.ai.engines import engine_for

    return engine_for(settings)  # type: ignore[return-value]


async def _give_up(db: Database, kind: str, source_id: int) -> None:
    with contextlib.suppress(Exception):
        async with db.transaction() as session:
            await claim(session, kind=kind, source_id=source_id)


async def run_once(db: Database, settings: Settings) -> int:
    """Answer everything pending now; returns how many mentions and messages this call claimed."""
    if not settings.ai_enabled:  # the operator's kill switch: nothing is answered (nor claimed)
        return 0
    async with db.transaction(write=False) as session:
        assistant = await assistant_account(session, settings)
        assistant_id = assistant.id if assistant is not None else None
    if assistant_id is None:
        return 0
    engine = _engine(settings)
    done = 0
    while True:
        async with db.transaction(write=False) as session:
            posts = await mentions.pending(session, assistant_id=assistant_id, limit=BATCH)
            messages = await chats.pending(session, assistant_id=assistant_id, username=settings.assistant_username,
                                           limit=BATCH)
        if not posts and not messages:
            return done
        for status_id in posts:
            try:
                done += await mentions.answer_mention(db, status_id=status_id, assistant_id=assistant_id,
                                                      settings=settings, engine=engine)
            except DBAPIError:  # the database hiccuped (a lock timeout, a restart): unclaimed, next round
                log.warning("assistant will retry a mention", exc_info=True, extra={"status_id": status_id})
                return done
            except Exception:
                log.exception("assistant could not answer a mention", extra={"status_id": status_id})
                await _give_up(db, STATUS, status_id)
        for message_id in messages:
            try:
                done += await chats.answer_message(db, message_id=message_id, assistant_id=assistant_id,
                                                   settings=settings, engine=engine)
            except DBAPIError:
                log.warning("assistant will retry a chat message", exc_info=True, extra={"message_id": message_id})
                return done
            except Exception:
                log.exception("assistant could not answer a chat message", extra={"message_id": message_id})
                await _give_up(db, CHAT_MESSAGE, message_id)


class AssistantWorker(BackgroundTask):
    """One per process: `run_forever` is the task; `notice` hears the bus events after commits."""

    name = "agora-assistant"

    def __init__(self, db: Database, settings: Settings, *, assistant_id: int | None) -> None:
        super().__init__(db)
        self.settings = settings
        self._channel = notifications_channel(assistant_id) if assistant_id is not None else None
        self.answered = 0

    def notice(self, events: Iterable[Any]) -> None:
        for message in events:
            if getattr(message, "event", None) == "chat" or getattr(message, "channel", None) == self._channel:
                self.wake.set()
                return

    async def run_forever(self) -> None:
        while True:
            self.wake.clear()
            try:
                self.answered += await run_once(self.db, self.settings)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad round (database restarting…) must not end the task
                log.exception("assistant worker round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.assistant_poll_seconds)


async def start_assistant(runtime: Any) -> AssistantWorker | None:
    """At start-up: make sure @assistant exists (one cheap look-up), then start the worker (unless
    `assistant_poll_seconds` is 0). A failure here is logged, never stops the server."""
    settings: Settings = runtime.settings
    try:
        async with runtime.db.transaction() as session:
            assistant_id = (await ensure_assistant_account(session, settings)).id
    except Exception:
        log.exception("could not make the @assistant account; the assistant will not answer members")
        return None
    if settings.assistant_poll_seconds <= 0:
        return None
    worker = AssistantWorker(runtime.db, settings, assistant_id=assistant_id)
    runtime.shared[RUNTIME_KEY] = worker
    worker.start()
    return worker

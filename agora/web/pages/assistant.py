"""The assistant in the browser: `/assistant` (ask a question, or explain a post, or summarise a thread).

Without JavaScript the form posts to `/assistant` and the page comes back with the whole answer. With
it, assistant.js sends the same form to `/assistant/ask`, which answers as an event stream: a `start`
event (the answer's labels), `token` events (the text, a word at a time) and a `done` event (the
finished answer as HTML, the same piece the no-script page shows). The answer is composed at once
(extractive answers are chosen, not generated, and generative ones are checked whole before anyone
sees them), so the stream paces the words out rather than waiting on a model.

Every answer is recorded in the assistant's audit log (agora/ai/audit.py) before it is shown.
Explain and summarise read only posts the member may see (404 for any other: never 403, which would
confirm the post exists). When the operator has switched the assistant off
(`ai_enabled = False`) the page says so and the ask endpoints answer 503.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from markupsafe import Markup, escape
from starlette.datastructures import FormData

from agora.accounts.auth import rate_limited
from agora.ai.assistant import MAX_QUESTION_CHARS, Answer, read_question
from agora.ai.assistant.actions import read_explained, read_thread
from agora.ai.assistant.followup import standalone_question
from agora.ai.audit import record_answer
from agora.ai.engines import engine_for
from agora.kit.errors import AgoraError, NotFound
from agora.kit.ids import parse_id
from agora.kit.runtime import runtime_of
from agora.models import Status
from agora.social import statuses
from agora.web import forms
from agora.web.i18n import gettext as _
from agora.web.render import page, prepare, templates
from agora.web.session import Viewer, require_viewer, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare), Depends(verify_csrf)])

ASK_PATH = "/assistant/ask"
_PIECE = re.compile(r"\s*\S+")  # a word with the space before it: the pieces join back to the text
_MARKER = re.compile(r"\[(\d{1,3})\]")
WORD_DELAY_S = 0.012  # between streamed words, so the answer is seen arriving
MAX_STREAM_S = 1.5  # however long the answer, its words take at most this long to arrive


class AssistantOff(AgoraError):
    status_code = 503


@dataclass(frozen=True, slots=True)
class Asked:
    """What the member asked: a question, or a post to explain, or a thread to summarise."""

    question: str = ""
    explain: int | None = None
    thread: int | None = None
    previous: str = ""  # the question answered before, as it was read: a follow-up leans on it

    @property
    def kind(self) -> str:
        return "explain" if self.explain else "thread" if self.thread else "question"

    def standalone(self) -> str:
        """The question as the assistant reads it: a follow-up with the question before (followup.py)."""
        return standalone_question(self.question, [self.previous], max_chars=MAX_QUESTION_CHARS)

    def audit_question(self) -> str:
        if self.explain:
            return f"Explain post {self.explain}"
        if self.thread:
            return f"Summarise the thread of post {self.thread}"
        return self.standalone()


def _asked(values: Any, *, from_form: bool = False) -> Asked:
    """From the query string or a form: an id that is not an id is a post that does not exist."""
    def an_id(name: str) -> int | None:
        raw = values.get(name)
        if not isinstance(raw, str) or not raw:
            return None
        parsed = parse_id(raw)
        if parsed is None:
            raise NotFound()
        return parsed

    def text(name: str, limit: int) -> str:
        raw = values.get(name)
        return raw.replace("\x00", "")[:limit] if isinstance(raw, str) else ""

    # `previous` only from the form the member sent: from a link, someone else's words would steer
    # their next question.
    return Asked(question=text("q", MAX_QUESTION_CHARS * 2), explain=an_id("explain"), thread=an_id("thread"),
                 previous=text("previous", MAX_QUESTION_CHARS) if from_form else "")


def _form_asked(form: FormData) -> Asked:
    return _asked({name: forms.text(form, name, limit=MAX_QUESTION_CHARS * 2)
                   for name in ("q", "explain", "thread", "previous")}, from_form=True)


# --- the answer as HTML ---------------------------------------------------------------------------

def post_path(account: str, status_id: int) -> str:
    """The cited post's thread page in the web app (citations carry the API's absolute URL)."""
    return f"/@{account}/{status_id}"


def answer_html(answer: Answer) -> Markup:
    """The answer's text: its lines as paragraphs (a heading's "- " items as a list), each [n] a link
    to the cited post. Everything from members is escaped; only the markup made here is trusted."""
    cited = {c.number: c for c in answer.citations}

    def linked(line: str) -> str:
        def link(match: re.Match[str]) -> str:
            citation = cited.get(int(match.group(1)))
            if citation is None:
                return match.group(0)
            label = _("Source %(n)d, @%(name)s") % {"n": citation.number, "name": citation.account}
            return (f'<a class="cite-ref" href="{escape(post_path(citation.account, citation.status_id))}" '
                    f'aria-label="{escape(label)}">[{citation.number}]</a>')
        return _MARKER.sub(link, str(escape(line)))

    lines = [line for line in answer.text.split("\n") if line.strip()]
    items = [line[2:] for line in lines if line.startswith("- ")]
    paragraphs = [line for line in lines if not line.startswith("- ")]
    html = "".join(f"<p>{linked(p)}</p>" for p in paragraphs)
    if items:
        html += "<ul>" + "".join(f"<li>{linked(i)}</li>" for i in items) + "</ul>"
    return Markup(html)  # safe: escaped text and our own tags only


def mode_label(answer: Answer) -> str:
    if answer.mode == "generative":
        return _("Generative: written by the community model, each sentence checked against its sources")
    return _("Extractive: quotes members' posts")


def answer_context(answer: Answer) -> dict[str, Any]:
    return {"answer": answer, "answer_text": answer_html(answer), "mode_label": mode_label(answer),
            "post_path": post_path}


# --- answering ------------------------------------------------------------------------------------

async def _answer(request: Request, viewer: Viewer, asked: Asked) -> Answer:
    """The answer to what was asked, recorded in the audit log."""
    runtime = runtime_of(request)
    settings = runtime.settings
    if not settings.ai_enabled:
        raise AssistantOff(_("The assistant is switched off on this server."))
    engine = engine_for(settings) if settings.assistant_generative else None
    async with runtime.db.transaction(write=False) as session:
        if asked.explain:
            reading = await read_explained(session, asker_id=viewer.id, status_id=asked.explain, settings=settings)
        elif asked.thread:
            reading = await read_thread(session, asker_id=viewer.id, status_id=asked.thread, settings=settings)
        else:
            reading = await read_question(session, asker_id=viewer.id, question=asked.standalone(), settings=settings)
    answer = await reading.compose(settings=settings, engine=engine)  # after the transaction: reading.py
    # Recorded in a short write transaction of its own (as the /v1 API does): answering may take
    # seconds, and must not hold the database's write lock meanwhile.
    async with runtime.db.transaction() as session:
        await record_answer(session, asker_id=viewer.id, surface="web", question=asked.audit_question(),
                            answer=answer)
    return answer


async def _target(request: Request, viewer: Viewer, asked: Asked) -> Status | None:
    """The post being explained or whose thread is summarised, shown above the answer (404 if unseen)."""
    status_id = asked.explain or asked.thread
    if status_id is None:
        return None
    async with runtime_of(request).db.transaction(write=False) as session:
        status = await statuses.get_visible(session, status_id=status_id, viewer_id=viewer.id)
        return status.reblog if status.reblog_of_id is not None and status.reblog is not None else status


async def _page(request: Request, viewer: Viewer, asked: Asked, answer: Answer | None, *,
                error: str | None = None, status: int = 200) -> Response:
    enabled = runtime_of(request).settings.ai_enabled
    target = await _target(request, viewer, asked) if enabled else None
    context: dict[str, Any] = {"asked": asked, "target": target, "enabled": enabled, "error": error,
                               "ask_path": ASK_PATH, "max_question": MAX_QUESTION_CHARS, "post_path": post_path}
    if answer is not None:
        context.update(answer_context(answer))
        context["follow_on"] = follow_on(asked, answer)
    return await page(request, "assistant.html", context, status=status)


@router.get("/assistant")
async def assistant_page(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    return await _page(request, viewer, _asked(request.query_params), None)


# The same per-member budget as /v1 (AGORA_RATE_LIMIT_AI): each answer may take seconds of model time.
ai_budget = Depends(rate_limited("ai"))


@router.post("/assistant", dependencies=[ai_budget])
async def ask_without_script(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    """The form posted without JavaScript: the page again, with the whole answer."""
    asked = _form_asked(await request.form())
    if not runtime_of(request).settings.ai_enabled:
        return await _page(request, viewer, asked, None, status=503)
    try:
        answer = await _answer(request, viewer, asked)
    except NotFound:
        raise
    except AgoraError as refused:  # an empty or overlong question: said beside the box, typed text kept
        return await _page(request, viewer, asked, None, error=refused.message, status=refused.status_code)
    return await _page(request, viewer, asked, answer)


def follow_on(asked: Asked, answer: Answer) -> str:
    """What the next question may follow on from: this question as it was read (none after a refusal)."""
    return asked.standalone() if asked.kind == "question" and not answer.refused else ""


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


@router.post(ASK_PATH, dependencies=[ai_budget])
async def ask_stream(request: Request, viewer: Viewer = Depends(require_viewer)) -> Response:
    """The same answer as an event stream: `start`, then `token` pieces that join to the text, then `done`."""
    asked = _form_asked(await request.form())
    answer = await _answer(request, viewer, asked)
    # Rendered now, while the reader's language is active, not inside the stream.
    context = answer_context(answer)
    finished = templates.get_template("_assistant_answer.html").render(context)
    head = templates.get_template("_assistant_head.html").render(context)
    pieces = _PIECE.findall(answer.text)
    delay = min(WORD_DELAY_S, MAX_STREAM_S / max(1, len(pieces)))

    async def events() -> AsyncIterator[bytes]:
        yield _event("start", {"mode": answer.mode, "refused": answer.refused, "html": head})
        for piece in pieces:
            yield _event("token", {"text": piece})
            await asyncio.sleep(delay)
        yield _event("done", {"html": finished, "citations": [c.status_id for c in answer.citations],
                              "follow_on": follow_on(asked, answer)})

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

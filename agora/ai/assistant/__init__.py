"""The grounded, citing assistant's answering core (issue 8; docs/assistant.md).

`answer_question` is the one entry point (the /v1 API, the @assistant member and the web app call
it): policy first (unlawful requests are refused before anything is read), then retrieval as the
asker, then a generative answer when a model is configured and generation is on, checked sentence by
sentence against its sources, else (or when nothing it wrote survives the check) the extractive
answer, quoted from members' posts.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.kit.errors import Unprocessable

from .answer import EXTRACTIVE, EXTRACTIVE_MODEL, Answer, AnswerSentence, Citation
from .extractive import answer_extractively
from .generative import EngineLike, answer_generatively
from .policy import refusal_category, refusal_text
from .retrieve import retrieve

__all__ = ["MAX_QUESTION_CHARS", "Answer", "AnswerSentence", "Citation", "answer_question"]

MAX_QUESTION_CHARS = 2000


async def answer_question(session: AsyncSession, *, asker_id: int, question: str, settings: Settings,
                          engine: EngineLike | None, public_only: bool = False) -> Answer:
    """A cited answer to `question` from the posts `asker_id` may see (or a refusal, or "none found");
    with `public_only`, from public and unlisted posts only, for a reply others will read too.

    Raises `Unprocessable` (422) for an empty question or one longer than MAX_QUESTION_CHARS."""
    question = " ".join((question or "").split())
    if not question:
        raise Unprocessable("The question is empty.")
    if len(question) > MAX_QUESTION_CHARS:
        raise Unprocessable(f"The question is longer than {MAX_QUESTION_CHARS} characters.")
    category = refusal_category(question)
    if category is not None:
        return Answer(text=refusal_text(category), mode=EXTRACTIVE, refused=True, model=EXTRACTIVE_MODEL)
    sources = await retrieve(session, asker_id=asker_id, question=question, settings=settings,
                             public_only=public_only)
    answer = None
    if engine is not None and settings.assistant_generative and sources:
        answer = await answer_generatively(question, sources, engine)
    if answer is None:
        answer = await answer_extractively(question, sources)
    answer.retrieved = [source.status_id for source in sources]  # what the audit log records as read
    return answer

"""The grounded, citing assistant's answering core (issue 8; docs/assistant.md).

`read_question` then `compose` is the one path (the /v1 API, the @assistant member and the web app
take it): policy first (unlawful requests are refused before anything is read), then retrieval as
the asker, inside a read transaction; then, after the transaction has ended (reading.py says why), a
generative answer when a model is configured and generation is on, checked sentence by sentence
against its sources, else (or when nothing it wrote survives the check) the extractive answer,
quoted from members' posts. `answer_question` does both steps for a caller holding no transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.kit.db import Database
from agora.kit.errors import Unprocessable

from .answer import EXTRACTIVE, EXTRACTIVE_MODEL, Answer, AnswerSentence, Citation
from .extractive import answer_extractively
from .generative import EngineLike, answer_generatively
from .policy import refusal_category, refusal_text
from .reading import Reading, Ready
from .retrieve import Source, retrieve

__all__ = ["MAX_QUESTION_CHARS", "Answer", "AnswerSentence", "Citation", "Reading", "Ready", "answer_question",
           "read_question"]

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True, slots=True)
class QuestionReading:
    """A question and the posts retrieved for it, in rank order."""

    question: str
    sources: list[Source]

    async def compose(self, *, settings: Settings, engine: EngineLike | None) -> Answer:
        answer = None
        if engine is not None and settings.assistant_generative and self.sources:
            answer = await answer_generatively(self.question, self.sources, engine)
        if answer is None:
            answer = await answer_extractively(self.question, self.sources)
        answer.retrieved = [source.status_id for source in self.sources]  # what the audit log records as read
        return answer


async def read_question(session: AsyncSession, *, asker_id: int, question: str, settings: Settings,
                        public_only: bool = False) -> Reading:
    """What answering `question` needs from the posts `asker_id` may see (or a refusal); with
    `public_only`, from public and unlisted posts only, for a reply others will read too.

    Raises `Unprocessable` (422) for an empty question or one longer than MAX_QUESTION_CHARS."""
    question = " ".join((question or "").split())
    if not question:
        raise Unprocessable("The question is empty.")
    if len(question) > MAX_QUESTION_CHARS:
        raise Unprocessable(f"The question is longer than {MAX_QUESTION_CHARS} characters.")
    category = refusal_category(question)
    if category is not None:
        return Ready(Answer(text=refusal_text(category), mode=EXTRACTIVE, refused=True, model=EXTRACTIVE_MODEL))
    sources = await retrieve(session, asker_id=asker_id, question=question, settings=settings,
                             public_only=public_only)
    return QuestionReading(question, sources)


async def answer_question(db: Database, *, asker_id: int, question: str, settings: Settings,
                          engine: EngineLike | None, public_only: bool = False) -> Answer:
    """A cited answer to `question`: read in a read transaction of its own, composed after it."""
    async with db.transaction(write=False) as session:
        reading = await read_question(session, asker_id=asker_id, question=question, settings=settings,
                                      public_only=public_only)
    return await reading.compose(settings=settings, engine=engine)

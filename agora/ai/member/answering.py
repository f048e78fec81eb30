"""Answers for an audience: what the asker may see, narrowed to what everyone the reply reaches may see.

`answer_question` answers from every post the asker may see — right for a direct reply or a direct
chat, which only the asker reads. A reply in a public thread or a group chat is read by others, and
quoting into it a followers-only post that only the asker may see would leak that post. So those
answers are made from public and unlisted posts only (`public_only`): the same pipeline as
`answer_question` (policy, retrieval as the asker, generation when configured, else extraction),
with the non-public sources taken out before anything is composed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.ai.assistant import MAX_QUESTION_CHARS, Answer, answer_question
from agora.ai.assistant.answer import EXTRACTIVE, EXTRACTIVE_MODEL
from agora.ai.assistant.extractive import answer_extractively
from agora.ai.assistant.generative import EngineLike, answer_generatively
from agora.ai.assistant.policy import refusal_category, refusal_text
from agora.ai.assistant.retrieve import retrieve
from agora.ai.audit import record_answer
from agora.config import Settings
from agora.models import Status
from agora.social.visibility import PUBLICLY_READABLE

HELP = ("Ask me a question and I will answer from the community's posts you can see, citing each one. "
        "In a group, \"summarise what I missed\" sums up the messages since you last read. "
        "\"Send 20 to @bob for pizza\" gets you a payment draft to confirm in your wallet (I never move money).")


async def answer_for(session: AsyncSession, *, asker_id: int, question: str, settings: Settings,
                     engine: EngineLike | None, public_only: bool) -> Answer:
    """A cited answer for `asker_id`; with `public_only`, made only from public and unlisted posts."""
    question = " ".join(question.split())[:MAX_QUESTION_CHARS]
    if not question:
        return Answer(text=HELP, mode=EXTRACTIVE, model=EXTRACTIVE_MODEL)
    if not public_only:
        return await answer_question(session, asker_id=asker_id, question=question, settings=settings,
                                     engine=engine)
    category = refusal_category(question)
    if category is not None:
        return Answer(text=refusal_text(category), mode=EXTRACTIVE, refused=True, model=EXTRACTIVE_MODEL)
    sources = await retrieve(session, asker_id=asker_id, question=question, settings=settings)
    if sources:
        public = set(await session.scalars(select(Status.id).where(
            Status.id.in_([s.status_id for s in sources]), Status.visibility.in_(PUBLICLY_READABLE))))
        sources = [s for s in sources if s.status_id in public]
    answer = None
    if engine is not None and settings.assistant_generative and sources:
        answer = await answer_generatively(question, sources, engine)
    if answer is None:
        answer = await answer_extractively(question, sources)
    answer.retrieved = [source.status_id for source in sources]
    return answer


async def record(session: AsyncSession, *, asker_id: int, surface: str, question: str, answer: Answer) -> None:
    """The audit log's row for this answer, in the reply's transaction (kept or lost with it)."""
    await record_answer(session, asker_id=asker_id, surface=surface, question=question, answer=answer)

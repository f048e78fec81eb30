"""Answers for an audience: what the asker may see, narrowed to what everyone the reply reaches may see.

`read_question` answers from every post the asker may see — right for a direct reply or a direct
chat, which only the asker reads. A reply in a public thread or a group chat is read by others, and
quoting into it a followers-only post that only the asker may see would leak that post. So those
answers are made from public and unlisted posts only (`public_only`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agora.ai.assistant import MAX_QUESTION_CHARS, Answer, Reading, Ready, read_question
from agora.ai.assistant.answer import EXTRACTIVE, EXTRACTIVE_MODEL
from agora.config import Settings

HELP = ("Ask me a question and I will answer from the community's posts you can see, citing each one. "
        "In a group, \"summarise what I missed\" sums up the messages since you last read. "
        "\"Send 20 to @bob for pizza\" gets you a payment draft to confirm in your wallet (I never move money).")


async def read_for(session: AsyncSession, *, asker_id: int, question: str, settings: Settings,
                   public_only: bool) -> Reading:
    """What a cited answer for `asker_id` needs; a mention with nothing but the name gets the help
    text, an over-long one is cut (a member's post is not an API request to refuse)."""
    question = " ".join(question.split())[:MAX_QUESTION_CHARS]
    if not question:
        return Ready(Answer(text=HELP, mode=EXTRACTIVE, model=EXTRACTIVE_MODEL))
    return await read_question(session, asker_id=asker_id, question=question, settings=settings,
                               public_only=public_only)

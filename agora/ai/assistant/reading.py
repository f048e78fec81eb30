"""Answering in two steps: read in a transaction, then compose after it has ended.

Reading (policy, retrieval as the asker, the thread around a post) needs the database; composing
(embedding sentences, scoring them, a language model generating for seconds) does not. Keeping them
apart means no answer holds a database connection, or SQLite's read snapshot, while a model writes:
callers read inside `db.transaction(write=False)`, leave it, then `await reading.compose(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agora.config import Settings

from .answer import Answer
from .generative import EngineLike


class Reading(Protocol):
    """What was read for one answer; `compose` makes the answer from it without the database."""

    async def compose(self, *, settings: Settings, engine: EngineLike | None) -> Answer: ...


@dataclass(frozen=True, slots=True)
class Ready:
    """An answer known once read (a refusal, the help text, a payment draft): nothing to compose."""

    answer: Answer

    async def compose(self, *, settings: Settings, engine: EngineLike | None) -> Answer:
        return self.answer

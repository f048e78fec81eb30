"""What the assistant returns: the answer text with inline [n] markers, its citations, and each
answer sentence with the result of the support check — the shape the /v1 API and the web app show."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EXTRACTIVE = "extractive"
GENERATIVE = "generative"
# The "model" of extractive answers: no language model wrote them; sentences were picked by the
# MiniLM sentence embeddings and keyword overlap (see extractive.py).
EXTRACTIVE_MODEL = "agora-extractive"


@dataclass(frozen=True, slots=True)
class Citation:
    number: int  # the n of the inline [n] marker
    status_id: int
    url: str
    account: str  # the author's acct
    excerpt: str  # the cited post's text (shortened), as the author typed it
    created_at: str  # ISO 8601, UTC


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    text: str  # without its [n] markers
    cited: list[int]  # citation numbers
    supported: bool  # the support check's verdict (support.py)
    support: float  # the best cosine similarity to a sentence of the cited posts (0 when nothing is cited)


@dataclass(slots=True)
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    mode: str = EXTRACTIVE
    refused: bool = False
    model: str = EXTRACTIVE_MODEL
    # Every post the answer was made from (cited or not), for the audit log; not shown to the asker.
    retrieved: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": [asdict(c) for c in self.citations],
            "sentences": [asdict(s) for s in self.sentences],
            "mode": self.mode,
            "refused": self.refused,
            "model": self.model,
        }

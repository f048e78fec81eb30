"""Turning picked sentences into the answer: attribution, citation numbers, the disagreement layout.

Citations are numbered in the order the answer first cites them. Each answer sentence quotes one
member's sentence and cites that member's post. When the picked sentences take opposite sides
(disagreement.py), the answer says "Members disagree:" and lists each side with its sources; the
heading is framing, not a claim, so it is not one of the answer's sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .answer import AnswerSentence, Citation
from .disagreement import opposing_pairs, stance
from .retrieve import Source
from .text import content_words, shorten, with_markers

DISAGREE = "Members disagree:"
SIDES = {1: "One side: ", -1: "The other side: ", 0: "Also: "}
UNSOURCED = " [unsourced]"


def citation_for(number: int, source: Source) -> Citation:
    return Citation(number=number, status_id=source.status_id, url=source.url, account=source.acct,
                    excerpt=shorten(source.text), created_at=source.created_at)


def quoted(acct: str, sentence: str, *, again: bool) -> str:
    """`@mara wrote: “…”` — the member's words, unchanged, inside quotation marks."""
    return f"@{acct} {'also wrote' if again else 'wrote'}: “{sentence}”"


@dataclass(slots=True)
class Composed:
    claims: list[tuple[str, list[int]]] = field(default_factory=list)  # (sentence, cited numbers)
    citations: list[Citation] = field(default_factory=list)
    cited_sources: dict[int, Source] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)  # per claim: "" or a side's label
    heading: str = ""

    def number(self, source: Source) -> int:
        for number, known in self.cited_sources.items():
            if known.status_id == source.status_id:
                return number
        number = len(self.citations) + 1
        self.citations.append(citation_for(number, source))
        self.cited_sources[number] = source
        return number

    def render(self, checked: list[AnswerSentence]) -> str:
        """The answer text: each sentence followed by its markers (or by [unsourced])."""
        lines = []
        for label, sentence in zip(self.labels, checked, strict=True):
            shown = with_markers(sentence.text, sentence.cited) if sentence.cited else sentence.text + UNSOURCED
            lines.append(f"{label}{shown}")
        if self.heading:
            return "\n".join([self.heading, *(f"- {line}" for line in lines)])
        return " ".join(lines)


def compose(question: str, picked: list[tuple[Source, str, int]]) -> Composed:
    """Picked (source, sentence, position in post), best first, as an attributed, cited answer."""
    topic = set(content_words(question))
    disagree = opposing_pairs([(s.acct, text, set(content_words(text))) for s, text, _ in picked], topic)
    # Sentences of one post stay together, in the post's order, where that post's best sentence ranked.
    order = list(dict.fromkeys(s.status_id for s, _, _ in picked))
    ordered = sorted(picked, key=lambda p: (order.index(p[0].status_id), p[2]))
    if disagree:  # sides first: approving, then disapproving, then the rest; stable within each
        ordered = sorted(ordered, key=lambda p: {1: 0, -1: 1, 0: 2}[stance(p[1])])
    composed = Composed(heading=DISAGREE if disagree else "")
    seen: set[int] = set()
    for source, sentence, _ in ordered:
        number = composed.number(source)
        composed.claims.append((quoted(source.acct, sentence, again=source.status_id in seen), [number]))
        composed.labels.append(SIDES[stance(sentence)] if disagree else "")
        seen.add(source.status_id)
    return composed

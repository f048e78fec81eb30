"""Extractive answers: the faithful default, true with no language model at all.

The answer is made only of sentences members wrote, quoted and attributed ("@mara wrote: “…” [1]"),
so it can say nothing its sources do not, and the attribution makes plain that it reports what a
member said, not a verified fact.

How sentences are picked (docs/assistant.md has the measured effect):
1. Every retrieved post is split into sentences (text.sentences: Latin and CJK punctuation, URLs
   kept whole, trailing hashtags and leading reply @mentions dropped, fragments of fewer than three
   words joined to their neighbour). Questions (a question is not an answer) and sentences that read
   as instructions to an AI (policy.looks_like_instruction) are never picked.
2. Each sentence is scored against the question:
       score = W_SENTENCE · max(cos(question, sentence), WINDOW_DISCOUNT · cos(question, previous + sentence))
               + W_POST · cos(question, post)
               + W_KEYWORDS · share of the question's content words found in the sentence
   with all-MiniLM-L6-v2 embeddings (cosine = dot product of unit vectors). The window term finds an
   answer that follows its set-up ("… how far away Andromeda is. About 2.5 million light-years."); for
   the first sentence of a reply, the set-up is the post it replies to ("Which bus goes to the Old
   Wharf?" → "Number 7 from stand C").
   The post term lets a sentence that depends on its post for context still count when the post is
   about the question; "post" is the post's statements (its questions left out) after the text of
   the post it replies to, so that a reply in a thread that asked the question scores as an answer.
3. A question that names a number (a year, a price, a score: "Who won the 1966 World Cup final?") is
   about that number: only posts that mention it (in their text or the post they reply to) can
   answer it, however close the rest of their words come.
4. If the best score is below MIN_SCORE, nothing retrieved answers the question, and the answer says
   so, with no citations (the assistant never fills the gap itself).
5. Otherwise the best sentences are taken greedily: at most MAX_SENTENCES, none scoring under
   RELATIVE_FLOOR × the best, none whose cosine to an already picked sentence is above
   DUPLICATE_COSINE (members often repeat each other); first the best sentence of each post, then,
   if room is left, a second one (at most PER_POST) — more voices before more of one voice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .answer import EXTRACTIVE, EXTRACTIVE_MODEL, Answer
from .compose import compose
from .policy import looks_like_instruction
from .retrieve import Source
from .support import check
from .text import content_words, is_question, numbers, sentences
from .vectors import sentence_vectors

W_SENTENCE = 0.6
W_POST = 0.25
W_KEYWORDS = 0.15
MIN_SCORE = 0.35
RELATIVE_FLOOR = 0.75
MAX_SENTENCES = 4
PER_POST = 2
DUPLICATE_COSINE = 0.9
WINDOW_DISCOUNT = 0.85
NO_ANSWER = "I found no posts you can see that answer this."


@dataclass(frozen=True, slots=True)
class Scored:
    source: Source
    sentence: str
    position: int  # the sentence's place in its post
    score: float
    vector: np.ndarray


def _statements(source: Source) -> str:
    """The post as scored at the post level: its thread context, then its sentences less questions
    (a post that asks the same question is similar to it, but does not answer it)."""
    said = [s for s in sentences(source.text) if not is_question(s)]
    return "\n".join([source.context, *said]).strip() or source.text


async def score_sentences(question: str, sources: list[Source]) -> list[Scored]:
    """Every pickable sentence of the sources, scored against the question, best first."""
    pieces: list[tuple[Source, int, str, str]] = []  # (source, position, sentence, previous sentence)
    for source in sources:
        split = sentences(source.text)
        for position, sentence in enumerate(split):
            if not is_question(sentence) and not looks_like_instruction(sentence):
                # The first sentence of a reply reads with the post it answers (its thread context).
                previous = split[position - 1] if position else " ".join(source.context.split()[:80])
                pieces.append((source, position, sentence, previous))
    if not pieces:
        return []
    windows = [f"{previous} {sentence}" for _, _, sentence, previous in pieces if previous]
    vectors = await sentence_vectors([question, *[_statements(s) for s in sources], *[p[2] for p in pieces], *windows])
    asked = vectors[0]
    posts = vectors[1:1 + len(sources)]
    said = vectors[1 + len(sources):1 + len(sources) + len(pieces)]
    window_vectors = iter(vectors[1 + len(sources) + len(pieces):])
    post_score = {source.status_id: float(posts[i] @ asked) for i, source in enumerate(sources)}
    wanted = set(content_words(question))
    scored = []
    for (source, position, sentence, previous), vector in zip(pieces, said, strict=True):
        similarity = float(vector @ asked)
        if previous:  # an answer often follows the sentence that sets it up: read it with that one
            similarity = max(similarity, WINDOW_DISCOUNT * float(next(window_vectors) @ asked))
        keywords = len(wanted & set(content_words(sentence))) / len(wanted) if wanted else 0.0
        score = W_SENTENCE * similarity + W_POST * post_score[source.status_id] + W_KEYWORDS * keywords
        scored.append(Scored(source, sentence, position, score, vector))
    return sorted(scored, key=lambda s: (-s.score, s.source.rank, s.position))


def pick(scored: list[Scored], *, max_sentences: int = MAX_SENTENCES) -> list[Scored]:
    """The answer's sentences (see the module docstring, step 4): more posts before more of one post."""
    if not scored or scored[0].score < MIN_SCORE:
        return []
    floor = max(MIN_SCORE, RELATIVE_FLOOR * scored[0].score)
    eligible = [c for c in scored if c.score >= floor]
    picked: list[Scored] = []
    per_post: dict[int, int] = {}
    for allowed in (1, PER_POST):  # first the best sentence of each post, then seconds
        for candidate in eligible:
            if len(picked) >= max_sentences:
                return picked
            if candidate in picked or per_post.get(candidate.source.status_id, 0) >= allowed:
                continue
            if any(float(candidate.vector @ p.vector) > DUPLICATE_COSINE for p in picked):
                continue
            picked.append(candidate)
            per_post[candidate.source.status_id] = per_post.get(candidate.source.status_id, 0) + 1
    return picked


def mentions_the_numbers(question: str, source: Source) -> bool:
    """Step 3: the post mentions every number the question names (true when it names none)."""
    asked = numbers(question)
    return not asked or asked <= numbers(f"{source.context} {source.text}")


async def answer_extractively(question: str, sources: list[Source]) -> Answer:
    sources = [s for s in sources if mentions_the_numbers(question, s)]
    picked = pick(await score_sentences(question, sources))
    if not picked:
        return Answer(text=NO_ANSWER, mode=EXTRACTIVE, model=EXTRACTIVE_MODEL)
    composed = compose(question, [(p.source, p.sentence, p.position) for p in picked])
    checked = await check(composed.claims, composed.cited_sources)
    return Answer(text=composed.render(checked), citations=composed.citations, sentences=checked,
                  mode=EXTRACTIVE, model=EXTRACTIVE_MODEL)

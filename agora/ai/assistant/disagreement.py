"""When the picked sentences disagree: a small, documented stance heuristic (docs/assistant.md).

Each sentence gets a stance: +1 if it has more approving than disapproving words, -1 for the
reverse, 0 otherwise; a negation word ("not", "never", "n't" …) within the three words before an
approving or disapproving word flips it ("not worth it" is disapproving, "not bad" approving). Two
picked sentences disagree when they come from different authors, one is +1 and the other -1, and
they share a topic word with the question (so "I love the bakery" and "I hate the rain" about
different things are not set against each other). The heuristic misses disagreement stated without
such words, and says nothing about who is right: it only decides whether the answer shows two sides.
"""

from __future__ import annotations

import re

_APPROVE_TEXT = """
good great love loved loves like liked likes best better excellent amazing fantastic wonderful brilliant
delicious tasty support supports supported agree agrees agreed yes right correct worth fine safe safer
works worked helpful helps win won favourite favorite perfect nice enjoy enjoyed beautiful glad happy
recommend recommended approve approved pro benefit benefits improve improved improves fan
"""
_DISAPPROVE_TEXT = """
bad worse worst hate hated hates awful terrible horrible disgusting wrong disagree disagrees against oppose
opposes opposed ban banned crime abomination overrated useless dangerous unsafe waste broken fails failed
fail problem problems never nonsense ridiculous mistake sad angry annoying boring bland soggy gross
"""
_NEGATION_TEXT = "not no never nor cannot can't don't doesn't didn't isn't wasn't aren't won't nothing"
_APPROVE = frozenset(_APPROVE_TEXT.split())
_DISAPPROVE = frozenset(_DISAPPROVE_TEXT.split())
_NEGATIONS = frozenset(_NEGATION_TEXT.split())
_WORD = re.compile(r"[a-z']+")


def stance(sentence: str) -> int:
    """+1 approving, -1 disapproving, 0 neither or both equally (English word lists)."""
    words = _WORD.findall(sentence.casefold().replace("’", "'"))
    score = 0
    for i, word in enumerate(words):
        value = 1 if word in _APPROVE else -1 if word in _DISAPPROVE else 0
        if value and word != "never":
            window = words[max(0, i - 3):i]
            if any(w in _NEGATIONS or w.endswith("n't") for w in window):
                value = -value
        score += value
    return (score > 0) - (score < 0)


def opposing_pairs(picked: list[tuple[str, str, set[str]]], topic: set[str]) -> bool:
    """Whether two picked sentences (author, text, content words) take opposite stances on the topic."""
    stances = [(author, stance(text), words & topic) for author, text, words in picked]
    for i, (author_a, stance_a, words_a) in enumerate(stances):
        for author_b, stance_b, words_b in stances[i + 1:]:
            if author_a != author_b and stance_a * stance_b < 0 and (words_a & words_b or not topic):
                return True
    return False

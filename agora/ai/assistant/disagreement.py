"""When the picked sentences disagree: a small, documented stance heuristic (docs/assistant.md).

English, German and Chinese (the demo community's languages) have word lists; other languages get
no stance, so their answers never say "Members disagree".

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
# German, the demo community's second language: the same idea, the same three-word negation window.
_APPROVE_DE = """
gut gute guter gutes toll tolle super klasse lecker lieblings liebe lieben mag empfehle empfehlenswert
besser beste besten richtig stimmt unterstütze unterstützen dafür schön prima hervorragend genial lohnt
"""
_DISAPPROVE_DE = """
schlecht schlechter schlechteste schrecklich furchtbar hasse hassen falsch dagegen gefährlich überbewertet
langweilig eklig enttäuschend enttäuscht ärgerlich nervig unsinn quatsch fehler problem probleme kaputt
"""
_NEGATION_DE = "nicht kein keine keinen keiner nie niemals nichts"
_APPROVE = frozenset((_APPROVE_TEXT + _APPROVE_DE).split())
_DISAPPROVE = frozenset((_DISAPPROVE_TEXT + _DISAPPROVE_DE).split())
_NEGATIONS = frozenset((_NEGATION_TEXT + " " + _NEGATION_DE).split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Chinese has no spaces: terms are found as substrings, longest first (不错 "not bad" is approving, and
# must not be read as 错 "wrong"), and one directly after 不/没 ("not") flips, as in 不喜欢.
_APPROVE_ZH = ("不错", "喜欢", "推荐", "支持", "好吃", "好喝", "赞成", "同意", "值得", "棒", "赞", "爱")
_DISAPPROVE_ZH = ("讨厌", "反对", "难吃", "难喝", "糟糕", "差劲", "危险", "失望", "无聊", "错误", "浪费")
_NEGATION_ZH = ("不", "没")  # not 别: 特别 ("especially") is everywhere
_ZH_TERMS = sorted({*((t, 1) for t in _APPROVE_ZH), *((t, -1) for t in _DISAPPROVE_ZH)}, key=lambda t: (-len(t[0]), t))


def _chinese_score(text: str) -> int:
    score, taken = 0, [False] * len(text)
    for term, value in _ZH_TERMS:
        start = text.find(term)
        while start >= 0:
            if not any(taken[start:start + len(term)]):
                taken[start:start + len(term)] = [True] * len(term)
                negated = not term.startswith("不") and text[max(0, start - 1):start] in _NEGATION_ZH
                score += -value if negated else value
            start = text.find(term, start + 1)
    return score


def stance(sentence: str) -> int:
    """+1 approving, -1 disapproving, 0 neither or both equally (English, German and Chinese word lists)."""
    text = sentence.casefold().replace("’", "'")
    words = _WORD.findall(text)
    score = _chinese_score(text)
    for i, word in enumerate(words):
        value = 1 if word in _APPROVE else -1 if word in _DISAPPROVE else 0
        if value and word not in ("never", "nie", "niemals"):
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

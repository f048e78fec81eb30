"""The search benchmark's corpus: the timeline benchmark's community, with text that reads like a vocabulary.

`bench.community` writes posts from 56 words, so any one word matches a fifth of all posts — a worst
case no real community has. Here each post's text is redrawn from a Zipf-distributed vocabulary
(the 56 everyday words first, then 20,000 made-up ones), as word frequencies are in real text; and
the queries are drawn the way people search: mostly mid-frequency words, some pairs and phrases, a
few with `from:` and `#tag`.
"""

from __future__ import annotations

import html
import itertools
import random
from dataclasses import dataclass

from bench.community import WORDS, Community, generate

SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vel", "an", "dor", "is", "que", "tha", "ul", "bri", "nox",
             "pe", "ra", "zin", "gor", "li"]
VOCABULARY_SIZE = 20_000
ZIPF_S = 1.07  # word frequencies in English text follow a Zipf law with an exponent near 1


def vocabulary(rng: random.Random) -> list[str]:
    made_up: set[str] = set()
    while len(made_up) < VOCABULARY_SIZE:
        made_up.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
    return WORDS + sorted(made_up - set(WORDS))


@dataclass
class Corpus:
    community: Community
    words: list[str]
    cumulative: list[float]  # Zipf weights over `words`, for drawing

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cumulative, k=k)


def build(members: int, posts: int, seed: int) -> Corpus:
    """The community, with every post's text (and its HTML) redrawn from the Zipf vocabulary."""
    community = generate(members, posts, tokens=20, seed=seed)
    rng = random.Random(seed + 1)
    words = vocabulary(rng)
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) ** ZIPF_S for rank in range(len(words))))
    corpus = Corpus(community, words, cumulative)
    statuses = next(t for t in community.tables if t.name == "statuses")
    text_at, content_at = statuses.columns.index("text"), statuses.columns.index("content")
    for index, row in enumerate(statuses.rows):
        text = " ".join(corpus.draw(rng, rng.randint(6, 30)))
        updated = list(row)
        updated[text_at], updated[content_at] = text, f"<p>{html.escape(text)}</p>"
        statuses.rows[index] = tuple(updated)
    return corpus


def queries(corpus: Corpus, count: int, seed: int) -> list[str]:
    """Search strings as people type them: one word (half), two words, a quoted phrase, with a filter."""
    rng = random.Random(seed)
    mid = corpus.words[20:2000]  # not "the", not a hapax: what people look for
    statuses = next(t for t in corpus.community.tables if t.name == "statuses")
    text_at = statuses.columns.index("text")
    found: list[str] = []
    for i in range(count):
        kind = i % 6
        if kind in (0, 1, 2):
            found.append(rng.choice(mid))
        elif kind == 3:
            found.append(f"{rng.choice(mid)} {rng.choice(mid)}")
        elif kind == 4:  # a phrase that occurs: two neighbouring words of a real post
            words = str(rng.choice(statuses.rows)[text_at]).split()
            at = rng.randrange(len(words) - 1)
            found.append(f'"{words[at]} {words[at + 1]}"')
        else:
            found.append(f"{rng.choice(mid)} since:2000-01-01")
    return found

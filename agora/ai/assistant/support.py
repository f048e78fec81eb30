"""The support check: is each answer sentence backed by the posts it cites?

For an answer sentence that cites posts [n…], its claim is what it asserts — the text inside its
quotation marks when it quotes a member (“…”), else the whole sentence, without markers — and

    support   = max cosine(claim, s) over the sentences s of the cited posts (all-MiniLM-L6-v2)
    overlap   = share of the claim's content words that appear in the cited posts
    supported = support ≥ SUPPORT_COSINE and overlap ≥ SUPPORT_OVERLAP

Both, because each alone is fooled: embeddings call a sentence with a changed number or name
"similar" (high cosine, but the new word is missing from the source, so overlap drops), and word
overlap cannot see meaning (a shuffled list of the source's words would pass). SUPPORT_COSINE = 0.6
is where all-MiniLM-L6-v2 separates paraphrases (typically 0.7–0.95) from sentences merely on the same
topic (0.3–0.6). A sentence citing nothing, or citing a number that is not a citation, is unsupported
(support 0). A quoted sentence is supported by construction: it is one of its post's sentences
(cosine 1, overlap 1), which the extractive tests check for every sentence.
"""

from __future__ import annotations

import re

import numpy as np

from .answer import AnswerSentence
from .retrieve import Source
from .text import content_words, overlap, sentences, without_markers
from .vectors import sentence_vectors

SUPPORT_COSINE = 0.6
SUPPORT_OVERLAP = 0.5
_QUOTED = re.compile(r"“([^”]+)”")


def claim_of(sentence: str) -> str:
    quotes = _QUOTED.findall(sentence)
    return " ".join(quotes) if quotes else without_markers(sentence)


async def check(claims: list[tuple[str, list[int]]], sources: dict[int, Source]) -> list[AnswerSentence]:
    """Each (sentence, cited numbers) with its support verdict; `sources` maps citation numbers to posts."""
    texts = [claim_of(sentence) for sentence, _ in claims]
    cited_sentences = {n: sentences(source.text) or [source.text] for n, source in sources.items()}
    pool = [s for n in sorted(cited_sentences) for s in cited_sentences[n]]
    vectors = await sentence_vectors([*texts, *pool]) if texts else None
    offsets: dict[int, tuple[int, int]] = {}
    at = len(texts)
    for n in sorted(cited_sentences):
        offsets[n] = (at, at + len(cited_sentences[n]))
        at += len(cited_sentences[n])
    checked = []
    for i, (sentence, cited) in enumerate(claims):
        valid = [n for n in cited if n in sources]
        if not valid or len(valid) != len(cited) or vectors is None:
            checked.append(AnswerSentence(text=without_markers(sentence), cited=cited, supported=False, support=0.0))
            continue
        rows = np.concatenate([vectors[offsets[n][0]:offsets[n][1]] for n in valid])
        support = float((rows @ vectors[i]).max())
        words = {w for n in valid for w in content_words(sources[n].text)}
        supported = support >= SUPPORT_COSINE and overlap(texts[i], words) >= SUPPORT_OVERLAP
        checked.append(AnswerSentence(text=without_markers(sentence), cited=cited, supported=supported,
                                      support=round(support, 4)))
    return checked

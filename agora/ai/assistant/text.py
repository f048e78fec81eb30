"""Text helpers shared by retrieval, the extractive composer and the support check: sentence
splitting (Latin and CJK punctuation, URLs kept whole), content words, and the [n] markers."""

from __future__ import annotations

import re

from agora.search.tokenize import query_tokens

# A sentence ends at . ! ? … followed by whitespace (so the dots inside a URL or "3.5" do not end it),
# at a CJK full stop / exclamation / question mark (no space follows those), or at a line break.
_LATIN_END = re.compile(r"([.!?…]+[\"')\]”’]*)\s+")
_CJK_END = re.compile(r"([。！？]+[”’」』）)\"']*)")
_LEADING_MENTIONS = re.compile(r"^(?:@[\w.@-]+\s+)+")
MIN_WORDS = 3
_LETTER_WORD = re.compile(r"[^\W\d_]+")
_ONLY_TAGS = re.compile(r"^(?:#\w+\s*)+$")
_TRAILING_TAGS = re.compile(r"(?:\s+#\w+)+\s*$")
_LEADING_TAGS = re.compile(r"^(?:#\w+\s+)+(?=#?\w)")
_MARKER = re.compile(r"\s*\[(\d{1,3})\]")
_URL = re.compile(r"https?://\S+")

# Words that carry no topic: question words, auxiliaries, pronouns, articles, prepositions.
_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing don down during each few for from further had has have having he
her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor
not now of off on once only or other our ours ourselves out over own same she should so some such than that
the their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves
anyone anybody someone somebody people members member anything something tell know think say said says
please thanks get got go going ok okay also still ever much many like s t d ll ve re m
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def sentences(text: str) -> list[str]:
    """The sentences of a post, stripped: a trailing run of hashtags is not part of the last one, the
    @mentions a reply starts with are not part of the first, and a fragment of fewer than MIN_WORDS
    words ("3:28:41.", "⚠️ Scam warning.") is joined to the sentence after it (or before, if last)."""
    out: list[str] = []
    text = _LEADING_MENTIONS.sub("", text.strip())
    marked = _CJK_END.sub("\\1\n", _LATIN_END.sub("\\1\n", text))
    for piece in marked.split("\n"):
        piece = _TRAILING_TAGS.sub("", piece.strip()).strip()
        piece = _LEADING_TAGS.sub("", piece).strip()
        if piece and not _ONLY_TAGS.match(piece):
            out.append(piece)
    return _join_fragments(out)


def _is_fragment(sentence: str) -> bool:
    """Fewer than MIN_WORDS words of letters (numbers and emoji alone say little); CJK text, written
    without spaces, is never a fragment by this count."""
    if any("\u2e80" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in sentence):
        return False
    return len(_LETTER_WORD.findall(sentence)) < MIN_WORDS


def _join_fragments(pieces: list[str]) -> list[str]:
    joined: list[str] = []
    carry = ""
    for piece in pieces:
        piece = f"{carry} {piece}".strip() if carry else piece
        carry = piece if _is_fragment(piece) else ""
        if not carry:
            joined.append(piece)
    if carry:
        if joined:
            joined[-1] = f"{joined[-1]} {carry}"
        else:
            joined.append(carry)
    return joined


def is_question(sentence: str) -> bool:
    """A sentence that asks (ends in ? or ？): a question is not an answer to one."""
    return sentence.rstrip(" \"'”’)").endswith(("?", "？"))


def content_words(text: str) -> list[str]:
    """Case-folded topic words (search tokens less stopwords and URLs), in order, without repeats."""
    words = query_tokens(_URL.sub(" ", text))
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS and (len(w) > 1 or not w.isascii())))


# Bounded by ASCII letters and digits only: "1966年" and "42路" hold numbers ("v1" does not).
_NUMBER = re.compile(r"(?<![A-Za-z0-9.,])\d+(?:[.,]\d+)*(?![A-Za-z0-9])")


def numbers(text: str) -> set[str]:
    """The numbers written in the text, as written less thousands commas ("1,140" and "1140" match)."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def overlap(claim: str, source_words: set[str]) -> float:
    """Share of the claim's content words that the source contains (1.0 for a claim with none)."""
    words = content_words(claim)
    if not words:
        return 1.0
    return sum(1 for w in words if w in source_words) / len(words)


def markers(sentence: str) -> list[int]:
    """The citation numbers in a sentence, in order, without repeats."""
    return list(dict.fromkeys(int(n) for n in _MARKER.findall(sentence)))


def without_markers(sentence: str) -> str:
    return _MARKER.sub("", sentence).strip()


def shorten(text: str, limit: int = 280) -> str:
    """At most `limit` characters, cut at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def with_markers(sentence: str, cited: list[int]) -> str:
    """The sentence with its [n] markers: before a final full stop ("… Thursday [1]."), after a quote."""
    marks = " ".join(f"[{n}]" for n in cited)
    if not marks:
        return sentence
    if len(sentence) > 1 and sentence[-1] in ".!?" and sentence[-2] not in ".!?…":
        return f"{sentence[:-1]} {marks}{sentence[-1]}"
    return f"{sentence} {marks}"

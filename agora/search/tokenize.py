"""One tokenizer for the keyword index, used for documents and queries alike, on both databases.

Why our own and not FTS5's `unicode61` / PostgreSQL's `to_tsvector`: neither finds a word inside
Chinese or Japanese text, which has no spaces between words ("公园" in "我们今天去公园"), and the
two would split other text differently. So we split here and hand the database finished tokens:

- a token is a run of letters, digits and combining marks (marks stay, so Hindi or Thai words are
  not cut at their vowel signs); everything else separates;
- NFKC, then case-folded; Latin-script accents are dropped ("Café" → "cafe") when what is left is
  plain ASCII, so people who type without accents still find the word;
- runs of characters from scripts written without spaces (Han, Hiragana, Katakana, Hangul, Thai,
  Lao, Khmer, Myanmar) become overlapping bigrams ("我们今天" → 我们 们今 今天), so any substring of
  two or more characters is a phrase of bigrams; each such character is also indexed on its own at
  the end of the document, so a one-character query ("猫") finds it too.

Tokens never contain ASCII punctuation, quotes or spaces: whatever a member types, a token is safe to
put between double quotes in an FTS5 expression or between single quotes in a tsquery.
"""

from __future__ import annotations

import re
import sys
import unicodedata

MAX_TOKEN_CHARS = 60  # longer "words" (hashes, base64) are cut: they only bloat the index
MAX_DOCUMENT_TOKENS = 4000  # PostgreSQL positions stop at 16,383; posts are far shorter anyway

# Scripts written without spaces between words (code point ranges, inclusive).
_SPACELESS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables and jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3134F),  # CJK extensions B–G
)


def _class(ranges: list[tuple[int, int]]) -> str:
    return "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges)


def _mark_ranges() -> list[tuple[int, int]]:
    """Code point ranges of combining marks (Mn, Mc, Me), which `re`'s \\w leaves out."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return ranges


# Regular expressions, not a loop over characters: tokenizing runs for every post written and every
# post of a reindex, and `re` does it several times faster.
_WORD_RE = re.compile(rf"(?:[^\W_]|[{_class(_mark_ranges())}])+")
_SPACELESS_CLASS = _class(list(_SPACELESS))
_RUN_RE = re.compile(rf"([{_SPACELESS_CLASS}]+)|([^{_SPACELESS_CLASS}]+)")
_ASCII_WORD_RE = re.compile(r"[a-z0-9]+")


def _fold(word: str) -> str:
    if word.isascii():
        return word
    stripped = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    return stripped if stripped.isascii() else word


def _has_letter_or_digit(token: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in token)


def runs(text: str) -> list[tuple[str, bool]]:
    """Maximal runs of word characters, each tagged True when it is a space-less script."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii():  # the common case, and a much simpler one
        return [(word, False) for word in _ASCII_WORD_RE.findall(folded)]
    found: list[tuple[str, bool]] = []
    for word in _WORD_RE.findall(folded):
        for spaceless, other in _RUN_RE.findall(word):
            found.append((spaceless, True) if spaceless else (other, False))
    return found


def _sequence(text: str) -> tuple[list[str], list[str]]:
    """The tokens in reading order, and the single space-less characters seen (for unigrams)."""
    tokens: list[str] = []
    singles: list[str] = []
    for run, spaceless in runs(text):
        if not spaceless:
            token = _fold(run)[:MAX_TOKEN_CHARS]
            if _has_letter_or_digit(token):  # a lone accent or emoji selector folds to nothing to find
                tokens.append(token)
        elif len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
            singles.extend(run)
    return tokens, singles


def document_tokens(text: str) -> list[str]:
    """Tokens to index for a document, in order (positions matter for phrases)."""
    tokens, singles = _sequence(text)
    # Single characters go after the text, so they never sit between two bigrams of a phrase.
    tokens.extend(dict.fromkeys(singles))
    return tokens[:MAX_DOCUMENT_TOKENS]


def query_tokens(text: str) -> list[str]:
    """Tokens for one query term or phrase; more than one means "these, adjacent, in this order"."""
    return _sequence(text)[0][:64]

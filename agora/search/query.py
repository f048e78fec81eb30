"""The search box's syntax, Twitter/Mastodon style, parsed into a `SearchQuery`.

    "exact phrase"   words in this order (an unclosed quote runs to the end of the query)
    from:mara        posts by @mara (from:mara@example.org means the same local member)
    #tag             posts carrying the hashtag
    since:2026-12-01 posts from that day (UTC) on
    until:2026-12-04 posts before that day (UTC), as on Twitter
    lang:de          posts written in that language
    anything else    plain words, all of which must appear

Nothing typed here ever reaches the database as query syntax: `AND`, `OR`, `NEAR(`, `*`, `^`,
`text:foo`, brackets and quotes are just words (or nothing) to us; `lexical.py` builds the FTS
expression itself from tokens that cannot contain syntax. What is malformed in *our* syntax (a date
that is not a date, an unknown language form, a query too long to be a search) is a 422 that says
which part was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from agora.kit.errors import Unprocessable

MAX_QUERY_CHARS = 512
MAX_PARTS = 32  # words, phrases and filters together: a search, not a document

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,4})?$")  # as a status's language is stored, case aside
_USER_RE = re.compile(r"^[a-z0-9_]{1,30}$")
_TAG_RE = re.compile(r"^\w{1,100}$")
# Straight and typographic double quotes both open and close a phrase.
_QUOTES = '"“”„'


class BadQuery(Unprocessable):
    """The query is malformed in a way a person can fix; the message says how (HTTP 422)."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    from_users: list[str] = field(default_factory=list)  # username keys (lower case, no domain)
    tags: list[str] = field(default_factory=list)  # tag name keys (case-folded, no '#')
    since: date | None = None  # inclusive, UTC day
    until: date | None = None  # exclusive, UTC day
    lang: str | None = None
    text: str = ""  # the words and phrases without operators, for semantic search

    @property
    def is_empty(self) -> bool:
        """Nothing to search for and nothing to filter by."""
        return not (self.terms or self.phrases or self.from_users or self.tags or self.since
                    or self.until or self.lang)


def _split(q: str) -> list[tuple[str, bool]]:
    """(piece, quoted) pairs: quoted phrases whole, everything else split on whitespace."""
    pieces: list[tuple[str, bool]] = []
    i = 0
    while i < len(q):
        if q[i] in _QUOTES:
            end = next((j for j in range(i + 1, len(q)) if q[j] in _QUOTES), len(q))
            phrase = q[i + 1:end].strip()
            if phrase:
                pieces.append((phrase, True))
            i = end + 1
            continue
        end = i
        while end < len(q) and not q[end].isspace() and q[end] not in _QUOTES:
            end += 1
        if end > i:
            pieces.append((q[i:end], False))
        else:
            end += 1  # whitespace
        i = end
    return pieces


def _parse_date(operator: str, value: str) -> date:
    if not _DATE_RE.match(value):
        raise BadQuery(f"{operator}: takes a date written YYYY-MM-DD, not {value[:20]!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadQuery(f"{operator}:{value} is not a date on the calendar") from None


def parse(q: str) -> SearchQuery:
    """Parse what a member typed; raises BadQuery (422) for what they should fix."""
    if len(q) > MAX_QUERY_CHARS:
        raise BadQuery(f"The search is too long: at most {MAX_QUERY_CHARS} characters")
    q = q.replace("\x00", " ")
    pieces = _split(q)
    if len(pieces) > MAX_PARTS:
        raise BadQuery(f"The search has too many parts: at most {MAX_PARTS} words, phrases and filters")
    terms: list[str] = []
    phrases: list[str] = []
    from_users: list[str] = []
    tags: list[str] = []
    since = until = None
    lang = None
    free: list[str] = []
    for piece, quoted in pieces:
        if quoted:
            phrases.append(piece)
            free.append(piece)
            continue
        operator, colon, value = piece.partition(":")
        operator = operator.lower()
        if colon and value and operator == "from":
            user = value.lstrip("@").split("@", 1)[0].lower()
            if not _USER_RE.match(user):
                raise BadQuery(f"from: takes a username, not {value[:40]!r}")
            from_users.append(user)
        elif colon and value and operator in ("since", "until"):
            day = _parse_date(operator, value)
            if operator == "since":
                since = day
            else:
                until = day
        elif colon and value and operator == "lang":
            if not _LANG_RE.match(value.lower()):
                raise BadQuery(f"lang: takes a language code such as en or zh-CN, not {value[:20]!r}")
            lang = value.lower()
        elif piece.startswith("#") and _TAG_RE.match(piece[1:]):
            tags.append(piece[1:].casefold())
            free.append(piece[1:])
        else:
            terms.append(piece)
            free.append(piece)
    if since is not None and until is not None and since >= until:
        raise BadQuery("since: must be an earlier day than until: (until: is the first day left out)")
    return SearchQuery(terms=terms, phrases=phrases, from_users=list(dict.fromkeys(from_users)),
                       tags=list(dict.fromkeys(tags)), since=since, until=until, lang=lang, text=" ".join(free))

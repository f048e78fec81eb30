"""Follow-up questions: "and when does it close?" read with the question before it.

A conversation with the assistant (the /v1 messages, the web page's previous question) is short and
about one thing at a time, so a follow-up usually leans on the question before it for its topic.
Retrieval and scoring read a question only by its words, so a follow-up is expanded into a question
that stands alone: the earlier question, then the follow-up. What counts as a follow-up: it refers
back with a pronoun (it, they, those…) and has fewer than three topic words of its own ("Is it open
late?"), opens as a continuation ("and…", "what about…"), or has no topic word at all. Anything else
is a new topic and stands alone. Only the member's own earlier questions are used, never the
assistant's answers (which quote other members' posts: reading them back as the asker's words would
let a quoted post steer the next search).
"""

from __future__ import annotations

import re

from .text import content_words

MAX_LOOKBACK = 3  # earlier questions a chain of follow-ups may reach back through
# Not "there", "this", "that", "one": "Is there a bakery…?", "Who runs this club?" start new topics.
_REFERS_BACK = re.compile(r"\b(?:it|its|it's|they|them|their|those|these|he|him|his|she|her)\b", re.IGNORECASE)
_CONTINUES = re.compile(r"^\s*(?:and|but|also|so|or|what about|how about|what of|then)\b", re.IGNORECASE)
STANDS_ALONE_TOPIC_WORDS = 3  # a question with a pronoun but this many topic words of its own is new


def is_follow_up(question: str) -> bool:
    own = len(content_words(question))
    return (_CONTINUES.match(question) is not None or own == 0
            or (_REFERS_BACK.search(question) is not None and own < STANDS_ALONE_TOPIC_WORDS))


def standalone_question(question: str, earlier: list[str], *, max_chars: int) -> str:
    """`question` with the earlier questions it leans on before it (oldest first), at most `max_chars`.

    `earlier` is the member's earlier questions in the conversation, oldest first."""
    question = " ".join(question.split())
    if not question:
        return question  # nothing asked: refused as empty, whatever came before
    leaned_on: list[str] = []
    current = question
    for before in reversed([" ".join(q.split()) for q in earlier if q.strip()][-MAX_LOOKBACK:]):
        if not is_follow_up(current):
            break
        leaned_on.insert(0, before)
        current = before
    if not leaned_on:
        return question
    room = max(0, max_chars - len(question) - 1)
    context = " ".join(leaned_on)
    if len(context) > room:  # keep the most recent words, cut at a word boundary
        context = context[len(context) - room:].partition(" ")[2]
    return f"{context} {question}" if context else question

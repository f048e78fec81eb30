"""The assistant's words as a post or a chat message: the answer, trimmed to fit, its sources kept.

A reply is `@asker <answer>` then one line per citation (`[n] <post URL>`). When it is too long, whole
answer pieces (each ends with its [n] markers) are dropped from the end, and with them the citations
no kept piece refers to; the sources of what is kept always stay. Only as a last resort is a single
piece cut short, marked with "…".

@mentions inside the answer (the extractive answer attributes quotes as "@mara wrote: …", and quoted
posts may mention anyone) are defused with an invisible word joiner after the "@": they read the
same, but notify nobody and — in a direct reply — add nobody to its audience.
"""

from __future__ import annotations

import re

from agora.ai.assistant import Answer
from agora.kit.richtext import MENTION_RE

WORD_JOINER = "\u2060"
_PIECE_END = re.compile(r"(?<=\])\s+|\n")  # after a citation marker, or a line of a list
_MARKER = re.compile(r"\[(\d+)\]")


def defused(text: str) -> str:
    """`@name` → `@\u2060name`: the same to read, no mention to the server."""
    return MENTION_RE.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", text)


def _sources(answer: Answer, numbers: set[int]) -> str:
    return "\n".join(f"[{c.number}] {c.url}" for c in answer.citations if c.number in numbers)


def fit(prefix: str, body: str, answer: Answer | None, limit: int) -> str:
    """`prefix + body` and the body's sources, within `limit` characters."""
    body = defused(body.strip())
    cited = {c.number for c in answer.citations} if answer is not None else set()

    def assemble(text: str) -> str:
        used = {int(n) for n in _MARKER.findall(text)} & cited
        sources = _sources(answer, used) if answer is not None and used else ""
        return f"{prefix}{text}" + (f"\n\n{sources}" if sources else "")

    whole = assemble(body)
    if len(whole) <= limit:
        return whole
    pieces = [p for p in _PIECE_END.split(body) if p.strip()]
    kept: list[str] = []
    for piece in pieces:
        trial = assemble("\n".join([*kept, piece]) if "\n" in body else " ".join([*kept, piece]))
        if len(trial) > limit:
            break
        kept.append(piece)
    if kept:
        joined = "\n".join(kept) if "\n" in body else " ".join(kept)
        return assemble(joined + " …")[:limit] if len(assemble(joined + " …")) <= limit else assemble(joined)
    # Not even the first piece fits: cut it, keeping its markers (and so its sources) at the end.
    first = pieces[0] if pieces else body
    markers = " ".join(dict.fromkeys(f"[{n}]" for n in _MARKER.findall(first)))
    room = limit - len(assemble(markers)) - 2
    text = first[: max(room, 0)].rstrip() + "… " + markers if room > 0 else ""
    return assemble(text.strip())[:limit]

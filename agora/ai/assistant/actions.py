"""The assistant's one-click actions on a post: "Explain this post" and "Summarise this thread".

Both read only what the asker may see: the post through `statuses.get_visible` (404 otherwise, never
403), its thread through `statuses.context` as the asker (the same posts the thread page shows them),
and related posts through `retrieve` (the search box's rules). Within that, the assistant reads a
post only if `readable_by_assistant` allows its author (bots never; members who opted out never), and
never a direct message: those are between the people in them, as in `retrieve`.

Explain: the question is "Explain: " + the post's text. The post itself is always a source, read
explicitly (retrieval might rank it anywhere), with the post it answers and its replies, then related
posts. Extractively, the post's own best sentences come first (so it is always citation [1]), then
the related sentences that score best against it, as in an ordinary answer.

Summarise: the thread as the asker sees it (earlier posts, the post, its replies), with its counts in
the heading ("12 replies from 7 members; in their words:") and the most informative sentences quoted
and cited in reading order: the opening post's first sentence, then the sentences closest to what the
thread as a whole says (cosine to the mean of all its sentences' embeddings), one a post before a
second of any, no near-duplicates. Counts are framing (the heading), not claims, so they are not
among the answer's checked sentences.

Both read (`read_explained`, `read_thread`) in the caller's read transaction and compose after it
(reading.py). With a language model configured and generation on, both try a generative answer over the same
sources first; it must cite the explained post (else the extractive answer is given).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from agora.accounts.service import profile_url
from agora.config import Settings
from agora.kit.time import iso
from agora.models import Status
from agora.social import statuses

from .answer import EXTRACTIVE, EXTRACTIVE_MODEL, Answer
from .compose import Composed, compose, quoted
from .extractive import DUPLICATE_COSINE, MAX_SENTENCES, PER_POST, Scored, pick, score_sentences
from .generative import EngineLike, answer_generatively
from .policy import looks_like_instruction, refusal_category, refusal_text
from .reading import Reading, Ready
from .retrieve import Source, readable_by_assistant, retrieve
from .support import check
from .text import is_question, sentences
from .vectors import sentence_vectors

EXPLAIN_PREFIX = "Explain: "
SUMMARY_QUESTION = "Summarise this thread."
MAX_REPLIES_READ = 24  # direct replies read as sources when explaining
MAX_THREAD_POSTS = 200  # posts of a thread read for a summary (the earliest, in reading order)
MAX_SUMMARY_SENTENCES = 5
NOT_READABLE = "The assistant does not read this post: its author asked it not to, or it is a direct message."
NOTHING_QUOTABLE = "This thread has nothing the assistant can quote."


def source_of(status: Status, settings: Settings, rank: int, context: str = "") -> Source:
    """A post as the assistant reads and cites it (as `retrieve` builds them)."""
    return Source(status_id=status.id, text=status.text.strip(), acct=status.account.username,
                  url=f"{profile_url(settings, status.account.username)}/{status.id}",
                  created_at=iso(status.created_at) or "", rank=rank, context=context)


def assistant_may_read(status: Status) -> bool:
    return (status.reblog_of_id is None and status.visibility != "direct" and readable_by_assistant(status.account)
            and bool(status.text.strip()))


def explain_question(status: Status) -> str:
    return EXPLAIN_PREFIX + " ".join(status.text.split())


async def _original(session: AsyncSession, *, status_id: int, asker_id: int) -> Status:
    """The post (a boost's original) if the asker may see it; NotFound (404) otherwise."""
    status = await statuses.get_visible(session, status_id=status_id, viewer_id=asker_id)
    if status.reblog_of_id is not None and status.reblog is not None:
        return status.reblog
    return status


# --- explain --------------------------------------------------------------------------------------

async def read_explained(session: AsyncSession, *, asker_id: int, status_id: int, settings: Settings) -> Reading:
    """What explaining the post needs: the post, the posts around it and related ones."""
    post = await _original(session, status_id=status_id, asker_id=asker_id)
    if not assistant_may_read(post):
        return Ready(Answer(text=NOT_READABLE))
    question = explain_question(post)
    category = refusal_category(question)
    if category is not None:
        return Ready(Answer(text=refusal_text(category), refused=True))
    sources = await _explain_sources(session, post, asker_id=asker_id, settings=settings, question=question)
    return Explaining(post.id, question, sources)


@dataclass(frozen=True, slots=True)
class Explaining:
    """The post to explain (always sources[0]) and what was read with it; composed citing it first."""

    post_id: int
    question: str
    sources: list[Source]

    async def compose(self, *, settings: Settings, engine: EngineLike | None) -> Answer:
        answer = await self._explained(settings=settings, engine=engine)
        answer.retrieved = [s.status_id for s in self.sources]  # what the audit log records as read
        return answer

    async def _explained(self, *, settings: Settings, engine: EngineLike | None) -> Answer:
        if engine is not None and settings.assistant_generative:
            generated = await answer_generatively(self.question, self.sources, engine)
            if generated is not None and any(c.status_id == self.post_id for c in generated.citations):
                return generated
        scored = await score_sentences(self.question, self.sources)
        own = [s for s in scored if s.source.status_id == self.post_id][:PER_POST]
        if not own:  # a post that only asks: quote its first sentence anyway (it is what is explained)
            own = _first_sentence(self.sources[0])
        if not own:
            return Answer(text=NOT_READABLE)
        related = [s for s in scored if s.source.status_id != self.post_id
                   and all(float(s.vector @ o.vector) <= DUPLICATE_COSINE for o in own if o.vector.size)]
        picked = own + pick(related, max_sentences=MAX_SENTENCES - len(own))
        composed = compose(self.question, [(p.source, p.sentence, p.position) for p in picked])
        checked = await check(composed.claims, composed.cited_sources)
        return Answer(text=composed.render(checked), citations=composed.citations, sentences=checked,
                      mode=EXTRACTIVE, model=EXTRACTIVE_MODEL)


def _first_sentence(source: Source) -> list[Scored]:
    for position, sentence in enumerate(sentences(source.text)):
        if not looks_like_instruction(sentence):
            return [Scored(source, sentence, position, 1.0, np.zeros(0, dtype=np.float32))]
    return []


async def _explain_sources(session: AsyncSession, post: Status, *, asker_id: int, settings: Settings,
                           question: str) -> list[Source]:
    """The post, the post it answers, its direct replies, then what retrieval finds for its text."""
    ancestors, replies = await statuses.context(session, status=post, viewer_id=asker_id, max_depth=1,
                                                max_descendants=MAX_REPLIES_READ * 4)
    parent = ancestors[-1] if ancestors and ancestors[-1].id == post.in_reply_to_id else None
    parent_text = parent.text.strip() if parent is not None and assistant_may_read(parent) else ""
    found = [source_of(post, settings, 0, context=parent_text)]
    if parent is not None and assistant_may_read(parent):
        found.append(source_of(parent, settings, 1))
    direct = [r for r in replies if r.in_reply_to_id == post.id and assistant_may_read(r)][:MAX_REPLIES_READ]
    found += [source_of(r, settings, 2, context=post.text.strip()) for r in direct]
    seen = {s.status_id for s in found}
    for source in await retrieve(session, asker_id=asker_id, question=question, settings=settings):
        if source.status_id not in seen:
            seen.add(source.status_id)
            found.append(Source(status_id=source.status_id, text=source.text, acct=source.acct, url=source.url,
                                created_at=source.created_at, rank=source.rank + 3, context=source.context))
    return found


# --- summarise ------------------------------------------------------------------------------------

def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summary_heading(replies: int, members: int) -> str:
    if replies == 0:
        return "No replies yet; the post says:"
    return f"{_plural(replies, 'reply', 'replies')} from {_plural(members, 'member', 'members')}; in their words:"


async def read_thread(session: AsyncSession, *, asker_id: int, status_id: int, settings: Settings) -> Reading:
    """What summarising the thread around a post needs, as the asker sees it: its counts and its posts."""
    post = await _original(session, status_id=status_id, asker_id=asker_id)
    ancestors, replies = await statuses.context(session, status=post, viewer_id=asker_id)
    thread = [*ancestors, post, *replies]
    after_opener = thread[1:]
    heading = summary_heading(len(after_opener), len({s.account_id for s in after_opener}))
    readable = [s for s in thread if assistant_may_read(s)][:MAX_THREAD_POSTS]
    sources = [source_of(s, settings, rank) for rank, s in enumerate(readable)]
    if not sources:
        return Ready(Answer(text=f"{heading}\n{NOTHING_QUOTABLE}" if after_opener else NOTHING_QUOTABLE))
    return Summarising(heading, sources, thread[0].id)


@dataclass(frozen=True, slots=True)
class Summarising:
    """A thread's heading and its readable posts in reading order; composed as its best sentences."""

    heading: str
    sources: list[Source]
    opener_id: int

    async def compose(self, *, settings: Settings, engine: EngineLike | None) -> Answer:
        answer = await self._summarised(settings=settings, engine=engine)
        answer.retrieved = [s.status_id for s in self.sources]
        return answer

    async def _summarised(self, *, settings: Settings, engine: EngineLike | None) -> Answer:
        heading = self.heading
        if engine is not None and settings.assistant_generative:
            generated = await answer_generatively(SUMMARY_QUESTION, self.sources, engine)
            if generated is not None:
                generated.text = f"{heading}\n{generated.text}"
                return generated
        picked = await most_informative(self.sources, opener_id=self.opener_id)
        if not picked:
            return Answer(text=f"{heading}\n{NOTHING_QUOTABLE}")
        composed = Composed(heading=heading)
        for source, sentence in picked:
            composed.claims.append((quoted(source.acct, sentence, again=False), [composed.number(source)]))
            composed.labels.append("")
        checked = await check(composed.claims, composed.cited_sources)
        return Answer(text=composed.render(checked), citations=composed.citations, sentences=checked,
                      mode=EXTRACTIVE, model=EXTRACTIVE_MODEL)


async def most_informative(sources: list[Source], *, opener_id: int,
                           limit: int = MAX_SUMMARY_SENTENCES) -> list[tuple[Source, str]]:
    """(source, sentence) to quote, in reading order: the opener's first sentence, then the sentences
    nearest the thread's centre of meaning, one a post before seconds, no near-duplicates."""
    pieces: list[tuple[Source, int, str]] = []
    for order, source in enumerate(sources):
        for sentence in sentences(source.text):
            opener = source.status_id == opener_id
            if looks_like_instruction(sentence) or (is_question(sentence) and not opener):
                continue
            pieces.append((source, order, sentence))
    if not pieces:
        return []
    vectors = await sentence_vectors([p[2] for p in pieces])
    centre = vectors.mean(axis=0)
    centre = centre / (np.linalg.norm(centre) or 1.0)
    scores = vectors @ centre
    chosen: list[int] = []
    opening = [i for i, p in enumerate(pieces) if p[0].status_id == opener_id]
    if opening:
        chosen.append(opening[0])
    ranked = sorted(range(len(pieces)), key=lambda i: -float(scores[i]))
    for allowed in (1, 2):
        for i in ranked:
            if len(chosen) >= limit:
                break
            per_post = sum(1 for j in chosen if pieces[j][0].status_id == pieces[i][0].status_id)
            if i in chosen or per_post >= allowed:
                continue
            if any(float(vectors[i] @ vectors[j]) > DUPLICATE_COSINE for j in chosen):
                continue
            chosen.append(i)
    chosen.sort(key=lambda i: (pieces[i][1], i))
    return [(pieces[i][0], pieces[i][2]) for i in chosen]

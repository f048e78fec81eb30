"""`agora ai corpus`: the community's public posts as a training corpus, with a datasheet.

What goes in, and nothing else: posts whose visibility is "public" (never unlisted, followers-only
or direct ones), that are not boosts, by members who are visible (not suspended, approved), are not
bots (the assistant is a bot: a model must not learn from its own outputs), and whose effective
`ai_training` is true (their own choice, or the operator's default for those who never chose).
Chats and wallets are other tables, which this module never queries. The texts of excluded posts are
never read either: they are only counted, by reason, for the datasheet.

Steps: read eligible posts in id order, a batch at a time (keyset pagination, so a million posts
never sit in memory) → scrub personal data (agora/ai/scrub.py) → drop empty and duplicate texts
(keeping the oldest) → documents.jsonl → pairs (a kept reply to a kept post) and the final
train/val split → tokenizer → token shards → datasheet. Everything is written into a temporary
sibling directory which replaces the corpus only at the end, so a failed run leaves the previous
corpus as it was, never half a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, literal, select

from agora.ai.paths import corpus_dir
from agora.ai.scrub import KINDS, is_empty, scrub
from agora.config import Settings
from agora.kit.db import Database
from agora.kit.time import as_utc, iso
from agora.models import Account, Status

BATCH = 2_000
ENCODE_BATCH = 1_000
MIN_VOCAB = 300  # the 256 byte symbols, the special tokens, and a few merges
MAX_VOCAB = 1 << 20

Progress = Callable[[str], None]


class CorpusError(Exception):
    """The corpus cannot be built as asked (bad options, nothing to learn from); the message says why."""


@dataclass
class Tally:
    """What the pass over the posts saw, for the datasheet."""

    excluded: dict[str, int] = field(default_factory=dict)
    scrubbed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    documents: int = 0
    val_documents: int = 0
    pairs: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    authors: set[int] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    members_opted_out: int = 0


def _opted_in(settings: Settings) -> Any:
    """SQL for "this member's effective ai_training is true"."""
    if settings.ai_training_default:
        return Account.ai_training.is_not(False)  # NULL (never chose) or true
    return Account.ai_training.is_(True)


def _exclusion_reason(settings: Settings) -> Any:
    """Each post's first reason to be left out (NULL when eligible): counted in SQL, texts never loaded."""
    return case(
        (Status.visibility != "public", literal("not_public")),
        (Status.reblog_of_id.is_not(None), literal("reblog")),
        (Account.suspended.is_(True) | Account.approved.is_(False), literal("suspended_or_unapproved")),
        (Account.bot.is_(True), literal("bot")),
        (~_opted_in(settings), literal("opted_out")),
        else_=literal(None),
    )


def _eligible(settings: Settings) -> Any:
    return and_(Status.visibility == "public", Status.reblog_of_id.is_(None), Account.suspended.is_(False),
                Account.approved.is_(True), Account.bot.is_(False), _opted_in(settings))


async def _count_exclusions(db: Database, settings: Settings, tally: Tally) -> None:
    reason = _exclusion_reason(settings).label("reason")
    async with db.transaction(write=False) as session:
        rows = (await session.execute(select(reason, func.count()).select_from(Status).join(
            Account, Account.id == Status.account_id).group_by(reason))).all()
        tally.members_opted_out = int(await session.scalar(select(func.count()).select_from(Account).where(
            Account.suspended.is_(False), Account.approved.is_(True), Account.bot.is_(False),
            ~_opted_in(settings))) or 0)
    for key in ("not_public", "reblog", "opted_out", "bot", "suspended_or_unapproved"):
        tally.excluded[key] = 0
    for key, count in rows:
        if key is not None:
            tally.excluded[key] = int(count)
    tally.excluded["duplicate"] = tally.excluded["empty_after_scrubbing"] = 0


async def _eligible_posts(db: Database, settings: Settings) -> AsyncIterator[Any]:
    """Eligible posts oldest first, `BATCH` rows per short read transaction (keyset on the id)."""
    after = 0
    while True:
        async with db.transaction(write=False) as session:
            rows = (await session.execute(
                select(Status.id, Status.account_id, Status.text, Status.language, Status.created_at,
                       Status.in_reply_to_id)
                .join(Account, Account.id == Status.account_id)
                .where(_eligible(settings), Status.id > after).order_by(Status.id).limit(BATCH))).all()
        for row in rows:
            yield row
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def normalised_key(text: str) -> bytes:
    """Duplicates are the same text up to Unicode form, case and spacing."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.blake2b(folded.encode("utf-8"), digest_size=12).digest()


def in_val(status_id: int, val_percent: float) -> bool:
    """The split follows from the id alone, so it is the same every time the corpus is rebuilt."""
    return _split_hash(status_id) < val_percent * 100


def _split_hash(status_id: int) -> int:
    digest = hashlib.blake2b(str(status_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10_000


async def _write_raw_documents(db: Database, settings: Settings, path: Path, val_percent: float, tally: Tally,
                               progress: Progress) -> tuple[int | None, dict[int, int]]:
    """Pass 1: scrubbed, de-duplicated documents (split not yet final). Returns the train document
    closest to the val threshold (promoted if no document fell in val) and the kept replies."""
    seen: set[bytes] = set()
    replies: dict[int, int] = {}  # reply id → the post it answers, both kept
    read = 0
    nearest: tuple[int, int] | None = None  # (split hash, id) of the train document nearest val
    with path.open("w", encoding="utf-8") as out:
        async for row in _eligible_posts(db, settings):
            read += 1
            text, counts = scrub(row.text)
            for kind, n in counts.items():
                tally.scrubbed[kind] += n
            if is_empty(text):
                tally.excluded["empty_after_scrubbing"] += 1
                continue
            key = normalised_key(text)
            if key in seen:
                tally.excluded["duplicate"] += 1
                continue
            seen.add(key)
            val = in_val(row.id, val_percent)
            tally.documents += 1
            tally.val_documents += val
            if not val and (nearest is None or _split_hash(row.id) < nearest[0]):
                nearest = (_split_hash(row.id), row.id)
            if row.in_reply_to_id is not None:
                replies[row.id] = row.in_reply_to_id
            created = as_utc(row.created_at)
            tally.first = tally.first or created
            tally.last = created
            tally.languages[row.language or "und"] += 1
            tally.authors.add(row.account_id)
            out.write(json.dumps({"id": str(row.id), "text": text, "lang": row.language, "created_at": iso(created),
                                  "split": "val" if val else "train"}, ensure_ascii=False) + "\n")
    progress(f"read {read} eligible posts; scrubbed {sum(tally.scrubbed.values())} personal details "
             f"({', '.join(f'{n} {k}' for k, n in tally.scrubbed.items())})")
    progress(f"deduplicated: kept {tally.documents} documents, dropped {tally.excluded['duplicate']} duplicates "
             f"and {tally.excluded['empty_after_scrubbing']} empty after scrubbing")
    promote = nearest[1] if nearest is not None and tally.val_documents == 0 and tally.documents >= 2 else None
    return promote, replies


def _finish_documents(raw: Path, directory: Path, promote: int | None, replies: dict[int, int], tally: Tally) -> None:
    """Pass 2: documents.jsonl with the final split, and pairs.jsonl. A reply's parent is older, so
    one pass in id order meets it first; only the texts of posts that were answered are held."""
    answered = set(replies.values())
    parents: dict[int, str] = {}
    with raw.open(encoding="utf-8") as source, (directory / "documents.jsonl").open("w", encoding="utf-8") as docs, \
            (directory / "pairs.jsonl").open("w", encoding="utf-8") as pairs:
        for line in source:
            doc = json.loads(line)
            status_id = int(doc["id"])
            if status_id == promote:
                doc["split"] = "val"
                tally.val_documents += 1
            docs.write(json.dumps(doc, ensure_ascii=False) + "\n")
            if status_id in answered:
                parents[status_id] = doc["text"]
            parent = replies.get(status_id)
            if parent is not None and parent in parents:
                tally.pairs += 1
                pairs.write(json.dumps({"id": doc["id"], "prompt": parents[parent], "reply": doc["text"],
                                        "split": doc["split"]}, ensure_ascii=False) + "\n")
    raw.unlink()


def _documents(directory: Path) -> Iterator[dict[str, Any]]:
    with (directory / "documents.jsonl").open(encoding="utf-8") as source:
        for line in source:
            yield json.loads(line)


def _encoded(directory: Path, tokenizer: Any) -> Iterator[tuple[str, list[int]]]:
    """(split, token ids) per document, in id order, encoded a batch at a time (the Rust tokenizer's
    batch encoding uses every core)."""
    batch: list[dict[str, Any]] = []

    def flush() -> Iterator[tuple[str, list[int]]]:
        encodings = tokenizer.backend_tokenizer.encode_batch([d["text"] for d in batch], add_special_tokens=False)
        for doc, encoding in zip(batch, encodings, strict=True):
            yield doc["split"], encoding.ids
        batch.clear()

    for doc in _documents(directory):
        batch.append(doc)
        if len(batch) >= ENCODE_BATCH:
            yield from flush()
    if batch:
        yield from flush()


def _check_options(vocab_size: int, val_percent: float) -> None:
    if not MIN_VOCAB <= vocab_size <= MAX_VOCAB:
        raise CorpusError(f"vocab size must be between {MIN_VOCAB} and {MAX_VOCAB}, not {vocab_size}")
    if not 0 <= val_percent <= 50:
        raise CorpusError(f"val percent must be between 0 and 50, not {val_percent}")


def _replace(building: Path, target: Path) -> None:
    """Swap the finished corpus in: the old one is moved aside, then removed."""
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    building.rename(target)
    shutil.rmtree(old, ignore_errors=True)


async def build_corpus(db: Database, settings: Settings, *, out_dir: Path | None = None, vocab_size: int = 16384,
                       val_percent: float = 5.0, progress: Progress | None = None) -> dict[str, Any]:
    """Build the corpus into `out_dir` (default: data_dir/ai/corpus) and return its datasheet."""
    from agora.ai.datasheet import datasheet, write_datasheet
    from agora.ai.shards import write_shards
    from agora.ai.tokenizer import END_OF_TEXT, save_tokenizer, train_tokenizer

    _check_options(vocab_size, val_percent)
    say = progress or (lambda message: None)
    target = out_dir or corpus_dir(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir()
    try:
        tally = Tally()
        say("reading public posts by members who let the model learn from them")
        await _count_exclusions(db, settings, tally)
        raw = building / "documents.raw.jsonl"
        promote, replies = await _write_raw_documents(db, settings, raw, val_percent, tally, say)
        if tally.documents == 0:
            raise CorpusError("there are no public posts to learn from (every post was excluded or none exist)")
        _finish_documents(raw, building, promote, replies, tally)
        # The pairs' texts are documents too, so the documents alone cover everything the model reads.
        tokenizer = train_tokenizer((d["text"] for d in _documents(building)), vocab_size=vocab_size)
        save_tokenizer(tokenizer, building / "tokenizer")
        say(f"tokenizer: {len(tokenizer)} tokens (asked for at most {vocab_size})")
        shards = write_shards(building, _encoded(building, tokenizer), vocab_size=len(tokenizer),
                              eos_id=tokenizer.convert_tokens_to_ids(END_OF_TEXT))
        say(f"shards: {shards['train']['tokens']} train tokens in {len(shards['train']['files'])} files, "
            f"{shards['val']['tokens']} val tokens in {len(shards['val']['files'])} files")
        sheet = datasheet(tally, shards, settings)
        write_datasheet(building, sheet)
        _replace(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return sheet

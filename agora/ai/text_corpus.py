"""A corpus directory made from plain texts, in the layout `agora ai corpus` writes (documents,
pairs, tokenizer, token shards, a datasheet summary): for benchmarks and tests that train without
a community database, and for an operator who wants to try the trainer on text of their own."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from agora.ai.paths import corpus_dir
from agora.ai.shards import write_shards
from agora.ai.tokenizer import save_tokenizer, train_tokenizer
from agora.config import Settings


def write_text_corpus(data_dir: Path, texts: Sequence[str], *, pairs: Sequence[tuple[str, str]] = (),
                      vocab_size: int, val_every: int = 20) -> dict[str, int]:
    """Write data_dir's corpus from `texts` (one document each) and (prompt, reply) `pairs`; every
    `val_every`-th document and pair is held out. Returns the datasheet summary plus the vocabulary."""
    folder = corpus_dir(Settings.model_construct(data_dir=data_dir))
    folder.mkdir(parents=True, exist_ok=True)

    def split(i: int) -> str:
        return "val" if i % val_every == 0 else "train"

    (folder / "documents.jsonl").write_text("".join(
        json.dumps({"id": i + 1, "text": text, "lang": "en", "created_at": "2026-12-01T00:00:00+00:00",
                    "split": split(i)}) + "\n" for i, text in enumerate(texts)), encoding="utf-8")
    (folder / "pairs.jsonl").write_text("".join(
        json.dumps({"id": 1_000_000 + i, "prompt": prompt, "reply": reply, "split": split(i)}) + "\n"
        for i, (prompt, reply) in enumerate(pairs)), encoding="utf-8")
    tokenizer = train_tokenizer([*texts, *(f"{prompt} {reply}" for prompt, reply in pairs)], vocab_size=vocab_size)
    save_tokenizer(tokenizer, folder / "tokenizer")
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    meta = write_shards(folder, ((split(i), ids) for i, ids in enumerate(encoded)), vocab_size=len(tokenizer),
                        eos_id=tokenizer.eos_token_id)
    summary = {"documents": len(texts), "pairs": len(pairs), "train_tokens": meta["train"]["tokens"],
               "val_tokens": meta["val"]["tokens"], "vocab_size": len(tokenizer)}
    (folder / "datasheet.json").write_text(json.dumps({"summary": summary}), encoding="utf-8")
    return summary

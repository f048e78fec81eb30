"""A small corpus in the corpus directory's format, made without a database: for trainer tests
that need text with structure a model can learn in a few dozen steps."""

from __future__ import annotations

import json
import random
from pathlib import Path

from agora.ai.paths import corpus_dir
from agora.ai.shards import write_shards
from agora.ai.tokenizer import save_tokenizer, train_tokenizer
from agora.config import Settings

SUBJECTS = ["the river loop", "my sourdough", "the night market", "our choir", "the new tram line", "Postgres 17"]
VERBS = ["was lovely", "needs more salt", "opens at seven", "sounds great", "runs every ten minutes", "is fast"]


def build_synthetic_corpus(data_dir: Path, *, documents: int = 400, vocab_size: int = 400, seed: int = 7) -> Path:
    rng = random.Random(seed)
    folder = corpus_dir(Settings.model_construct(data_dir=data_dir))
    folder.mkdir(parents=True, exist_ok=True)
    docs = []
    for i in range(documents):
        sentence = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} today, {rng.choice(['yes', 'really', 'honestly'])}."
        docs.append({"id": i + 1, "text": sentence, "lang": "en", "created_at": "2026-12-01T00:00:00+00:00",
                     "split": "val" if i % 10 == 0 else "train"})
    pairs = [{"id": 10_000 + i, "prompt": f"How was {rng.choice(SUBJECTS)}?", "reply": f"It {rng.choice(VERBS)}.",
              "split": "val" if i % 10 == 0 else "train"} for i in range(documents // 4)]
    (folder / "documents.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    (folder / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    tokenizer = train_tokenizer([d["text"] for d in docs] + [p["prompt"] + " " + p["reply"] for p in pairs],
                                vocab_size=vocab_size)
    save_tokenizer(tokenizer, folder / "tokenizer")
    write_shards(folder, ((d["split"], tokenizer.encode(d["text"], add_special_tokens=False)) for d in docs),
                 vocab_size=len(tokenizer), eos_id=tokenizer.eos_token_id)
    (folder / "datasheet.json").write_text(json.dumps({"summary": {"documents": documents, "pairs": len(pairs)}}),
                                           encoding="utf-8")
    return folder

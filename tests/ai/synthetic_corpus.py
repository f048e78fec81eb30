"""A small corpus in the corpus directory's format, made without a database: for trainer tests
that need text with structure a model can learn in a few dozen steps."""

from __future__ import annotations

import random
from pathlib import Path

from agora.ai.paths import corpus_dir
from agora.ai.text_corpus import write_text_corpus
from agora.config import Settings

SUBJECTS = ["the river loop", "my sourdough", "the night market", "our choir", "the new tram line", "Postgres 17"]
VERBS = ["was lovely", "needs more salt", "opens at seven", "sounds great", "runs every ten minutes", "is fast"]


def build_synthetic_corpus(data_dir: Path, *, documents: int = 400, vocab_size: int = 400, seed: int = 7) -> Path:
    rng = random.Random(seed)
    texts = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} today, {rng.choice(['yes', 'really', 'honestly'])}."
             for _ in range(documents)]
    pairs = [(f"How was {rng.choice(SUBJECTS)}?", f"It {rng.choice(VERBS)}.") for _ in range(documents // 4)]
    write_text_corpus(data_dir, texts, pairs=pairs, vocab_size=vocab_size, val_every=10)
    return corpus_dir(Settings.model_construct(data_dir=data_dir))

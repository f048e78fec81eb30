"""Where the AI pipeline keeps its files, all under the data directory (`AGORA_DATA_DIR`, `var/`).

    var/ai/corpus/        the latest corpus: texts, tokenizer, token shards, datasheet
    var/models/<run-id>/  one training run: model (Hugging Face format), checkpoint, metrics, card
    var/models/PROMOTED   the run id the assistant uses
"""

from __future__ import annotations

from pathlib import Path

from agora.config import Settings


def corpus_dir(settings: Settings) -> Path:
    return settings.data_dir / "ai" / "corpus"


def models_dir(settings: Settings) -> Path:
    return settings.data_dir / "models"

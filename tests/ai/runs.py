"""Fake training runs on disk, as the trainer leaves them: for registry, model card, CLI and page tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RUN = {
    "id": "20261205-0731-tiny", "preset": "tiny", "status": "finished", "created_at": "2026-12-05T07:31:00+00:00",
    "finished_at": "2026-12-05T07:39:12+00:00", "parameters": 1_412_096, "vocab_size": 4096, "steps": 600,
    "tokens_seen": 2_457_600, "tokens_per_second": 5120.4, "mfu": 0.0123, "device": "cpu", "world_size": 1,
    "train_loss": 1.52, "val_loss": 1.1663, "val_perplexity": 3.2102, "chat_val_loss": 1.9, "init_from": None,
    "config": {"steps": 600, "batch_size": 16, "seq_len": 256, "learning_rate": 0.003, "warmup_steps": 30,
               "min_lr": 0.0003, "weight_decay": 0.1, "grad_clip": 1.0, "precision": "fp32", "seed": 1234},
    "corpus": {"documents": 1234},
}
DATASHEET = {"summary": {
    "documents": 1234, "pairs": 321, "tokens": 98_765, "languages": {"en": 900, "de": 200, "zh": 134},
    "first_post": "2026-01-02", "last_post": "2026-12-01", "members_included": 42, "members_opted_out": 3,
    "ai_training_default": True, "excluded": {"direct": 17, "private": 5, "opted_out": 40, "duplicate": 9},
    "scrubbed": {"email": 4, "phone": 2, "card": 1, "iban": 1},
}}
EVAL = {"val_loss": 1.1663, "val_perplexity": 3.2102, "chat_val_loss": 1.9,
        "samples": [{"prompt": "What is everyone running this weekend?", "completion": "The long run by the river!"}]}


def make_run(models: Path, run_id: str = RUN["id"], *, model: bool = True, datasheet: bool = True,
             evaluation: bool = True, **fields: Any) -> Path:
    """A run folder under `models` with run.json (RUN with `fields` changed) and, as asked, the rest."""
    folder = models / run_id
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({**RUN, "id": run_id, **fields}), encoding="utf-8")
    if model:
        (folder / "model").mkdir()
        (folder / "model" / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    if datasheet:
        (folder / "datasheet.json").write_text(json.dumps(DATASHEET), encoding="utf-8")
    if evaluation:
        (folder / "eval.json").write_text(json.dumps(EVAL), encoding="utf-8")
    return folder

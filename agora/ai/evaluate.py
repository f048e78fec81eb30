"""`agora ai eval`: held-out perplexity and samples for a fixed prompt set, written into the run folder
(eval.json, samples.md), recorded in run.json and shown on the model card.

The held-out split is chosen by a hash of each post's id (agora/ai/corpus.py), so a post held out
from training stays held out when the corpus is rebuilt later with newer posts.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from agora.ai import data
from agora.ai.registry import RunRecord, read_run, write_run
from agora.ai.tokenizer import chat_prompt, stop_token_ids

# Openings in the community's registers and languages, and questions for the chat format. Fixed, so
# two runs' samples can be compared side by side.
PROMPTS: list[tuple[str, str]] = [
    ("text", "Saturday morning"),
    ("text", "Just finished"),
    ("text", "Hot take:"),
    ("text", "The best thing about this city is"),
    ("text", "今天"),
    ("text", "Heute"),
    ("chat", "What should I cook tonight?"),
    ("chat", "Any tips for my first half marathon?"),
    ("chat", "Is it worth upgrading Postgres this year?"),
]


def evaluate_run(run_dir: Path, corpus: Path, *, windows: int = 256, max_new_tokens: int = 60,
                 seed: int = 0) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM

    from agora.ai.tokenizer import load_tokenizer

    record = read_run(run_dir)
    model_dir = run_dir / "model"
    if not record.finished or not (model_dir / "config.json").exists():
        raise ValueError(f"run {record.id} is {record.status}: only a finished run has a model to evaluate")
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tokenizer = load_tokenizer(model_dir)
    length = int(record.config.get("seq_len") or model.config.max_position_embeddings)
    held_out = data.encode_documents(corpus / "documents.jsonl", "val", tokenizer)
    result: dict[str, Any] = {"evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                              **held_out_perplexity(model, held_out, length=length, limit=windows),
                              "samples": samples(model, tokenizer, max_new_tokens=max_new_tokens, seed=seed)}
    (run_dir / "eval.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    (run_dir / "samples.md").write_text(_samples_markdown(record, result), encoding="utf-8")
    record.eval = {k: v for k, v in result.items() if k != "samples"}
    write_run(run_dir, record)
    from agora.ai.model_card import write_model_card

    write_model_card(run_dir)
    return result


@torch.no_grad()
def held_out_perplexity(model: Any, tokens: np.ndarray, *, length: int, limit: int) -> dict[str, Any]:
    """Mean next-token loss over non-overlapping held-out windows, and its exponential."""
    starts = data.validation_windows(tokens, length=min(length, max(len(tokens) - 2, 1)), limit=limit)
    if not starts:
        return {"val_loss": None, "val_perplexity": None, "val_tokens": 0}
    span = min(length, len(tokens) - 2)
    total, scored = 0.0, 0
    for i in range(0, len(starts), 8):
        batch = data.windows(tokens, np.asarray(starts[i:i + 8]), span)
        logits = model(input_ids=batch.inputs).logits
        total += F.cross_entropy(logits.float().flatten(0, 1), batch.labels.flatten(), reduction="sum").item()
        scored += batch.scored
    loss = total / scored
    return {"val_loss": loss, "val_perplexity": math.exp(min(loss, 50.0)), "val_tokens": scored}


@torch.no_grad()
def samples(model: Any, tokenizer: Any, *, max_new_tokens: int, seed: int) -> list[dict[str, str]]:
    out = []
    for kind, prompt in PROMPTS:
        text = chat_prompt([{"role": "user", "content": prompt}]) if kind == "chat" else prompt
        ids = torch.tensor([tokenizer.encode(text, add_special_tokens=False)])
        torch.manual_seed(seed)  # each prompt's sample is reproducible on its own
        generated = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                                   temperature=0.8, top_p=0.95, max_new_tokens=max_new_tokens,
                                   eos_token_id=stop_token_ids(tokenizer), pad_token_id=tokenizer.pad_token_id)
        completion = tokenizer.decode(generated[0, ids.shape[1]:], skip_special_tokens=True)
        out.append({"kind": kind, "prompt": prompt, "completion": completion.strip()})
    return out


def _samples_markdown(record: RunRecord, result: dict[str, Any]) -> str:
    lines = [f"# Samples from {record.id}", "",
             f"Held-out perplexity {result['val_perplexity']:.2f} over {result['val_tokens']:,} tokens."
             if result.get("val_perplexity") else "No held-out tokens to measure.", "",
             "Sampled with temperature 0.8, top-p 0.95, seed fixed per prompt; unedited.", ""]
    for sample in result["samples"]:
        label = "Asked" if sample["kind"] == "chat" else "Prompt"
        lines += [f"## {label}: {sample['prompt']}", "", "```text", sample["completion"] or "(nothing)", "```", ""]
    return "\n".join(lines)

"""The baseline: a minimal plain-PyTorch training loop, the one a tutorial would write, for the same
model, batch, optimizer and precision as Agora's trainer.

Random windows from the token array (drawn with torch), forward, cross-entropy, backward, gradient
clipping, AdamW step, zero_grad — nothing else: no schedule, no logging, no validation, no meter.
What Agora's trainer does beyond this (its data pipeline, learning-rate schedule, per-step loss
read-back, metrics file, progress bar) is what the bench's ratio charges it for.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from agora.ai.model import Preset, build_model, llama_config
from agora.ai.shards import read_tokens
from agora.ai.tokenizer import load_tokenizer, stop_token_ids


@dataclass(frozen=True)
class Shape:
    """What both loops train: the same for each, so their step times compare."""

    preset: Preset
    batch: int  # sequences per optimizer step
    length: int  # tokens per sequence
    micro: int  # sequences per forward pass (gradient accumulation when < batch)
    device: str  # "cpu" or "cuda"

    @property
    def tokens_per_step(self) -> int:
        return self.batch * self.length


def new_model(corpus: Path, preset: Preset, seed: int = 1234) -> torch.nn.Module:
    """The model Agora's trainer builds for this corpus and preset (same config, same seed)."""
    tokenizer = load_tokenizer(corpus / "tokenizer")
    torch.manual_seed(seed)
    return build_model(llama_config(preset, vocab_size=len(tokenizer), pad_id=tokenizer.pad_token_id,
                                    bos_id=tokenizer.bos_token_id, eos_ids=stop_token_ids(tokenizer)))


def autocast(device: str) -> contextlib.AbstractContextManager[Any]:
    # bf16 on GPU, fp32 on CPU: what Agora's trainer does
    return torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else contextlib.nullcontext()


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def plain_run(corpus: Path, shape: Shape, *, warmup: int, measured: int, learning_rate: float) -> float:
    """Train `warmup` + `measured` steps; returns the seconds the measured steps took."""
    device = torch.device(shape.device)
    tokens = torch.from_numpy(np.asarray(read_tokens(corpus, "train"), dtype=np.int64))
    model = new_model(corpus, shape.preset).to(device)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    keep = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": keep, "weight_decay": 0.0}],
                                  lr=learning_rate, betas=(0.9, 0.95), fused=shape.device == "cuda")
    offsets = torch.arange(shape.length + 1)
    accumulate = shape.batch // shape.micro
    started = 0.0
    for step in range(warmup + measured):
        if step == warmup:
            sync(shape.device)
            started = time.perf_counter()
        for _ in range(accumulate):
            starts = torch.randint(0, len(tokens) - shape.length - 1, (shape.micro, 1))
            chunk = tokens[starts + offsets].to(device, non_blocking=True)
            x, y = chunk[:, :-1], chunk[:, 1:]
            with autocast(shape.device):
                logits = model(input_ids=x).logits
            loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
            (loss / accumulate).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    sync(shape.device)
    seconds = time.perf_counter() - started
    del model, optimizer
    if shape.device == "cuda":
        torch.cuda.empty_cache()
    return seconds

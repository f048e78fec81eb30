"""Training batches: random windows over the token stream, and (prompt, reply) chat examples.

Every batch is a pure function of (seed, step): the same global batch whatever the number of
processes (each rank takes its own rows of it), and the same batch again after a resume. That is
what makes a resumed run, and a run on two processes, reproduce a single uninterrupted one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from agora.ai.tokenizer import END_OF_TURN, chat_prompt

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

IGNORE = -100  # label of a position whose prediction is not scored (the prompt, padding)
PRETRAIN, CHAT = 0, 1  # stream ids folded into the seed, so the two stages never share a batch


@dataclass(frozen=True)
class Batch:
    inputs: torch.Tensor  # (rows, length) token ids
    labels: torch.Tensor  # (rows, length) next-token targets, IGNORE where unscored

    @property
    def scored(self) -> int:
        return int((self.labels != IGNORE).sum())


def rank_rows(global_batch: int, rank: int, world_size: int) -> slice:
    if global_batch % world_size:
        raise ValueError(f"the global batch ({global_batch}) must divide evenly over {world_size} processes")
    per_rank = global_batch // world_size
    return slice(rank * per_rank, (rank + 1) * per_rank)


def window_starts(tokens: int, length: int, count: int, *, seed: int, step: int) -> np.ndarray:
    """`count` window starts for one global batch: uniform over the stream, drawn from (seed, step)."""
    rng = np.random.default_rng([seed, PRETRAIN, step])
    return rng.integers(0, tokens - length - 1, size=count, endpoint=True)


def windows(tokens: np.ndarray, starts: np.ndarray, length: int) -> Batch:
    rows = np.stack([np.asarray(tokens[s:s + length + 1], dtype=np.int64) for s in starts])
    data = torch.from_numpy(rows)
    return Batch(inputs=data[:, :-1], labels=data[:, 1:])


def pretrain_batches(tokens: np.ndarray, *, length: int, global_batch: int, micro_batch: int, rank: int,
                     world_size: int, seed: int, step: int) -> list[Batch]:
    """This rank's micro-batches of global batch number `step`."""
    starts = window_starts(len(tokens), length, global_batch, seed=seed, step=step)[
        rank_rows(global_batch, rank, world_size)]
    return [windows(tokens, starts[i:i + micro_batch], length) for i in range(0, len(starts), micro_batch)]


def validation_windows(tokens: np.ndarray, *, length: int, limit: int) -> list[int]:
    """Non-overlapping windows from the start of the held-out stream: the same every evaluation."""
    return list(range(0, max(len(tokens) - length - 1, 0) + 1, length))[:limit] if len(tokens) > length else []


def fit_length(tokens: int, wanted: int) -> int:
    """The context to train on: the preset's, or less when the corpus is smaller than one window."""
    return max(8, min(wanted, tokens - 2))


# --- the conversational stage --------------------------------------------------------------------


@dataclass(frozen=True)
class ChatExample:
    ids: list[int]
    prompt_tokens: int  # how many leading ids are the prompt (unscored)


def read_pairs(path: Path, split: str) -> Iterator[tuple[str, str]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            pair = json.loads(line)
            if pair.get("split", "train") == split:
                yield pair["prompt"], pair["reply"]


def chat_examples(pairs: Iterator[tuple[str, str]], tokenizer: PreTrainedTokenizerFast, *,
                  length: int) -> list[ChatExample]:
    """Each (post, reply) as a user turn and an assistant turn, scored on the reply only: the model
    learns to answer in the chat format, not to imitate the question."""
    examples = []
    for prompt, reply in pairs:
        prompt_ids = tokenizer.encode(chat_prompt([{"role": "user", "content": prompt}]), add_special_tokens=False)
        reply_ids = tokenizer.encode(f"{reply}{END_OF_TURN}\n", add_special_tokens=False)
        prompt_ids = prompt_ids[-(length // 2):]  # a long post keeps its end, the part the reply follows
        ids = (prompt_ids + reply_ids)[:length + 1]
        if len(ids) > len(prompt_ids):
            examples.append(ChatExample(ids=ids, prompt_tokens=len(prompt_ids)))
    return examples


def chat_batch(examples: list[ChatExample], pad_id: int) -> Batch:
    width = max(len(e.ids) for e in examples) - 1
    inputs = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for row, example in enumerate(examples):
        ids = torch.tensor(example.ids, dtype=torch.long)
        inputs[row, :len(ids) - 1] = ids[:-1]
        labels[row, :len(ids) - 1] = ids[1:]
        labels[row, :example.prompt_tokens - 1] = IGNORE
    return Batch(inputs=inputs, labels=labels)


def chat_batches(examples: list[ChatExample], *, pad_id: int, global_batch: int, micro_batch: int, rank: int,
                 world_size: int, seed: int, step: int) -> list[Batch]:
    rng = np.random.default_rng([seed, CHAT, step])
    picked = rng.integers(0, len(examples), size=global_batch)[rank_rows(global_batch, rank, world_size)]
    chosen = [examples[i] for i in picked]
    return [chat_batch(chosen[i:i + micro_batch], pad_id) for i in range(0, len(chosen), micro_batch)]


def encode_documents(path: Path, split: str, tokenizer: PreTrainedTokenizerFast) -> np.ndarray:
    """A split's documents as one token stream in `tokenizer`'s ids: for continued pre-training of an
    operator's model, whose vocabulary is not the corpus tokenizer's."""
    eos = tokenizer.eos_token_id
    stream: list[int] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            document = json.loads(line)
            if document.get("split", "train") == split:
                stream.extend(tokenizer.encode(document["text"], add_special_tokens=False))
                stream.append(eos)
    return np.asarray(stream, dtype=np.int64)

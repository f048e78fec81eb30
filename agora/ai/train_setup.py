"""Everything a run needs before its first step: data, tokenizer, model, optimizer, run folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from agora.ai import data
from agora.ai.distributed import World, from_main
from agora.ai.model import build_model, llama_config
from agora.ai.tokenizer import load_tokenizer, stop_token_ids
from agora.ai.train_config import TrainConfig

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast


@dataclass
class Corpus:
    train: np.ndarray
    val: np.ndarray
    chat_train: list[data.ChatExample]
    chat_val: list[data.ChatExample]
    summary: dict[str, Any]
    length: int  # the context trained on: the preset's, or less when the corpus is tiny


def load_model_and_tokenizer(config: TrainConfig) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """A new model of the preset (initialised from the seed), or the operator's model to continue."""
    if not (config.corpus / "shards.json").exists():
        raise FileNotFoundError(f"no corpus in {config.corpus}: run `agora ai corpus` first")
    if config.init_from is not None:
        from transformers import AutoModelForCausalLM

        if not (config.init_from / "config.json").exists():
            raise FileNotFoundError(f"{config.init_from} is not a model directory (no config.json)")
        tokenizer = load_tokenizer(config.init_from)
        model = AutoModelForCausalLM.from_pretrained(str(config.init_from), dtype=torch.float32)
        return model, tokenizer
    tokenizer = load_tokenizer(config.corpus / "tokenizer")
    torch.manual_seed(config.seed)  # the same initial weights on every process and every try
    model = build_model(llama_config(config.spec, vocab_size=len(tokenizer), pad_id=tokenizer.pad_token_id,
                                     bos_id=tokenizer.bos_token_id, eos_ids=stop_token_ids(tokenizer)))
    return model, tokenizer


def load_corpus(config: TrainConfig, tokenizer: PreTrainedTokenizerFast) -> Corpus:
    from agora.ai.shards import read_tokens

    if config.init_from is not None:  # the operator's model has its own vocabulary: re-encode the texts
        train = data.encode_documents(config.corpus / "documents.jsonl", "train", tokenizer)
        val = data.encode_documents(config.corpus / "documents.jsonl", "val", tokenizer)
    else:
        train, val = read_tokens(config.corpus, "train"), read_tokens(config.corpus, "val")
    if len(train) < 16 or len(val) == 0:
        raise ValueError(f"the corpus is too small to train on ({len(train)} training, {len(val)} held-out tokens)")
    length = data.fit_length(len(train), config.seq_len or 0)
    pairs = config.corpus / "pairs.jsonl"
    sheet = config.corpus / "datasheet.json"
    return Corpus(
        train=train, val=val,
        chat_train=data.chat_examples(data.read_pairs(pairs, "train"), tokenizer, length=length),
        chat_val=data.chat_examples(data.read_pairs(pairs, "val"), tokenizer, length=length),
        summary=json.loads(sheet.read_text(encoding="utf-8")).get("summary", {}) if sheet.exists() else {},
        length=length,
    )


def make_optimizer(model: torch.nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices only (norm gains are not shrunk towards zero)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    keep = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": keep, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate or 0.0, betas=config.betas,
                             fused=device.type == "cuda")


def wrap(model: torch.nn.Module, config: TrainConfig, world: World) -> torch.nn.Module:
    """Replicate (DDP) or shard (FSDP, per decoder layer) across processes; as is in a world of one."""
    model.to(world.device)
    if config.compile:
        model = torch.compile(model)
    if not world.distributed:
        return model
    if config.fsdp:
        from torch.distributed.fsdp import fully_shard

        for layer in model.model.layers:
            fully_shard(layer)
        return fully_shard(model)
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[world.local_rank] if world.device.type == "cuda" else None)


def choose_run_dir(config: TrainConfig, world: World) -> Path:
    """The run folder: the one named, the newest unfinished one when resuming, or a new one."""
    from agora.ai.registry import list_runs, new_run_id, run_dir

    run_id = config.run_id
    if run_id is None and world.is_main:
        if config.resume:
            unfinished = [run for run in list_runs(config.settings) if not run.finished]
            if not unfinished:
                raise FileNotFoundError("no unfinished run to resume: `agora ai models` lists the runs")
            run_id = unfinished[0].id
        else:
            run_id = new_run_id(config.preset, datetime.now(UTC), config.settings)
    folder = run_dir(config.settings, from_main(world, run_id))
    if world.is_main:
        folder.mkdir(parents=True, exist_ok=True)
    return folder

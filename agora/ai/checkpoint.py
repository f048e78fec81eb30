"""Checkpoints with exact resume, and the finished model in Hugging Face format.

A checkpoint holds full (unsharded) model and optimizer state keyed by parameter name — through
torch.distributed.checkpoint's state-dict API, the same file whether the run was one process,
DDP or FSDP, so a run may resume on a different number of GPUs. The data order needs no state:
each batch is a function of (seed, step) (agora/ai/data.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)

from agora.ai.distributed import World, barrier

if TYPE_CHECKING:
    from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerFast

FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)
CHECKPOINT = "checkpoint.pt"


def save_checkpoint(world: World, run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    progress: dict[str, Any]) -> None:
    """Every process takes part in gathering the state; the main one writes it (then renames, so an
    interrupted save leaves the previous checkpoint whole)."""
    model_state, optimizer_state = get_state_dict(model, optimizer, options=FULL)
    if world.is_main:
        partial = run_dir / (CHECKPOINT + ".partial")
        torch.save({"model": model_state, "optimizer": optimizer_state, "progress": progress}, partial)
        os.replace(partial, run_dir / CHECKPOINT)
    barrier(world)


def load_checkpoint(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore model and optimizer in place; returns the saved progress (step, stage, losses).
    Every process reads the file: on several nodes the run folder must be on shared storage."""
    path = run_dir / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint to resume from in {run_dir}")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    set_state_dict(model, optimizer, model_state_dict=saved["model"], optim_state_dict=saved["optimizer"],
                   options=StateDictOptions(full_state_dict=True))
    return saved["progress"]


def save_pretrained(world: World, directory: Path, model: torch.nn.Module, base: PreTrainedModel,
                    tokenizer: PreTrainedTokenizerFast, generation: GenerationConfig) -> None:
    """The model as transformers and vLLM load it: config.json, model.safetensors, generation
    defaults and the tokenizer, side by side. `base` is the unwrapped model (for its config)."""
    state = get_model_state_dict(model, options=FULL)
    if world.is_main:
        directory.mkdir(parents=True, exist_ok=True)
        base.save_pretrained(str(directory), state_dict=state, safe_serialization=True)
        generation.save_pretrained(str(directory))
        tokenizer.save_pretrained(str(directory))
    barrier(world)

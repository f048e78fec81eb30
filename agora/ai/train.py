"""`agora ai train`: pre-training on the corpus, then a short conversational stage, one code path for
one CPU, one GPU, and many GPUs and nodes under torchrun (DDP; FSDP for the large presets).

    agora ai train --preset tiny                              # a laptop
    torchrun --nproc-per-node 8 -m agora.cli ai train --preset 1b   # a node of GPUs

The loop: AdamW, linear warm-up then cosine decay, gradient accumulation and clipping, bf16 on GPU,
validation loss and perplexity every `eval_every` steps, a checkpoint every `save_every` steps (and on
SIGTERM, for preemptible clusters) that resumes exactly, a progress bar with tokens/s and MFU, and a
loss chart in the run folder.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from agora.ai import data
from agora.ai.checkpoint import load_checkpoint, save_checkpoint, save_pretrained
from agora.ai.distributed import World, any_rank, join, leave, sum_all
from agora.ai.loss_chart import draw_loss_chart
from agora.ai.registry import RunRecord, read_run, write_run
from agora.ai.throughput import Meter, peak_flops
from agora.ai.train_config import TrainConfig, learning_rate
from agora.ai.train_setup import Corpus, choose_run_dir, load_corpus, load_model_and_tokenizer, make_optimizer, wrap


@dataclass
class Run:
    """A training run in progress: what the loop reads and updates."""

    config: TrainConfig
    world: World
    folder: Path
    model: torch.nn.Module  # wrapped for DDP/FSDP when distributed
    base: Any  # the unwrapped transformers model
    tokenizer: Any
    optimizer: torch.optim.Optimizer
    corpus: Corpus
    length: int
    record: RunRecord
    metrics: list[dict[str, Any]] = field(default_factory=list)
    step: int = 0
    tokens: int = 0
    stop_requested: bool = False

    @property
    def total_steps(self) -> int:
        return (self.config.steps or 0) + (self.config.chat_steps or 0 if self.corpus.chat_train else 0)

    def stage(self, step: int) -> str:
        return "pretrain" if step < (self.config.steps or 0) else "chat"


def train(config: TrainConfig, *, log: Callable[[str], None] = print) -> Path:
    """Train (or resume) one run; returns its folder. Every process of a torchrun job calls this."""
    world = join(config.device)
    say = log if world.is_main else _quiet  # one voice under torchrun
    try:
        run = _start(config.resolved(), world, say)
        _loop(run, say)
        return run.folder
    finally:
        leave(world)


def _quiet(_: str) -> None:
    pass


def _start(config: TrainConfig, world: World, log: Callable[[str], None]) -> Run:
    model, tokenizer = load_model_and_tokenizer(config)
    corpus = load_corpus(config, tokenizer)
    length = corpus.length
    folder = choose_run_dir(config, world)
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    base = model
    wrapped = wrap(model, config, world)
    optimizer = make_optimizer(wrapped, config, world.device)  # after FSDP swapped in sharded parameters
    record = RunRecord(id=folder.name, preset=config.preset, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                       parameters=parameters, vocab_size=len(tokenizer), device=world.describe(),
                       world_size=world.size, init_from=str(config.init_from) if config.init_from else None,
                       config={**config.as_record(), "seq_len": length}, corpus=corpus.summary)
    run = Run(config=config, world=world, folder=folder, model=wrapped, base=base, tokenizer=tokenizer,
              optimizer=optimizer, corpus=corpus, length=length, record=record)
    if config.resume:
        saved = load_checkpoint(folder, wrapped, optimizer)
        run.step, run.tokens = saved["step"], saved["tokens"]
        run.record = read_run(folder)
        run.metrics = [m for m in _read_metrics(folder) if m["step"] <= run.step]
        log(f"resuming {folder.name} at step {run.step} of {run.total_steps}")
    else:
        log(f"run {folder.name}: {config.preset}, {parameters / 1e6:.1f} M parameters, "
            f"{len(corpus.train):,} training tokens, context {length}, {world.size} process(es) on {world.describe()}")
    if world.is_main:
        (folder / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in run.metrics), encoding="utf-8")
        write_run(folder, run.record)
    return run


def _loop(run: Run, log: Callable[[str], None]) -> None:
    config, world = run.config, run.world
    previous = signal.signal(signal.SIGTERM, lambda *_: setattr(run, "stop_requested", True))
    spec = config.spec
    peak, peak_source = peak_flops(world.device, config.peak_tflops)
    meter = Meter(spec.flops_per_token(len(run.tokenizer), run.length), peak, world.size)
    bar = tqdm(total=run.total_steps, initial=run.step, disable=not world.is_main, unit="step", dynamic_ncols=True)
    started_at, stop_at = run.step, (run.step + config.stop_after if config.stop_after else None)
    if run.step == 0:  # where the loss starts: the chart's first point, and the test's baseline
        _record(run, {"step": 0, "stage": "pretrain", "tokens": 0, **_validate(run)})
        bar.write(f"step 0: val loss {run.metrics[0].get('val_loss', float('nan')):.3f}")
    try:
        while run.step < run.total_steps:
            loss, tokens = _train_step(run)
            run.tokens += tokens
            meter.add(tokens)
            run.step += 1
            rate, mfu = meter.read() if run.step % 10 == 0 or run.step == run.total_steps else (None, None)
            row = {"step": run.step, "stage": run.stage(run.step - 1), "loss": loss, "tokens": run.tokens,
                   "lr": _lr(run, run.step - 1)}
            if rate is not None:
                row |= {"tokens_per_second": rate, "mfu": mfu}
                bar.set_postfix_str(f"loss {loss:.3f}  {rate:,.0f} tok/s" + (f"  MFU {mfu:.1%}" if mfu else ""))
                run.record.tokens_per_second, run.record.mfu = rate, mfu
            bar.update(1)
            boundary = run.step in (config.steps, run.total_steps)
            if run.step % config.eval_every == 0 or boundary:
                paused = time.perf_counter()
                row |= _validate(run)
                meter.pause(time.perf_counter() - paused)
                bar.write(_describe(row))
            _record(run, row)
            interrupted = any_rank(world, run.stop_requested) or (stop_at is not None and run.step >= stop_at)
            if run.step % config.save_every == 0 or interrupted or run.step == run.total_steps:
                paused = time.perf_counter()
                _save(run, train_loss=loss)
                meter.pause(time.perf_counter() - paused)
            if interrupted and run.step < run.total_steps:
                log(f"stopped at step {run.step} (checkpoint saved): continue with `agora ai train --resume`")
                return
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, previous)
    _finish(run, log, peak_source, started_at)


def _record(run: Run, row: dict[str, Any]) -> None:
    run.metrics.append(row)
    if run.world.is_main:
        with (run.folder / "metrics.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")


def _lr(run: Run, step: int) -> float:
    config = run.config
    peak = config.learning_rate or 0.0
    if run.stage(step) == "pretrain":
        return learning_rate(step, peak=peak, warmup=config.warmup_steps or 0, total=config.steps or 0,
                             min_ratio=config.min_lr_ratio)
    chat_steps = config.chat_steps or 1
    return learning_rate(step - (config.steps or 0), peak=peak * config.chat_learning_rate_ratio,
                         warmup=max(1, min(10, chat_steps // 10)), total=chat_steps, min_ratio=config.min_lr_ratio)


def _batches(run: Run, step: int) -> list[data.Batch]:
    config, world = run.config, run.world
    per_rank = (config.batch_size or 0) // world.size
    micro = min(config.micro_batch or per_rank, per_rank)
    common = {"global_batch": config.batch_size or 0, "micro_batch": micro, "rank": world.rank,
              "world_size": world.size, "seed": config.seed, "step": step}
    if run.stage(step) == "pretrain":
        return data.pretrain_batches(run.corpus.train, length=run.length, **common)
    return data.chat_batches(run.corpus.chat_train, pad_id=run.tokenizer.pad_token_id, **common)


def _autocast(world: World) -> contextlib.AbstractContextManager[Any]:
    if world.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()  # fp32 on CPU: bf16 matmuls are slower than fp32 on most CPUs


def _train_step(run: Run) -> tuple[float, int]:
    """One optimizer update over this rank's micro-batches; returns the global batch's mean loss and
    the tokens this step processed on all ranks."""
    batches = _batches(run, run.step)
    scored = sum(b.scored for b in batches)
    for group in run.optimizer.param_groups:
        group["lr"] = _lr(run, run.step)
    loss_sum = 0.0
    for i, batch in enumerate(batches):
        last = i == len(batches) - 1
        sync = contextlib.nullcontext() if last or not hasattr(run.model, "no_sync") else run.model.no_sync()
        with sync:
            with _autocast(run.world):
                logits = run.model(input_ids=batch.inputs.to(run.world.device)).logits
            total = F.cross_entropy(logits.float().flatten(0, 1), batch.labels.to(run.world.device).flatten(),
                                    ignore_index=data.IGNORE, reduction="sum")
            (total / max(scored, 1)).backward()  # the rank's mean over its scored tokens
            loss_sum += total.item()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.config.grad_clip)
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    loss_all, scored_all, tokens_all = sum_all(run.world, loss_sum, scored, sum(b.inputs.numel() for b in batches))
    return loss_all / max(scored_all, 1), int(tokens_all)


@torch.no_grad()
def _validate(run: Run) -> dict[str, float]:
    """Held-out loss (mean over scored tokens, every process a share of the windows) and perplexity."""
    run.model.eval()
    out: dict[str, float] = {}
    starts = data.validation_windows(run.corpus.val, length=run.length, limit=run.config.eval_windows)
    mine = starts[run.world.rank::run.world.size]
    batches = [data.windows(run.corpus.val, mine[i:i + 8], run.length) for i in range(0, len(mine), 8)]
    if (loss := _mean_loss(run, batches)) is not None:
        out |= {"val_loss": loss, "val_perplexity": math.exp(min(loss, 50.0))}
    chat = run.corpus.chat_val[:run.config.eval_windows][run.world.rank::run.world.size]
    chat_batches = [data.chat_batch(chat[i:i + 8], run.tokenizer.pad_token_id) for i in range(0, len(chat), 8)]
    if (loss := _mean_loss(run, chat_batches)) is not None:
        out["chat_val_loss"] = loss
    run.model.train()
    return out


def _mean_loss(run: Run, batches: list[data.Batch]) -> float | None:
    total, scored = 0.0, 0
    for batch in batches:
        with _autocast(run.world):
            logits = run.model(input_ids=batch.inputs.to(run.world.device)).logits
        total += F.cross_entropy(logits.float().flatten(0, 1), batch.labels.to(run.world.device).flatten(),
                                 ignore_index=data.IGNORE, reduction="sum").item()
        scored += batch.scored
    total, scored = sum_all(run.world, total, scored)
    return total / scored if scored else None


def _save(run: Run, *, train_loss: float) -> None:
    save_checkpoint(run.world, run.folder, run.model, run.optimizer, {"step": run.step, "tokens": run.tokens})
    record = run.record
    record.steps, record.tokens_seen, record.train_loss = run.step, run.tokens, train_loss
    for row in reversed(run.metrics):
        if "val_loss" in row:
            record.val_loss, record.val_perplexity = row["val_loss"], row["val_perplexity"]
            break
    record.chat_val_loss = next((row["chat_val_loss"] for row in reversed(run.metrics) if "chat_val_loss" in row),
                                record.chat_val_loss)
    if run.world.is_main:
        write_run(run.folder, record)
        draw_loss_chart(run.folder / "loss.png", run.metrics, f"{run.folder.name}: loss")


def _finish(run: Run, log: Callable[[str], None], peak_source: str, started_at: int) -> None:
    from transformers import GenerationConfig

    from agora.ai.tokenizer import stop_token_ids

    generation = GenerationConfig(do_sample=True, temperature=0.8, top_p=0.95, max_new_tokens=128,
                                  eos_token_id=stop_token_ids(run.tokenizer), pad_token_id=run.tokenizer.pad_token_id,
                                  bos_token_id=run.tokenizer.bos_token_id)
    save_pretrained(run.world, run.folder / "model", run.model, run.base, run.tokenizer, generation)
    if not run.world.is_main:
        return
    sheet = run.config.corpus / "datasheet.json"
    if sheet.exists():
        (run.folder / "datasheet.json").write_bytes(sheet.read_bytes())
    run.record.status, run.record.finished_at = "finished", datetime.now(UTC).isoformat(timespec="seconds")
    run.record.extra["mfu_peak"] = peak_source
    write_run(run.folder, run.record)
    from agora.ai.model_card import write_model_card

    write_model_card(run.folder)
    log(f"finished {run.folder.name}: {run.step - started_at} steps this session, val loss "
        f"{run.record.val_loss:.3f} (perplexity {run.record.val_perplexity:.1f}); model in {run.folder / 'model'}"
        if run.record.val_loss is not None else f"finished {run.folder.name}; model in {run.folder / 'model'}")


def _describe(row: dict[str, Any]) -> str:
    parts = [f"step {row['step']} ({row['stage']})", f"loss {row['loss']:.3f}"]
    if "val_loss" in row:
        parts.append(f"val loss {row['val_loss']:.3f} (perplexity {row['val_perplexity']:.1f})")
    if "chat_val_loss" in row:
        parts.append(f"chat val loss {row['chat_val_loss']:.3f}")
    return ", ".join(parts)


def _read_metrics(folder: Path) -> list[dict[str, Any]]:
    path = folder / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

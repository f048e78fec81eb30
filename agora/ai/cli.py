"""`agora ai …`: build the corpus, train, evaluate, list and promote models.

Each command imports its machinery when it runs, so `agora --help` stays fast."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

ai = typer.Typer(help="The community language model: corpus, training, evaluation, registry.", no_args_is_help=True)
console = Console(stderr=True)

# --- corpus (agora/ai/corpus*.py) ---------------------------------------------------------------

@ai.command("corpus")
def corpus(
    vocab_size: int = typer.Option(16384, "--vocab-size", help="At most this many tokens in the tokenizer."),
    val_percent: float = typer.Option(5.0, "--val-percent", help="Share of posts held out for validation."),
) -> None:
    """Build the training corpus from members' public posts (their choice honoured), with a datasheet."""
    import asyncio

    from rich.markup import escape

    from agora.ai.corpus import CorpusError, build_corpus
    from agora.ai.paths import corpus_dir
    from agora.config import Settings
    from agora.kit.db import Database

    settings = Settings()

    async def run() -> dict:
        db = Database(settings.resolved_database_url)
        try:
            return await build_corpus(db, settings, vocab_size=vocab_size, val_percent=val_percent,
                                      progress=lambda message: console.log(escape(message)))
        finally:
            await db.dispose()

    try:
        sheet = asyncio.run(run())
    except CorpusError as refused:
        console.print(f"[red]error:[/red] {escape(str(refused))}")
        raise typer.Exit(1) from None
    summary = sheet["summary"]
    console.print(f"[green]corpus[/green] {summary['documents']} documents, {summary['pairs']} pairs, "
                  f"{summary['train_tokens']} train + {summary['val_tokens']} val tokens, "
                  f"vocabulary {summary['vocab_size']} → {corpus_dir(settings)}")


# --- training and evaluation (agora/ai/train*.py, agora/ai/evaluate.py) ---------------------------

@ai.command("train")
def train_command(
    preset: str = typer.Option("tiny", help="Model size: `agora ai presets` lists them."),
    steps: int | None = typer.Option(None, help="Pre-training steps (default: the preset's)."),
    batch_size: int | None = typer.Option(None, help="Global batch in sequences, over all processes."),
    micro_batch: int | None = typer.Option(None, help="Sequences per forward pass (gradient accumulation)."),
    seq_len: int | None = typer.Option(None, help="Context length trained on (default: the preset's)."),
    learning_rate: float | None = typer.Option(None, "--lr", help="Peak learning rate (default: the preset's)."),
    chat_steps: int | None = typer.Option(None, help="Conversational-stage steps (default: 15% of --steps)."),
    eval_every: int | None = typer.Option(None, help="Validate every this many steps (default: 10 times a run)."),
    save_every: int = typer.Option(200, help="Checkpoint every this many steps."),
    seed: int = typer.Option(1234, help="Same seed, same corpus, same run."),
    resume: bool = typer.Option(False, "--resume", help="Continue the newest unfinished run (or --run-id)."),
    run_id: str | None = typer.Option(None, help="Name of the run to create or resume."),
    init_from: Path | None = typer.Option(None, help="Continue pre-training a Hugging Face Llama model directory."),
    stop_after: int | None = typer.Option(None, help="Stop with a checkpoint after this many steps (time-boxed jobs)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    compile_model: bool = typer.Option(False, "--compile", help="torch.compile the model (GPU)."),
    fsdp: bool | None = typer.Option(None, "--fsdp/--no-fsdp", help="Shard across GPUs (default: the preset's)."),
    peak_tflops: float | None = typer.Option(None, help="Peak TFLOP/s per device for the MFU figure."),
) -> None:
    """Train the community model on the corpus. Under torchrun: `torchrun --nproc-per-node N -m agora.cli ai train`."""
    from rich.markup import escape

    from agora.ai.train import train
    from agora.ai.train_config import TrainConfig
    from agora.config import Settings

    config = TrainConfig(
        preset=preset, data_dir=Settings().data_dir, steps=steps, batch_size=batch_size, micro_batch=micro_batch,
        seq_len=seq_len, learning_rate=learning_rate, chat_steps=chat_steps, eval_every=eval_every,
        save_every=save_every, seed=seed, resume=resume, run_id=run_id, init_from=init_from, stop_after=stop_after,
        device=device, compile=compile_model, fsdp=fsdp, peak_tflops=peak_tflops)
    try:
        config.resolved()
        train(config, log=lambda message: console.print(escape(message)))
    except (ValueError, FileNotFoundError) as refused:
        console.print(f"[red]error:[/red] {escape(str(refused))}")
        raise typer.Exit(1) from None


@ai.command("eval")
def eval_command(
    run_id: str | None = typer.Argument(None, help="A run id (default: the newest finished run)."),
    windows: int = typer.Option(256, help="Held-out windows to measure perplexity on."),
    max_new_tokens: int = typer.Option(60, help="Length of each sample."),
) -> None:
    """Held-out perplexity and samples for a fixed prompt set, written into the run folder."""
    from rich.markup import escape

    from agora.ai.evaluate import evaluate_run
    from agora.ai.paths import corpus_dir
    from agora.ai.registry import RegistryError, get_run, list_runs
    from agora.config import Settings

    settings = Settings()
    try:
        if run_id is None:
            finished = [run for run in list_runs(settings) if run.finished]
            if not finished:
                raise RegistryError("no finished run to evaluate: `agora ai train --preset tiny` makes one")
            run_id = finished[0].id
        folder = get_run(settings, run_id).path
        result = evaluate_run(folder, corpus_dir(settings), windows=windows, max_new_tokens=max_new_tokens)
    except (RegistryError, ValueError, FileNotFoundError) as refused:
        console.print(f"[red]error:[/red] {escape(str(refused))}")
        raise typer.Exit(1) from None
    if result["val_perplexity"] is not None:
        console.print(f"held-out perplexity [bold]{result['val_perplexity']:.2f}[/bold] "
                      f"(loss {result['val_loss']:.3f}, {result['val_tokens']:,} tokens)")
    for sample in result["samples"]:
        console.print(f"[dim]{escape(sample['prompt'])}[/dim] → {escape(sample['completion'])}")
    console.print(f"written: {folder / 'eval.json'}, {folder / 'samples.md'}, model card updated")


# --- registry and model cards (agora/ai/registry.py, agora/ai/model_card.py) ----------------------


def _registry_error(error: Exception) -> typer.Exit:
    """Say what is wrong, as the operator typed it, and fail (exit 1)."""
    from rich.markup import escape

    console.print(f"[red]error:[/red] {escape(str(error))}")
    return typer.Exit(1)


@ai.command("models")
def models() -> None:
    """List the training runs with their figures, newest first; ★ marks the promoted one."""
    from rich.table import Table

    from agora.ai.card_format import compact, decimal, text, whole
    from agora.ai.registry import list_runs, promoted_id
    from agora.config import Settings

    settings = Settings()
    runs = list_runs(settings)
    if not runs:
        console.print("no runs yet: `agora ai corpus && agora ai train --preset tiny`")
        return
    chosen = promoted_id(settings)
    table = Table(title="Training runs (★ promoted: the one the assistant uses)")
    for column in ("", "run id", "preset", "parameters", "status", "steps", "tokens seen", "val loss",
                   "perplexity", "created"):
        table.add_column(column, no_wrap=column in ("run id", "created"),
                         justify="right" if column in ("parameters", "steps", "tokens seen", "val loss",
                                                       "perplexity") else "left")
    for run in runs:
        table.add_row("★" if run.id == chosen else "", text(run.id), text(run.preset), compact(run.parameters),
                      text(run.status), whole(run.steps), compact(run.tokens_seen), decimal(run.val_loss, 3),
                      decimal(run.val_perplexity, 2), text((run.created_at or "")[:16].replace("T", " ")))
    Console().print(table)


@ai.command("promote")
def promote_run(run_id: str = typer.Argument(..., help="A run id from `agora ai models`.")) -> None:
    """Make a finished run the model the community assistant uses."""
    from agora.ai.registry import RegistryError, promote
    from agora.config import Settings

    try:
        record = promote(Settings(), run_id)
    except RegistryError as error:
        raise _registry_error(error) from None
    console.print(f"[green]promoted[/green] {record.id}: the assistant uses it from its next answer")


@ai.command("card")
def card(run_id: str = typer.Argument(..., help="A run id from `agora ai models`.")) -> None:
    """Write the run's model card again (MODEL_CARD.md, and model/README.md for the Hugging Face Hub)."""
    from agora.ai.model_card import CARD_FILE, write_model_card
    from agora.ai.registry import RegistryError, get_run
    from agora.config import Settings

    settings = Settings()
    try:
        record = get_run(settings, run_id)
        assert record.path is not None
        write_model_card(record.path, settings)
    except RegistryError as error:
        raise _registry_error(error) from None
    console.print(f"[green]wrote[/green] {record.path / CARD_FILE}")
    Console().print(str(record.path / CARD_FILE), soft_wrap=True, markup=False, highlight=False)


@ai.command("presets")
def presets() -> None:
    """The model presets. Training memory ≈ parameters × 16 bytes: AdamW with fp32 master weights,
    gradients and two moments, bf16 compute; activations come on top and grow with the batch."""
    from rich.table import Table

    from agora.ai.card_format import compact, size, whole
    from agora.ai.model import preset_table

    table = Table(title="Model presets (parameters with a 32,000-token vocabulary)")
    for column in ("name", "parameters", "layers", "hidden", "heads / kv", "context", "training memory",
                   "batch", "steps", "about"):
        table.add_column(column, no_wrap=column not in ("about",))
    for row in preset_table():
        parameters = int(row["parameters"])  # type: ignore[call-overload]
        table.add_row(str(row["name"]), compact(parameters), str(row["layers"]), str(row["hidden"]),
                      f"{row['heads']} / {row['kv_heads']}", whole(row["context"]),
                      f"≈ {size(parameters * 16)}", whole(row["batch_size"]), whole(row["steps"]),
                      str(row["about"]))
    Console().print(table)
    console.print("training memory ≈ parameters × 16 bytes (AdamW, fp32 master weights and moments, "
                  "bf16 compute), before activations; FSDP divides it across GPUs")


# --- oversight (agora/ai/audit.py) ------------------------------------------------------------------

@ai.command("audit")
def audit_export(
    since: str | None = typer.Option(None, "--since", help="Only answers from this date (YYYY-MM-DD) or time on."),
    format: str = typer.Option("jsonl", "--format", help="jsonl (one JSON object a line) or csv."),
) -> None:
    """Print the assistant's audit log (every answer, oldest first) to stdout, for operators."""
    import asyncio
    import sys
    from datetime import UTC, datetime

    from agora.ai import audit
    from agora.config import Settings
    from agora.kit.db import Database

    if format not in ("jsonl", "csv"):
        console.print("[red]error:[/red] --format must be jsonl or csv")
        raise typer.Exit(2)
    moment = None
    if since:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            console.print("[red]error:[/red] --since must be a date (YYYY-MM-DD) or an ISO 8601 time")
            raise typer.Exit(2) from None
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    line = audit.jsonl_line if format == "jsonl" else audit.csv_line

    async def run() -> None:
        db = Database(Settings().resolved_database_url)
        try:
            if format == "csv":
                sys.stdout.write(audit.csv_header())
            async for row in audit.export_rows(lambda: db.transaction(write=False), since=moment):
                sys.stdout.write(line(row))
        finally:
            await db.dispose()

    asyncio.run(run())
    sys.stdout.flush()


@ai.command("status")
def status() -> None:
    """Whether the assistant is on (AGORA_AI_ENABLED), its engine, the promoted model, the audit rows."""
    import asyncio

    from agora.ai import audit
    from agora.config import Settings
    from agora.kit.db import Database

    settings = Settings()

    async def rows() -> int:
        db = Database(settings.resolved_database_url)
        try:
            async with db.transaction(write=False) as session:
                return await audit.count(session)
        finally:
            await db.dispose()

    engine = audit.engine_description(settings)
    out = Console()
    out.print(f"assistant: {'enabled' if settings.ai_enabled else 'DISABLED (AGORA_AI_ENABLED=false)'}",
              highlight=False, markup=False)
    out.print(f"engine: {engine['engine']}", highlight=False, markup=False)
    out.print(f"promoted model: {engine['promoted'] or 'none'}", highlight=False, markup=False)
    out.print(f"audit rows: {asyncio.run(rows())}", highlight=False, markup=False)


# --- the assistant as a member ---------------------------------------------------------------------

@ai.command("assistant-run-once")
def assistant_run_once() -> None:
    """Answer every pending mention of @assistant and message to it now, each exactly once (the
    server's worker does this continuously; safe to run beside it)."""
    import asyncio

    from agora.ai.member import ensure_assistant_account, run_once
    from agora.config import Settings
    from agora.kit.db import Database

    settings = Settings()

    async def run() -> int:
        db = Database(settings.resolved_database_url)
        try:
            async with db.transaction() as session:
                await ensure_assistant_account(session, settings)
            return await run_once(db, settings)
        finally:
            await db.dispose()

    if not settings.ai_enabled:
        console.print("[yellow]the assistant is switched off (AGORA_AI_ENABLED=false): nothing answered[/yellow]")
        return
    answered = asyncio.run(run())
    console.print(f"[green]done[/green] {answered} mention(s) and message(s) answered or looked at")

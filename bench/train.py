"""Training benchmark: tokens/s of Agora's trainer (`agora.ai.train`) beside a minimal plain-PyTorch
loop (`bench/train_plain.py`) training the same model on the same batches, measured in the same run.

On the CPU it trains the `tiny` and `small` presets (fp32, AdamW, gradient clipping at 1.0) on a
generated corpus (Zipf-distributed made-up words, a 16k byte-level BPE vocabulary: the shape of a
real community corpus, so the embedding table is the size it would be). Each preset is measured
plain, Agora, plain, Agora (alternating, so a drift in the CPU's clock or in other processes' load
falls on both sides alike), warm-up steps excluded. The ratio Agora ÷ plain is the trainer's overhead
(its data pipeline, schedule, per-step loss read-back, metrics file and progress bar); the aim is
≥ 0.9. When a GPU is present (torch.cuda.is_available()), it also measures the largest preset whose
memory fits one GPU, at the preset's batch and context in bf16, with MFU against the GPU's datasheet.

Agora's side runs the real `train()`; the bench times it by stamping the entry of each optimizer step
(`agora.ai.train._train_step`, patched for the run) and stops it once the measured steps are done, so
the figure covers the whole loop between steps and never the start-up, validation or saving.

Usage: .venv/bin/python bench/train.py [--quick] [--rounds 2] [--presets tiny,small] [--no-gpu]
Figures go to stdout, docs/bench/train.md and docs/bench/train.png.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

if not __package__:  # run as `python bench/train.py`: import the `bench` package from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import torch

from agora.ai.model import PRESETS, Preset, padded_vocab
from agora.ai.train_config import TrainConfig
from bench import REPO, STARTED, log
from bench.machine import OtherWork, cpu_probe, cpu_share
from bench.train_plain import Shape, new_model, plain_run
from bench.train_report import Case, draw_chart, print_table, write_markdown

SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vel", "an", "dor", "is", "que", "tha", "ul", "bri", "nox",
             "pe", "ra", "zin", "gor", "li", "mu", "sen", "ob", "tri"]
# CPU batches: the tiny preset's own; small at its context but 4 sequences, not 32 (a 32 × 512 step
# takes about a minute on 2 cores, and a few steps would not fit the bench's 10 minutes)
CPU_BATCH = {"tiny": 16, "small": 4}
CPU_STEPS = {"tiny": (3, 20), "small": (1, 2)}  # (warm-up, measured) per run
QUICK_STEPS = {"tiny": (1, 2), "small": (1, 1)}
QUICK_BATCH = {"tiny": 16, "small": 1}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few steps, one round, a small corpus: a check")
    parser.add_argument("--presets", default="tiny,small", help="CPU presets, comma-separated")
    parser.add_argument("--rounds", type=int, help="plain + Agora pairs per preset (default 2, quick 1)")
    parser.add_argument("--words", type=int, help="words in the generated corpus (default 1,500,000)")
    parser.add_argument("--vocab", type=int, default=16_384, help="tokenizer vocabulary")
    parser.add_argument("--no-gpu", action="store_true", help="skip the GPU measurement even with a GPU")
    parser.add_argument("--gpu-preset", choices=list(PRESETS), help="default: the largest that fits")
    parser.add_argument("--gpu-steps", default=None, help="GPU warm-up,measured steps (default 1,3; quick 1,1)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench", help="where the .md and .png go")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/bench alone")
    args = parser.parse_args(argv)
    args.presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = [p for p in args.presets if p not in PRESETS]
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}: choose from {', '.join(PRESETS)}")
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.words = args.words or (150_000 if args.quick else 1_500_000)
    warm, measured = (args.gpu_steps or ("1,1" if args.quick else "1,3")).split(",")
    args.gpu_steps = (int(warm), int(measured))
    if args.rounds < 1 or args.words < 10_000 or min(args.gpu_steps) < 1:
        parser.error("need at least 1 round, 10,000 words and one GPU step of each kind")
    return args


def build_corpus(data_dir: Path, *, words: int, vocab: int, seed: int) -> dict[str, int]:
    """A corpus directory (tokenizer, shards, datasheet) of generated posts; returns its summary."""
    from agora.ai.text_corpus import write_text_corpus

    rng = random.Random(seed)
    lexicon = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(40_000)})
    rng.shuffle(lexicon)
    weights = [1 / (rank + 1) ** 1.07 for rank in range(len(lexicon))]  # Zipf, as words are in real text
    drawn = rng.choices(lexicon, weights=weights, k=words)
    texts, at = [], 0
    while at < len(drawn):
        size = rng.randint(8, 120)  # a post: a line to a paragraph
        texts.append(" ".join(drawn[at:at + size]).capitalize() + rng.choice([".", "!", "?", "..."]))
        at += size
    return write_text_corpus(data_dir, texts, vocab_size=vocab)


class _Measured(Exception):
    """Raised from inside the trainer once the measured steps are done: stops it before it validates
    and saves, which would only cost time the figure does not count."""


def agora_run(data_dir: Path, shape: Shape, *, warmup: int, measured: int) -> tuple[float, list[float]]:
    """Agora's trainer on `shape`; returns (seconds of the measured steps, its own meter's tokens/s)."""
    import agora.ai.train as trainer

    stamps: list[float] = []
    original = trainer._train_step

    def timed(run: trainer.Run) -> tuple[float, int]:
        stamps.append(time.perf_counter())  # the previous step is done: its loss was read back
        if len(stamps) > warmup + measured:
            raise _Measured
        return original(run)

    config = TrainConfig(data_dir=data_dir, preset=shape.preset.name, steps=warmup + measured + 1, chat_steps=0,
                         batch_size=shape.batch, seq_len=shape.length, micro_batch=shape.micro,
                         eval_every=10**9, save_every=10**9, eval_windows=2, device=shape.device)
    trainer._train_step = timed  # type: ignore[assignment]
    meter = []
    try:
        trainer.train(config, log=log)
        raise RuntimeError("the trainer finished before the measured steps were done")
    except _Measured:
        for line in next((data_dir / "models").iterdir()).joinpath("metrics.jsonl").read_text().splitlines():
            row = json.loads(line)  # the trainer's own reading, every 10 steps
            if "tokens_per_second" in row and row["step"] >= 10 + max(10, warmup):  # past warm-up and step 0
                meter.append(row["tokens_per_second"])
    finally:
        trainer._train_step = original  # type: ignore[assignment]
        shutil.rmtree(data_dir / "models", ignore_errors=True)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return stamps[warmup + measured] - stamps[warmup], meter


def memory_needed(preset: Preset, vocab: int, micro: int) -> float:
    """Bytes one GPU needs to train `preset` at `micro` sequences per forward pass, roughly: fp32 weights,
    gradients and AdamW's two moments plus autocast's bf16 copies (18 bytes a parameter), and the
    activations kept for backward (bf16 with SDPA attention, nothing recomputed) and the fp32 logits."""
    per_token = preset.layers * (34 * preset.hidden + 12 * preset.intermediate) + 10 * padded_vocab(vocab)
    return 18 * preset.parameters(padded_vocab(vocab)) + micro * preset.context * per_token


def gpu_shape(vocab: int, name: str | None) -> Shape | None:
    """The largest preset (or the one named) that fits the GPU at its own batch and context, with the
    largest power-of-two micro-batch that fits; None when none fits."""
    total = torch.cuda.get_device_properties(0).total_memory * 0.85  # headroom for fragmentation
    for preset in ([PRESETS[name]] if name else reversed(PRESETS.values())):
        micro = preset.batch_size
        while micro >= 1:
            if memory_needed(preset, vocab, micro) <= total or (name and micro == 1):
                return Shape(preset, preset.batch_size, preset.context, micro, "cuda")
            micro //= 2
    return None


def measure(case: Case, data_dir: Path, *, rounds: int, warmup: int, measured: int) -> Case:
    """Plain, Agora, plain, Agora, …: the same model, batch and steps each time."""
    corpus = data_dir / "ai" / "corpus"
    window = OtherWork()
    for number in range(1, rounds + 1):
        label = f"{case.shape.preset.name} on {case.shape.device}, round {number}/{rounds}"
        log(f"{label}: plain PyTorch, {warmup} warm-up + {measured} measured steps")
        seconds = plain_run(corpus, case.shape, warmup=warmup, measured=measured,
                            learning_rate=case.shape.preset.learning_rate)
        case.plain.append(seconds / measured)
        log(f"  {case.shape.tokens_per_step * measured / seconds:,.0f} tokens/s ({seconds / measured:.2f} s/step)")
        log(f"{label}: Agora's trainer, {warmup} warm-up + {measured} measured steps")
        seconds, meter = agora_run(data_dir, case.shape, warmup=warmup, measured=measured)
        case.agora.append(seconds / measured)
        case.meter.extend(meter)
        log(f"  {case.shape.tokens_per_step * measured / seconds:,.0f} tokens/s ({seconds / measured:.2f} s/step)")
    case.steps = (warmup, measured)
    case.other_share = cpu_share(*window.finish())
    log(f"  other processes used at least {case.other_share:.0%} of the machine's CPU meanwhile")
    return case


def new_case(shape: Shape, data_dir: Path, vocab: int) -> Case:
    from agora.ai.throughput import peak_flops

    device = torch.device(shape.device)
    peak, source = peak_flops(device)
    parameters = sum(p.numel() for p in new_model(data_dir / "ai" / "corpus", shape.preset).parameters())
    name = torch.cuda.get_device_name(0) if shape.device == "cuda" else "CPU"
    return Case(shape=shape, parameters=parameters, flops_per_token=shape.preset.flops_per_token(vocab, shape.length),
                peak=peak, peak_source=source, device_name=name)


def measure_gpu(data_dir: Path, vocab: int, args: argparse.Namespace) -> Case | None:
    """The largest preset that fits, by the estimate; on running out of memory anyway, half the
    micro-batch, then the next smaller preset."""
    shape = gpu_shape(vocab, args.gpu_preset)
    while shape is not None:
        log(f"GPU: {shape.preset.name}, batch {shape.batch} × {shape.length} in micro-batches of {shape.micro}")
        try:
            return measure(new_case(shape, data_dir, vocab), data_dir, rounds=1, warmup=args.gpu_steps[0],
                           measured=args.gpu_steps[1])
        except torch.cuda.OutOfMemoryError:
            log("  out of GPU memory")
        gc.collect()  # outside the except block: its traceback kept the failed run's tensors alive
        torch.cuda.empty_cache()
        if shape.micro > 1:
            shape = replace(shape, micro=shape.micro // 2)
        else:
            smaller = list(PRESETS)[list(PRESETS).index(shape.preset.name) - 1]
            shape = gpu_shape(vocab, smaller) if shape.preset.name != "tiny" else None
    log("GPU: no preset fits its memory")
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    probes = [cpu_probe()]
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-train-"))
    cases: list[Case] = []
    try:
        log(f"generating a corpus of {args.words:,} words and training a {args.vocab:,}-token tokenizer")
        corpus = build_corpus(workdir, words=args.words, vocab=args.vocab, seed=args.seed)
        log(f"  {corpus['documents']:,} posts, {corpus['train_tokens']:,} training tokens, "
            f"vocabulary {corpus['vocab_size']:,}")
        for name in args.presets:
            preset = PRESETS[name]
            batch = (QUICK_BATCH if args.quick else CPU_BATCH).get(name, preset.batch_size)
            warmup, measured = (QUICK_STEPS if args.quick else CPU_STEPS).get(name, (1, 3))
            shape = Shape(preset, batch, preset.context, batch, "cpu")
            cases.append(measure(new_case(shape, workdir, corpus["vocab_size"]), workdir, rounds=args.rounds,
                                 warmup=warmup, measured=measured))
        on_gpu = torch.cuda.is_available() and not args.no_gpu
        gpu = measure_gpu(workdir, corpus["vocab_size"], args) if on_gpu else None
        cases.extend([gpu] if gpu else [])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    probes.append(cpu_probe())
    total = time.perf_counter() - STARTED
    print_table(cases)
    if cases and not args.no_report:
        args.out.mkdir(parents=True, exist_ok=True)
        write_markdown(args.out / "train.md", cases, corpus, args, started_at, total, probes)
        draw_chart(args.out / "train.png", cases)
        log(f"wrote {args.out / 'train.md'} and {args.out / 'train.png'}")
    log(f"done in {total / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

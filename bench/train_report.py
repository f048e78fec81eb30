"""The training benchmark's report: a table on stdout, docs/bench/train.md and a tokens/s chart (PNG)."""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version as pkg_version
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from bench.chart import _font
from bench.machine import machine
from bench.report import markdown_table
from bench.train_plain import Shape

HEAD = ["preset", "device", "parameters", "batch × seq (micro)", "plain tok/s", "Agora tok/s", "Agora ÷ plain",
        "plain s/step", "Agora s/step", "MFU plain", "MFU Agora", "trainer's meter tok/s"]
COLORS = {"plain": (67, 147, 195), "agora": (214, 96, 77)}
AIM = 0.9  # the target for Agora ÷ plain


@dataclass
class Case:
    """One preset on one device: the seconds per step of each round, each side."""

    shape: Shape
    parameters: int
    flops_per_token: float
    peak: float | None
    peak_source: str
    device_name: str
    plain: list[float] = field(default_factory=list)  # seconds per step, one per round
    agora: list[float] = field(default_factory=list)
    meter: list[float] = field(default_factory=list)  # the trainer's own tokens/s readings past warm-up
    steps: tuple[int, int] = (0, 0)  # (warm-up, measured) per run
    other_share: float = 0.0  # of the machine's CPU, used by other processes while this case ran

    def rate(self, side: str) -> float:
        seconds = self.plain if side == "plain" else self.agora
        return self.shape.tokens_per_step / statistics.fmean(seconds) if seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.rate("agora") / self.rate("plain") if self.rate("plain") else 0.0

    def mfu(self, side: str) -> float | None:
        return self.rate(side) * self.flops_per_token / self.peak if self.peak else None


def _mfu(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}" if value >= 0.001 else f"{value:.2%}"


def _rows(cases: Sequence[Case]) -> list[list[str]]:
    rows = []
    for c in cases:
        s = c.shape
        meter = f"{len(c.meter) / sum(1 / r for r in c.meter):,.0f}" if c.meter else "–"  # harmonic mean
        rows.append([s.preset.name, c.device_name, f"{c.parameters / 1e6:.1f} M", f"{s.batch} × {s.length} ({s.micro})",
                     f"{c.rate('plain'):,.0f}", f"{c.rate('agora'):,.0f}", f"**{c.ratio:.2f}**",
                     f"{statistics.fmean(c.plain):.3f}", f"{statistics.fmean(c.agora):.3f}",
                     _mfu(c.mfu("plain")), _mfu(c.mfu("agora")), meter])
    return rows


def _round_rows(cases: Sequence[Case]) -> list[list[str]]:
    return [[c.shape.preset.name, c.shape.device, str(i + 1), f"{c.shape.tokens_per_step / p:,.0f}",
             f"{c.shape.tokens_per_step / a:,.0f}", f"{p / a:.2f}"]
            for c in cases for i, (p, a) in enumerate(zip(c.plain, c.agora, strict=True))]


def print_table(cases: Sequence[Case]) -> None:
    print(" | ".join(HEAD))
    for row in _rows(cases):
        print(" | ".join(cell.replace("**", "") for cell in row))
    for c in cases:
        print(f"{c.shape.preset.name} on {c.shape.device}: rounds (plain, Agora tok/s) "
              + ", ".join(f"({r[3]}, {r[4]})" for r in _round_rows([c])) + f"; peak: {c.peak_source}")


def _verdict(c: Case) -> str:
    name = f"**{c.shape.preset.name} on {c.shape.device}**"
    if c.ratio >= AIM:
        return (f"{name}: Agora's trainer runs at {c.ratio:.2f}× the plain loop's tokens/s: its overhead is within "
                f"the {AIM:.0%} aim.")
    return (f"{name}: Agora's trainer runs at {c.ratio:.2f}× the plain loop's tokens/s, below the {AIM:.0%} aim: "
            "look at the per-round figures first (other processes on the machine move both sides), then at "
            "what the trainer does between steps.")


def write_markdown(path: Path, cases: Sequence[Case], corpus: dict[str, int], args: argparse.Namespace,
                   started_at: datetime, total: float, probes: Sequence[float]) -> None:
    facts = machine()
    facts["libraries"] = f"torch {torch.__version__}, transformers {pkg_version('transformers')}"
    facts["torch threads"] = str(torch.get_num_threads())
    if torch.cuda.is_available():
        facts["GPU"] = torch.cuda.get_device_name(0)
    peaks = {c.shape.device: c.peak_source for c in cases}
    command = "bench/train.py" + (" --quick" if args.quick else "") + f" --rounds {args.rounds}"
    steps = "; ".join(f"{c.shape.preset.name} on {c.shape.device}: {c.steps[0]} warm-up + {c.steps[1]} measured"
                      for c in cases)
    lines = [
        "# Training benchmark: Agora's trainer beside a plain PyTorch loop",
        "",
        f"Measured {started_at:%Y-%m-%d %H:%M} UTC by `{command}` in {total / 60:.1f} minutes"
        f"{' (a quick check: too few steps for the figures to mean much)' if args.quick else ''}. "
        "Regenerate with `make bench`.",
        "",
        *(f"- {k}: {v}" for k, v in facts.items() if k != "SQLite"),
        f"- CPU yardstick (`bench.machine.cpu_probe`, ms, lower is faster): {probes[0]:.0f} before, "
        f"{probes[-1]:.0f} after",
        *(f"- MFU peak, {device}: {source}" for device, source in peaks.items()),
        *(f"- {c.shape.preset.name} on {c.shape.device}: processes outside this benchmark used at least "
          f"{c.other_share:.0%} of the machine's CPU meanwhile" for c in cases),
        "",
        "## What is measured",
        "",
        f"- **Corpus**: {corpus['documents']:,} generated posts of made-up words with Zipf frequencies, "
        f"{corpus['train_tokens']:,} training tokens, a byte-level BPE vocabulary of {corpus['vocab_size']:,} tokens "
        "(the model's embedding table is padded to a multiple of 64).",
        "- **Both sides** build the same model (`agora.ai.model.build_model` of the preset, same seed) and train it "
        "on random windows of the same token array at the same batch and sequence length: AdamW (betas 0.9/0.95, "
        "weight decay on matrices, fused on GPU only), gradient clipping at 1.0, fp32 on the CPU and bf16 "
        "autocast on the GPU, cross-entropy on fp32 logits.",
        "- **Agora** is `agora.ai.train.train()` itself: its data pipeline (windows drawn from (seed, step)), "
        "learning-rate schedule, per-step loss read-back, metrics.jsonl and progress bar. It is timed from the "
        "start of the first measured optimizer step to the start of the step after the last one (its "
        "`_train_step` is wrapped to stamp the time), so start-up, validation and saving are not counted. "
        "The trainer's own meter (tokens/s it records every 10 steps) is shown beside it when a 10-step window "
        "past warm-up exists.",
        "- **Plain** is `bench/train_plain.py`: `torch.randint` windows, forward, `F.cross_entropy`, backward, "
        "clip, step, zero_grad, with the clock read (after a GPU synchronize) around the measured steps.",
        f"- **Order**: each preset runs plain, Agora, plain, Agora … ({args.rounds} round(s)), so a drift in the "
        f"CPU's clock or in other processes' load falls on both sides alike. Steps per run: {steps}.",
        "- **Batches** (the table's *batch × seq*): on the CPU each preset at its context; tiny at its preset batch, "
        "small at 4 sequences a step rather than its preset's 32 (a 32 × 512 step takes about a minute on 2 cores; "
        "`--quick` uses fewer). On a GPU the largest preset whose memory fits (an estimate, then halving the "
        "micro-batch on running out), at its preset batch and context, accumulating micro-batches (*micro*).",
        "- **MFU**: tokens/s × training FLOPs per token (`Preset.flops_per_token`: 6 × non-embedding parameters "
        "+ attention) ÷ the device's peak (`agora.ai.throughput.peak_flops`; on a CPU an upper-bound estimate, so "
        "CPU MFU reads low).",
        "",
        "## Results",
        "",
        markdown_table(HEAD, _rows(cases)),
        "",
        "![tokens/s, plain and Agora](train.png)",
        "",
        "Per round (tokens/s):",
        "",
        markdown_table(["preset", "device", "round", "plain", "Agora", "Agora ÷ plain"], _round_rows(cases)),
        "",
        "## Reading",
        "",
        *(f"- {_verdict(c)}" for c in cases),
        f"- Caveat: both sides share this machine's {os.cpu_count()} cores with whatever else runs on it; "
        "compare the two sides of one run rather than absolute figures across runs.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def draw_chart(path: Path, cases: Sequence[Case]) -> None:
    """One panel per preset and device (each its own scale): plain and Agora tokens/s, the ratio above."""
    panel, height = 240, 420
    width = max(520, panel * len(cases) + 60)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title, small, tiny = _font(18), _font(13), _font(11)
    draw.text((20, 10), "Training tokens/s: plain PyTorch loop vs Agora's trainer", fill="black", font=title)
    y0, y1 = 90, height - 70
    for g, c in enumerate(cases):
        x = 40 + g * panel
        top = max(c.rate("plain"), c.rate("agora")) or 1.0
        draw.text((x + panel / 2 - 10, 50), f"Agora ÷ plain {c.ratio:.2f}", fill="black", font=small, anchor="mt")
        for k, side in enumerate(("plain", "agora")):
            bx = x + 30 + k * 85
            value = c.rate(side)
            bar_top = y1 - value / top * (y1 - y0)
            draw.rectangle((bx, bar_top, bx + 70, y1), fill=COLORS[side])
            draw.text((bx + 35, bar_top - 3), f"{value:,.0f}", fill="black", font=tiny, anchor="mb")
        draw.line((x + 20, y1, x + 210, y1), fill="black")
        draw.text((x + panel / 2 - 10, y1 + 8), f"{c.shape.preset.name}, {c.device_name}"[:34], fill="black",
                  font=small, anchor="mt")
        draw.text((x + panel / 2 - 10, y1 + 26), f"{c.shape.batch} × {c.shape.length} tokens a step", fill="black",
                  font=tiny, anchor="mt")
    for k, (side, color) in enumerate(COLORS.items()):
        lx = 40 + k * 150
        draw.rectangle((lx, height - 22, lx + 12, height - 10), fill=color)
        draw.text((lx + 18, height - 23), "plain PyTorch" if side == "plain" else "Agora's trainer", fill="black",
                  font=tiny)
    image.save(path)

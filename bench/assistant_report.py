"""The assistant benchmark's results and report: a table on stdout, docs/bench/assistant.md and a chart (PNG)."""

from __future__ import annotations

import argparse
import math
import os
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from bench.chart import _font
from bench.machine import machine
from bench.report import markdown_table
from bench.results import pct

COLORS = {"plain": (67, 147, 195), "agora": (214, 96, 77), "model": (244, 165, 130),
          "agora-assistant": (146, 197, 222)}
ENGINE_HEAD = ["side", "TTFT p50 ms", "TTFT min ms", "decode tok/s", "end-to-end tok/s", "new tokens", "same text"]
LOAD_HEAD = ["model", "clients", "req/s", "p50 ms", "p99 ms", "completion tok/s", "cited answers",
             "rejected (429)", "failed", "other processes' CPU"]


@dataclass
class Generated:
    """One generation: seconds to the first token, seconds in all, tokens made, the text."""

    ttft: float
    total: float
    tokens: int
    text: str

    @property
    def decode_rate(self) -> float:
        """Tokens/s after the first (the prompt's forward pass is the TTFT's)."""
        return (self.tokens - 1) / (self.total - self.ttft) if self.tokens > 1 and self.total > self.ttft else math.nan

    @property
    def rate(self) -> float:
        return self.tokens / self.total if self.total else math.nan


@dataclass
class Engines:
    """Plain `generate` and Agora's `LocalEngine`, one pair of generations a round."""

    tokens: int
    threads: int
    plain: list[Generated] = field(default_factory=list)
    agora: list[Generated] = field(default_factory=list)
    same: list[bool] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    other_share: float = 0.0
    sample: str = ""

    def median(self, side: str, what: str) -> float:
        runs: list[Generated] = getattr(self, side)
        return statistics.median(getattr(r, what) for r in runs) if runs else math.nan

    @property
    def ratio(self) -> float:
        return self.median("agora", "decode_rate") / self.median("plain", "decode_rate")


@dataclass
class Level:
    """One model at one client count over HTTP."""

    model: str
    clients: int
    latencies: list[float] = field(default_factory=list)  # seconds, answered (200) requests only
    tokens: int = 0  # completion tokens of those answers (the assistant's are approximate: words)
    cited: int = 0  # answers carrying at least one citation
    rejected: int = 0  # 429s: the engine's queue was full
    errors: Counter[str] = field(default_factory=Counter)  # any other answer than 200 or 429
    first_error: str | None = None
    elapsed: float = 0.0
    other_share: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def p50(self) -> float:
        return pct(self.latencies, 50)

    @property
    def p99(self) -> float:
        return pct(self.latencies, 99)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


@dataclass
class Run:
    corpus: dict[str, int]
    model: dict[str, Any]
    queue: tuple[int, int]  # the server's ai_max_concurrent, ai_max_queue
    questions: int  # distinct questions the askers cycle through
    engines: Engines | None = None
    levels: list[Level] = field(default_factory=list)


def _engine_rows(e: Engines) -> list[list[str]]:
    same = f"{e.same.count(True)}/{len(e.same)} rounds"
    return [[label, f"{e.median(side, 'ttft') * 1000:.1f}", f"{min(r.ttft for r in getattr(e, side)) * 1000:.1f}",
             f"{e.median(side, 'decode_rate'):,.0f}", f"{e.median(side, 'rate'):,.0f}", str(e.tokens), same]
            for side, label in (("plain", "plain `generate`"), ("agora", "Agora `LocalEngine`")) if getattr(e, side)]


def _load_rows(run: Run) -> list[list[str]]:
    return [[lv.model, str(lv.clients), f"{lv.rps:.2f}", f"{lv.p50:,.0f}", f"{lv.p99:,.0f}",
             f"{lv.tokens / lv.elapsed:,.0f}" if lv.elapsed else "—",
             f"{lv.cited}/{len(lv.latencies)}" if lv.model == "agora-assistant" else "—",
             str(lv.rejected), str(lv.failed), f"{lv.other_share:.0%}"]
            for lv in run.levels]


def print_table(run: Run) -> None:
    if run.engines and run.engines.plain:
        print(" | ".join(ENGINE_HEAD))
        for row in _engine_rows(run.engines):
            print(" | ".join(row))
        print(f"Agora ÷ plain decode tokens/s: {run.engines.ratio:.2f}")
    print(" | ".join(LOAD_HEAD))
    for row in _load_rows(run):
        print(" | ".join(row))


def _reading(run: Run) -> list[str]:
    notes = []
    e = run.engines
    if e and e.plain:
        agree = ("Both sides produced the same text in every round (greedy decoding over the same weights and "
                 "prompt ids)" if all(e.same) else f"The two sides' text DIFFERED in {e.same.count(False)} of "
                 f"{len(e.same)} rounds: a bug to look at before the timings")
        ratio = e.ratio
        notes.append(f"{agree}. Agora's engine decodes at {ratio:.2f}× plain `generate`'s tokens/s; its time to "
                     f"first token is {e.median('agora', 'ttft') * 1000:.1f} ms against "
                     f"{e.median('plain', 'ttft') * 1000:.1f} ms (`generate`'s includes its own set-up: logits "
                     "processors, stopping criteria, cache).")
        if ratio < 0.95:
            notes.append("Where Agora is slower, it is its loop's extra work: it decodes the whole reply's text after "
                         "every token (to hold back a stop string or half a character) and hands each piece to the "
                         "event loop from a worker thread; `generate` does neither.")
    concurrent, waiting = run.queue
    raw = [lv for lv in run.levels if lv.model != "agora-assistant"]
    if raw:
        top = max(raw, key=lambda lv: lv.clients)
        rates = " → ".join(f"{lv.rps:.2f}" for lv in raw)
        notes.append(f"The promoted model over HTTP: the server generates {concurrent} at a time and queues "
                     f"{waiting} more (`ai_max_concurrent`, `ai_max_queue`), so requests/s should stay about flat "
                     f"as askers are added (measured: {rates} req/s for {', '.join(str(lv.clients) for lv in raw)} "
                     f"askers) while latency grows with the queue; with {top.clients} askers, {top.rejected} "
                     "requests were answered 429 at once (the client waited its Retry-After and asked again) "
                     "rather than piling up.")
    assistant = [lv for lv in run.levels if lv.model == "agora-assistant"]
    if assistant:
        notes.append("`agora-assistant` answers extractively (assistant_generative is off by default): no model "
                     "generation and no engine queue; its cost is the retrieval (keyword + MiniLM meaning search, "
                     "twice), the sentence scoring and the audit-log write; it answered "
                     f"{sum(lv.rejected for lv in assistant)} requests 429. Its {run.questions} questions repeat, "
                     "so after the first answers every sentence it reads is in its sentence-vector cache "
                     "(agora/ai/assistant/vectors.py): these are warm-cache figures. A question about posts "
                     "it has not read yet embeds their sentences first (before the cache, this bench measured "
                     "4.3–4.9 answers/s on the same machine).")
    notes.append(f"Caveat: the load client, the server and any other work share this machine's {os.cpu_count()} "
                 "cores; compare the two sides of one run rather than absolute figures across runs.")
    return notes


def write_markdown(path: Path, run: Run, args: argparse.Namespace, started_at: datetime, total: float,
                   probes: Sequence[float]) -> None:
    import torch

    facts = machine()
    facts["libraries"] += f", torch {torch.__version__}, transformers {pkg_version('transformers')}"
    e = run.engines
    command = (f"bench/assistant.py{' --quick' if args.quick else ''} --clients {','.join(map(str, args.clients))} "
               f"--seconds {args.seconds:g} --tokens {args.tokens} --rounds {args.rounds} --steps {args.steps}")
    m, c = run.model, run.corpus
    lines = [
        "# Assistant benchmark: the in-process engine beside plain `generate`, and /v1 under concurrent askers",
        "",
        f"Measured {started_at:%Y-%m-%d %H:%M} UTC by `{command}` in {total / 60:.1f} minutes"
        f"{' (a quick check: too short for the figures to mean much)' if args.quick else ''}. "
        "Regenerate with `make bench`.",
        "",
        *(f"- {k}: {v}" for k, v in facts.items()),
        f"- torch threads: {e.threads if e else '?'}; CPU yardstick (`bench.machine.cpu_probe`, ms, lower is "
        f"faster): {probes[0]:.0f} before, {probes[-1]:.0f} after",
        f"- engine measurement: processes outside this benchmark used at least {e.other_share if e else 0:.0%} of "
        "the machine's CPU meanwhile (the load's share is in its table)",
        "",
        "## What is measured",
        "",
        f"- **Model**: the `tiny` preset ({m['parameters']:,} parameters with its "
        f"{c['vocab_size']:,}-token vocabulary) "
        f"trained by `agora.ai.train.train` for {m['steps']} steps + {m['chat_steps']} chat steps on a generated "
        f"corpus ({c['documents']:,} documents: templated community posts and Zipf-distributed made-up words; "
        f"{c['pairs']:,} question/answer pairs), then promoted (`agora.ai.registry.promote`). Its answers are "
        "not good; its speed is a real tiny model's.",
        f"- **Engine**: in the benchmark's process, the model loaded once (`agora.ai.engines.local.LoadedModel`, "
        f"fp32 on the CPU) and used by both sides: Agora's `LocalEngine.stream` (the /v1 path: worker thread, "
        f"bounded queue, KV cache, incremental text) and `model.generate` (greedy, the same prompt ids from the "
        f"chat template, `max_new_tokens={args.tokens}`). Neither stops at an end-of-turn token (the engine's "
        f"stop ids emptied, `eos_token_id=[]`), so each makes exactly {args.tokens} tokens. One warm-up pair, "
        f"then {args.rounds} rounds of plain then Agora, one question a round; medians.",
        "- **TTFT**: for `generate`, from the call to the first new token handed to a streamer (a stamping "
        "`BaseStreamer`; `TextIteratorStreamer` would hold text back until a word ends); for Agora, from the call "
        "to the first text delta. **Decode tok/s**: the tokens after the first over the time after the first; "
        "**end-to-end tok/s**: every token over the whole call.",
        f"- **Load**: `uvicorn agora.app:create_app` in a subprocess (SQLite in a temporary directory, rate limits "
        f"off, the engine queue at `ai_max_concurrent` {run.queue[0]}, `ai_max_queue` {run.queue[1]}); 4 members "
        f"made {args.posts} posts through `POST /api/v1/statuses`, all embedded by the server's embedder before "
        f"measuring. Then {', '.join(map(str, args.clients))} closed-loop httpx clients (one connection each) "
        f"send `POST /v1/chat/completions` (one question of {run.questions}, `max_tokens` {args.tokens}, "
        f"temperature 0), first to the promoted model id, then to `agora-assistant`. The window opens once every "
        f"client has had an answer and at least {args.warmup:g} s have passed, and counts the answers that arrive "
        f"in the next {args.seconds:g} s, stretched until it holds at least one answer per client (req/s = those "
        "÷ the window; p50/p99 are theirs, from send to answer); requests still in flight when it closes are "
        "awaited, uncounted, so each level starts on an idle server. A 429 waits its `Retry-After` and asks "
        "again, as OpenAI's SDK does; it is counted, not timed. The server's background embedder is on, as in "
        "production.",
        "",
        "## Results",
        "",
        "### The engine beside plain `generate`",
        "",
        markdown_table(ENGINE_HEAD, _engine_rows(e)) if e and e.plain else "(not measured)",
        "",
        f"Agora ÷ plain, decode tokens/s: **{e.ratio:.2f}**. A reply (first round, Agora): `{e.sample!r}`"
        if e and e.plain else "",
        "",
        "### Requests/s with concurrent askers",
        "",
        markdown_table(LOAD_HEAD, _load_rows(run)),
        "",
        "![engine and load](assistant.png)",
        "",
        "## Reading",
        "",
        *(f"- {note}" for note in _reading(run)),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def draw_chart(path: Path, run: Run, clients: Sequence[int]) -> None:
    """Left: TTFT and decode tokens/s, plain and Agora. Right: requests/s by client count (log scale),
    the promoted model and agora-assistant, with p50 and 429s under each bar."""
    width, height = 1080, 470
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title, small, tiny = _font(18), _font(13), _font(11)
    draw.text((20, 10), "Assistant: in-process engine vs plain generate; /v1 requests/s with concurrent askers",
              fill="black", font=title)
    y0, y1 = 90, height - 90
    e = run.engines
    if e and e.plain:
        for p, (what, label, scale) in enumerate((("ttft", "time to first token (ms)", 1000.0),
                                                  ("decode_rate", "decode tokens/s", 1.0))):
            x = 30 + p * 200
            values = {side: e.median(side, what) * scale for side in ("plain", "agora")}
            top = max(values.values()) or 1.0
            draw.text((x + 85, 56), label, fill="black", font=small, anchor="mt")
            for k, (side, value) in enumerate(values.items()):
                bx = x + 20 + k * 75
                bar_top = y1 - value / top * (y1 - y0)
                draw.rectangle((bx, bar_top, bx + 60, y1), fill=COLORS[side])
                draw.text((bx + 30, bar_top - 3), f"{value:,.1f}" if value < 100 else f"{value:,.0f}",
                          fill="black", font=tiny, anchor="mb")
            draw.line((x + 10, y1, x + 180, y1), fill="black")
        agree = "same text in every round" if all(e.same) else f"text differed in {e.same.count(False)} rounds"
        draw.text((230, y1 + 10), f"{e.tokens} new tokens, greedy; {agree}", fill="black", font=tiny, anchor="mt")
    _load_panel(draw, (520, y0, width - 30, y1), run, clients, small, tiny)
    legend = [("plain", "plain generate"), ("agora", "Agora LocalEngine"), ("model", "/v1: promoted model"),
              ("agora-assistant", "/v1: agora-assistant")]
    for k, (key, text) in enumerate(legend):
        lx = 30 + k * 200
        draw.rectangle((lx, height - 22, lx + 12, height - 10), fill=COLORS[key])
        draw.text((lx + 18, height - 23), text, fill="black", font=tiny)
    image.save(path)


def _load_panel(draw: Any, box: tuple[int, int, int, int], run: Run, clients: Sequence[int], small: Any,
                tiny: Any) -> None:
    x0, y0, x1, y1 = box
    draw.text((x0, 56), "requests/s (log scale); under each bar: p50 ms, 429s", fill="black", font=small)
    values = [lv.rps for lv in run.levels if lv.rps > 0]
    if not values:
        return
    lo = math.floor(math.log10(min(values)))
    hi = max(lo + 1, math.ceil(math.log10(max(values) * 1.3)))

    def y_of(v: float) -> float:
        return y1 - (math.log10(max(v, 10.0 ** lo)) - lo) / (hi - lo) * (y1 - y0)

    for exponent in range(lo, hi + 1):
        draw.line((x0, y_of(10.0 ** exponent), x1, y_of(10.0 ** exponent)), fill=(225, 225, 225))
        draw.text((x0 - 6, y_of(10.0 ** exponent)), f"{10.0 ** exponent:g}", fill="black", font=tiny, anchor="rm")
    draw.line((x0, y0, x0, y1), fill="black")
    draw.line((x0, y1, x1, y1), fill="black")
    group_w = (x1 - x0) / max(1, len(clients))
    bar_w = group_w * 0.8 / 2
    for g, count in enumerate(clients):
        draw.text((x0 + (g + 0.5) * group_w, y1 + 40), f"{count} client{'s' if count > 1 else ''}", fill="black",
                  font=small, anchor="mt")
        for k, key in enumerate(("model", "agora-assistant")):
            lv = next((lv for lv in run.levels if lv.clients == count
                       and (lv.model == key or (key == "model" and lv.model != "agora-assistant"))), None)
            if lv is None:
                continue
            bx = x0 + g * group_w + group_w * 0.1 + k * bar_w
            top = min(y_of(lv.rps), y1 - 1)
            draw.rectangle((bx + 2, top, bx + bar_w - 2, y1 - 1), fill=COLORS[key])
            label = f"{lv.rps:.2f}" if lv.rps < 1 else f"{lv.rps:.1f}" if lv.rps < 10 else f"{lv.rps:.0f}"
            draw.text((bx + bar_w / 2, top - 3), label, fill="black", font=tiny, anchor="mb")
            draw.text((bx + bar_w / 2, y1 + 6), f"{lv.p50:,.0f} ms", fill="black", font=tiny, anchor="mt")
            draw.text((bx + bar_w / 2, y1 + 20), f"429: {lv.rejected}", fill="black", font=tiny, anchor="mt")

"""The search benchmark's report: a table on stdout, docs/bench/search.md and a latency chart (PNG)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw

from bench.chart import _font
from bench.machine import machine
from bench.report import markdown_table
from bench.search_measure import Measured

HEAD = ["backend", "posts", "mode", "p50 ms", "p99 ms", "q/s (1 client)", "q/s (concurrent)", "results/query"]
COLORS = {"lexical": (67, 147, 195), "semantic": (244, 165, 130), "hybrid": (214, 96, 77)}


def _rows(results: Sequence[Measured]) -> list[list[str]]:
    return [[m.backend, f"{m.posts:,}", lv.mode, f"{lv.p50:.1f}", f"{lv.p99:.1f}", f"{lv.qps:,.0f}",
             f"{lv.concurrent_qps:,.0f}", f"{lv.results / max(1, len(lv.seconds)):.1f}"]
            for m in results for lv in m.modes]


def print_table(results: Sequence[Measured]) -> None:
    print(" | ".join(HEAD))
    for row in _rows(results):
        print(" | ".join(row))
    for m in results:
        semantic = f", semantic {m.semantic_rate:,.0f} posts/s" if m.semantic_rate else ""
        recall = f", ANN recall@10 {m.recall_at_10:.3f}" if m.recall_at_10 is not None else ""
        print(f"{m.backend} {m.posts:,} posts: lexical {m.lexical_rate:,.0f} posts/s{semantic}{recall}")


def write_markdown(path: Path, full: Sequence[Measured], big: Sequence[Measured], args: argparse.Namespace,
                   started_at: datetime, total: float, probes: Sequence[float], sqlite_version: str) -> None:
    facts = machine()
    indexing = [[m.backend, f"{m.posts:,}", f"{m.lexical_rate:,.0f}",
                 f"{m.semantic_rate:,.0f}" if m.semantic_rate else "—",
                 f"{m.ann_build_seconds:.1f}" if m.ann_build_seconds else "—",
                 f"{m.recall_at_10:.3f}" if m.recall_at_10 is not None else "—"] for m in [*full, *big]]
    lines = [
        "# Search benchmark: indexing, query latency, ANN recall",
        "",
        f"Measured {started_at:%Y-%m-%d %H:%M} UTC by `bench/search.py"
        f"{' --quick' if args.quick else ''} --posts {args.posts} --big {args.big} --queries {args.queries}` "
        f"in {total / 60:.1f} minutes.",
        "",
        *(f"- {k}: {v}" for k, v in facts.items()),
        f"- SQLite {sqlite_version}; CPU yardstick (`bench.machine.cpu_probe`, ms, lower is faster): "
        f"{probes[0]:.0f} before, {probes[-1]:.0f} after",
        "",
        "## What is measured",
        "",
        f"- **Corpus**: {args.members:,} generated members with follows, favourites and posts "
        "(`bench.search_corpus`: the timeline benchmark's community with each post's text redrawn from a "
        "Zipf-distributed vocabulary of 20,056 words, 6–30 words a post), bulk-loaded.",
        "- **Indexing**: `reindex_all` (the lexical index: SQLite FTS5 / PostgreSQL tsvector + GIN) over every "
        "post in one transaction; `embed_missing` (all-MiniLM-L6-v2 on the CPU, batches of 64, vectors written "
        "to `status_vectors`); the ANN index (usearch HNSW) rebuilt from the database as a server does on start.",
        "- **ANN recall@10**: for up to 200 of the queries, the ANN index's top 10 against brute-force cosine "
        "over every stored vector.",
        f"- **Queries**: {args.queries} per mode — half single mid-frequency words, then word pairs, quoted "
        "phrases taken from real posts, and words with a `since:` filter — through "
        "`agora.search.hybrid.search_statuses` in process (no HTTP), as random members (visibility, blocks, "
        f"mutes applied), first page of 20. Latency from one client; queries/s from one client and from "
        f"{args.concurrency} concurrent clients in one process.",
        "",
        "## Indexing",
        "",
        markdown_table(["backend", "posts", "lexical posts/s", "semantic posts/s", "ANN build s",
                        "ANN recall@10"], indexing),
        "",
        "## Queries",
        "",
        markdown_table(HEAD, _rows([*full, *big])),
        "",
        "![query latency](search.png)",
        "",
    ]
    path.write_text("\n".join(lines))


def draw_chart(path: Path, results: Sequence[Measured]) -> None:
    """p50 bars and p99 ticks per mode (log scale), one group per backend and corpus size."""
    groups = [(f"{m.backend} {m.posts:,}", m) for m in results if m.modes]
    width, height = max(520, 150 * len(groups) + 120), 460
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title, small, tiny = _font(18), _font(13), _font(11)
    draw.text((20, 10), "Search query latency: p50 bars, p99 ticks (ms, log scale)", fill="black", font=title)
    values = [v for _, m in groups for lv in m.modes for v in (lv.p50, lv.p99) if v > 0]
    if not values:
        image.save(path)
        return
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    x0, y0, x1, y1 = 70, 60, width - 20, height - 70

    def y_of(v: float) -> float:
        return y1 - (math.log10(max(v, 10.0 ** lo)) - lo) / max(1, hi - lo) * (y1 - y0)

    for e in range(lo, hi + 1):
        draw.line((x0, y_of(10.0 ** e), x1, y_of(10.0 ** e)), fill=(225, 225, 225))
        draw.text((x0 - 6, y_of(10.0 ** e)), f"{10.0 ** e:g}", fill="black", font=tiny, anchor="rm")
    draw.line((x0, y0, x0, y1), fill="black")
    group_w = (x1 - x0) / len(groups)
    for g, (label, m) in enumerate(groups):
        bar_w = group_w * 0.8 / 3
        for k, lv in enumerate(m.modes):
            bx = x0 + g * group_w + group_w * 0.1 + k * bar_w
            draw.rectangle((bx + 2, y_of(lv.p50), bx + bar_w - 2, y1), fill=COLORS[lv.mode])
            draw.line((bx + 2, y_of(lv.p99), bx + bar_w - 2, y_of(lv.p99)), fill="black", width=2)
        draw.text((x0 + (g + 0.5) * group_w, y1 + 8), label, fill="black", font=small, anchor="mt")
    for k, (mode, color) in enumerate(COLORS.items()):
        lx = x0 + k * 110
        draw.rectangle((lx, height - 26, lx + 12, height - 14), fill=color)
        draw.text((lx + 18, height - 27), mode, fill="black", font=tiny)
    image.save(path)

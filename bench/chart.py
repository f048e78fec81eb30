"""The PNG chart (docs/bench/timeline.png): page-1 latency and throughput by layer, one column per backend."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from bench.results import ALL_MODES, MODE_LABELS, Run, pct

COLORS = {"http-floor": (170, 170, 170), "http": (214, 96, 77), "in-process": (244, 165, 130),
          "raw-app": (67, 147, 195), "raw-min": (146, 197, 222)}


def _font(size: int) -> Any:
    for name in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf"):
        with contextlib.suppress(OSError):
            return ImageFont.truetype(name, size)
    return ImageFont.load_default(size=size)


def draw_chart(path: Path, runs: list[Run], concurrencies: Sequence[int]) -> None:
    """Page-1 p50 (bars) and p99 (ticks) on a log scale, and throughput, per backend."""
    width, height = 660 * max(1, len(runs)), 860
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title, small, tiny = _font(20), _font(14), _font(11)
    draw.text((20, 12), "Agora home timeline, page 1: latency and throughput by layer", fill="black",
              font=title)
    x = 20
    for mode in ALL_MODES:
        draw.rectangle((x, 48, x + 14, 62), fill=COLORS[mode])
        draw.text((x + 20, 47), MODE_LABELS[mode], fill="black", font=small)
        x += 40 + int(draw.textlength(MODE_LABELS[mode], font=small))
    for col, run in enumerate(runs):
        left = col * 660 + 70
        for row, (kind, label) in enumerate((("latency", "ms (log scale): bar p50, tick p99"),
                                             ("rps", "requests/s, page 1 + page 2 (log scale)"))):
            top = 110 + row * 400
            _panel(draw, (left, top, left + 560, top + 310), run, concurrencies, kind,
                   f"{run.backend}: {label}", small, tiny)
    image.save(path)


def _panel(draw: Any, box: tuple[int, int, int, int], run: Run, concurrencies: Sequence[int], kind: str,
           label: str, small: Any, tiny: Any) -> None:
    x0, y0, x1, y1 = box
    draw.text((x0, y0 - 28), label, fill="black", font=small)
    levels = {(lv.mode, lv.concurrency): lv for lv in run.levels if lv.page1}
    if not levels:
        return
    if kind == "latency":
        lows = [pct(lv.page1, 50) for lv in levels.values()]
        highs = [pct(lv.page1, 99) for lv in levels.values()]
    else:
        lows = highs = [lv.rps for lv in levels.values()]
    lo = math.floor(math.log10(max(min(lows), 1e-3)))
    hi = max(lo + 1, math.ceil(math.log10(max(max(highs), 1e-3) * 1.3)))

    def y_of(v: float) -> float:
        return y1 - (math.log10(max(v, 10.0 ** lo)) - lo) / (hi - lo) * (y1 - y0)

    ticks = [10.0 ** e for e in range(lo, hi + 1)]
    for t in ticks:
        draw.line((x0, y_of(t), x1, y_of(t)), fill=(225, 225, 225))
        draw.text((x0 - 6, y_of(t)), f"{t:g}", fill="black", font=tiny, anchor="rm")
    draw.line((x0, y0, x0, y1), fill="black")
    draw.line((x0, y1, x1, y1), fill="black")
    group_w = (x1 - x0) / len(concurrencies)
    bar_w = group_w * 0.84 / len(ALL_MODES)
    for g, c in enumerate(concurrencies):
        gx = x0 + g * group_w + group_w * 0.08
        draw.text((x0 + (g + 0.5) * group_w, y1 + 6), f"{c} client{'s' if c > 1 else ''}", fill="black",
                  font=small, anchor="mt")
        for b, mode in enumerate(ALL_MODES):
            lv = levels.get((mode, c))
            if lv is None:
                continue
            bx = gx + b * bar_w
            value = pct(lv.page1, 50) if kind == "latency" else lv.rps
            top = min(y_of(value), y1 - 1)
            draw.rectangle((bx + 2, top, bx + bar_w - 2, y1 - 1), fill=COLORS[mode])
            if kind == "latency":
                p99 = y_of(pct(lv.page1, 99))
                draw.line((bx + bar_w / 2, top, bx + bar_w / 2, p99), fill="black")
                draw.line((bx + 5, p99, bx + bar_w - 5, p99), fill="black", width=2)
                top = p99
            text_value = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            draw.text((bx + bar_w / 2, top - 3), text_value, fill="black", font=tiny, anchor="mb")

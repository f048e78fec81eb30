"""The run folder's loss.png: training and validation loss against tokens seen, drawn with Pillow
(no plotting library to install on a server that only trains now and then)."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 900, 520
LEFT, RIGHT, TOP, BOTTOM = 80, 30, 60, 70
TRAIN, VALID, CHAT = (52, 101, 164), (204, 0, 0), (115, 210, 22)


def _font(size: int) -> Any:
    for name in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf"):
        with contextlib.suppress(OSError):
            return ImageFont.truetype(name, size)
    return ImageFont.load_default(size=size)


def draw_loss_chart(path: Path, metrics: list[dict[str, Any]], title: str) -> None:
    """`metrics` are metrics.jsonl rows: {"tokens", "loss"} per step, {"tokens", "val_loss"} per
    validation, "stage": "chat" for the conversational stage."""
    points = [(m["tokens"], m[key], key, m.get("stage")) for m in metrics for key in ("loss", "val_loss")
              if m.get(key) is not None and math.isfinite(m[key])]
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.text((LEFT, 16), title, fill="black", font=_font(18))
    if points:
        _plot(draw, points)
    image.save(path)


def _plot(draw: ImageDraw.ImageDraw, points: list[tuple[int, float, str, str | None]]) -> None:
    small = _font(12)
    max_x = max(p[0] for p in points) or 1
    low, high = min(p[1] for p in points), max(p[1] for p in points)
    if high - low < 1e-6:
        low, high = low - 0.5, high + 0.5

    def at(tokens: float, loss: float) -> tuple[float, float]:
        x = LEFT + (WIDTH - LEFT - RIGHT) * tokens / max_x
        y = TOP + (HEIGHT - TOP - BOTTOM) * (high - loss) / (high - low)
        return x, y

    draw.rectangle((LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM), outline=(160, 160, 160))
    for i in range(6):
        loss = low + (high - low) * i / 5
        _, y = at(0, loss)
        draw.line((LEFT - 4, y, LEFT, y), fill="black")
        draw.text((8, y - 7), f"{loss:.2f}", fill="black", font=small)
        tokens = max_x * i / 5
        x, _ = at(tokens, low)
        draw.text((x - 20, HEIGHT - BOTTOM + 6), _short(tokens), fill="black", font=small)
    draw.text((WIDTH // 2 - 40, HEIGHT - BOTTOM + 28), "tokens seen", fill="black", font=small)
    for chat, colour in ((False, TRAIN), (True, CHAT)):
        line = [at(t, v) for t, v, k, s in points if k == "loss" and (s == "chat") == chat]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
    for tokens, value, key, _ in points:
        if key == "val_loss":
            x, y = at(tokens, value)
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=VALID)
    for i, (label, colour) in enumerate((("training loss", TRAIN), ("validation loss", VALID),
                                         ("conversational stage", CHAT))):
        x = LEFT + 10 + i * 200
        draw.rectangle((x, 40, x + 12, 52), fill=colour)
        draw.text((x + 18, 39), label, fill="black", font=small)


def _short(tokens: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if tokens >= size:
            return f"{tokens / size:.1f}{unit}"
    return f"{tokens:.0f}"

"""Figures as people read them, for model cards, `agora ai models` and the /ai/model page.

Every helper takes whatever a run.json or datasheet holds (a number, None, a string by mistake)
and returns text; "—" where there is nothing to show, never an exception.
"""

from __future__ import annotations

import math
from typing import Any

NONE = "—"
_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def compact(value: Any) -> str:
    """1_400_000 → "1.4 M", 28_311_552 → "28.3 M", 950 → "950"."""
    number = _number(value)
    if number is None:
        return NONE
    for size, unit in _UNITS:
        if abs(number) >= size:
            scaled = number / size
            return f"{scaled:.1f} {unit}" if scaled < 100 else f"{scaled:.0f} {unit}"
    return f"{number:.0f}" if number == int(number) else f"{number:.2f}"


def size(value: Any) -> str:
    """Bytes in binary units, as memory is sold: 83_886_080 → "80 MiB", 17.2e9 → "16.0 GiB"."""
    number = _number(value)
    if number is None:
        return NONE
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if abs(number) >= 1024**power:
            scaled = number / 1024**power
            return f"{scaled:.1f} {unit}" if scaled < 100 else f"{scaled:.0f} {unit}"
    return f"{number:.0f} B"


def whole(value: Any) -> str:
    """12345 → "12,345"."""
    number = _number(value)
    return NONE if number is None else f"{round(number):,}"


def decimal(value: Any, places: int = 2) -> str:
    number = _number(value)
    return NONE if number is None else f"{number:.{places}f}"


def percent(value: Any) -> str:
    """A fraction (0.42) as "42.0 %"."""
    number = _number(value)
    return NONE if number is None else f"{number * 100:.1f} %"


def when(value: Any) -> str:
    """An ISO-8601 moment as "2026-12-05 07:31 UTC"; anything else as text."""
    from datetime import UTC, datetime

    if not isinstance(value, str) or not value:
        return NONE
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return text(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def text(value: Any) -> str:
    """A field for a Markdown table cell or list item: one line, no table-breaking pipes."""
    if value is None or value == "":
        return NONE
    return " ".join(str(value).split()).replace("|", "\\|")


def fence(body: str) -> str:
    """`body` as a fenced block longer than any backtick run inside it: shown as text, never as Markdown."""
    longest = max((len(run) for run in body.split("\n") for run in _backtick_runs(run)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}text\n{body}\n{marks}"


def _backtick_runs(line: str) -> list[str]:
    runs, current = [], ""
    for char in line:
        if char == "`":
            current += char
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def pick(data: dict[str, Any] | None, *names: str) -> Any:
    """The first of `names` present (and not None) in `data`; the trainer and corpus spell some differently."""
    if not isinstance(data, dict):
        return None
    for name in names:
        if data.get(name) is not None:
            return data[name]
    return None

"""The web benchmark's figures: what bench/web.py measured, its console tables, docs/bench/web.md and web.png."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from rich.console import Console

from bench.chart import _font
from bench.machine import machine
from bench.report import markdown_table, ms, print_table
from bench.results import pct
from bench.web_seed import Seeded

BUDGET = 150 * 1024  # the page weight budget: HTML + CSS + JS, raw, images excluded
MILESTONES = {"responseStart": "first byte", "domContentLoaded": "DOMContentLoaded",
              "firstContentfulPaint": "first contentful paint", "load": "load event"}
JSON_LABEL = "JSON API"


@dataclass
class Figures:
    requests: int
    loads: int
    seeded: Seeded | None = None
    weight: list[tuple[str, str, int, int]] = field(default_factory=list)  # (kind, url, raw, gzip bytes)
    html_posts: int = 0
    server_gzips: bool = False
    asset_headers: dict[str, str] = field(default_factory=dict)  # url -> Cache-Control
    server: dict[str, list[float]] = field(default_factory=dict)  # target -> seconds per request
    server_bytes: dict[str, int] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)
    browser: str = ""
    browser_runs: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # (page, cache)
    html_parts: dict[str, int] = field(default_factory=dict)  # what the HTML's bytes are (bench/web.py)
    default_home: tuple[int, int] = (0, 0)  # /home at the default page size: (posts, HTML bytes)
    other_share: dict[str, float] = field(default_factory=dict)  # phase -> other processes' share of the CPU
    probes: list[float] = field(default_factory=list)  # cpu_probe() before and after measuring

    def total(self, column: int) -> int:
        return sum(row[column] for row in self.weight)

    def milestone(self, page: str, cache: str, name: str) -> float:
        values = [s[name] for s in self.browser_runs.get((page, cache), []) if s[name] is not None]
        return statistics.median(values) if values else math.nan

    def requests_per_load(self, page: str, cache: str) -> tuple[int, int]:
        """Median (requests one load made, of which images): the document plus the resources it fetched.

        A resource served from the browser's cache still has an entry, with transferSize 0: not a request."""
        counts = []
        for sample in self.browser_runs.get((page, cache), []):
            fetched = [url for _, url, size in sample["resources"] if size > 0]
            counts.append((1 + len(fetched), sum(1 for url in fetched if _is_image(url))))
        return sorted(counts)[len(counts) // 2] if counts else (0, 0)


def _is_image(url: str) -> bool:
    return url.split("?")[0].rsplit(".", 1)[-1].lower() in ("png", "jpg", "jpeg", "gif", "webp", "svg", "avif")


def kb(size: float) -> str:
    return f"{size / 1024:.1f}"


def weight_rows(f: Figures) -> list[list[str]]:
    rows = [[kind, url, kb(raw), kb(zipped)] for kind, url, raw, zipped in f.weight]
    rows.append(["**total**", f"{len(f.weight)} requests", f"**{kb(f.total(2))}**", f"**{kb(f.total(3))}**"])
    return rows


def server_rows(f: Figures) -> list[list[str]]:
    base = pct(f.server.get(JSON_LABEL, []), 50)
    return [[label, str(len(v)), ms(pct(v, 50)), ms(pct(v, 95)), f"{pct(v, 50) / base:.2f}×",
             kb(f.server_bytes[label]), str(f.statements.get(label, ""))] for label, v in f.server.items()]


def browser_rows(f: Figures) -> list[list[str]]:
    rows = []
    for (page, cache), samples in f.browser_runs.items():
        requests, images = f.requests_per_load(page, cache)
        rows.append([page, cache, str(len(samples)), *[ms(f.milestone(page, cache, m)) for m in MILESTONES],
                     f"{requests} ({images} images)"])
    return rows


WEIGHT_HEAD = ["kind", "file", "raw KB", "gzip -6 KB"]
SERVER_HEAD = ["GET (40 posts)", "n", "p50 ms", "p95 ms", "p50 ÷ JSON API", "body KB", "SQL statements"]
PARTS_HEAD = ["part of the HTML of /home?limit=40", "KB", "share"]
BROWSER_HEAD = ["page", "cache", "loads", *[f"{m} ms" for m in MILESTONES.values()], "requests per load"]


def verdict(f: Figures, raw: int | None = None) -> str:
    raw = f.total(2) if raw is None else raw
    return f"{'PASS' if raw < BUDGET else 'FAIL'}: {kb(raw)} KB raw against a budget of {kb(BUDGET)} KB"


def default_home_verdict(f: Figures) -> str:
    posts, html = f.default_home
    static = f.total(2) - (f.weight[0][2] if f.weight else 0)
    return (f"`/home` at the default page size ({posts} posts, what the Home link opens): {kb(html)} KB of HTML, "
            f"{verdict(f, html + static)} with the same CSS and JS")


def parts_rows(f: Figures) -> list[list[str]]:
    whole = f.html_parts.get("whole page", 0) or 1
    return [[name, kb(size), f"{size / whole:.0%}"] for name, size in f.html_parts.items()]


def interpretation(f: Figures) -> list[str]:
    notes = []
    html_raw = f.weight[0][2] if f.weight else 0
    cards = f.html_parts.get("post cards") or f.server_bytes.get("HTML fragment (posts only)", 0)
    notes.append(
        f"**Page weight — {verdict(f)}** (gzip -6: {kb(f.total(3))} KB). The HTML is {kb(html_raw)} KB of it "
        f"({html_raw / max(1, f.total(2)):.0%}); the {f.html_posts} post cards alone are {kb(cards)} KB, about "
        f"{cards / max(1, f.html_posts) / 1024:.1f} KB per post, so the weight grows with the page size. "
        f"The static files are {kb(f.total(2) - html_raw)} KB, of which htmx is "
        f"{kb(sum(r[2] for r in f.weight if 'htmx' in r[1]))} KB. "
        + _where_bytes_go(f)
        + ("The server compresses responses (gzip)." if f.server_gzips else
           "The server sends everything uncompressed (no Content-Encoding even when the client asks for gzip), "
           "so the raw figure is what goes over the wire unless a reverse proxy compresses.")
        + f" For comparison, {default_home_verdict(f)}.")
    if f.server:
        p50 = {label: pct(v, 50) for label, v in f.server.items()}
        page, part, api = p50["HTML page"], p50["HTML fragment (posts only)"], p50[JSON_LABEL]
        notes.append(
            f"**Server**: the HTML page takes {page:.1f} ms (p50) against {api:.1f} ms for the same 40 posts as "
            f"JSON, {page / api:.2f}× as long. The posts without the layout (the infinite-scroll fragment) take "
            f"{part:.1f} ms, so the layout (navigation, compose box, icons, unread count) adds {page - part:.1f} ms "
            f"and rendering the cards as HTML instead of JSON {part - api:+.1f} ms. SQL statements per request: "
            + ", ".join(f"{k} {v}" for k, v in f.statements.items()) + ".")
    if f.browser_runs:
        home = {m: f.milestone("home, 40 posts", "cold", m) for m in MILESTONES}
        sign = {m: f.milestone("sign-in page", "cold", m) for m in MILESTONES}
        warm = {m: f.milestone("home, 40 posts", "warm", m) for m in MILESTONES}
        sign_warm = {m: f.milestone("sign-in page", "warm", m) for m in MILESTONES}
        extra = home["firstContentfulPaint"] - sign["firstContentfulPaint"]
        server = home["responseStart"] - sign["responseStart"]
        notes.append(
            f"**Chromium, cold cache** (a fresh browser context per load): the home timeline's first byte comes "
            f"after {home['responseStart']:.0f} ms, its first contentful paint at "
            f"{home['firstContentfulPaint']:.0f} ms and the load event at {home['load']:.0f} ms; the sign-in page, "
            f"with the same CSS and JS, paints at {sign['firstContentfulPaint']:.0f} ms and loads at "
            f"{sign['load']:.0f} ms. So the 40 posts cost about {extra:.0f} ms to first paint, of which "
            f"{server:.0f} ms is the server answering later and the other {extra - server:.0f} ms the browser "
            f"receiving, parsing, styling and laying out {kb(f.weight[0][2])} KB of HTML. With a warm cache "
            f"(repeat loads in one context) the home page paints at {warm['firstContentfulPaint']:.0f} ms and "
            f"loads at {warm['load']:.0f} ms (the sign-in page: {sign_warm['firstContentfulPaint']:.0f} and "
            f"{sign_warm['load']:.0f} ms). Headless Chromium here often paints first only after the load event, "
            "so read the two together.")
    notes.append(
        "Caveats: everything runs on one machine (the server, Chromium and this script share its cores) over "
        "loopback, with no network latency or bandwidth limit: on a real connection the transfer of the page's "
        "bytes comes on top, which is what the weight budget is about. Headless Chromium paints without a GPU. "
        "Compare figures within a run: the JSON API and the sign-in page are the baselines measured alongside.")
    return notes


def _where_bytes_go(f: Figures) -> str:
    parts = f.html_parts
    cards, bars = parts.get("post cards", 0), parts.get("action bars under the posts", 0)
    if not cards or not bars:
        return ""
    return (f"Most of a card is its action bar (reply, repost, quote, like, bookmark): {kb(bars)} of the cards' "
            f"{kb(cards)} KB ({bars / cards:.0%}); each of its three forms names its URL twice (`action` and "
            f"`hx-post`) and carries the same CSRF token in a hidden input ({kb(parts['hidden CSRF inputs'])} KB "
            f"in all), and the icon markup is {kb(parts['inline icon markup (svg + use)'])} KB. ")


def print_figures(f: Figures) -> list[str]:
    console = Console(width=170)
    for title, head, rows in (("Page weight: /home?limit=40, HTML + CSS + JS, no images", WEIGHT_HEAD,
                               weight_rows(f)),
                              ("Where the HTML's bytes go (parts overlap)", PARTS_HEAD, parts_rows(f)),
                              ("Server, in process, one request at a time", SERVER_HEAD, server_rows(f)),
                              (f"{f.browser or 'Chromium'}: medians", BROWSER_HEAD, browser_rows(f))):
        if not rows:
            continue
        print_table(console, title, head, rows, text_columns=2)
    console.print(verdict(f))
    notes = interpretation(f)
    for note in notes:
        console.print(f"- {note.replace('**', '')}")
    return notes


def write_markdown(path: Path, f: Figures, notes: list[str], command: str, started: datetime,
                   total_seconds: float) -> None:
    s = f.seeded
    seeded = (f"a reader following {s.authors} authors, and {s.posts} statuses by them: "
              + ", ".join(f"{v} {k}" for k, v in s.kinds.items())) if s else "(not seeded)"
    out = [
        "# Web app benchmark: page weight and home timeline render time", "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC with `{command}` (the whole run took {total_seconds:.0f} s). "
        "Regenerate with `make bench` (or `.venv/bin/python bench/web.py --quick` for a check that it works); "
        "the script is `bench/web.py`, seeding in `bench/web_seed.py`, this report from `bench/web_report.py`.",
        "", f"**Page weight of the home page (HTML + CSS + JS, no images) — {default_home_verdict(f)}.** "
        f"With 40 posts (`/home?limit=40`, the page timed below; infinite scroll adds 20 at a time): "
        f"{verdict(f)}; {kb(f.total(3))} KB gzipped, as the server sends it.", "",
        "![page weight, server time and Chromium timings](web.png)", "",
        "## Machine", "",
        *[f"- **{k}**: {v}" for k, v in machine().items()],
        f"- **browser**: {f.browser or 'not run (no /usr/bin/chromium)'}",
        f"- **while measuring**: CPU yardstick (a fixed pure-Python loop, best of 5, lower is faster; compare "
        f"runs with it) {' ms before, '.join(f'{p:.0f}' for p in f.probes)} ms after; processes outside this "
        "benchmark used at least " + ", ".join(f"{v:.0%} of the machine's CPU during the {k} timings"
                                                for k, v in f.other_share.items()), "",
        "## Method", "",
        f"- A fresh SQLite database (`agora.cli.run_migrations`), seeded through the services "
        f"(`register`, `graph.follow`, `statuses.create`, `statuses.reblog`, `interactions.favourite`): "
        f"{seeded}. The reader has liked and bookmarked a few of the newest posts. Settings are the "
        "production defaults except: rate limits off, quiet logs, cheap password hashing (no sign-in is timed).",
        "- **Page weight**: the HTML of `GET /home?limit=40` (signed in) plus every `<link rel=stylesheet>` and "
        "`<script src>` it references, fetched from the app; raw bytes, and gzip at level 6 (a typical "
        "reverse-proxy setting). Images (avatars) are excluded, as the budget says.",
        f"- **Server**: the app in this process over `httpx.ASGITransport` (no network, no uvicorn), one "
        f"request at a time, {f.requests} timed requests per target after a warm-up of 10, the three targets "
        "interleaved so that drift hits them alike. The page is signed in with the session cookie "
        "(`agora_session`: a web session opened for the reader, as signing in does); the JSON API gets "
        "the reader's access token as a bearer token. "
        "The HTML fragment is the same route with `?fragment=list` (what infinite scroll fetches): the 40 "
        "cards without the layout. Before timing, the three were checked to show the same 40 posts; SQL "
        "statements counted with an engine event listener.",
        f"- **Chromium**: the real server (`uvicorn agora.app:create_app --factory` in a subprocess, rate "
        f"limits off) and headless Chromium driven by Playwright; viewport 1280×800. Per page and cache, one "
        f"warm-up load then {f.loads} timed loads; from `performance.getEntriesByType('navigation')` and the "
        "`first-contentful-paint` entry, in ms from the navigation start, medians. *Cold*: a fresh browser "
        "context (empty cache, cookie set) per load; *warm*: repeat loads in one context. Baseline: "
        "`/auth/sign_in` signed out: it has the same layout, stylesheet and scripts as the home page but "
        "almost no content and no database work beyond the request, so the difference is the timeline's "
        "own cost (the server's `/docs` would measure Swagger UI from a CDN instead, and nothing on this "
        "machine can reach a CDN).",
        "", "## Page weight", "",
        markdown_table(WEIGHT_HEAD, weight_rows(f)), "",
        "Cache-Control of the static files: "
        + (", ".join(f"`{url}` {v}" for url, v in f.asset_headers.items()) or "–") + ".", "",
        f"{default_home_verdict(f)}.", "",
        "Where the HTML's bytes go (the parts overlap: action bars, CSRF inputs and icons are inside the cards):",
        "", markdown_table(PARTS_HEAD, parts_rows(f)), "",
        "## Server time", "",
        markdown_table(SERVER_HEAD, server_rows(f)), "",
    ]
    if f.browser_runs:
        out += ["## In Chromium", "", markdown_table(BROWSER_HEAD, browser_rows(f)), "",
                "*requests per load* (median): the document plus the resources the load fetched from the server "
                "(files served from the browser's cache on a warm load do not count; nor does the live-updates "
                "stream, `/web/live`, which stays open).", ""]
    out += ["## Reading", "", *[f"- {n}" for n in notes], ""]
    path.write_text("\n".join(out))


COLORS = {"HTML": (214, 96, 77), "CSS": (67, 147, 195), "JS": (146, 197, 222),
          "home, 40 posts": (214, 96, 77), "sign-in page": (170, 170, 170)}


def draw_chart(path: Path, f: Figures) -> None:
    """Three panels: weight (stacked raw and gzip against the budget), server p50/p95, Chromium medians."""
    width, height = 1200, 420
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title, small, tiny = _font(20), _font(14), _font(11)
    draw.text((20, 12), "Agora web app: home page with 40 posts", fill="black", font=title)
    _weight_panel(draw, (60, 80, 360, 360), f, small, tiny)
    bars = [(label.replace(" (posts only)", ""), pct(v, 50), pct(v, 95), (214, 96, 77) if "HTML" in label
             else (67, 147, 195)) for label, v in f.server.items()]
    _bar_panel(draw, (450, 80, 750, 360), "Server p50 ms (tick: p95)", bars, small, tiny)
    groups = [(MILESTONES[m].replace("first contentful paint", "FCP").replace("DOMContentLoaded", "DCL"),
               [(page, f.milestone(page, "cold", m)) for page in ("home, 40 posts", "sign-in page")])
              for m in MILESTONES]
    _group_panel(draw, (840, 80, 1170, 360), "Chromium, cold cache: median ms", groups, small, tiny)
    image.save(path)


def _axis(draw: Any, box: tuple[int, int, int, int], top: float, tiny: Any, unit: str = "") -> Any:
    x0, y0, x1, y1 = box
    rough = max(top, 1e-9) / 5  # about five gridlines at 1, 2 or 5 × a power of ten
    step = 10 ** math.floor(math.log10(rough))
    step *= 1 if rough / step < 2 else 2 if rough / step < 5 else 5
    tick = 0.0
    while tick <= top:
        y = y1 - tick / top * (y1 - y0)
        draw.line((x0, y, x1, y), fill=(225, 225, 225))
        draw.text((x0 - 6, y), f"{tick:g}{unit}", fill="black", font=tiny, anchor="rm")
        tick += step
    draw.line((x0, y0, x0, y1), fill="black")
    draw.line((x0, y1, x1, y1), fill="black")
    return lambda v: y1 - min(v, top) / top * (y1 - y0)


def _weight_panel(draw: Any, box: tuple[int, int, int, int], f: Figures, small: Any, tiny: Any) -> None:
    x0, y0, x1, y1 = box
    draw.text((x0, y0 - 30), "Page weight, KB (line: 150 KB budget)", fill="black", font=small)
    if not f.weight:
        return
    top = max(f.total(2), BUDGET) * 1.15 / 1024
    y_of = _axis(draw, box, top, tiny)
    for i, (column, label) in enumerate(((2, "raw"), (3, "gzip"))):
        left = x0 + 30 + i * 130
        level = 0.0
        for kind in ("HTML", "CSS", "JS"):
            size = sum(r[column] for r in f.weight if r[0] == kind) / 1024
            if size:
                draw.rectangle((left, y_of(level + size), left + 90, y_of(level)), fill=COLORS[kind])
                if size > top / 25:
                    draw.text((left + 45, (y_of(level) + y_of(level + size)) / 2), f"{kind} {size:.0f}",
                              fill="black", font=tiny, anchor="mm")
            level += size
        draw.text((left + 45, y_of(level) - 3), f"{level:.0f}", fill="black", font=tiny, anchor="mb")
        draw.text((left + 45, y1 + 6), label, fill="black", font=small, anchor="mt")
    y = y_of(BUDGET / 1024)
    for x in range(x0, x1, 12):
        draw.line((x, y, x + 6, y), fill=(200, 0, 0), width=2)


def _bar_panel(draw: Any, box: tuple[int, int, int, int], label: str,
               bars: list[tuple[str, float, float, tuple[int, int, int]]], small: Any, tiny: Any) -> None:
    x0, y0, x1, y1 = box
    draw.text((x0, y0 - 30), label, fill="black", font=small)
    if not bars:
        return
    y_of = _axis(draw, box, max(b[2] for b in bars) * 1.15, tiny)
    width = (x1 - x0) / len(bars)
    for i, (name, p50, p95, color) in enumerate(bars):
        left = x0 + i * width + width * 0.15
        right = left + width * 0.7
        draw.rectangle((left, y_of(p50), right, y1 - 1), fill=color)
        draw.line(((left + right) / 2, y_of(p50), (left + right) / 2, y_of(p95)), fill="black")
        draw.line((left + 8, y_of(p95), right - 8, y_of(p95)), fill="black", width=2)
        draw.text(((left + right) / 2, y_of(p95) - 3), f"{p50:.1f}", fill="black", font=tiny, anchor="mb")
        draw.text(((left + right) / 2, y1 + 6), name, fill="black", font=tiny, anchor="mt")


def _group_panel(draw: Any, box: tuple[int, int, int, int], label: str,
                 groups: list[tuple[str, list[tuple[str, float]]]], small: Any, tiny: Any) -> None:
    x0, y0, x1, y1 = box
    draw.text((x0, y0 - 30), label, fill="black", font=small)
    values = [v for _, items in groups for _, v in items if not math.isnan(v)]
    if not values:
        return
    y_of = _axis(draw, box, max(values) * 1.15, tiny)
    width = (x1 - x0) / len(groups)
    for g, (name, items) in enumerate(groups):
        bar = width * 0.8 / len(items)
        for b, (page, value) in enumerate(items):
            left = x0 + g * width + width * 0.1 + b * bar
            if math.isnan(value):
                continue
            draw.rectangle((left + 2, y_of(value), left + bar - 2, y1 - 1), fill=COLORS[page])
            draw.text((left + bar / 2, y_of(value) - 3), f"{value:.0f}", fill="black", font=tiny, anchor="mb")
        draw.text((x0 + (g + 0.5) * width, y1 + 6), name, fill="black", font=tiny, anchor="mt")
    x = x0
    for page in ("home, 40 posts", "sign-in page"):
        draw.rectangle((x, y1 + 28, x + 12, y1 + 40), fill=COLORS[page])
        draw.text((x + 18, y1 + 27), page, fill="black", font=tiny)
        x += 40 + int(draw.textlength(page, font=tiny))

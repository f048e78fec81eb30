"""Web app benchmark: the home page's weight, and the time to render a home timeline of 40 posts.

On a fresh SQLite database it seeds a reader who follows 20 authors and 220 posts by them through the
real services (bench/web_seed.py), then measures, in one run:

  server     GET /home?limit=40 (the HTML page), the same 40 posts as an htmx fragment without the layout
             (?fragment=list), and GET /api/v1/timelines/home?limit=40 (the JSON API, same posts) as the
             baseline: the app in this process over httpx.ASGITransport, one request at a time,
             interleaved; p50/p95 and SQL statements per request
  Chromium   the real server (uvicorn in a subprocess) and headless Chromium (Playwright, Debian's
             /usr/bin/chromium): Navigation and Paint Timing of /home?limit=40 signed in, against the
             same for /auth/sign_in signed out (same layout, CSS and JS, almost no content); each with a
             fresh browser context per load (cold cache) and with repeat loads in one context (warm)
  weight     the HTML of /home?limit=40 and every stylesheet and script it references, raw and gzipped,
             images excluded; PASS under 150 KB raw (the issue's budget)

Usage: .venv/bin/python bench/web.py [--quick]
Figures go to stdout, docs/bench/web.md and docs/bench/web.png.
Exit status is non-zero only when a request failed or a check did not hold, never because of a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

if not __package__:  # run as `python bench/web.py`: import the `bench` package from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx
from sqlalchemy import event

from agora.app import create_app
from agora.cli import run_migrations
from agora.config import Settings
from agora.web.session import SESSION_COOKIE
from bench import REPO, STARTED, log
from bench.load import Server
from bench.machine import OtherWork, cpu_probe, cpu_share
from bench.web_report import Figures, draw_chart, print_figures, write_markdown
from bench.web_seed import Seeded, seed

HOME = "/home?limit=40"
BASELINE = "/auth/sign_in"
SERVER_TARGETS = {  # label -> (path, uses the session cookie, else a bearer token)
    "JSON API": ("/api/v1/timelines/home?limit=40", False),
    "HTML fragment (posts only)": ("/home?limit=40&fragment=list", True),
    "HTML page": (HOME, True),
}
# As in tests/web/conftest.py: Debian's Chromium, never a `playwright install`ed one.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
TIMING_JS = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {responseStart: n.responseStart, domContentLoaded: n.domContentLoadedEventEnd,
          firstContentfulPaint: fcp ? fcp.startTime : null, load: n.loadEventEnd,
          resources: performance.getEntriesByType("resource").map(r => [r.initiatorType, r.name, r.transferSize])};
}"""
LOADED_JS = ("() => performance.getEntriesByType('navigation')[0]?.loadEventEnd > 0 "
             "&& performance.getEntriesByName('first-contentful-paint').length > 0")


class CheckFailed(Exception):
    pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few iterations: a check that it works")
    parser.add_argument("--requests", type=int, help="timed server requests per target (default 300, quick 30)")
    parser.add_argument("--loads", type=int, help="timed Chromium loads per page and cache (default 20, quick 4)")
    parser.add_argument("--posts", type=int, default=220)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench", help="where the .md and .png go")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/bench alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (SQLite file)")
    args = parser.parse_args(argv)
    args.requests = args.requests or (30 if args.quick else 300)
    args.loads = args.loads or (4 if args.quick else 20)
    if args.posts < 100:
        parser.error("need at least 100 posts (a page of 40 and then some)")
    return args


def settings_for(database_url: str, data_dir: Path) -> Settings:
    """Production defaults, except: no rate limits, quiet logs, and cheap password hashing (unused here)."""
    return Settings(database_url=database_url, data_dir=data_dir, base_url="http://testserver",
                    rate_limit_enabled=False, log_level="warning", log_json=False,
                    argon2_time_cost=1, argon2_memory_kib=1024)


class Assets(HTMLParser):
    """The stylesheets and scripts a page references (images are left out on purpose)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (kind, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and "stylesheet" in (a.get("rel") or "").split() and a.get("href"):
            self.urls.append(("CSS", a["href"] or ""))
        elif tag == "script" and a.get("src"):
            self.urls.append(("JS", a["src"] or ""))


def post_ids(body: bytes, kind: str) -> list[str]:
    if kind == "json":
        return [s["id"] for s in json.loads(body)]
    return re.findall(r'<article class="post[^"]*" id="post-(\d+)"', body.decode())


async def server_side(figures: Figures, database_url: str, data_dir: Path, args: argparse.Namespace) -> Seeded:
    app = create_app(settings_for(database_url, data_dir))
    runtime = app.state.runtime
    await runtime.start()
    try:
        started = time.perf_counter()
        seeded = await seed(runtime, posts=args.posts, seed=args.seed)
        log(f"seeded {seeded.posts} posts by {seeded.authors} authors in {time.perf_counter() - started:.1f}s: "
            f"{seeded.kinds}")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as client:
            await check_same_posts(client, seeded)
            await page_weight(figures, client, seeded)
            await time_server(figures, client, runtime, seeded, args.requests)
    finally:
        await runtime.stop()
    return seeded


async def get(client: httpx.AsyncClient, path: str, seeded: Seeded | None, cookie: bool = True) -> httpx.Response:
    """GET as the reader (session cookie, or bearer token when not `cookie`), or signed out (no `seeded`)."""
    headers = {}
    if seeded:
        headers = {"Cookie": f"{SESSION_COOKIE}={seeded.cookie}"} if cookie else {
            "Authorization": f"Bearer {seeded.token}"}
    client.cookies.clear()  # nothing a response set is sent back: every request carries only its own
    response = await client.get(path, headers=headers)
    if response.status_code != 200:
        raise CheckFailed(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return response


async def check_same_posts(client: httpx.AsyncClient, seeded: Seeded) -> None:
    api = post_ids((await get(client, SERVER_TARGETS["JSON API"][0], seeded, cookie=False)).content, "json")
    page = post_ids((await get(client, HOME, seeded)).content, "html")
    part = post_ids((await get(client, SERVER_TARGETS["HTML fragment (posts only)"][0], seeded)).content, "html")
    if len(api) != 40 or api != page or api != part:
        raise CheckFailed(f"the API, the page and the fragment disagree: {len(api)}, {len(page)}, {len(part)} "
                          f"posts; first ids {api[:2]}, {page[:2]}, {part[:2]}")
    log("the JSON API, the HTML page and the fragment show the same 40 posts")


async def page_weight(figures: Figures, client: httpx.AsyncClient, seeded: Seeded) -> None:
    home = await get(client, HOME, seeded)
    figures.server_gzips = home.headers.get("content-encoding") == "gzip"  # httpx asks for gzip by default
    parser = Assets()
    parser.feed(home.text)
    files = [("HTML", HOME, home.content)]
    for kind, url in parser.urls:
        asset = await get(client, url, None)
        figures.asset_headers[url] = asset.headers.get("cache-control", "(none)")
        files.append((kind, url, asset.content))
    figures.weight = [(kind, url, len(body), len(gzip.compress(body, compresslevel=6))) for kind, url, body in files]
    figures.html_posts = len(post_ids(home.content, "html"))
    figures.html_parts = html_breakdown(home.text)
    default = await get(client, "/home", seeded)  # what the Home link opens: the default page size
    figures.default_home = (len(post_ids(default.content, "html")), len(default.content))


def html_breakdown(html: str) -> dict[str, int]:
    """Bytes of the page's HTML by what they are (parts overlap: the action bars are inside the cards)."""
    def size(pattern: str) -> int:
        return sum(len(m.encode()) for m in re.findall(pattern, html, re.S))

    return {"whole page": len(html.encode()), "post cards": size(r"<article.*?</article>"),
            "action bars under the posts": size(r'<(?:form|footer) class="actions".*?</(?:form|footer)>'),
            "hidden CSRF inputs": size(r'<input type="hidden" name="csrf"[^>]*>'),
            "inline icon markup (svg + use)": size(r"<svg class=\"icon\"[^>]*>\s*<use[^>]*/?>\s*</svg>"),
            "indentation": sum(len(m) - 1 for m in re.findall(r"\n[ \t]+", html))}


async def time_server(figures: Figures, client: httpx.AsyncClient, runtime: Any, seeded: Seeded,
                      requests: int) -> None:
    engine = runtime.db.engine.sync_engine
    counted: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        counted.append(statement)

    for label, (path, cookie) in SERVER_TARGETS.items():
        counted.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            await get(client, path, seeded, cookie)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        figures.statements[label] = len(counted)
    for _ in range(10):  # warm-up: templates compiled, caches and connections ready
        for path, cookie in SERVER_TARGETS.values():
            await get(client, path, seeded, cookie)
    log(f"timing {requests} requests per target, interleaved")
    other = OtherWork()
    for _ in range(requests):
        for label, (path, cookie) in SERVER_TARGETS.items():
            started = time.perf_counter()
            response = await get(client, path, seeded, cookie)
            figures.server.setdefault(label, []).append(time.perf_counter() - started)
            figures.server_bytes[label] = len(response.content)
    figures.other_share["server"] = cpu_share(*other.finish())


def in_chromium(figures: Figures, database_url: str, data_dir: Path, seeded: Seeded, loads: int) -> None:
    from playwright.sync_api import sync_playwright

    with Server(database_url, data_dir) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        figures.browser = f"Chromium {browser.version} (headless, Playwright)"
        OtherWork.mine |= descendants()  # the browser's processes are part of the benchmark, not other work
        other = OtherWork()
        try:
            for label, path, signed_in in (("home, 40 posts", HOME, True), ("sign-in page", BASELINE, False)):
                for cache in ("cold", "warm"):
                    log(f"Chromium: {label}, {cache} cache, {loads} loads")
                    samples = figures.browser_runs.setdefault((label, cache), [])
                    context = None
                    for n in range(loads + 1):  # the first load is a warm-up, not counted
                        if context is None or cache == "cold":
                            if context is not None:
                                context.close()
                            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
                            if signed_in:
                                context.add_cookies([{"name": SESSION_COOKIE, "value": seeded.cookie,
                                                      "url": server.url}])
                            page = context.new_page()
                        response = page.goto(server.url + path, wait_until="load")
                        if response is None or response.status != 200 or (signed_in and "/home" not in page.url):
                            raise CheckFailed(f"Chromium: {path} answered {response and response.status} "
                                              f"at {page.url}")
                        page.wait_for_function(LOADED_JS, timeout=10_000)
                        if n:
                            samples.append(page.evaluate(TIMING_JS))
                    if context is not None:
                        context.close()
        finally:
            figures.other_share["Chromium"] = cpu_share(*other.finish())
            browser.close()


def descendants() -> set[int]:
    """This process and every process it started (the Playwright driver, Chromium and its helpers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            if entry.name.isdigit():
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found = {os.getpid()}
    while grown := {pid for pid, parent in parents.items() if parent in found} - found:
        found |= grown
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-web-"))
    figures = Figures(requests=args.requests, loads=args.loads)
    database_url = f"sqlite+aiosqlite:///{workdir / 'agora.db'}"
    try:
        log("migrating a fresh SQLite database")
        run_migrations(database_url)
        figures.probes.append(cpu_probe())
        seeded = asyncio.run(server_side(figures, database_url, workdir / "data", args))
        figures.seeded = seeded
        if CHROMIUM.exists():
            in_chromium(figures, database_url, workdir / "data", seeded, args.loads)
        else:
            log(f"{CHROMIUM} not found: skipping the browser measurements (apt-get install -y chromium)")
        figures.probes.append(cpu_probe())
    except CheckFailed as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - STARTED
    notes = print_figures(figures)
    if not args.no_report:
        args.out.mkdir(parents=True, exist_ok=True)
        command = " ".join([".venv/bin/python", "bench/web.py", *sys.argv[1:]])
        write_markdown(args.out / "web.md", figures, notes, command, started_at, total)
        draw_chart(args.out / "web.png", figures)
        log(f"wrote {args.out / 'web.md'} and {args.out / 'web.png'}")
    log(f"done in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

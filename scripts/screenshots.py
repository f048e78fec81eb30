"""Screenshots of the web app's main pages at phone and desktop widths, for docs/screenshots/.

    .venv/bin/python scripts/screenshots.py            # or: make screenshots

Serves the demo community (loaded once into var/screenshots/, reused after) on a free port and
drives Debian's Chromium with Playwright, signed in as the demo member. Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright

from agora.app import create_app
from agora.cli import run_migrations
from agora.config import Settings
from agora.demo.loader import DEMO_PASSWORD, DEMO_USERNAME, load_demo

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(settings: Settings, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    return server


def sign_in(page: Page) -> None:
    page.goto("/auth/sign_in")
    page.fill("#login", DEMO_USERNAME)
    page.fill("#password", DEMO_PASSWORD)
    page.click("form[action='/auth/sign_in'] button[type=submit]")
    page.wait_for_url("**/home")


def first_thread_with_replies(page: Page) -> str:
    """A post of the demo community that has replies, so the thread view shows a conversation."""
    page.goto("/explore")
    for link in page.locator(".post").all():
        count = link.locator("a.reply .count").inner_text().strip()
        if count and count != "0":
            return link.locator("a.when").get_attribute("href") or "/explore"
    return page.locator(".post a.when").first.get_attribute("href") or "/explore"


def conversation_path(page: Page, name: str) -> str:
    """The demo member's chat called `name` (the demo data has a group with reactions and a pin)."""
    page.goto("/chat")
    return page.locator("a", has_text=name).first.get_attribute("href") or "/chat"


def shoot(page: Page, out: Path, name: str, path: str, *, full: bool = False) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"{name}.png"), full_page=full)
    print(f"  {name}.png  ← {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "screenshots")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    settings = Settings(data_dir=args.data_dir, base_url=f"http://127.0.0.1:{port}", log_json=False,
                        log_level="warning", rate_limit_enabled=False)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    run_migrations(settings.resolved_database_url)
    print("loading the demo community (once; about a minute)…")
    asyncio.run(load_demo(settings))
    server = serve(settings, port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for size_name, viewport in SIZES.items():
                scale = 2 if size_name == "phone" else 1
                visitor = browser.new_context(base_url=settings.base_url, viewport=viewport,
                                              device_scale_factor=scale, locale="en-US")
                page = visitor.new_page()
                shoot(page, args.out, f"{size_name}-welcome", "/")
                visitor.close()

                member = browser.new_context(base_url=settings.base_url, viewport=viewport,
                                             device_scale_factor=scale, locale="en-US")
                page = member.new_page()
                sign_in(page)
                shoot(page, args.out, f"{size_name}-home", "/home")
                shoot(page, args.out, f"{size_name}-thread", first_thread_with_replies(page))
                shoot(page, args.out, f"{size_name}-profile", f"/@{DEMO_USERNAME}")
                shoot(page, args.out, f"{size_name}-notifications", "/notifications")
                shoot(page, args.out, f"{size_name}-chat", "/chat")
                shoot(page, args.out, f"{size_name}-chat-group", conversation_path(page, "Saturday long run"))
                shoot(page, args.out, f"{size_name}-settings-profile", "/settings/profile")
                shoot(page, args.out, f"{size_name}-search", "/search?q=coffee")
                shoot(page, args.out, f"{size_name}-search-trends", "/search")
                shoot(page, args.out, f"{size_name}-home-for-you", "/home?feed=for_you")
                member.close()

                for locale, tag in (("zh-CN", "zh"), ("de-DE", "de")):
                    localised = browser.new_context(base_url=settings.base_url, viewport=viewport,
                                                    device_scale_factor=scale, locale=locale)
                    page = localised.new_page()
                    shoot(page, args.out, f"{size_name}-sign-in-{tag}", "/auth/sign_in")
                    sign_in(page)
                    shoot(page, args.out, f"{size_name}-explore-{tag}", "/explore")
                    localised.close()

                dark = browser.new_context(base_url=settings.base_url, viewport=viewport, device_scale_factor=scale,
                                           color_scheme="dark", locale="en-US")
                page = dark.new_page()
                sign_in(page)
                shoot(page, args.out, f"{size_name}-home-dark", "/home")
                dark.close()
            browser.close()
    finally:
        server.should_exit = True


if __name__ == "__main__":
    main()

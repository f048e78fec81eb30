"""What browser tests do again and again, as a member would: sign up, write a post, read the badge."""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import Locator, Page, expect

PASSWORD = "a long enough password"


def png(colour: tuple[int, int, int] = (220, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 400), colour).save(out, "PNG")
    return out.getvalue()


def sign_up(page: Page, username: str) -> None:
    page.goto("/auth/sign_up")
    page.fill("#username", username)
    page.fill("#email", f"{username}@example.org")
    page.fill("#new-password", PASSWORD)
    page.check("input[name=agreement]")
    page.click("form[action='/auth/sign_up'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/home$"))


def compose(page: Page, text: str, *, visibility: str = "public", image: bytes | None = None, alt: str = "") -> None:
    box = page.locator("form#compose")
    box.locator("textarea[name=status]").fill(text)
    box.locator("select[name=visibility]").select_option(visibility)
    if image is not None:
        box.locator("input[type=file]").set_input_files(
            files=[{"name": "photo.png", "mimeType": "image/png", "buffer": image}])
        expect(box.locator(".preview img")).to_have_count(1)  # the preview shows before posting
        box.locator(".preview input[name=alt]").fill(alt)
    box.locator("button[type=submit]").click()


def badge(page: Page) -> Locator:
    return page.locator("header.side .notif-badge")

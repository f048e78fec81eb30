"""/ai/model: the promoted community model's card for everyone, and the runs for operators."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from agora.ai import registry
from agora.ai.paths import models_dir
from agora.config import Settings
from agora.kit.runtime import Runtime
from agora.models import Account
from tests.ai.runs import make_run
from tests.factories import Member
from tests.web.pages import signed_in


async def make_admin(runtime: Runtime, member: Member) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == int(member.id)).values(admin=True))


async def test_anyone_reads_the_promoted_models_card(client: httpx.AsyncClient, settings: Settings) -> None:
    make_run(models_dir(settings), "20261205-0731-tiny")
    registry.promote(settings, "20261205-0731-tiny")
    page = await client.get("/ai/model")
    assert page.status_code == 200
    assert "<h3>Privacy and opt-out</h3>" in page.text and "<h3>Training data</h3>" in page.text
    assert "1.4 M" in page.text and "3.21" in page.text and "20261205-0731-tiny" in page.text
    assert "Training runs" not in page.text  # the run list is for operators
    assert 'href="/ai/model"' in page.text  # the footer links here


async def test_the_card_is_shown_when_only_run_json_exists(client: httpx.AsyncClient, settings: Settings) -> None:
    folder = make_run(models_dir(settings), "r1", datasheet=False, evaluation=False)
    registry.promote(settings, "r1")
    assert not (folder / "MODEL_CARD.md").exists()
    page = await client.get("/ai/model")
    assert page.status_code == 200 and "Not evaluated yet" in page.text


async def test_with_none_promoted_the_page_says_the_assistant_is_extractive(client: httpx.AsyncClient,
                                                                           settings: Settings) -> None:
    make_run(models_dir(settings), "r1")  # trained, but nobody promoted it
    page = await client.get("/ai/model")
    assert page.status_code == 200
    assert "No community model is promoted yet." in page.text and "extractive" in page.text
    (models_dir(settings) / "PROMOTED").write_text("deleted-run\n")
    assert "No community model is promoted yet." in (await client.get("/ai/model")).text


async def test_operators_see_every_run_and_members_do_not(client: httpx.AsyncClient, settings: Settings,
                                                         runtime: Runtime, alice: Member, bob: Member) -> None:
    make_run(models_dir(settings), "20261205-0731-tiny")
    make_run(models_dir(settings), "20261206-1200-small", status="training", preset="small",
             created_at="2026-12-06T12:00:00+00:00")
    registry.promote(settings, "20261205-0731-tiny")
    await make_admin(runtime, alice)

    await signed_in(client, alice)
    page = await client.get("/ai/model")
    assert "Training runs" in page.text and "20261206-1200-small" in page.text
    assert page.text.index("20261206-1200-small", page.text.index("Training runs")) < page.text.rindex(
        "20261205-0731-tiny")  # newest first
    assert "★" in page.text

    await signed_in(client, bob)
    page = await client.get("/ai/model")
    assert page.status_code == 200 and "<h3>Privacy and opt-out</h3>" in page.text
    assert "Training runs" not in page.text and "20261206-1200-small" not in page.text


async def test_what_a_card_holds_reaches_the_page_as_text(client: httpx.AsyncClient, settings: Settings) -> None:
    folder = make_run(models_dir(settings), "r1")
    registry.promote(settings, "r1")
    (folder / "MODEL_CARD.md").write_text("# Card\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n"
                                          '<img src=x onerror="alert(3)">\n', encoding="utf-8")
    page = await client.get("/ai/model")
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'href="javascript:' not in page.text and "<img src=x" not in page.text


async def test_a_generated_sample_with_html_is_escaped(client: httpx.AsyncClient, settings: Settings) -> None:
    import json

    folder = make_run(models_dir(settings), "r1")
    (folder / "eval.json").write_text(json.dumps({"samples": [{"prompt": "<b>hi</b>",
                                                               "completion": "<script>x()</script>"}]}))
    registry.promote(settings, "r1")
    page = await client.get("/ai/model")
    assert "<script>x()" not in page.text and "&lt;script&gt;x()&lt;/script&gt;" in page.text
    assert "<b>hi</b>" not in page.text


async def test_the_page_has_one_main_heading(client: httpx.AsyncClient, settings: Settings) -> None:
    make_run(models_dir(settings), "r1")
    registry.promote(settings, "r1")
    page = await client.get("/ai/model")
    assert page.text.count("<h1") == 1 and "<h2>Model card: r1</h2>" in page.text

"""The whole pipeline on the demo community, as an operator runs it: corpus, train, eval, promote,
and the promoted model's card on the web. The demo is the session's shared build (loaded as `agora
demo` loads it, and embedded, which the pipeline ignores), copied for this test: tests/demo_db.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agora.ai.cli import ai
from agora.ai.registry import promoted
from tests.conftest import app_client, make_settings


def test_demo_corpus_train_eval_promote_and_card(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if backend != "sqlite":
        pytest.skip("the corpus is tested on PostgreSQL in test_corpus.py; once is enough for the pipeline")
    # Asked for only here, after the skip, so that a PostgreSQL run of this test alone builds no demo.
    settings = make_settings(request.getfixturevalue("demo_database").url, tmp_path / "data")
    env = {"AGORA_DATA_DIR": str(settings.data_dir), "AGORA_DATABASE_URL": settings.resolved_database_url}

    def agora_ai(*args: str) -> str:
        result = CliRunner().invoke(ai, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    agora_ai("corpus")
    sheet = json.loads((settings.data_dir / "ai" / "corpus" / "datasheet.json").read_text())
    assert sheet["summary"]["documents"] > 400 and sheet["summary"]["pairs"] > 10
    assert {"en", "de", "zh"} <= set(sheet["summary"]["languages"])

    agora_ai("train", "--preset", "tiny", "--steps", "30", "--chat-steps", "5", "--batch-size", "8",
             "--seq-len", "128", "--eval-every", "15", "--run-id", "demo-tiny")
    run = json.loads((settings.data_dir / "models" / "demo-tiny" / "run.json").read_text())
    assert run["status"] == "finished" and run["corpus"]["documents"] == sheet["summary"]["documents"]

    evaluated = agora_ai("eval", "demo-tiny", "--max-new-tokens", "12", "--windows", "16")
    assert "held-out perplexity" in evaluated and "What should I cook tonight?" in evaluated
    assert "demo-tiny" in agora_ai("models") and promoted(settings) is None
    agora_ai("promote", "demo-tiny")
    assert promoted(settings).id == "demo-tiny"

    async def card_page() -> str:
        async with app_client(settings) as (client, _runtime):
            page = await client.get("/ai/model")
            assert page.status_code == 200
            return page.text

    page = asyncio.run(card_page())
    assert "demo-tiny" in page and "Privacy" in page and "Samples" in page

"""What the engine and /v1 tests share: one tiny trained model per session, members on a live server.

Training takes a while on 2 cores, so the run is made once (in the session's temporary folder)
and copied into each test's data directory, where it is promoted.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import openai

from agora.ai.registry import promote
from agora.ai.train import train
from agora.ai.train_config import TrainConfig
from agora.config import Settings
from agora.kit.runtime import Runtime
from tests.ai.synthetic_corpus import build_synthetic_corpus
from tests.conftest import LiveServer
from tests.factories import Member, make_member

RUN_ID = "t"
_lock = threading.Lock()


def trained_run(base: Path) -> Path:
    """The run folder of the session's tiny model (trained on first use)."""
    data_dir = base / "tiny-model"
    folder = data_dir / "models" / RUN_ID
    with _lock:
        if not (folder / "model" / "config.json").is_file():
            build_synthetic_corpus(data_dir)
            train(TrainConfig(data_dir=data_dir, steps=20, chat_steps=5, batch_size=8, seq_len=64, eval_every=1000,
                              save_every=1000, run_id=RUN_ID), log=lambda _line: None)
    return folder


def install_and_promote(base: Path, settings: Settings) -> str:
    """Copy the tiny run into `settings.data_dir` and promote it; returns its run id."""
    target = settings.data_dir / "models" / RUN_ID
    if not target.exists():
        shutil.copytree(trained_run(base), target, ignore=shutil.ignore_patterns("checkpoint*"))
    promote(settings, RUN_ID)
    return RUN_ID


def live_member(server: LiveServer, username: str) -> Member:
    """A member with an access token on a live server's database (made through the real services)."""

    async def make() -> Member:
        runtime = Runtime.create(server.settings)
        await runtime.start()
        try:
            return await make_member(runtime, username)
        finally:
            await runtime.stop()

    return asyncio.run(make())


def sdk(server: LiveServer, api_key: str) -> openai.OpenAI:
    """The official client pointed at a live server's /v1; no retries, so each error is seen as it comes."""
    return openai.OpenAI(base_url=server.url + "/v1", api_key=api_key, max_retries=0, timeout=60)

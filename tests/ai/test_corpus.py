"""`agora ai corpus`: only public posts by members who let the model learn from them, scrubbed and
de-duplicated, end up in the texts, the pairs and the token shards; the datasheet counts it all."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update
from typer.testing import CliRunner

from agora.ai.cli import ai
from agora.ai.corpus import build_corpus
from agora.ai.paths import corpus_dir
from agora.ai.shards import read_tokens, write_shards
from agora.ai.tokenizer import load_tokenizer
from agora.config import Settings
from agora.kit.runtime import Runtime
from agora.models import Account
from tests.chat.helpers import direct, send
from tests.conftest import app_client
from tests.factories import Member, make_member, post
from tests.payments.helpers import send as pay_send
from tests.payments.helpers import top_up

VOCAB = 300
# Words that must never reach the model, each planted where the corpus must not look.
HIDDEN = {
    "direct": "zorbledirect", "private": "quibbleprivate", "unlisted": "flummoxunlisted",
    "opted_out": "snorkeloptout", "bot": "gizmobot", "suspended": "wobblesuspended",
    "deleted": "vanishdeleted", "chat": "whisperchat", "edited_away": "oldwordedit", "wallet": "ledgermemo",
}
KEPT = "marmaladepublic"


async def patch_me(client: httpx.AsyncClient, who: Member, **fields: Any) -> None:
    answer = await client.patch("/api/v1/accounts/update_credentials", headers=who.headers, json=fields)
    assert answer.status_code == 200, answer.text


async def plant(client: httpx.AsyncClient, runtime: Runtime) -> dict[str, Member]:
    """An ordinary small community, with something in every place the corpus must not read."""
    alice, bob = await make_member(runtime, "alice"), await make_member(runtime, "bob")
    carol, dave, erin = [await make_member(runtime, n) for n in ("carol", "dave", "erin")]
    await post(client, alice, f"The {KEPT} at the market is back, get some before it is gone")
    parent = await post(client, alice, "Where is the best ramen near the station?")
    await post(client, bob, "Try the little place by the river, the broth is lovely", in_reply_to_id=parent["id"])
    await post(client, alice, "Write to ana.lopez@example.com or call +49 30 1234567 about the flat. "
                              "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00.")
    await post(client, alice, "ana@example.org")  # nothing left once scrubbed
    await post(client, alice, "Same words, said twice")
    await post(client, bob, "same   WORDS, said twice")  # a duplicate, up to case and spacing
    edited = await post(client, alice, f"A first draft with {HIDDEN['edited_away']}")
    assert (await client.put(f"/api/v1/statuses/{edited['id']}", headers=alice.headers,
                             json={"status": "The final version of this post"})).status_code == 200
    await post(client, alice, f"@bob {HIDDEN['direct']} between us", visibility="direct")
    private = await post(client, alice, f"For my followers: {HIDDEN['private']}", visibility="private")
    await post(client, alice, "A public answer to a followers-only post", in_reply_to_id=private["id"])
    await post(client, alice, f"Quietly: {HIDDEN['unlisted']}", visibility="unlisted")
    boosted = await client.post(f"/api/v1/statuses/{parent['id']}/reblog", headers=bob.headers)
    assert boosted.status_code == 200, boosted.text
    gone = await post(client, alice, f"Oops {HIDDEN['deleted']}")
    assert (await client.delete(f"/api/v1/statuses/{gone['id']}", headers=alice.headers)).status_code == 200
    chat = await direct(client, alice, bob)
    await send(client, alice, chat["id"], f"In the chat: {HIDDEN['chat']}")
    await top_up(client, alice, 500)
    await pay_send(client, alice, bob, 100, currency="usd", note=HIDDEN["wallet"])

    await patch_me(client, carol, ai_training=False)
    await post(client, carol, f"My own words: {HIDDEN['opted_out']}")
    await patch_me(client, dave, bot=True)
    await post(client, dave, f"Beep: {HIDDEN['bot']}")
    await post(client, erin, f"Before my suspension: {HIDDEN['suspended']}")
    async with runtime.db.transaction() as session:  # no service suspends yet: as an operator would, in SQL
        await session.execute(update(Account).where(Account.id == int(erin.id)).values(suspended=True))
    return {"alice": alice, "bob": bob}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def everything_the_model_sees(folder: Path) -> str:
    tokenizer = load_tokenizer(folder / "tokenizer")
    decoded = [tokenizer.decode(read_tokens(folder, split).tolist()) for split in ("train", "val")]
    return "\n".join([(folder / "documents.jsonl").read_text(encoding="utf-8"),
                      (folder / "pairs.jsonl").read_text(encoding="utf-8"), *decoded])


async def test_the_corpus_holds_only_what_members_shared(client: httpx.AsyncClient, runtime: Runtime,
                                                         settings: Settings) -> None:
    await plant(client, runtime)
    sheet = await build_corpus(runtime.db, settings, vocab_size=VOCAB)
    folder = corpus_dir(settings)
    seen = everything_the_model_sees(folder)
    assert KEPT in seen and "The final version of this post" in seen
    for place, marker in HIDDEN.items():
        assert marker not in seen, f"the {place} marker reached the corpus"

    documents = read_jsonl(folder / "documents.jsonl")
    texts = [d["text"] for d in documents]
    scrubbed = next(t for t in texts if "about the flat" in t)
    assert scrubbed == "Write to [email] or call [phone] about the flat. Card [card], IBAN [iban]."
    assert "ana.lopez" not in seen and "4111" not in seen and "DE89" not in seen
    assert [t.casefold() for t in texts].count("same words, said twice") == 1
    assert texts[[t.casefold() for t in texts].index("same words, said twice")] == "Same words, said twice"  # oldest
    assert [int(d["id"]) for d in documents] == sorted(int(d["id"]) for d in documents)
    assert {d["split"] for d in documents} == {"train", "val"}  # at least one held out

    pairs = read_jsonl(folder / "pairs.jsonl")
    assert [(p["prompt"], p["reply"]) for p in pairs] == [
        ("Where is the best ramen near the station?", "Try the little place by the river, the broth is lovely")]

    assert sheet == json.loads((folder / "datasheet.json").read_text(encoding="utf-8"))
    summary = sheet["summary"]
    assert summary["documents"] == len(documents) == 7
    assert summary["pairs"] == 1 and summary["members_included"] == 2 and summary["members_opted_out"] == 1
    assert sum(summary["languages"].values()) == 7
    assert summary["train_tokens"] + summary["val_tokens"] == sum(len(read_tokens(folder, s)) for s in ("train", "val"))
    assert sheet["excluded"] == {"not_public": 3, "reblog": 1, "opted_out": 1, "bot": 1, "suspended_or_unapproved": 1,
                                 "duplicate": 1, "empty_after_scrubbing": 1}
    assert sheet["scrubbed"] == {"email": 2, "phone": 1, "card": 1, "iban": 1}
    assert sheet["operator_default"] is True
    shards = json.loads((folder / "shards.json").read_text(encoding="utf-8"))
    assert shards["dtype"] == "uint16" and shards["train"]["files"] == ["train_000.bin"]
    assert (folder / "tokenizer" / "tokenizer.json").exists()
    markdown = (folder / "datasheet.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Datasheet for the Agora community corpus")
    assert "Documents (one per post): 7" in markdown and "phone numbers → [phone]: 1 replaced" in markdown
    assert not [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]  # no half-built leftovers


async def test_members_who_never_chose_follow_the_operator_default(client: httpx.AsyncClient, runtime: Runtime,
                                                                   settings: Settings) -> None:
    silent, keen = await make_member(runtime, "silent"), await make_member(runtime, "keen")
    await patch_me(client, keen, ai_training=True)
    await post(client, silent, "I never answered: undecidedword")
    await post(client, keen, "I said yes: eagerword")
    await post(client, keen, "And a second post")
    opt_in = settings.model_copy(update={"ai_training_default": False})
    sheet = await build_corpus(runtime.db, opt_in, vocab_size=VOCAB)
    seen = everything_the_model_sees(corpus_dir(settings))
    assert "eagerword" in seen and "undecidedword" not in seen
    assert sheet["excluded"]["opted_out"] == 1 and sheet["operator_default"] is False
    assert sheet["summary"]["members_opted_out"] == 1


def corpus_command(settings: Settings, *args: str) -> Any:
    env = {"AGORA_DATA_DIR": str(settings.data_dir), "AGORA_DATABASE_URL": settings.resolved_database_url}
    return CliRunner().invoke(ai, ["corpus", *args], env=env)


def test_the_command_builds_the_corpus_and_says_where(settings: Settings) -> None:
    async def community() -> None:
        async with app_client(settings) as (client, runtime):
            alice, bob = await make_member(runtime, "alice"), await make_member(runtime, "bob")
            for i in range(12):
                await post(client, alice if i % 2 else bob, f"Post number {i} about the {KEPT} and the weather")

    asyncio.run(community())
    result = corpus_command(settings, "--vocab-size", str(VOCAB), "--val-percent", "10")
    assert result.exit_code == 0, result.output
    for stage in ("reading", "scrubbed", "deduplicated", "tokenizer", "shards"):
        assert stage in result.output
    folder = corpus_dir(settings)
    assert str(folder) in result.output.replace("\n", "") and "12 documents" in result.output
    for name in ("documents.jsonl", "pairs.jsonl", "shards.json", "datasheet.json", "datasheet.md", "train_000.bin"):
        assert (folder / name).exists(), name
    assert KEPT in everything_the_model_sees(folder)


def test_the_command_refuses_an_empty_community_and_bad_options(settings: Settings) -> None:
    async def nobody_posts() -> None:
        async with app_client(settings) as (_client, runtime):
            await make_member(runtime, "alice")

    asyncio.run(nobody_posts())
    empty = corpus_command(settings, "--vocab-size", str(VOCAB))
    assert empty.exit_code == 1 and "no public posts to learn from" in empty.output
    assert not corpus_dir(settings).exists()
    assert not [p.name for p in corpus_dir(settings).parent.iterdir()]  # nothing half-built left behind
    tiny = corpus_command(settings, "--vocab-size", "10")
    assert tiny.exit_code == 1 and "vocab size must be between" in tiny.output
    odd = corpus_command(settings, "--val-percent", "80")
    assert odd.exit_code == 1 and "val percent must be between 0 and 50" in odd.output


def test_shards_roll_over_and_read_back_in_order(tmp_path: Path) -> None:
    documents = [("train", [1, 2, 3]), ("val", [7]), ("train", [4, 5, 6, 8])]
    meta = write_shards(tmp_path, documents, vocab_size=300, eos_id=0, max_tokens=4)
    assert meta["train"] == {"files": ["train_000.bin", "train_001.bin", "train_002.bin"], "tokens": 9}
    assert read_tokens(tmp_path, "train").tolist() == [1, 2, 3, 0, 4, 5, 6, 8, 0]
    assert read_tokens(tmp_path, "val").tolist() == [7, 0]
    wide = write_shards(tmp_path, [("train", [70_000])], vocab_size=70_001, eos_id=0)
    assert wide["dtype"] == "uint32" and read_tokens(tmp_path, "train").tolist() == [70_000, 0]

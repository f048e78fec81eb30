"""The corpus datasheet: what the community model learns from, counted, and why it is so.

In the spirit of Gebru et al., "Datasheets for Datasets" (2021): a machine-readable datasheet.json
(copied into every training run and its model card) and a datasheet.md that a member can read to
see what was taken, what was left out, and how to opt out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agora.config import Settings
from agora.kit.time import iso, utcnow

if TYPE_CHECKING:
    from agora.ai.corpus import Tally

SOURCES = "public posts only; never DMs, chats, private/followers-only/unlisted posts, or wallet data"

# Why each kind of post is left out, as datasheet.md tells it.
EXCLUSION_REASONS = {
    "not_public": "unlisted, followers-only and direct posts: their authors did not share them with everyone",
    "reblog": "boosts: the boosted post is counted once, as its author's",
    "opted_out": "posts by members who said no (or never chose, where the operator's default is no)",
    "bot": "posts by bot accounts, the assistant among them: a model must not learn from its own outputs",
    "suspended_or_unapproved": "posts by suspended members and members still awaiting approval",
    "duplicate": "repeated texts (the same up to case, spacing and Unicode form): the oldest is kept",
    "empty_after_scrubbing": "posts with no text left once personal data was removed (e.g. only an image)",
}
SCRUB_REASONS = {
    "email": "e-mail addresses → [email]",
    "phone": "phone numbers → [phone]",
    "card": "payment card numbers (Luhn-checked) → [card]",
    "iban": "bank account numbers, IBANs (mod-97-checked) → [iban]",
}


def datasheet(tally: Tally, shards: dict[str, Any], settings: Settings) -> dict[str, Any]:
    return {
        "summary": {
            "documents": tally.documents,
            "pairs": tally.pairs,
            "train_tokens": shards["train"]["tokens"],
            "val_tokens": shards["val"]["tokens"],
            "vocab_size": shards["vocab_size"],
            "languages": dict(tally.languages.most_common()),
            "first_post_at": iso(tally.first),
            "last_post_at": iso(tally.last),
            "members_included": len(tally.authors),
            "members_opted_out": tally.members_opted_out,
        },
        "excluded": dict(tally.excluded),
        "scrubbed": dict(tally.scrubbed),
        "operator_default": settings.ai_training_default,
        "created_at": iso(utcnow()),
        "sources": SOURCES,
    }


def write_datasheet(directory: Path, sheet: dict[str, Any]) -> None:
    (directory / "datasheet.json").write_text(json.dumps(sheet, indent=2, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
    (directory / "datasheet.md").write_text(render_markdown(sheet), encoding="utf-8")


def render_markdown(sheet: dict[str, Any]) -> str:
    s, excluded, scrubbed = sheet["summary"], sheet["excluded"], sheet["scrubbed"]
    default = "included" if sheet["operator_default"] else "left out"
    languages = ", ".join(f"{code}: {n:,}" for code, n in s["languages"].items()) or "none"
    lines = [
        "# Datasheet for the Agora community corpus",
        "",
        f"Built {sheet['created_at']}. Sources: {sheet['sources']}.",
        "",
        "## Motivation",
        "",
        "This corpus exists to train the community's own small language model, the one behind the",
        "@assistant account: a model that knows how this community writes, trained on this server and",
        "owned by its members, instead of a model trained elsewhere on text nobody here agreed to share.",
        "",
        "## Composition",
        "",
        f"- Documents (one per post): {s['documents']:,}",
        f"- Thread pairs (a post and a reply to it, both kept), for teaching the model to answer: {s['pairs']:,}",
        f"- Tokens: {s['train_tokens']:,} for training, {s['val_tokens']:,} held out for validation "
        f"(vocabulary of {s['vocab_size']:,} tokens)",
        f"- Languages (as the authors tagged them; `und` = not tagged): {languages}",
        f"- Posts written from {s['first_post_at'] or '-'} to {s['last_post_at'] or '-'}",
        f"- Members whose posts are included: {s['members_included']:,}; "
        f"members who opted out: {s['members_opted_out']:,}",
        "",
        "Each document is the text of a post as its author typed it, in its current version after any",
        "edits. Media, polls and content warnings are not included.",
        "",
        "## Collection process",
        "",
        "The corpus is read straight from this server's database by `agora ai corpus`, oldest post",
        "first. Only public posts are read; the texts of every other post, of chats and of wallets are",
        "never loaded. A deleted post is gone from the database and so from every later corpus.",
        "",
        "## Preprocessing: personal data removed",
        "",
        "A public post is public, but a model can repeat what it has seen. Before anything is kept, these",
        "are replaced by a placeholder, so the model never learns them and never repeats them:",
        "",
    ]
    lines += [f"- {SCRUB_REASONS[kind]}: {n:,} replaced" for kind, n in scrubbed.items()]
    lines += [
        "",
        "Numbers that are not personal (dates, times, prices, distances, version numbers) are kept.",
        "",
        "## What was excluded, and why",
        "",
    ]
    lines += [f"- {EXCLUSION_REASONS[key]}: {n:,}" for key, n in excluded.items()]
    lines += [
        "",
        "## Uses",
        "",
        "Training and evaluating the community model (`agora ai train`, `agora ai eval`). The text is",
        "split 95/5 (by default) into training and validation sets by a hash of each post's id, so a",
        "rebuilt corpus splits the same way. It is not for sale, nor shared outside this server.",
        "",
        "## Consent and opting out",
        "",
        "Every member chooses in Settings → Preferences (\"Let the community model learn from my public",
        "posts\"), or through the API (`ai_training` in `update_credentials`). A member who never chose",
        f"is {default}, as the operator set (`AGORA_AI_TRAINING_DEFAULT`). Opting out takes effect at",
        "the next corpus build; a model already trained is not changed until it is retrained.",
        "",
    ]
    return "\n".join(lines)

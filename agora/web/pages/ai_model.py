"""`/ai/model`: the model card of the community model the assistant uses, for everyone to read.

The card is public: members are owed the transparency of what learned from their posts, and so is
anyone deciding whether to join. It is Markdown the pipeline wrote (agora/ai/model_card.py) from
files on disk, with members' words in its samples, so it is rendered with raw HTML switched off:
whatever a card holds reaches the page as text. Operators (admin accounts) also see every run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from agora.ai import registry
from agora.ai.card_format import compact, decimal, text, whole
from agora.ai.model_card import read_card
from agora.config import Settings
from agora.kit.runtime import runtime_of
from agora.web.render import page, prepare
from agora.web.session import current_viewer

router = APIRouter(include_in_schema=False, dependencies=[Depends(prepare)])

# CommonMark without raw HTML: `<script>` in a card shows as the text "<script>". markdown-it also
# refuses javascript:, vbscript: and data: (but images) link targets.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class RunFigures:
    """A run's headline figures, formatted for the page."""

    id: str
    preset: str
    status: str
    parameters: str
    steps: str
    tokens_seen: str
    val_loss: str
    perplexity: str
    created: str
    promoted: bool

    @classmethod
    def of(cls, run: registry.RunRecord, promoted_id: str | None) -> RunFigures:
        return cls(id=run.id, preset=text(run.preset), status=text(run.status), parameters=compact(run.parameters),
                   steps=whole(run.steps), tokens_seen=compact(run.tokens_seen), val_loss=decimal(run.val_loss, 3),
                   perplexity=decimal(run.val_perplexity, 2),
                   created=text((run.created_at or "")[:16].replace("T", " ")), promoted=run.id == promoted_id)


def render_markdown(source: str) -> Markup:
    """The card as HTML; safe to mark so because markdown-it escapes all text and drops raw HTML.
    Headings move one level down: the page's own title is the only h1 (one h1 a page, for screen readers)."""
    tokens = _MARKDOWN.parse(source)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + 1)}"
    return Markup(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}))  # escaped by markdown-it (html off)


def _load(settings: Settings, admin: bool) -> dict[str, Any]:
    """Everything the page shows, read from disk (in a thread: the card files are the disk's pace)."""
    chosen = registry.promoted(settings)
    card_html = None
    if chosen is not None and chosen.path is not None:
        try:
            card_html = render_markdown(read_card(chosen.path, settings))
        except (OSError, registry.RegistryError):
            card_html = None  # a run removed between the two reads: shown as "none promoted"
    runs = None
    if admin:
        promoted_id = registry.promoted_id(settings)
        runs = [RunFigures.of(run, promoted_id) for run in registry.list_runs(settings)]
    return {"run": RunFigures.of(chosen, chosen.id) if chosen is not None and card_html is not None else None,
            "card_html": card_html, "runs": runs}


@router.get("/ai/model")
async def model_card_page(request: Request) -> Response:
    viewer = await current_viewer(request)
    admin = viewer is not None and bool(viewer.account.admin)
    context = await asyncio.to_thread(_load, runtime_of(request).settings, admin)
    return await page(request, "ai_model.html", {**context, "is_operator": admin,
                                                 "ai_enabled": runtime_of(request).settings.ai_enabled})

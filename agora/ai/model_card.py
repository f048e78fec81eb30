"""The model card of a training run: MODEL_CARD.md in the run folder, and model/README.md for the Hub.

Sections follow Mitchell et al., "Model Cards for Model Reporting" (2019), with what the EU AI Act
asks of general-purpose models (Art. 53, Annex XII: intended tasks, training data summary, training
process, evaluation, limitations, contact). Everything comes from run.json, datasheet.json and
eval.json; a missing file or field shows as "—" or a sentence saying what is missing, never a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agora.ai.card_format import NONE, compact, decimal, fence, percent, pick, text, when, whole
from agora.ai.registry import RunRecord, atomic_write_text, read_run
from agora.config import Settings

CARD_FILE = "MODEL_CARD.md"
HF_TAGS = ("agora", "llama", "community-model", "text-generation")
TOP_LANGUAGES = 5


def _json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`, or {} when the file is missing or unreadable (the card says so)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _summary(run: RunRecord, datasheet: dict[str, Any]) -> dict[str, Any]:
    summary = datasheet.get("summary")
    if isinstance(summary, dict):
        return summary
    return run.corpus or {k: v for k, v in datasheet.items() if not isinstance(v, (dict, list))}


def _languages(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """(code, count) most frequent first; accepts {"en": 120, …}, [["en", 120], …] or ["en", …]."""
    raw = pick(summary, "languages", "language_counts", "langs")
    pairs: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        pairs = [(str(k), v) for k, v in raw.items()]
        pairs.sort(key=lambda kv: -(kv[1] if isinstance(kv[1], (int, float)) else 0))
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, (list, tuple)) and item:
                pairs.append((str(item[0]), item[1] if len(item) > 1 else None))
            elif isinstance(item, dict) and item.get("lang") is not None:
                pairs.append((str(item["lang"]), item.get("count")))
            elif isinstance(item, str):
                pairs.append((item, None))
    return pairs


def hub_languages(summary: dict[str, Any]) -> list[str]:
    """Language codes for the Hub's front matter: real codes only (no "und", "null", "unknown")."""
    codes = [code for code, _ in _languages(summary) if code and code.lower() not in ("none", "null", "und", "unknown")]
    return codes[:TOP_LANGUAGES]


def front_matter(summary: dict[str, Any]) -> str:
    # JSON strings are valid YAML double-quoted scalars: no hand-quoting of odd language codes.
    lines = ["---", "license: other", "license_name: agora-community-model",
             "pipeline_tag: text-generation", "library_name: transformers"]
    languages = hub_languages(summary)
    if languages:
        lines += ["language:", *(f"- {json.dumps(code)}" for code in languages)]
    lines += ["tags:", *(f"- {tag}" for tag in HF_TAGS), "---", ""]
    return "\n".join(lines)


def _items(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"- **{label}:** {value}" for label, value in pairs]


def _counts(value: Any) -> str:
    """{"dm": 3, "private": 2} → "dm: 3, private: 2"; a list or a number as it is."""
    if isinstance(value, dict):
        return ", ".join(f"{text(k)}: {whole(v) if isinstance(v, (int, float)) else text(v)}"
                         for k, v in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(text(v) for v in value) or "none"
    return whole(value) if isinstance(value, (int, float)) else text(value)


def _details(run: RunRecord) -> list[str]:
    config = run.config
    return ["## Model details", "", *_items([
        ("Run", f"`{text(run.id)}`"),
        ("Architecture", "Llama (decoder-only transformer: RMSNorm, rotary positions, SwiGLU, grouped-query "
                         "attention), built from a config; no downloaded weights" if not run.init_from else
                         "Llama (decoder-only transformer), continued pre-training"),
        ("Preset", text(run.preset)),
        ("Parameters", f"{compact(run.parameters)} ({whole(run.parameters)})"),
        ("Context", f"{whole(pick(config, 'context', 'seq_len', 'sequence_length', 'max_position_embeddings'))} "
                    "tokens"),
        ("Vocabulary", f"{whole(run.vocab_size)} tokens (byte-level BPE trained on this community's posts)"),
        ("Trained", f"{when(run.created_at)} → {when(run.finished_at)} ({text(run.status)})"),
        ("Hardware", f"{text(run.device)}, world size {whole(run.world_size)}"),
        ("Initialised from", text(run.init_from) if run.init_from else "random initialisation (trained from scratch)"),
    ]), ""]


_INTENDED = """## Intended use and users

The community assistant of this Agora server: members ask it to draft posts and replies and to
summarise discussions, with citations of the public posts it draws on. Operators of the server may
inspect, evaluate and re-train it. It is a small model trained on one community's public posts; it
is meant to speak in that community's style, not to know the world.

## Out-of-scope uses

- Stating facts without sources: its answers must be checked against the cited posts.
- Decisions about people (moderation, hiring, credit, access): it must not judge members.
- Medical, legal or financial advice.
- Use outside this community as a general-purpose assistant or knowledge base.
"""


def _training_data(summary: dict[str, Any], datasheet: dict[str, Any], settings: Settings | None) -> list[str]:
    if not summary and not datasheet:
        return ["## Training data", "", "No datasheet was found with this run: the corpus it was trained on is "
                "not described here. Run `agora ai corpus` to write one for the next run.", ""]
    languages = _languages(summary)
    first = pick(summary, "first_post", "earliest", "date_from", "since", "first_created_at")
    last = pick(summary, "last_post", "latest", "date_to", "until", "last_created_at")
    span = pick(summary, "date_range")
    if isinstance(span, dict):
        first, last = pick(span, "from", "first", "start"), pick(span, "to", "last", "end")
    elif isinstance(span, (list, tuple)) and len(span) == 2:
        first, last = span
    default = pick(summary, "ai_training_default", "operator_default", "default")
    if default is None and settings is not None:
        default = settings.ai_training_default
    lines = ["## Training data", "",
             "Public posts of this server's members, never direct messages, chats, quiet public (unlisted), "
             "private or followers-only posts, or wallet data; posts of members who opted out are left out.",
             "", *_items([
                 ("Documents (posts)", whole(pick(summary, "documents", "documents_kept", "posts", "kept"))),
                 ("Conversation pairs (post, reply)", whole(pick(summary, "pairs", "pairs_kept"))),
                 ("Tokens", whole(pick(summary, "tokens", "train_tokens", "tokens_total"))),
                 ("Languages", ", ".join(f"{text(code)} ({whole(n)})" if n is not None else text(code)
                                         for code, n in languages[:8]) or NONE),
                 ("Date range", f"{text(first)} → {text(last)}"),
                 ("Members included", whole(pick(summary, "members_included", "members", "authors"))),
                 ("Members opted out", whole(pick(summary, "members_opted_out", "opted_out", "opt_outs"))),
                 ("Operator default for members who never chose",
                  NONE if default is None else ("included (opt-out)" if default else "left out (opt-in)")),
                 ("Excluded, and why", _counts(pick(summary, "excluded", "removed", "dropped"))),
                 ("Scrubbed patterns", _counts(pick(summary, "scrubbed", "scrubs", "redacted"))),
             ]), ""]
    return lines


def _batch(c: dict[str, Any]) -> str:
    batch = f"{whole(pick(c, 'batch_size', 'global_batch', 'global_batch_size'))} sequences"
    micro = pick(c, "micro_batch_size", "micro_batch")
    accum = pick(c, "grad_accum", "gradient_accumulation_steps", "accum_steps")
    parts = [f"micro-batch {whole(micro)}" if micro is not None else "",
             f"gradient accumulation {whole(accum)}" if accum is not None else ""]
    detail = ", ".join(p for p in parts if p)
    return f"{batch} ({detail})" if detail else batch


def _procedure(run: RunRecord) -> list[str]:
    c = run.config
    chat = pick(c, "chat_steps", "sft_steps", "chat_stage_steps")
    schedule = (f"peak {decimal(pick(c, 'learning_rate', 'lr'), 6).rstrip('0')}, "
                f"{whole(pick(c, 'warmup_steps', 'warmup'))} warm-up steps, cosine decay"
                f" to {text(pick(c, 'min_lr', 'min_learning_rate', 'min_lr_ratio'))}")
    lines = ["## Training procedure", "", *_items([
        ("Steps", f"{whole(run.steps)} of {whole(pick(c, 'steps', 'max_steps'))}"),
        ("Global batch", _batch(c)),
        ("Sequence length", whole(pick(c, 'seq_len', 'sequence_length', 'context'))),
        ("Learning rate", schedule),
        ("Optimizer", f"{text(pick(c, 'optimizer') or 'AdamW')}, weight decay "
                      f"{text(pick(c, 'weight_decay'))}, gradient clipping {text(pick(c, 'grad_clip', 'clip'))}"),
        ("Precision", text(pick(c, 'precision', 'dtype', 'mixed_precision'))),
        ("Seed", text(pick(c, 'seed'))),
        *([("Conversational stage", f"{text(chat)} steps on (post, reply) pairs")] if chat is not None else []),
        ("Tokens seen", f"{compact(run.tokens_seen)} ({whole(run.tokens_seen)})"),
        ("Throughput", f"{whole(run.tokens_per_second)} tokens/s"),
        ("Model FLOPs utilisation (MFU)", percent(run.mfu)),
        ("Final training loss", decimal(run.train_loss, 3)),
    ])]
    if c:
        lines += ["", "### Full training configuration", "",
                  fence(json.dumps(c, indent=2, ensure_ascii=False, default=str))]
    return [*lines, ""]


def _sample_pairs(evaluation: dict[str, Any]) -> list[tuple[str, str]]:
    samples = evaluation.get("samples")
    pairs = []
    for item in samples if isinstance(samples, list) else []:
        if isinstance(item, dict):
            pairs.append((str(pick(item, "prompt", "input") or ""),
                          str(pick(item, "completion", "output", "text", "reply", "sample") or "")))
        elif isinstance(item, str):
            pairs.append(("", item))
    return pairs


def _evaluation(run: RunRecord, evaluation: dict[str, Any]) -> list[str]:
    lines = ["## Evaluation", ""]
    if not evaluation:
        lines += [f"Not evaluated yet: run `agora ai eval {run.id}`.", ""]
    # eval.json is newer than the figures the trainer left in run.json: it wins where it has one.
    figures = {"val_loss": run.val_loss, "val_perplexity": run.val_perplexity, "chat_val_loss": run.chat_val_loss,
               **{k: v for k, v in evaluation.items() if v is not None}}
    lines += [*_items([
        ("Validation loss (held-out posts)", decimal(pick(figures, "val_loss"), 3)),
        ("Validation perplexity", decimal(pick(figures, "val_perplexity", "perplexity"), 2)),
        ("Conversational validation loss (held-out replies)", decimal(pick(figures, "chat_val_loss"), 3)),
    ]), ""]
    samples = _sample_pairs(evaluation)
    if samples:
        lines += ["### Samples", "", "Generated for a fixed prompt set, unedited:", ""]
        for prompt, output in samples[:10]:
            if prompt:
                lines += [f"**Prompt:** {text(prompt)}", ""]
            lines += [fence(output.strip() or "(empty)"), ""]
    return lines


_LIMITS = """## Limitations and risks

- A small model is fluent but unreliable: it writes convincing sentences that can be false.
- It reflects this community's interests, language and biases, including what is wrong in them.
- It can repeat, word for word, what members wrote in their public posts.
- The Agora assistant therefore answers in a grounded mode: it cites the posts it draws on, and when
  no model is promoted it answers extractively, quoting posts, without generating text.
"""


def _privacy(settings: Settings | None) -> list[str]:
    return ["## Privacy and opt-out", "",
            "- Only public posts are used: never direct messages, chats, quiet public (unlisted), private or "
            "followers-only posts, or wallet data.",
            "- Before training, e-mail addresses, phone numbers, payment card numbers and IBANs are scrubbed "
            "from the texts.",
            "- To opt out: Settings → Preferences → untick \"Let the community model learn from my public "
            "posts\".",
            "- Opting out applies to the next corpus and training run. It does not remove what an already "
            "trained model learned; that takes a new run without your posts, which the operator can "
            "promote in its place.",
            *(["- Members who never chose are "
               + ("included (the operator's default is opt-out)." if settings.ai_training_default
                  else "left out (the operator's default is opt-in).")] if settings is not None else []),
            ""]


def _loading(model_path: str) -> list[str]:
    code = ("from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
            f"path = {json.dumps(model_path)}\n"
            "tokenizer = AutoTokenizer.from_pretrained(path)\n"
            "model = AutoModelForCausalLM.from_pretrained(path)\n"
            "messages = [{\"role\": \"user\", \"content\": \"What is this community talking about?\"}]\n"
            "inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors=\"pt\")\n"
            "print(tokenizer.decode(model.generate(inputs, max_new_tokens=80)[0]))")
    return ["## How to load", "", "With transformers:", "", f"```python\n{code}\n```", "",
            "With vLLM (an OpenAI-compatible server):", "", f"```sh\nvllm serve {model_path}\n```", ""]


def render_card(run: RunRecord, datasheet: dict[str, Any], evaluation: dict[str, Any],
                settings: Settings | None = None, model_path: str = "model") -> str:
    """The card as Markdown, without front matter."""
    summary = _summary(run, datasheet)
    contact = settings.contact_email if settings is not None else None
    title = settings.instance_title if settings is not None else "this Agora server"
    lines = [f"# Model card: {text(run.id)}", "",
             f"The community language model of {text(title)}, trained by Agora's own pipeline on its members' "
             f"public posts. {compact(run.parameters)} parameters, preset `{text(run.preset)}`.", "",
             *_details(run), _INTENDED, *_training_data(summary, datasheet, settings), *_procedure(run),
             *_evaluation(run, evaluation), _LIMITS, *_privacy(settings), *_loading(model_path),
             "## Contact", "",
             f"The operator of this server: {text(contact) if contact else 'see the server’s About page'}.", ""]
    return "\n".join(lines)


def write_model_card(run_dir: Path, settings: Settings | None = None) -> str:
    """Write MODEL_CARD.md (and model/README.md when the model is saved); return the card's Markdown."""
    if settings is None:
        settings = Settings()
    run = read_run(run_dir)
    datasheet = _json(run_dir / "datasheet.json")
    evaluation = _json(run_dir / "eval.json") or (run.eval or {})
    card = render_card(run, datasheet, evaluation, settings, model_path=str(run_dir / "model"))
    atomic_write_text(run_dir / CARD_FILE, card)
    if (run_dir / "model").is_dir():
        hub_card = render_card(run, datasheet, evaluation, settings, model_path=".")
        atomic_write_text(run_dir / "model" / "README.md", front_matter(_summary(run, datasheet)) + hub_card)
    return card


def read_card(run_dir: Path, settings: Settings | None = None) -> str:
    """The run's card as Markdown: MODEL_CARD.md when written, else made now (not saved) from its files."""
    try:
        return (run_dir / CARD_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        run = read_run(run_dir)
        return render_card(run, _json(run_dir / "datasheet.json"), _json(run_dir / "eval.json") or (run.eval or {}),
                           settings, model_path=str(run_dir / "model"))

"""Assistant benchmark: the in-process engine's time to first token and tokens/s beside plain
`transformers` `generate` on the same model in the same run, and requests/s of POST /v1/chat/completions
with concurrent askers against a live server.

It generates a small community (templated posts about buses, markets, choirs…, plus Zipf-distributed
made-up words so the 16k tokenizer fills up as a real community's would), trains the `tiny` preset on
it with Agora's own trainer (`agora.ai.train.train`) and promotes the run. Then:

1. **Engine**, in this process: the same question's prompt through Agora's `LocalEngine.stream` and
   through `model.generate` (greedy, the same loaded weights, the same prompt ids and the same number
   of new tokens), alternating, warm-up excluded. Both sides must produce the same text; the run says so.
2. **Load**: `uvicorn agora.app:create_app` in a subprocess on a temporary SQLite database and data
   directory holding the promoted run; members posting the community through the API; then 1, 4 and 16
   closed-loop clients asking questions of (a) the promoted model id and (b) `agora-assistant` (grounded,
   extractive, cited), reporting requests/s, p50/p99 latency and the engine queue's 429s.

Usage: .venv/bin/python bench/assistant.py [--quick] [--clients 1,4,16] [--seconds 15] [--tokens 128]
Figures go to stdout, docs/bench/assistant.md and docs/bench/assistant.png. Exit status is non-zero when
a request failed (an answer other than 200 or 429) or the two engines disagreed; never because of a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import math
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:  # run as `python bench/assistant.py`: import the `bench` package from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx

from bench import REPO, STARTED, log
from bench.assistant_report import Engines, Generated, Level, Run, draw_chart, print_table, write_markdown
from bench.load import Server
from bench.machine import OtherWork, cpu_probe, cpu_share

RUN_ID = "bench-tiny"
ASSISTANT = "agora-assistant"
# The community: a question, and the posts (templates) that answer it. Filled at random, so members
# disagree now and then (bus 7 or bus 12?), as they do.
TOPICS = [
    ("Which bus goes to the Old Wharf?", ["The number {n} bus goes to the Old Wharf from stand {letter}.",
                                          "Take bus {n} from stand {letter}, it stops right at the Old Wharf."]),
    ("When does the night market open?", ["The night market opens at {hour} on {day}s.",
                                          "On {day}s the night market starts around {hour}, come early."]),
    ("Where can I buy good sourdough?", ["The bakery on {street} Street has the best sourdough in town.",
                                         "Best sourdough: the little bakery on {street} Street, before ten."]),
    ("When does the choir rehearse?", ["Our choir rehearses on {day} evenings in the {place}.",
                                       "Choir practice is every {day} at {hour} in the {place}."]),
    ("Is the river loop trail open?", ["The river loop trail is {state} this week after the rain.",
                                       "Walked the river loop today: it is {state}, bring boots."]),
    ("Where is the repair café?", ["The repair café meets every second {day} at the {place}.",
                                   "Broken toaster? The repair café is at the {place} on {day}s."]),
    ("When does the swimming pool open?", ["The swimming pool opens at {hour} on weekdays.",
                                           "Pool hours changed: it now opens at {hour}, closed on {day}s."]),
    ("Who fixes bicycles near the station?", ["The bike shop by the station fixes a puncture in {m} minutes.",
                                              "Flat tyre? The station bike shop did mine in {m} minutes."]),
]
FILL = {"n": ["3", "7", "12", "21"], "letter": list("ABCDEF"), "hour": ["six", "seven", "eight", "nine"],
        "day": ["Monday", "Tuesday", "Friday", "Saturday"], "street": ["Mill", "Elm", "Harbour", "Station"],
        "state": ["open", "closed", "muddy"], "place": ["community hall", "old library", "school gym"],
        "m": ["10", "15", "20", "30"]}
OPENERS = ["", "", "Good to know: ", "PSA: ", "Heads up, ", "Neighbours, "]
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vel", "an", "dor", "is", "que", "tha", "ul", "bri", "nox",
             "pe", "ra", "zin", "gor", "li", "mu", "sen", "ob", "tri"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short training and short windows: a check")
    parser.add_argument("--clients", default="1,4,16", help="comma-separated concurrent client counts")
    parser.add_argument("--seconds", type=float, help="measured seconds per level (default 15, quick 4)")
    parser.add_argument("--warmup", type=float, help="seconds of load before measuring (default 3, quick 1)")
    parser.add_argument("--tokens", type=int, help="new tokens per generation (default 128, quick 48)")
    parser.add_argument("--rounds", type=int, help="plain + Agora generation pairs (default 6, quick 2)")
    parser.add_argument("--steps", type=int, help="training steps of the tiny model (default 40, quick 8)")
    parser.add_argument("--words", type=int, help="made-up words in the training corpus (default 800,000: "
                        "enough to fill the 16k vocabulary, as a real community does)")
    parser.add_argument("--posts", type=int, help="posts the members make through the API (default 160)")
    parser.add_argument("--vocab", type=int, default=16_384, help="tokenizer vocabulary")
    parser.add_argument("--max-concurrent", type=int, help="the server's AGORA_AI_MAX_CONCURRENT (default: its own)")
    parser.add_argument("--max-queue", type=int, help="the server's AGORA_AI_MAX_QUEUE (default: its own)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench", help="where the .md and .png go")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/bench alone")
    args = parser.parse_args(argv)
    args.clients = sorted({int(c) for c in args.clients.split(",") if c.strip()})
    args.seconds = args.seconds or (4.0 if args.quick else 15.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    args.tokens = args.tokens or (48 if args.quick else 128)
    args.rounds = args.rounds or (2 if args.quick else 6)
    args.steps = args.steps or (8 if args.quick else 40)
    args.words = args.words or (60_000 if args.quick else 800_000)
    args.posts = args.posts or (48 if args.quick else 160)
    if not args.clients or min(args.clients) < 1 or args.rounds < 1 or not 1 <= args.tokens <= 128:
        parser.error("need client counts of 1 or more, a round, and 1–128 tokens (the tiny model's context "
                     "is 256, and the engine keeps half of it for the prompt)")
    return args


# --- the community and the model ----------------------------------------------------------------

def community_post(rng: random.Random, topic: int | None = None) -> str:
    _question, templates = TOPICS[rng.randrange(len(TOPICS)) if topic is None else topic]
    text = rng.choice(templates).format(**{k: rng.choice(v) for k, v in FILL.items()})
    return rng.choice(OPENERS) + text


def build_corpus(data_dir: Path, *, words: int, vocab: int, seed: int) -> dict[str, int]:
    """The corpus directory (tokenizer, shards, documents, chat pairs, datasheet) the trainer reads."""
    from agora.ai.text_corpus import write_text_corpus

    rng = random.Random(seed)
    texts = [community_post(rng) for _ in range(3000)]
    lexicon = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(40_000)})
    weights = [1 / (rank + 1) ** 1.07 for rank in range(len(lexicon))]  # Zipf, as words are in real text
    drawn = rng.choices(lexicon, weights=weights, k=words)
    while drawn:
        size = rng.randint(8, 60)
        texts.append(" ".join(drawn[:size]).capitalize() + ".")
        del drawn[:size]
    rng.shuffle(texts)
    pairs = [(question, community_post(rng, topic)) for _ in range(150) for topic, (question, _) in enumerate(TOPICS)]
    return write_text_corpus(data_dir, texts, pairs=pairs, vocab_size=vocab)


def train_and_promote(data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The tiny preset trained on the corpus (pre-training, then the chat stage), promoted."""
    from agora.ai.registry import promote
    from agora.ai.train import train
    from agora.ai.train_config import TrainConfig
    from agora.config import Settings

    chat = max(2, args.steps // 5)
    # Small batches: the model's speed, not its quality, is measured (a 16 × 256 step takes seconds on 2 cores).
    config = TrainConfig(data_dir=data_dir, preset="tiny", run_id=RUN_ID, steps=args.steps, chat_steps=chat,
                         batch_size=4 if args.quick else 8, seq_len=64 if args.quick else 128,
                         eval_every=10**9, save_every=10**9, eval_windows=4, device="cpu")
    started = time.perf_counter()
    train(config, log=lambda _line: None)
    record = promote(Settings.model_construct(data_dir=data_dir), RUN_ID)
    log(f"  trained {args.steps} + {chat} chat steps in {time.perf_counter() - started:.0f}s: "
        f"{record.parameters or 0:,} parameters, val loss {record.val_loss or float('nan'):.2f}")
    return {"run": record.id, "parameters": record.parameters or 0, "steps": args.steps, "chat_steps": chat,
            "val_loss": record.val_loss, "seconds": time.perf_counter() - started}


# --- 1. the engine beside plain generate ----------------------------------------------------------

def plain_generate(loaded: Any, prompt: list[int], config: Any) -> Generated:
    """`model.generate` (greedy), its tokens stamped as they are made by a streamer. Not
    TextIteratorStreamer: that one holds text back until a word is complete, which is not a token."""
    import torch
    from transformers.generation.streamers import BaseStreamer

    class Stamps(BaseStreamer):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.seen_prompt = False

        def put(self, value: Any) -> None:
            if self.seen_prompt:  # the first put is the prompt itself
                self.times.append(time.perf_counter())
            self.seen_prompt = True

        def end(self) -> None:
            pass

    stamps = Stamps()
    ids = torch.tensor([prompt], device=loaded.model.device)
    started = time.perf_counter()
    with torch.inference_mode():
        out = loaded.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config,
                                    streamer=stamps)
    ended = time.perf_counter()
    new = out[0, len(prompt):].tolist()
    return Generated(ttft=stamps.times[0] - started, total=ended - started, tokens=len(new),
                     text=loaded.tokenizer.decode(new, skip_special_tokens=True))


async def agora_generate(engine: Any, messages: list[dict[str, str]], tokens: int) -> Generated:
    """Agora's engine as the API streams it: time to the first piece of text, then to the finish."""
    started = time.perf_counter()
    first, pieces, made = None, [], 0
    async for delta in engine.stream(messages, max_tokens=tokens, temperature=0.0):
        if delta.text:
            first = first or time.perf_counter()
            pieces.append(delta.text)
        if delta.finish_reason is not None:
            made = delta.completion_tokens or 0
    ended = time.perf_counter()
    return Generated(ttft=(first or ended) - started, total=ended - started, tokens=made, text="".join(pieces))


async def measure_engines(model_dir: Path, args: argparse.Namespace) -> Engines:
    """Plain, Agora, plain, Agora…, one question a round, after one warm-up of each."""
    import torch

    from agora.ai.engines.local import LoadedModel, LocalEngine
    from agora.ai.engines.queue import GenerationQueue

    loaded = LoadedModel(model_dir)
    loaded.load()
    # Neither side stops at an end-of-turn token: both make exactly `tokens` tokens, so the figures
    # compare like with like whatever the half-trained model would say (data on the instance, no code).
    loaded.stop_ids = set()
    engine = LocalEngine(RUN_ID, loaded, GenerationQueue(max_concurrent=1, max_queue=0))
    config = copy.deepcopy(loaded.model.generation_config)
    # An empty list, not None: generate() would fill None in from the model's own end-of-turn ids.
    config.update(max_new_tokens=args.tokens, do_sample=False, temperature=1.0, top_p=1.0,
                  eos_token_id=[], pad_token_id=loaded.tokenizer.pad_token_id)
    result = Engines(tokens=args.tokens, threads=torch.get_num_threads())
    window = OtherWork()
    for number in range(args.rounds + 1):
        messages = [{"role": "user", "content": TOPICS[number % len(TOPICS)][0]}]
        prompt = loaded.prompt_ids(messages)
        plain = plain_generate(loaded, prompt, config)
        agora = await agora_generate(engine, messages, args.tokens)
        if number == 0:
            continue  # warm-up: first calls allocate and pick kernels
        result.prompt_tokens.append(len(prompt))
        result.plain.append(plain)
        result.agora.append(agora)
        result.same.append(plain.text == agora.text and plain.tokens == agora.tokens)
        log(f"  round {number}/{args.rounds}: plain TTFT {plain.ttft * 1000:.1f} ms, {plain.decode_rate:,.0f} tok/s; "
            f"Agora TTFT {agora.ttft * 1000:.1f} ms, {agora.decode_rate:,.0f} tok/s; "
            f"{'same' if result.same[-1] else 'DIFFERENT'} text ({plain.tokens} / {agora.tokens} tokens)")
        if not result.same[-1]:
            log(f"    plain: {plain.text[:120]!r}\n    Agora: {agora.text[:120]!r}")
    result.other_share = cpu_share(*window.finish())
    result.sample = result.agora[0].text[:160] if result.agora else ""
    del engine, loaded
    gc.collect()
    return result


# --- 2. requests/s over HTTP --------------------------------------------------------------------

async def seed_members(database_url: str, data_dir: Path, count: int) -> list[str]:
    """Members with access tokens, made through the real services (cheap Argon2: no one signs in)."""
    from agora.accounts import oauth, service
    from agora.accounts.secrets import Passwords
    from agora.kit.runtime import Runtime
    from bench.chat_setup import seed_settings

    settings = seed_settings(database_url, data_dir)
    runtime = Runtime.create(settings)
    await runtime.start()
    tokens = []
    try:
        async with runtime.db.transaction() as session:
            for i in range(count):
                account = await service.register(session, form=service.Registration(
                    f"neighbour{i}", f"neighbour{i}@bench.example", "correct horse battery"),
                    settings=settings, passwords=Passwords.for_settings(settings), by_operator=True)
                issued = await oauth.issue_token(session, app=None, account=account, scopes=["read", "write"])
                tokens.append(issued.access_token)
    finally:
        await runtime.stop()
    return tokens


async def post_community(url: str, tokens: list[str], posts: int, seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for i in range(posts):
            topic = i % len(TOPICS)  # every topic has posts
            response = await client.post("/api/v1/statuses", json={"status": community_post(rng, topic)},
                                         headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"})
            if response.status_code != 200:
                raise RuntimeError(f"posting answered {response.status_code}: {response.text[:300]}")


def wait_for_vectors(database: Path, posts: int, timeout: float = 180) -> None:
    """The server's background embedder writes each post's vector; the assistant's meaning search needs them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as conn:
            done = conn.execute("SELECT count(*) FROM status_vectors").fetchone()[0]
        if done >= posts:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the server embedded {done} of {posts} posts in {timeout:.0f}s")


async def load_level(url: str, token: str, model: str, clients: int, args: argparse.Namespace) -> Level:
    """`clients` closed-loop askers. The window opens once every asker has had an answer and the
    warm-up time has passed (a model's answer can take longer than a whole window when many wait), and
    counts the answers that arrive within it, stretched until it holds at least one answer per asker;
    the requests still in flight when it closes are awaited, uncounted, so the next level starts on an
    idle server. A 429 waits its Retry-After and asks again, as OpenAI's SDK does."""
    level = Level(model=model, clients=clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    opened, closes = math.inf, math.inf
    in_window = 0
    heard: set[int] = set()
    answers: list[tuple[float, float, int, dict[str, Any] | None]] = []  # (arrived, latency, status, body)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600, limits=limits) as client:

        async def asker(k: int) -> None:
            nonlocal opened, closes, in_window
            i = k
            while time.perf_counter() < closes or (in_window < clients and not level.errors):
                body = {"model": model, "messages": [{"role": "user", "content": TOPICS[i % len(TOPICS)][0]}],
                        "max_tokens": args.tokens, "temperature": 0}
                i += clients
                began = time.perf_counter()
                response = await client.post("/v1/chat/completions", json=body)
                arrived = time.perf_counter()
                answers.append((arrived, arrived - began, response.status_code,
                                response.json() if response.status_code == 200 else None))
                if response.status_code not in (200, 429):
                    level.errors[str(response.status_code)] += 1
                    level.first_error = level.first_error or response.text[:300]
                if response.status_code == 200 and arrived > opened:
                    if arrived <= closes:
                        in_window += 1
                    elif in_window < clients:  # slow answers, too few in the window: stretch it to this one
                        closes, in_window = arrived, in_window + 1
                heard.add(k)
                if opened == math.inf and len(heard) == clients and arrived - started >= args.warmup:
                    opened, closes = arrived, arrived + args.seconds
                if response.status_code == 429:
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))

        await asyncio.gather(*(asker(k) for k in range(clients)))
    for arrived, latency, status, data in answers:
        if not opened < arrived <= closes:
            continue
        if status == 429:
            level.rejected += 1
        elif data is not None:
            level.latencies.append(latency)
            level.tokens += int(data["usage"]["completion_tokens"])
            level.cited += bool((data.get("agora") or {}).get("citations"))
    level.elapsed = closes - opened
    return level


def measure_load(workdir: Path, data_dir: Path, run: Run, args: argparse.Namespace) -> None:
    from agora.cli import run_migrations

    database = workdir / "agora.db"
    url = f"sqlite+aiosqlite:///{database}"
    run_migrations(url)
    tokens = asyncio.run(seed_members(url, data_dir, 4))
    server = Server(url, data_dir)
    for name, value in (("AI_MAX_CONCURRENT", args.max_concurrent), ("AI_MAX_QUEUE", args.max_queue)):
        if value is not None:
            server.env[f"AGORA_{name}"] = str(value)
    with server:
        log(f"server up at {server.url}; {len(tokens)} members post {args.posts} posts through the API")
        asyncio.run(post_community(server.url, tokens, args.posts, args.seed))
        wait_for_vectors(database, args.posts)
        log("  every post embedded")
        for model in (RUN_ID, ASSISTANT):
            for clients in args.clients:
                window = OtherWork()
                level = asyncio.run(load_level(server.url, tokens[-1], model, clients, args))
                level.other_share = cpu_share(*window.finish())
                run.levels.append(level)
                log(f"  {model:<16} {clients:>3} clients: {level.rps:6.2f} req/s, p50 {level.p50:7.0f} ms, "
                    f"p99 {level.p99:7.0f} ms, {level.rejected} rejected (429), {level.failed} failed"
                    f"{', ' + level.first_error if level.first_error else ''}; other processes used "
                    f"{level.other_share:.0%} of the CPU")


def queue_bounds(args: argparse.Namespace) -> tuple[int, int]:
    """The server's engine queue (max concurrent, max waiting): the flags, else Settings' defaults."""
    from agora.config import Settings

    fields = Settings.model_fields
    return (args.max_concurrent if args.max_concurrent is not None else fields["ai_max_concurrent"].default,
            args.max_queue if args.max_queue is not None else fields["ai_max_queue"].default)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    probes = [cpu_probe()]
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-assistant-"))
    data_dir = workdir / "data"
    try:
        log(f"generating a corpus ({args.words:,} made-up words + community posts), a {args.vocab:,}-token tokenizer")
        corpus = build_corpus(data_dir, words=args.words, vocab=args.vocab, seed=args.seed)
        tokens = corpus["train_tokens"] + corpus["val_tokens"]
        log(f"  {corpus['documents']:,} documents, {corpus['pairs']:,} chat pairs, {tokens:,} tokens, "
            f"vocabulary {corpus['vocab_size']:,}; training the tiny preset")
        model = train_and_promote(data_dir, args)
        run = Run(corpus=corpus, model=model, queue=queue_bounds(args), questions=len(TOPICS))
        log(f"engine: {args.rounds} rounds of plain generate vs Agora's LocalEngine, {args.tokens} new tokens")
        run.engines = asyncio.run(measure_engines(data_dir / "models" / RUN_ID / "model", args))
        measure_load(workdir, data_dir, run, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    probes.append(cpu_probe())
    total = time.perf_counter() - STARTED
    print_table(run)
    if not args.no_report:
        args.out.mkdir(parents=True, exist_ok=True)
        write_markdown(args.out / "assistant.md", run, args, started_at, total, probes)
        draw_chart(args.out / "assistant.png", run, args.clients)
        log(f"wrote {args.out / 'assistant.md'} and {args.out / 'assistant.png'}")
    failed = sum(level.failed for level in run.levels)
    different = run.engines.same.count(False) if run.engines else 0
    log(f"done in {total / 60:.1f} min; {failed} failed requests; engines "
        f"{'agree' if not different else f'DISAGREE in {different} round(s)'}")
    return 1 if failed or different else 0


if __name__ == "__main__":
    sys.exit(main())

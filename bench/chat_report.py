"""Chat benchmark, the figures: console tables, docs/bench/chat.md with its reading, and chat-latency.png."""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from rich.console import Console

from bench.chart import _font
from bench.chat_baseline import ServiceCost
from bench.chat_load import CONNECT_BATCH
from bench.chat_reading import EXACTLY_ONCE, READING, interpretation, message_cpu
from bench.chat_results import DeploymentRun, Level
from bench.machine import machine
from bench.report import markdown_table, ms, print_table
from bench.results import pct

COLORS = {"embedded": (214, 96, 77), "pg-1": (67, 147, 195), "redis-2": (90, 174, 97)}

LEVEL_HEAD = ["deployment", "clients", "load", "offered msg/s", "sent msg/s", "deliveries/s", "= msg/s × members",
              "p50 ms", "p99 ms", "max ms", "ack p50 ms", "drain s", "exactly once", "server CPU (cores)",
              "server CPU ms / delivery", "PostgreSQL CPU", "load generator CPU", "other CPU"]
BASE_HEAD = ["baseline", "where", "n", "p50 ms", "p99 ms"]
CONNECT_HEAD = ["deployment", "clients", "open the new sockets, s", "ms per socket"]
QUIET_HEAD = ["deployment", "sockets open", "server CPU (cores)", "PostgreSQL CPU", "load generator CPU"]
COST_HEAD = ["database", "send p50 ms", "statements per send", "wake-up p50 ms", "statements per wake-up",
             "one message to a group of 10, ms CPU", "→ most messages/s on one core"]


def verdict(level: Level) -> str:
    broken = {k: v for k, v in level.violations.items() if k in EXACTLY_ONCE}
    other = {k: v for k, v in level.violations.items() if k not in EXACTLY_ONCE}
    if not broken and not other:
        return "yes"
    text = "**NO: " + ", ".join(f"{v} {k}" for k, v in broken.items()) + "**" if broken else "yes"
    if other:
        text += " (" + ", ".join(f"{v} {k}" for k, v in other.items()) + ")"
    return text


def _cores(level: Level, part: str) -> str:
    if part == "server":
        values = [v for k, v in level.cpu.items() if k.startswith("server")]
        return " + ".join(f"{v:.2f}" for v in values) if values else "–"
    value = level.cpu.get(part)
    return "–" if value is None else f"{value:.2f}"


def level_rows(runs: list[DeploymentRun]) -> list[list[str]]:
    rows = []
    for run in runs:
        for lv in run.levels:
            rows.append([run.deployment.key, str(lv.clients), lv.load, f"{lv.offered:g}", f"{lv.sent_rate:.1f}",
                         f"{lv.delivered_rate:.0f}", f"{lv.delivered_rate / lv.group_size:.1f}", ms(lv.p(50)),
                         ms(lv.p(99)), ms(lv.p(100)), ms(lv.p(50, lv.acks)),
                         f"{lv.drain_seconds:.1f}" + ("" if lv.drained else " (gave up)"), verdict(lv),
                         _cores(lv, "server"), f"{lv.server_ms_per_delivery:.1f}", _cores(lv, "PostgreSQL"),
                         _cores(lv, "load generator"), f"{lv.other_share:.0%}"])
    return rows


def base_rows(runs: list[DeploymentRun], baselines: dict[str, list[float]]) -> list[list[str]]:
    rows = [[f"bus round trip, publish → {name} → 10 subscribers", "this process", str(len(values)),
             ms(pct(values, 50)), ms(pct(values, 99))] for name, values in baselines.items()]
    for run in runs:
        if run.skipped:
            continue
        rows.append(["WebSocket round trip (a malformed frame, answered without database or bus)",
                     run.deployment.key, str(len(run.ws_floor)), ms(pct(run.ws_floor, 50)),
                     ms(pct(run.ws_floor, 99))])
        if run.idle is not None:
            rows.append(["one message at a time to a group of 10: send → each member's receipt", run.deployment.key,
                         str(len(run.idle.latencies)), ms(run.idle.p(50)), ms(run.idle.p(99))])
            idle = run.idle
            for label, values in (("  the same: send → the first member's receipt", idle.firsts),
                                  ("  the same: send → the last (10th) member's receipt", idle.lasts),
                                  ("  the same: send → the sender's chat.sent", idle.acks)):
                rows.append([label, run.deployment.key, str(len(values)), ms(idle.p(50, values)),
                             ms(idle.p(99, values))])
        if run.big is not None:
            big = run.big
            for label, values in ((f"one message at a time to a group of {big.clients}: send → the first "
                                   "member's receipt", big.firsts),
                                  (f"  the same: send → the last ({big.clients}th) member's receipt", big.lasts)):
                rows.append([label, run.deployment.key, str(len(values)), ms(big.p(50, values)),
                             ms(big.p(99, values))])
    return rows


def connect_rows(runs: list[DeploymentRun]) -> list[list[str]]:
    rows = []
    for run in runs:
        previous = 0
        for clients, seconds in run.connect_seconds.items():
            rows.append([run.deployment.key, str(clients), f"{seconds:.1f}",
                         f"{seconds / max(1, clients - previous) * 1000:.1f}"])
            previous = clients
    return rows


def quiet_rows(runs: list[DeploymentRun]) -> list[list[str]]:
    rows = []
    for run in runs:
        if run.quiet:
            server = " + ".join(f"{v:.3f}" for k, v in run.quiet.items() if k.startswith("server"))
            rows.append([run.deployment.key, str(run.quiet_clients), server,
                         f"{run.quiet['PostgreSQL']:.3f}" if "PostgreSQL" in run.quiet else "–",
                         f"{run.quiet['load generator']:.3f}"])
    return rows


def cost_rows(costs: list[ServiceCost], group_size: int) -> list[list[str]]:
    return [[c.database, ms(pct(c.send, 50)), str(c.send_statements), ms(pct(c.wake, 50)),
             str(len(c.wake_statements)), f"{message_cpu(c, group_size):.0f}",
             f"{1000 / message_cpu(c, group_size):.0f}"] for c in costs]


def print_figures(runs: list[DeploymentRun], baselines: dict[str, list[float]], costs: list[ServiceCost],
                  args: argparse.Namespace) -> list[str]:
    console = Console(width=240)
    for title, head, rows in (("Baselines", BASE_HEAD, base_rows(runs, baselines)),
                              ("One message's work in process (no HTTP, WebSocket or bus)", COST_HEAD,
                               cost_rows(costs, args.group_size)),
                              ("Opening the sockets", CONNECT_HEAD, connect_rows(runs)),
                              ("Holding them, nothing sent", QUIET_HEAD, quiet_rows(runs)),
                              ("Load", LEVEL_HEAD, level_rows(runs))):
        if not rows:
            continue
        print_table(console, title, head, rows, text_columns=3)
    for run in runs:
        if run.skipped:
            console.print(f"{run.deployment.key}: skipped ({run.skipped})")
    notes = interpretation(runs, costs, args)
    for note in notes:
        console.print(f"- {note.replace('**', '')}")
    return notes


# --- Markdown -------------------------------------------------------------------------------------


def write_markdown(path: Path, runs: list[DeploymentRun], baselines: dict[str, list[float]], costs: list[ServiceCost],
                   notes: list[str], args: argparse.Namespace, command: str, started: datetime,
                   total_seconds: float) -> None:
    facts = machine()
    versions = {k: v for r in runs for k, v in r.versions.items() if k not in facts}
    out = [
        "# Chat benchmark: delivery rate, latency and exactly-once over WebSockets", "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC with `{command}` (the whole run took {total_seconds / 60:.1f} min). "
        "Regenerate with `make bench` (or `.venv/bin/python bench/chat.py --quick` for a check that it works, "
        "under a minute); the script is `bench/chat.py`, its parts `bench/chat_*.py`.", "",
        "![latency under steady load, and deliveries/s under overload](chat-latency.png)", "",
        "## Reading", "", *[f"- {n}" for n in notes], *READING, "",
        "## Machine", "",
        *[f"- **{k}**: {v}" for k, v in facts.items()],
        *[f"- **{k}**: {v}" for k, v in versions.items()],
        "- **everything on one machine**: the servers, PostgreSQL, Redis and the load generator (one Python "
        "process holding every socket) share its 2 cores, so the servers never have the machine to themselves. "
        "The load generator's own CPU is measured (column *load generator CPU*), and so is the share of the "
        "machine that processes outside the benchmark used meanwhile (column *other CPU*: other sessions' tests "
        "and browsers on a shared machine)",
        "- **CPU yardstick** (a fixed pure-Python loop, best of 5, lower is faster; compare runs with it): "
        + ", ".join(f"{r.deployment.key} {r.probes[0]:.0f} ms before, {r.probes[-1]:.0f} ms after"
                    for r in runs if len(r.probes) >= 2), "",
        "## Method", "",
        *method(args), "",
        "## Baselines", "", markdown_table(BASE_HEAD, base_rows(runs, baselines)), "",
        "One message's work in this process, without HTTP, WebSocket or bus (`chat_baseline.service_costs`: "
        "`messages.send` + `render_message` as the WebSocket's chat.send does it, then `ChatFeed.translate` for "
        "each of the group's 10 members, as each connection does on a wake-up):", "",
        markdown_table(COST_HEAD, cost_rows(costs, args.group_size)), "",
        "## Opening and holding the sockets", "",
        "Opening each level's new sockets (handshake, token check, the member's conversations, the catch-up "
        f"read, `chat.ready`), {CONNECT_BATCH} at a time:", "",
        markdown_table(CONNECT_HEAD, connect_rows(runs)), "",
        *([f"Then, after the loads, every socket open and nothing sent for {args.quiet_seconds:g} s (one "
           "streaming heartbeat interval and a second: every connection re-checks its token once in it):", "",
           markdown_table(QUIET_HEAD, quiet_rows(runs)), ""] if quiet_rows(runs) else []),
        "## Load", "",
        "*deliveries/s*: receipts on members' sockets during the window (a message to a group of 10 is 10). "
        "Latencies are over every delivery of every message sent in the window, however late it came. "
        "*drain s*: after the last message was due, how long until the last delivery. *server CPU*: cores "
        "(1.00 = one core busy) per server process over warm-up, window and drain; *server CPU ms / delivery* "
        "divides it by every delivery of the level.",
        "", markdown_table(LEVEL_HEAD, level_rows(runs)), "",
    ]
    for run in runs:
        if run.skipped:
            out += [f"**{run.deployment.label}**: skipped: {run.skipped}.", ""]
    examples = [(r.deployment.key, lv) for r in runs for lv in r.all_levels if lv.examples]
    logged = [(r.deployment.key, error, n) for r in runs for error, n in r.server_errors.items()]
    if examples or logged:
        out += ["## Problems found", ""]
        for key, lv in examples:
            out += [f"- {key}, {lv.clients} clients, {lv.load}: {dict(lv.violations)}",
                    *[f"  - `{e}`" for e in lv.examples]]
        for key, error, n in logged:
            out.append(f"- {key}: the server logged {n} × `{error}`")
        out.append("")
    path.write_text("\n".join(out))
    draw_chart(path.with_name("chat-latency.png"), runs, args)


def method(args: argparse.Namespace) -> list[str]:
    return [
        f"- Members are made through the services in this process (`register`, `issue_token`), "
        f"{max(args.clients):,} of them, in groups of {args.group_size} (`create_group` by the first member; "
        "every other member `accept`s). Each deployment's servers are `agora migrate` + `agora serve` in "
        "subprocesses, configured through AGORA_* (rate limits off, log level warning).",
        "- Deployments: **embedded** one process on SQLite (a fresh file) with the in-process bus; **pg-1** "
        "one process on PostgreSQL with the in-process bus; **redis-2** two processes on the same PostgreSQL "
        f"database with AGORA_REDIS_URL={args.redis_url}. pg-1 and redis-2 share one freshly created "
        "database (dropped at the end), so redis-2 starts with pg-1's messages in the log. In redis-2 the "
        f"first {(args.group_size + 1) // 2} members of every group (the senders among them) connect to process a, "
        "the others to process b: half of every message's deliveries cross processes through Redis.",
        "- Every member holds `GET /api/v1/streaming?stream=chat&access_token=…` over a WebSocket (the "
        "`websockets` library, one connection per member, all in this process on uvloop). "
        f"{args.senders} members of each group send through their own socket (`chat.send` frames), at a "
        "steady open-loop rate (each message is due at its time whether or not the earlier ones were "
        "answered; senders start at random phases). The text of each message is unique and doubles as its "
        "client id; the send time is taken just before the frame is written, the receipt time when the frame "
        "is read, on one clock.",
        f"- Client counts {', '.join(map(str, args.clients))}: the sockets of a level stay open for the next. "
        f"At each, two loads, each offered at the same total whatever the client count (so the more clients, "
        f"the quieter each group): **steady** {args.steady:g} messages/s "
        f"({args.steady * args.group_size:g} deliveries/s) for {args.seconds:g} s, and **overload** "
        f"{args.overload:g} messages/s for {args.overload_seconds:g} s, each after {args.warmup:g} s of warm-up; "
        f"then the run waits for late deliveries until {args.drain:g} s pass without one.",
        "- Exactly-once: every message sent (warm-up included) must reach every member of its group exactly "
        "once, with one cursor for all of them, each socket's cursors strictly increasing, and no socket "
        "outside the group may receive it. Any violation is printed at once and listed under *Problems found*, "
        "and the run exits non-zero.",
    ]


# --- the chart ------------------------------------------------------------------------------------


def draw_chart(path: Path, runs: list[DeploymentRun], args: argparse.Namespace) -> None:
    """Left: steady-load latency, p50 bars and p99 ticks (log scale). Right: deliveries/s under overload."""
    measured = [r for r in runs if not r.skipped and r.levels]
    width, height = 1320, 560
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title, small, tiny = _font(20), _font(14), _font(11)
    draw.text((20, 12), "Agora chat over WebSockets: groups of 10, every member connected", fill="black", font=title)
    x = 20
    for run in measured:
        draw.rectangle((x, 48, x + 14, 62), fill=COLORS.get(run.deployment.key, (120, 120, 120)))
        draw.text((x + 20, 47), run.deployment.label, fill="black", font=small)
        x += 40 + int(draw.textlength(run.deployment.label, font=small))
    _panel(draw, (80, 130, 620, 480), measured, args.clients, "steady",
           f"steady {args.steady:g} msg/s: send → receipt, ms (log): bar p50, tick p99", small, tiny)
    if args.overload > 0:
        _panel(draw, (740, 130, 1280, 480), measured, args.clients, "overload",
               f"overload ({args.overload:g} msg/s offered): deliveries/s", small, tiny)
    image.save(path)


def _panel(draw: Any, box: tuple[int, int, int, int], runs: list[DeploymentRun], clients: list[int], load: str,
           label: str, small: Any, tiny: Any) -> None:
    x0, y0, x1, y1 = box
    draw.text((x0, y0 - 40), label, fill="black", font=small)
    levels = {(r.deployment.key, lv.clients): lv for r in runs for lv in r.levels if lv.load == load}
    if not levels:
        return
    latency = load == "steady"
    if latency:
        lo = math.floor(math.log10(max(1.0, min(lv.p(50) for lv in levels.values()))))
        hi = max(lo + 1, math.ceil(math.log10(max(lv.p(99) for lv in levels.values()) * 1.3)))

        def y_of(v: float) -> float:
            return y1 - (math.log10(max(v, 10.0 ** lo)) - lo) / (hi - lo) * (y1 - y0)

        ticks = [10.0 ** e for e in range(lo, hi + 1)]
    else:
        offered = max(lv.offered * lv.group_size for lv in levels.values())
        top = max(offered, *(lv.delivered_rate for lv in levels.values())) * 1.15 or 1.0
        step = 10 ** math.floor(math.log10(top)) / (2 if top / 10 ** math.floor(math.log10(top)) < 4 else 1)

        def y_of(v: float) -> float:
            return y1 - min(v, top) / top * (y1 - y0)

        ticks = [step * i for i in range(int(top / step) + 1)]
    for t in ticks:
        draw.line((x0, y_of(t), x1, y_of(t)), fill=(225, 225, 225))
        draw.text((x0 - 6, y_of(t)), f"{t:g}", fill="black", font=tiny, anchor="rm")
    draw.line((x0, y0, x0, y1), fill="black")
    draw.line((x0, y1, x1, y1), fill="black")
    group_w = (x1 - x0) / len(clients)
    bar_w = group_w * 0.8 / max(1, len(runs))
    for g, c in enumerate(clients):
        gx = x0 + g * group_w + group_w * 0.1
        draw.text((x0 + (g + 0.5) * group_w, y1 + 6), f"{c} clients", fill="black", font=small, anchor="mt")
        for b, run in enumerate(runs):
            lv = levels.get((run.deployment.key, c))
            if lv is None:
                continue
            bx = gx + b * bar_w
            value = lv.p(50) if latency else lv.delivered_rate
            top_y = min(y_of(value), y1 - 1)
            draw.rectangle((bx + 3, top_y, bx + bar_w - 3, y1 - 1), fill=COLORS.get(run.deployment.key, (120,) * 3))
            if latency:
                p99 = y_of(lv.p(99))
                draw.line((bx + bar_w / 2, top_y, bx + bar_w / 2, p99), fill="black")
                draw.line((bx + 8, p99, bx + bar_w - 8, p99), fill="black", width=2)
                top_y = p99
            draw.text((bx + bar_w / 2, top_y - 3), f"{value:.0f}", fill="black", font=tiny, anchor="mb")
    if not latency:
        draw.line((x0, y_of(offered), x1, y_of(offered)), fill=(0, 0, 0), width=1)
        draw.text((x1, y_of(offered) - 3), f"offered {offered:g}/s", fill="black", font=tiny, anchor="rb")

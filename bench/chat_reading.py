"""Chat benchmark, the reading: what the figures say, in sentences computed from them, and how the
delivery path works (which the figures are read against)."""

from __future__ import annotations

import argparse

from agora.config import Settings
from bench.chat_baseline import ServiceCost
from bench.chat_results import DeploymentRun, Level
from bench.report import ms
from bench.results import pct

# Kinds of problem that break the promise "every member gets every message once, in order".
EXACTLY_ONCE = ("missing", "twice", "stray", "out of order", "cursor mismatch")
# The statement `render_conversations` sends for the unread counts, which a wake-up runs for an
# empty list of conversations (see the note that mentions it).
UNREAD_COUNT = "chat_members + chat_messages"


def message_cpu(cost: ServiceCost, group_size: int) -> float:
    return pct(cost.send, 50) + group_size * pct(cost.wake, 50)


def _levels(run: DeploymentRun, load: str) -> list[Level]:
    return [lv for lv in run.levels if lv.load == load]


def interpretation(runs: list[DeploymentRun], costs: list[ServiceCost], args: argparse.Namespace) -> list[str]:
    measured = [r for r in runs if not r.skipped]
    notes = [_exactly_once(measured)]
    for run in measured:
        if note := _deployment(run, args):
            notes.append(note)
    by_key = {r.deployment.key: r for r in measured}
    notes += _comparisons(by_key, args)
    notes += _fan_out(measured, args)
    for cost in costs:
        notes.append(
            f"In process on {cost.database}, one message costs the server {ms(pct(cost.send, 50))} ms to send and "
            f"{ms(pct(cost.wake, 50))} ms for each member's wake-up ({len(cost.wake_statements)} SQL statements: "
            f"{', '.join(cost.wake_statements)}), so a message to a group of {args.group_size} is "
            f"~{message_cpu(cost, args.group_size):.0f} ms of CPU: at most "
            f"~{1000 / message_cpu(cost, args.group_size):.0f} messages/s on one core before any HTTP or WebSocket.")
    if any(UNREAD_COUNT in c.wake_statements for c in costs):
        notes.append(
            f"The last statement of every wake-up (`{UNREAD_COUNT}`) is `conversations.unread_counts`, reached "
            "through `render_events` → `render_conversations` with an empty list of memberships (the batch holds "
            "no conversation event): an aggregate query with an empty IN list, whose result is thrown away.")
    quiet = [r for r in measured if r.quiet]
    if quiet:
        notes.append("Holding the sockets open with nothing sent: the servers used "
                     + ", ".join(f"{_server_cores(r.quiet, 3)} cores ({r.deployment.key}, {r.quiet_clients:,} "
                                 "sockets)" for r in quiet)
                     + " (each re-checks its token once per heartbeat interval; uvicorn pings each every 20 s).")
    return notes


def _exactly_once(measured: list[DeploymentRun]) -> str:
    checked = sum(lv.all_deliveries for r in measured for lv in r.all_levels)
    messages = sum(lv.sent_total for r in measured for lv in r.all_levels)
    broken = {k: v for r in measured for k, v in r.violations.items() if k in EXACTLY_ONCE}
    other = {k: v for r in measured for k, v in r.violations.items() if k not in EXACTLY_ONCE}
    errors = sum(sum(r.server_errors.values()) for r in measured)
    tail = (f" Other problems: {', '.join(f'{v} {k}' for k, v in other.items())}." if other else "") + (
        f" The servers logged {errors} errors (see *Problems found*)." if errors else "")
    if broken:
        return (f"**Exactly-once: VIOLATED** ({', '.join(f'{v} {k}' for k, v in broken.items())}) over {messages:,} "
                f"messages and {checked:,} deliveries: see *Problems found*.{tail}")
    return (f"**Exactly-once held**: {messages:,} messages, {checked:,} deliveries checked; every member of each "
            "group received each message once, with the same cursor, in cursor order, and no one outside the "
            f"group received it.{tail}")


def _deployment(run: DeploymentRun, args: argparse.Namespace) -> str | None:
    steady, over = _levels(run, "steady"), _levels(run, "overload")
    if not steady:
        return None
    parts = [f"steady {args.steady:g} messages/s: p50/p99 "
             + ", ".join(f"{ms(lv.p(50))}/{ms(lv.p(99))} ms with {lv.clients:,}" for lv in steady) + " clients"]
    if over:
        parts.append(f"offered {args.overload:g} messages/s it delivered "
                     + ", ".join(f"{lv.delivered_rate:.0f}/s ({lv.delivered_rate / lv.group_size:.1f} messages/s) "
                                 f"with {lv.clients:,}" for lv in over)
                     + "; server CPU per delivery " + ", ".join(f"{lv.server_ms_per_delivery:.1f}" for lv in over)
                     + f" ms (steady: {', '.join(f'{lv.server_ms_per_delivery:.1f}' for lv in steady)}); "
                     "the sender's chat.sent came after " + ", ".join(ms(lv.p(50, lv.acks)) for lv in over)
                     + " ms (p50)")
    return f"**{run.deployment.label}**: " + "; ".join(parts) + "."


def _comparisons(by_key: dict[str, DeploymentRun], args: argparse.Namespace) -> list[str]:
    notes = []
    one, two, lite = by_key.get("pg-1"), by_key.get("redis-2"), by_key.get("embedded")
    if one and two and _levels(one, "steady") and _levels(two, "steady"):
        pairs = list(zip(_levels(one, "steady"), _levels(two, "steady"), strict=False))
        text = ("**Two processes behind Redis against one** (both on PostgreSQL): steady p50 "
                + ", ".join(f"{ms(b.p(50))} against {ms(a.p(50))} ms with {a.clients:,}" for a, b in pairs))
        over = list(zip(_levels(one, "overload"), _levels(two, "overload"), strict=False))
        if over:
            text += ("; under overload " + ", ".join(f"{b.delivered_rate:.0f} against {a.delivered_rate:.0f} "
                                                     f"deliveries/s" for a, b in over)
                     + f", the two servers using {', '.join(_server_cores(b.cpu) for _, b in over)} cores of the "
                     "machine's 2 (PostgreSQL, Redis and the load generator share them)")
        faster = all(b.p(50) < a.p(50) for a, b in pairs)
        notes.append(text + ". Half of every group's members are on the second process, so the wake-ups "
                     "split between two event loops" + (": latency falls" if faster else "") + "; on 2 cores "
                     "that also run PostgreSQL, Redis and the load generator, two processes cannot double the "
                     "throughput.")
    if lite and one and _levels(lite, "overload") and _levels(one, "overload"):
        a, b = _levels(lite, "overload")[0], _levels(one, "overload")[0]
        text = (f"**SQLite against PostgreSQL under overload** ({a.clients:,} clients, one process each): "
                f"{a.delivered_rate:.0f} against {b.delivered_rate:.0f} deliveries/s, {a.server_ms_per_delivery:.1f} "
                f"against {b.server_ms_per_delivery:.1f} ms of server CPU per delivery, sends acknowledged after "
                f"{ms(a.p(50, a.acks))} against {ms(b.p(50, b.acks))} ms (p50).")
        if a.delivered_rate < b.delivered_rate and a.p(50, a.acks) > b.p(50, b.acks):
            text += (" On SQLite every send holds the one in-process write lock for its whole transaction "
                     "(a dozen and more statements); with the event loop saturated by wake-ups each statement "
                     "waits its turn, so sends commit one by one, far apart, each waking every member for a read "
                     "of its own; and every query is a hop to an aiosqlite thread.")
        notes.append(text)
    return notes


def _server_cores(cpu: dict[str, float], digits: int = 2) -> str:
    return f"{sum(v for k, v in cpu.items() if k.startswith('server')):.{digits}f}"


def _fan_out(measured: list[DeploymentRun], args: argparse.Namespace) -> list[str]:
    notes = []
    for run in measured:
        idle, big = run.idle, run.big
        if idle is None or big is None or not idle.lasts or not big.lasts or big.clients <= args.group_size:
            continue
        per_member = (big.p(50, big.lasts) - idle.p(50, idle.lasts)) / (big.clients - args.group_size)
        limit = Settings.model_fields["max_group_members"].default
        at_limit = (idle.p(50, idle.lasts) + per_member * (limit - args.group_size)) / 1000
        notes.append(
            f"**Group size, unloaded** ({run.deployment.key}): one message at a time reaches the first member of a "
            f"group of {args.group_size} after {ms(idle.p(50, idle.firsts))} ms and the last after "
            f"{ms(idle.p(50, idle.lasts))} ms (p50); in a group of {big.clients}, {ms(big.p(50, big.firsts))} and "
            f"{ms(big.p(50, big.lasts))} ms: ~{per_member:.1f} ms more per member, because every member's "
            "connection reads the log for itself (the message is rendered once per process and shared), all on "
            "the server's one event loop (so even the first member waits for much of the others' work). "
            "Linearly, the last member of a group at the "
            f"{limit}-member limit would wait ~{at_limit:.1f} s.")
        break  # one deployment says it; the table has the others
    return notes


READING = [
    "- **How delivery works, which is where the time goes.** The bus only says \"the log has grown\"; each "
    "connection then reads its own events from the log (`ChatFeed.translate` → `_catch_up`: the sequence head "
    "and the viewer's events). The message itself (sender, media, reactions) is loaded and rendered once per "
    "process for that state of the log (`entities.MessageMemo`) and finished per member (their `me` on "
    "reactions, the sender's client id). So a message to a group of 10 costs one write transaction and 10 small "
    "read transactions, all on the server's one Python thread: Python CPU is the limit, not the database (see "
    "the PostgreSQL CPU column). A connection woken while it is still behind reads once for all it missed (signals "
    "for seqs it has read cost nothing), so under overload the work per delivery falls the more messages each "
    "group gets between two reads: compare the CPU per delivery under overload at the fewest clients (few, "
    "busy groups) and at the most (many quieter ones), at the same total rate.",
    "- **SQLite has a single writer**: sends queue on the in-process write lock, one at a time, while the "
    "reads run beside it on the 20-connection pool (WAL). On PostgreSQL the sends of every process are "
    "serialised by the chat sequence's row lock, but only for their commit.",
    "- **One machine, 2 cores**: the load generator (every client socket in one Python process) uses a few "
    "percent of a core here, so it is not the bottleneck, but it and PostgreSQL, Redis and the servers compete "
    "for the same cores; *other CPU* is what processes outside the benchmark took meanwhile. Compare "
    "deployments within one run, and runs by the CPU yardstick.",
]

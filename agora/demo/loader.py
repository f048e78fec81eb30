"""`agora demo`: load the demo community through the real services, back-dated over 30 days.

Everything goes in one transaction, so the load is all or nothing; it is idempotent because a
second run finds the `demo` member and stops. Posts, likes and boosts are replayed in time order
with the clock set to when they "happened", so ids, timestamps and notifications read naturally.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

import agora.search  # noqa: F401  (the demo's posts are indexed as they are written)
from agora.accounts import service as accounts
from agora.accounts.secrets import Passwords
from agora.config import Settings
from agora.demo.chats import CHATS, load_chats
from agora.demo.wallet import load_wallets
from agora.kit.db import Database
from agora.kit.errors import AgoraError
from agora.kit.time import clock_at, utcnow
from agora.models import Account
from agora.social import graph, interactions, statuses

DATA = Path(__file__).parent / "data"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "agora-demo"  # every demo member shares it, so an operator can try any of them
DEMO_DOMAIN = "demo.agora.local"


@dataclass
class DemoSummary:
    already_loaded: bool
    members: int = 0
    posts: int = 0
    likes: int = 0
    reposts: int = 0
    messages: int = 0
    payments: int = 0
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        login = (f"Demo login: {DEMO_USERNAME}@{DEMO_DOMAIN} (or username '{DEMO_USERNAME}') "
                 f"/ password '{DEMO_PASSWORD}'")
        if self.already_loaded:
            return f"The demo community is already loaded.\n{login}"
        return (f"Loaded the demo community: {self.members} members, {self.posts} posts, {self.likes} likes, "
                f"{self.reposts} boosts, {self.messages} chat messages, {self.payments} payments (sandbox money)."
                f"\n{login}")


def read_data() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    members = json.loads((DATA / "members.json").read_text(encoding="utf-8"))
    posts = [p for f in sorted((DATA / "posts").glob("*.json")) for p in json.loads(f.read_text(encoding="utf-8"))]
    return members, posts


async def load_demo(settings: Settings, *, progress: Console | None = None) -> DemoSummary:
    db = Database(settings.resolved_database_url)
    try:
        async with db.transaction() as session:
            if await accounts.find_by_username(session, username=DEMO_USERNAME) is not None:
                return DemoSummary(already_loaded=True)
            return await _load(session, settings, progress or Console(stderr=True))
    finally:
        await db.dispose()


async def _load(session, settings: Settings, console: Console) -> DemoSummary:
    members, posts = read_data()
    now = utcnow()
    start = now - timedelta(days=45)
    rng = random.Random(42)  # the same community every time
    passwords = Passwords.for_settings(settings)
    summary = DemoSummary(already_loaded=False)
    by_name: dict[str, Account] = {}

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("members", total=len(members))
        for i, spec in enumerate(members):
            with clock_at(start + timedelta(minutes=7 * i)):
                account = await accounts.register(
                    session, form=accounts.Registration(spec["username"], f"{spec['username']}@{DEMO_DOMAIN}",
                                                        DEMO_PASSWORD, spec.get("locale", "en")),
                    settings=settings, passwords=passwords, by_operator=True)
                profile = accounts.ProfileChanges(
                    display_name=spec["display_name"][: settings.max_display_name_chars],
                    note=spec["bio"][: settings.max_bio_chars], bot=spec.get("bot", False),
                    default_language=spec.get("locale"))
                await accounts.update_profile(session, account=account, settings=settings, changes=profile)
            by_name[spec["username"]] = account
            bar.advance(task)
        summary.members = len(by_name)

        task = bar.add_task("follows", total=len(members))
        for i, spec in enumerate(members):
            with clock_at(start + timedelta(days=1, minutes=11 * i)):
                for target in spec.get("follows", []):
                    if target in by_name and target != spec["username"]:
                        await graph.follow(session, follower=by_name[spec["username"]], target_id=by_name[target].id)
            bar.advance(task)
        # Locked accounts are locked after their first followers arrived, as happens in real life.
        for spec in members:
            by_name[spec["username"]].locked = bool(spec.get("locked"))
        await session.flush()

        events = _timeline(posts, now, rng)
        task = bar.add_task("posts, likes and boosts", total=len(events))
        ids: dict[str, int] = {}
        for moment, kind, actor, post in events:
            with clock_at(moment):
                try:
                    # A savepoint per step: a refused step leaves nothing half-written behind it.
                    async with session.begin_nested():
                        await _replay(session, settings, kind, by_name[actor], post, ids)
                except AgoraError as exc:  # e.g. a like of a post the liker cannot see
                    summary.skipped.append(f"{kind} {post['key']} by {actor}: {exc.message}")
                else:
                    counter = {"post": "posts", "like": "likes", "repost": "reposts"}[kind]
                    setattr(summary, counter, getattr(summary, counter) + 1)
            bar.advance(task)

        task = bar.add_task("chats", total=1)
        chats = json.loads((DATA / CHATS).read_text(encoding="utf-8"))
        summary.messages = await load_chats(session, settings, data=chats, by_name=by_name, now=now)
        bar.advance(task)

        task = bar.add_task("wallets (sandbox money)", total=1)
        summary.payments = await load_wallets(session, settings, by_name=by_name, now=now, rng=rng)
        bar.advance(task)
    return summary


def _timeline(posts: list[dict[str, Any]], now: datetime, rng: random.Random) -> list[tuple[datetime, str, str, dict]]:
    """Every post, like and boost with the moment it happens, oldest first."""
    events = []
    for post in posts:
        posted = now - timedelta(hours=float(post["hours_ago"]))
        events.append((posted, "post", post["author"], post))
        room = max((now - posted).total_seconds() - 60, 60)
        for kind, people in (("like", post.get("likes", [])), ("repost", post.get("reposts", []))):
            for person in people:
                delay = min(rng.expovariate(1 / 5400), room)  # most reactions come within a few hours
                events.append((posted + timedelta(seconds=30 + delay), kind, person, post))
    events.sort(key=lambda e: (e[0], e[1] != "post"))
    return events


async def _replay(session, settings: Settings, kind: str, actor: Account, post: dict, ids: dict[str, int]) -> None:
    if kind == "post":
        draft = statuses.Draft(
            text=post["text"], spoiler_text=post.get("spoiler_text") or "", visibility=post.get("visibility", "public"),
            language=post.get("lang"), in_reply_to_id=ids.get(post.get("reply_to") or ""),
            quoted_status_id=ids.get(post.get("quote_of") or ""), application_name="Agora demo",
        )
        created = await statuses.create(session, author=actor, draft=draft, settings=settings)
        ids[post["key"]] = created.id
    elif kind == "like":
        await interactions.favourite(session, account=actor, status_id=ids.get(post["key"]))
    else:
        await statuses.reblog(session, account=actor, status_id=ids.get(post["key"]), visibility=None)

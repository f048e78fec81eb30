"""The web benchmark's data: a reader who follows 20 authors, and their posts, made through the real services.

Unlike bench/community.py (bulk rows for 200,000 posts), everything here goes through the services a
request would call (`register`, `graph.follow`, `statuses.create`, `statuses.reblog`,
`interactions.favourite`), so the rendered content (links, mentions, hashtags) is exactly what the
app makes. Posts mix lengths and languages (English, German, Chinese), hashtags, mentions, content
warnings, replies, boosts and a few of the reader's favourites and bookmarks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from agora.accounts import oauth, service
from agora.accounts.scopes import TOP_LEVEL
from agora.accounts.secrets import Passwords
from agora.kit.runtime import Runtime
from agora.models import Account
from agora.social import graph, interactions, statuses
from agora.web.session import open_session
from bench.community import WORDS

DISPLAY_NAMES = [
    "Ada Lindqvist", "Jonas Müller", "李明", "Priya Raman", "Chloé Martin", "Tomasz Nowak", "王芳", "Lena Schröder",
    "Kofi Mensah", "Sofia Rossi", "陈静", "Mateo García", "Hannah Weiß", "Yuki Tanaka", "Olu Adeyemi",
    "Greta Berg", "张伟", "Noah Fischer", "Amara Okafor", "Elif Yılmaz",
]
GERMAN = [
    "Heute früh mit dem Rad an der Spree entlang, die Stadt war noch ganz still.",
    "Hat jemand eine gute Empfehlung für ein Café mit WLAN in Kreuzberg?",
    "Der Zug hatte wieder 40 Minuten Verspätung, aber immerhin gab es Kaffee.",
    "Endlich das neue Release veröffentlicht. Danke an alle, die mitgeholfen haben!",
    "Über Straßenbahnen, Fahrräder und die Frage, wem die Straße gehört – ein längerer Gedanke.",
    "Sonntagsbrötchen vom Bäcker um die Ecke, besser wird es nicht.",
]
CHINESE = [
    "今天早上去公园散步，空气很好，看到很多人在打太极。",
    "周末读完了一本关于城市规划的书，很有启发。",
    "新版本终于发布了，感谢所有贡献者！",
    "下雨天最适合在家喝茶看书。",
    "有人推荐好用的开源地图工具吗？",
    "晚上和朋友们一起包饺子，很开心。",
]
TAGS = ["#photography", "#Berlin", "#opensource", "#coffee", "#python", "#music", "#books", "#城市", "#Fahrrad"]


@dataclass
class Seeded:
    reader_id: int
    token: str  # the reader's access token, for the JSON API's bearer header
    cookie: str  # the reader's web session, for the browser's session cookie
    authors: int
    posts: int  # statuses in the reader's home timeline: originals, replies and boosts
    kinds: dict[str, int]


def _text(rng: random.Random, authors: list[str]) -> tuple[str, str | None, str]:
    """(text, language, kind) for one post of a realistic mix."""
    roll = rng.random()
    if roll < 0.15:
        return " ".join(rng.sample(GERMAN, rng.randint(1, 3))), "de", "German"
    if roll < 0.27:
        return "".join(rng.sample(CHINESE, rng.randint(1, 3))), "zh", "Chinese"
    length = rng.choice((5, 12, 25, 40, 70))  # mostly short, some near the 500-character limit
    words = rng.choices(WORDS, k=rng.randint(length // 2, length))
    text = " ".join(words).capitalize() + "."
    if rng.random() < 0.3:
        text += " " + " ".join(rng.sample(TAGS, rng.randint(1, 3)))
    if rng.random() < 0.2:
        text = f"@{rng.choice(authors)} {text}"
    if rng.random() < 0.1:
        text += " https://example.org/articles/2024/on-" + "-".join(rng.sample(WORDS, 4))
    return text[:490], "en", "English"


async def seed(runtime: Runtime, *, authors: int = 20, posts: int = 220, seed: int = 7) -> Seeded:
    rng = random.Random(seed)
    settings = runtime.settings
    passwords = Passwords.for_settings(settings)
    ids: list[int] = []
    names = [f"author{i}" for i in range(authors)]
    async with runtime.db.transaction() as session:
        for i, username in enumerate(["reader", *names]):
            account = await service.register(
                session, form=service.Registration(username, f"{username}@example.org", "correct horse battery"),
                settings=settings, passwords=passwords, by_operator=True)
            account.display_name = "Reader" if i == 0 else DISPLAY_NAMES[(i - 1) % len(DISPLAY_NAMES)]
            ids.append(account.id)
        reader = await session.get(Account, ids[0])
        assert reader is not None
        for author_id in ids[1:]:
            await graph.follow(session, follower=reader, target_id=author_id)
        issued = await oauth.issue_token(session, app=None, account=reader, scopes=sorted(TOP_LEVEL))
        # The browser's cookie takes only a web session (what signing in makes); the API, the token.
        cookie = await open_session(session, account=reader)
    kinds = {"English": 0, "German": 0, "Chinese": 0, "reply": 0, "boost": 0, "content warning": 0}
    made: list[int] = []
    for n in range(posts):
        async with runtime.db.transaction() as session:
            author = await session.get(Account, rng.choice(ids[1:]))
            assert author is not None
            if made and n % 10 == 3:  # a boost of an earlier post by someone else
                await statuses.reblog(session, account=author, status_id=rng.choice(made[-40:]), visibility=None)
                kinds["boost"] += 1
                continue
            text, language, kind = _text(rng, names)
            reply_to = rng.choice(made[-30:]) if made and n % 7 == 5 else None
            spoiler = "Spoilers for the finale" if n % 23 == 11 else ""
            status = await statuses.create(session, author=author, settings=settings, draft=statuses.Draft(
                text=text, language=language, in_reply_to_id=reply_to, spoiler_text=spoiler))
            made.append(status.id)
            kinds[kind] += 1
            kinds["reply"] += reply_to is not None
            kinds["content warning"] += bool(spoiler)
    async with runtime.db.transaction() as session:  # the reader has liked and saved a few of the newest
        reader = await session.get(Account, ids[0])
        assert reader is not None
        for status_id in made[-60::6]:
            await interactions.favourite(session, account=reader, status_id=status_id)
        for status_id in made[-60::15]:
            await interactions.bookmark(session, account=reader, status_id=status_id)
    return Seeded(ids[0], issued.access_token, cookie, authors, posts, kinds)

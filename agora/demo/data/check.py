#!/usr/bin/env python3
"""Validate the demo community data that ``agora demo`` loads.

Standalone, standard library only. Run it from anywhere:

    python agora/demo/data/check.py [DATA_DIR]

It loads ``members.json`` and every ``posts/*.json`` file, checks that the
data is well formed and internally consistent (unique usernames and keys,
every reference resolves, replies and quotes come after what they answer,
direct posts mention their recipient, private and direct posts are never
reposted, lengths, counts per language, ...), prints a summary table and
exits with status 1 if any problem was found.
"""

from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path

USERNAME_RE = re.compile(r"^[a-z0-9_]{3,20}$")
KEY_RE = re.compile(r"^[a-z]+-\d{3}$")
# @mention: not preceded by an ASCII word character (so URLs and e-mail-like
# strings are not mistaken for mentions), username made of ASCII only.
MENTION_RE = re.compile(r"(?<![A-Za-z0-9_./])@([A-Za-z0-9_]+)")
HASHTAG_RE = re.compile(r"(?<![\w/])#(\w+)")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}")
PHONE_RE = re.compile(r"(?<!\d)(?:\+\d{1,3}[ -]?)?(?:\(?\d{2,5}\)?[ -]?){2,}\d{3,}(?!\d)")
URL_RE = re.compile(r"https?://\S+")
CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_RE = re.compile(r"[A-Za-zÀ-ÿ]")

LOCALES = {"en", "de", "zh"}
VISIBILITIES = ("public", "unlisted", "private", "direct")
EXPECTED_FILES = (
    "tech_ai.json",
    "money.json",
    "food.json",
    "sport.json",
    "city_life.json",
    "culture_misc.json",
    "deutsch.json",
    "zhongwen.json",
)

DE_WORDS = {
    "der",
    "die",
    "das",
    "und",
    "ist",
    "nicht",
    "ich",
    "ein",
    "eine",
    "einen",
    "mit",
    "auf",
    "für",
    "von",
    "zu",
    "den",
    "dem",
    "des",
    "im",
    "es",
    "sich",
    "auch",
    "wie",
    "wir",
    "ihr",
    "sie",
    "noch",
    "mal",
    "aber",
    "schon",
    "nur",
    "heute",
    "wieder",
    "hat",
    "habe",
    "bin",
    "sind",
    "war",
    "kein",
    "keine",
    "bei",
    "nach",
    "oder",
    "wenn",
    "dann",
    "so",
    "jetzt",
    "gibt",
    "mein",
    "meine",
}
EN_WORDS = {
    "the",
    "and",
    "is",
    "not",
    "a",
    "an",
    "to",
    "of",
    "in",
    "on",
    "for",
    "with",
    "it",
    "this",
    "that",
    "my",
    "you",
    "i",
    "we",
    "are",
    "was",
    "be",
    "have",
    "has",
    "just",
    "but",
    "so",
    "at",
    "from",
    "they",
    "what",
    "if",
    "your",
    "our",
    "about",
    "out",
    "up",
}

MEMBER_FIELDS = {
    "username": str,
    "display_name": str,
    "bio": str,
    "locale": str,
    "locked": bool,
    "bot": bool,
    "follows": list,
}
POST_FIELDS = {
    "key": str,
    "author": str,
    "text": str,
    "lang": str,
    "hours_ago": (int, float),
    "visibility": str,
    "reply_to": (str, type(None)),
    "quote_of": (str, type(None)),
    "spoiler_text": str,
    "likes": list,
    "reposts": list,
}


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, msg: str) -> None:
        self.errors.append(msg)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


def words(text: str) -> list[str]:
    text = URL_RE.sub(" ", text)
    text = MENTION_RE.sub(" ", text)
    text = HASHTAG_RE.sub(" ", text)
    return re.findall(r"[a-zäöüß']+", text.lower())


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    w = words(text) if not CJK_RE.search(text) else list(CJK_RE.findall(text))
    return {tuple(w[i : i + n]) for i in range(max(0, len(w) - n + 1))}


def load_json(path: Path, rep: Report):
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        rep.error(f"{path}: missing")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        rep.error(f"{path}: not valid UTF-8 JSON: {exc}")
    return None


def check_fields(obj, fields, where: str, rep: Report) -> bool:
    if not isinstance(obj, dict):
        rep.error(f"{where}: not an object")
        return False
    ok = True
    for name, typ in fields.items():
        if name not in obj:
            rep.error(f"{where}: missing field {name!r}")
            ok = False
        elif not isinstance(obj[name], typ) or (typ in ((int, float),) and isinstance(obj[name], bool)):
            rep.error(f"{where}: field {name!r} has wrong type {type(obj[name]).__name__}")
            ok = False
    extra = set(obj) - set(fields)
    if extra:
        rep.warn(f"{where}: unexpected fields {sorted(extra)}")
    return ok


def check_members(members, rep: Report) -> dict[str, dict]:
    by_name: dict[str, dict] = {}
    if not isinstance(members, list):
        rep.error("members.json: top level must be a list")
        return by_name
    for i, m in enumerate(members):
        where = f"members[{i}]"
        if not check_fields(m, MEMBER_FIELDS, where, rep):
            continue
        u = m["username"]
        where = f"member {u!r}"
        if not USERNAME_RE.match(u):
            rep.error(f"{where}: username must be 3-20 chars of a-z, 0-9, _")
        if u in by_name:
            rep.error(f"{where}: duplicate username")
        by_name[u] = m
        if not m["display_name"].strip():
            rep.error(f"{where}: empty display_name")
        if not m["bio"].strip():
            rep.error(f"{where}: empty bio")
        if len(m["bio"]) > 500:
            rep.error(f"{where}: bio longer than 500 chars")
        if m["locale"] not in LOCALES:
            rep.error(f"{where}: locale {m['locale']!r} not in {sorted(LOCALES)}")
        elif m["locale"] == "zh" and not CJK_RE.search(m["bio"]):
            rep.error(f"{where}: zh member's bio is not in Chinese")
        elif m["locale"] != "zh" and CJK_RE.search(m["bio"]):
            rep.error(f"{where}: {m['locale']} member's bio contains Chinese")
    for u, m in by_name.items():
        follows = m["follows"]
        if len(follows) != len(set(follows)):
            rep.error(f"member {u!r}: duplicate entries in follows")
        if not 4 <= len(set(follows)) <= 20:
            rep.error(f"member {u!r}: follows {len(set(follows))} members (want 4-20)")
        for f in follows:
            if f == u:
                rep.error(f"member {u!r}: follows itself")
            elif f not in by_name:
                rep.error(f"member {u!r}: follows unknown member {f!r}")

    n = len(by_name)
    if not 36 <= n <= 44:
        rep.error(f"members: {n} members (want 36-44)")
    locales = collections.Counter(m["locale"] for m in by_name.values())
    if locales["de"] < 6:
        rep.error(f"members: only {locales['de']} German members (want >= 6)")
    if locales["zh"] < 6:
        rep.error(f"members: only {locales['zh']} Chinese members (want >= 6)")
    locked = [u for u, m in by_name.items() if m["locked"]]
    if len(locked) != 2:
        rep.error(f"members: {len(locked)} locked members (want exactly 2): {locked}")
    bots = [u for u, m in by_name.items() if m["bot"]]
    if len(bots) != 1:
        rep.error(f"members: {len(bots)} bots (want exactly 1): {bots}")
    if "demo" not in by_name:
        rep.error("members: no 'demo' member")
    else:
        demo = by_name["demo"]
        if demo["display_name"] != "Demo Member":
            rep.error("members: demo's display name must be 'Demo Member'")
        followers = [u for u, m in by_name.items() if "demo" in m["follows"]]
        if not 12 <= len(demo["follows"]) <= 18:
            rep.error(f"members: demo follows {len(demo['follows'])} (want ~15)")
        if not 8 <= len(followers) <= 12:
            rep.error(f"members: demo has {len(followers)} followers (want ~10)")
    return by_name


def lang_problem(text: str, lang: str) -> str | None:
    body = URL_RE.sub(" ", text)
    body = MENTION_RE.sub(" ", body)
    cjk = len(CJK_RE.findall(body))
    latin = len(LATIN_RE.findall(HASHTAG_RE.sub(" ", body)))
    if lang == "zh":
        if cjk == 0 or cjk < latin / 3:
            return "lang is zh but the text is not mostly Chinese"
        return None
    if cjk > 4:
        return f"lang is {lang} but the text contains Chinese"
    w = words(text)
    de = sum(1 for x in w if x in DE_WORDS) + sum(1 for x in w if re.search("[äöüß]", x))
    en = sum(1 for x in w if x in EN_WORDS)
    if len(w) >= 6:
        if lang == "de" and en > de + 1:
            return f"lang is de but the text looks English (en={en}, de={de})"
        if lang == "en" and de > en + 1:
            return f"lang is en but the text looks German (en={en}, de={de})"
    return None


def check_posts(files: dict[str, list], members: dict[str, dict], rep: Report):
    posts: dict[str, dict] = {}
    file_of: dict[str, str] = {}
    followers = collections.defaultdict(set)
    for u, m in members.items():
        for f in m["follows"]:
            followers[f].add(u)

    for fname, items in files.items():
        if not isinstance(items, list):
            rep.error(f"{fname}: top level must be a list")
            continue
        prefixes = set()
        for i, p in enumerate(items):
            where = f"{fname}[{i}]"
            if not check_fields(p, POST_FIELDS, where, rep):
                continue
            key = p["key"]
            if not KEY_RE.match(key):
                rep.error(f"{where}: key {key!r} should look like 'topic-123'")
            prefixes.add(key.split("-")[0])
            if key in posts:
                rep.error(f"post {key}: duplicate key (in {file_of[key]} and {fname})")
                continue
            posts[key] = p
            file_of[key] = fname
        if len(prefixes) > 1:
            rep.error(f"{fname}: keys use several prefixes {sorted(prefixes)}")

    norm_seen: dict[str, str] = {}
    for key, p in posts.items():
        where = f"post {key}"
        a = p["author"]
        if a not in members:
            rep.error(f"{where}: unknown author {a!r}")
        text = p["text"]
        if not 1 <= len(text) <= 480:
            rep.error(f"{where}: text has {len(text)} chars (want 1-480)")
        if text != text.strip():
            rep.warn(f"{where}: text has leading/trailing whitespace")
        if p["lang"] not in LOCALES:
            rep.error(f"{where}: lang {p['lang']!r} not in {sorted(LOCALES)}")
        else:
            problem = lang_problem(text, p["lang"])
            if problem:
                rep.error(f"{where}: {problem}")
        if re.search(r"lorem ipsum", text, re.I):
            rep.error(f"{where}: placeholder text")
        if EMAIL_RE.search(text):
            rep.error(f"{where}: contains something like an e-mail address")
        if PHONE_RE.search(URL_RE.sub(" ", text)):
            rep.warn(f"{where}: contains something like a phone number: {PHONE_RE.search(text).group(0)!r}")
        h = p["hours_ago"]
        if not 0.2 <= h <= 720:
            rep.error(f"{where}: hours_ago {h} outside 0.2-720")
        vis = p["visibility"]
        if vis not in VISIBILITIES:
            rep.error(f"{where}: visibility {vis!r} not in {VISIBILITIES}")
        mentions = [m.lower() for m in MENTION_RE.findall(text)]
        for m in mentions:
            if m not in members:
                rep.error(f"{where}: mentions unknown member @{m}")
            elif m == a:
                rep.warn(f"{where}: author mentions themselves")
        if vis == "direct" and not any(m in members and m != a for m in mentions):
            rep.error(f"{where}: direct post does not @mention a recipient")
        if vis == "private" and a in members and not followers[a]:
            rep.error(f"{where}: private post by {a!r}, who has no followers")
        for field in ("reply_to", "quote_of"):
            ref = p[field]
            if ref is None:
                continue
            if ref == key:
                rep.error(f"{where}: {field} points at itself")
            elif ref not in posts:
                rep.error(f"{where}: {field} {ref!r} does not exist")
            else:
                target = posts[ref]
                if not h < target["hours_ago"]:
                    rep.error(
                        f"{where}: {field} {ref} but is not later ({h} >= {target['hours_ago']} hours ago)"
                    )
                if field == "quote_of" and target["visibility"] in ("private", "direct"):
                    rep.error(f"{where}: quotes a {target['visibility']} post")
        if p["reply_to"] and p["reply_to"] in posts:
            parent = posts[p["reply_to"]]
            if parent["visibility"] == "direct" and vis != "direct":
                rep.error(f"{where}: reply to a direct post must be direct too")
        for field in ("likes", "reposts"):
            names = p[field]
            if len(names) != len(set(names)):
                rep.error(f"{where}: duplicate entries in {field}")
            for u in names:
                if u not in members:
                    rep.error(f"{where}: {field} by unknown member {u!r}")
                elif u == a:
                    rep.error(f"{where}: author {field[:-1]}s own post")
                elif vis == "private" and u not in followers[a] and u not in mentions:
                    rep.error(f"{where}: {u!r} {field[:-1]}s a private post they cannot see")
                elif vis == "direct" and u not in mentions:
                    rep.error(f"{where}: {u!r} {field[:-1]}s a direct post they cannot see")
        if p["reposts"] and vis in ("private", "direct"):
            rep.error(f"{where}: {vis} post has reposts")
        norm = re.sub(r"\W+", " ", text.lower()).strip()
        if norm in norm_seen:
            rep.error(f"{where}: same text as {norm_seen[norm]}")
        norm_seen.setdefault(norm, key)

    # near-duplicates: word 3-gram Jaccard similarity
    sh = {k: shingles(p["text"]) for k, p in posts.items()}
    keys = [k for k in posts if len(sh[k]) >= 6]
    for i, k1 in enumerate(keys):
        s1 = sh[k1]
        for k2 in keys[i + 1 :]:
            s2 = sh[k2]
            inter = len(s1 & s2)
            if inter and inter / len(s1 | s2) > 0.5:
                rep.error(f"post {k1} and {k2} are near-duplicates")

    return posts, file_of


def thread_sizes(posts: dict[str, dict]) -> dict[str, int]:
    children = collections.defaultdict(list)
    for k, p in posts.items():
        if p["reply_to"] in posts:
            children[p["reply_to"]].append(k)
    sizes = {}
    for k, p in posts.items():
        if p["reply_to"] is None:
            stack, n, seen = [k], 0, set()
            while stack:
                cur = stack.pop()
                if cur in seen:
                    break
                seen.add(cur)
                n += 1
                stack.extend(children[cur])
            sizes[k] = n
    return sizes


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    rep = Report()
    members_raw = load_json(root / "members.json", rep)
    members = check_members(members_raw or [], rep) if members_raw is not None else {}

    post_dir = root / "posts"
    files: dict[str, list] = {}
    for name in EXPECTED_FILES:
        if not (post_dir / name).exists():
            rep.error(f"posts/{name}: missing")
    for path in sorted(post_dir.glob("*.json")):
        data = load_json(path, rep)
        if data is not None:
            files[path.name] = data
    posts, file_of = check_posts(files, members, rep) if members else ({}, {})

    # ---- totals -------------------------------------------------------------
    langs = collections.Counter(p["lang"] for p in posts.values())
    vis = collections.Counter(p["visibility"] for p in posts.values())
    n = len(posts)
    if not 420 <= n <= 520:
        rep.error(f"posts: {n} posts in total (want 420-520)")
    if langs["de"] < 60:
        rep.error(f"posts: only {langs['de']} German posts (want >= 60)")
    if langs["zh"] < 60:
        rep.error(f"posts: only {langs['zh']} Chinese posts (want >= 60)")
    sizes = thread_sizes(posts)
    threads = [k for k, s in sizes.items() if 2 <= s <= 6]
    if len(threads) < 40:
        rep.error(f"posts: only {len(threads)} threads of 2-6 posts (want >= 40)")
    quotes = sum(1 for p in posts.values() if p["quote_of"])
    spoilers = sum(1 for p in posts.values() if p["spoiler_text"])
    if quotes < 10:
        rep.error(f"posts: only {quotes} quotes (want ~15)")
    if spoilers < 5:
        rep.error(f"posts: only {spoilers} posts with a content warning (want ~8)")
    if vis["direct"] < 4:
        rep.error(f"posts: only {vis['direct']} direct posts (want ~6)")
    if n and not vis["public"] / n > 0.75:
        rep.error("posts: fewer than 75% of posts are public")
    authors = collections.Counter(p["author"] for p in posts.values())
    silent = sorted(u for u in members if authors[u] == 0)
    if silent:
        rep.warn(f"members who never post: {silent}")

    # ---- summary ------------------------------------------------------------
    cols = (
        "file",
        "posts",
        "en",
        "de",
        "zh",
        "replies",
        "quotes",
        "CW",
        "unl",
        "priv",
        "dm",
        "likes",
        "reposts",
    )
    rows = []
    for fname in sorted(files):
        ps = [p for k, p in posts.items() if file_of[k] == fname]
        rows.append(summary_row(fname, ps))
    rows.append(summary_row("TOTAL", list(posts.values())))
    widths = [max(len(str(r[i])) for r in [*rows, cols]) for i in range(len(cols))]

    def fmt(row) -> str:
        cells = zip(row, widths, strict=True)
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(cells))

    line = fmt(cols)
    print(line)
    print("-" * len(line))
    for r in rows:
        if r[0] == "TOTAL":
            print("-" * len(line))
        print(fmt(r))
    print()
    mloc = collections.Counter(m["locale"] for m in members.values())
    demo_followers = sum(1 for m in members.values() if "demo" in m["follows"])
    n_locked = sum(m["locked"] for m in members.values())
    n_bots = sum(m["bot"] for m in members.values())
    print(
        f"members: {len(members)} (en {mloc['en']}, de {mloc['de']}, zh {mloc['zh']}); "
        f"locked {n_locked}, bots {n_bots}; "
        f"follow edges {sum(len(m['follows']) for m in members.values())}; "
        f"demo follows {len(members.get('demo', {}).get('follows', []))}, "
        f"followed by {demo_followers}"
    )
    top_followed = collections.Counter(f for m in members.values() for f in m["follows"]).most_common(5)
    print("most followed: " + ", ".join(f"{u} ({c})" for u, c in top_followed))
    print(
        f"threads: {len(threads)} of 2-6 posts, {sum(1 for s in sizes.values() if s > 6)} longer, "
        f"longest {max(sizes.values(), default=0)}; quotes {quotes}; content warnings {spoilers}"
    )
    print("visibility: " + ", ".join(f"{v} {vis[v]} ({100 * vis[v] / max(n, 1):.1f}%)" for v in VISIBILITIES))
    tags = collections.Counter(t.lower() for p in posts.values() for t in HASHTAG_RE.findall(p["text"]))
    print("top hashtags: " + ", ".join(f"#{t} ({c})" for t, c in tags.most_common(15)))
    hours = sorted(p["hours_ago"] for p in posts.values())
    if hours:
        print(
            f"time span: {hours[0]:.1f} to {hours[-1]:.1f} hours ago; most active: "
            + ", ".join(f"{u} ({c})" for u, c in authors.most_common(5))
        )

    for w in rep.warnings:
        print(f"warning: {w}")
    if rep.errors:
        print()
        for e in rep.errors:
            print(f"ERROR: {e}")
        print(f"\n{len(rep.errors)} problem(s) found.")
        return 1
    print("\nOK: no problems found.")
    return 0


def summary_row(name: str, ps: list[dict]):
    lang = collections.Counter(p["lang"] for p in ps)
    vis = collections.Counter(p["visibility"] for p in ps)
    return (
        name,
        len(ps),
        lang["en"],
        lang["de"],
        lang["zh"],
        sum(1 for p in ps if p["reply_to"]),
        sum(1 for p in ps if p["quote_of"]),
        sum(1 for p in ps if p["spoiler_text"]),
        vis["unlisted"],
        vis["private"],
        vis["direct"],
        sum(len(p["likes"]) for p in ps),
        sum(len(p["reposts"]) for p in ps),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Trends: which hashtags and posts trend, who counts, who sees them, and the Mastodon API over them.

Rows are made through the real services at chosen moments (`clock_at`), and rankings are asked for
at a chosen `now`, so nothing sleeps and the day boundaries are fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from agora.kit.runtime import Runtime
from agora.kit.time import clock_at
from agora.models import Account
from agora.search import trends
from agora.social import graph, interactions, statuses
from agora.social.statuses import Draft

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # mid-afternoon, so "today" has hours behind it
LOOSE = trends.with_overrides(cache_seconds=0, tag_min_accounts=3, status_min_engagements=3)


@pytest.fixture(autouse=True)
def fresh_cache():
    trends.clear_cache()
    yield
    trends.clear_cache()


async def members(runtime: Runtime, prefix: str, count: int, **fields) -> list[int]:
    """Members straight into the database: trends need many, and none of them signs in."""
    async with runtime.db.transaction() as session:
        rows = [Account(username=f"{prefix}{i}", username_key=f"{prefix}{i}", **fields) for i in range(count)]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def posts(runtime: Runtime, items: list[tuple[int, str, datetime]], **draft) -> list[int]:
    """(author id, text, when) each posted through the real service at that moment."""
    ids = []
    async with runtime.db.transaction() as session:
        for author_id, text, moment in items:
            with clock_at(moment):
                author = await session.get(Account, author_id)
                status = await statuses.create(session, author=author, draft=Draft(text=text, **draft),
                                               settings=runtime.settings)
            ids.append(status.id)
    return ids


async def favourites(runtime: Runtime, status_id: int, fans: list[int], moment: datetime) -> None:
    async with runtime.db.transaction() as session:
        for i, fan in enumerate(fans):
            with clock_at(moment + timedelta(seconds=i)):
                await interactions.favourite(session, account=await session.get(Account, fan), status_id=status_id)


async def tag_names(runtime: Runtime, config: trends.TrendConfig = LOOSE, now: datetime = NOW) -> list[str]:
    async with runtime.db.transaction(write=False) as session:
        return [t.name for t in await trends.trending_tags(session, limit=20, now=now, config=config)]


async def trending(runtime: Runtime, viewer_id: int | None = None, now: datetime = NOW,
                   config: trends.TrendConfig = LOOSE) -> list[int]:
    async with runtime.db.transaction(write=False) as session:
        return await trends.trending_status_ids(session, viewer_id=viewer_id, limit=40, now=now, config=config)


# --- tags -------------------------------------------------------------------------------------

async def test_a_sudden_tag_trends_above_a_steady_one(runtime) -> None:
    people = await members(runtime, "p", 8)
    today = NOW - timedelta(hours=2)
    items = [(who, "breaking! #Eclipse", today + timedelta(minutes=i)) for i, who in enumerate(people)]
    for day in range(1, 9):  # #garden: five people every day, eight today (a little above usual)
        items += [(who, "my #garden", NOW - timedelta(days=day, minutes=i)) for i, who in enumerate(people[:5])]
    items += [(who, "my #garden", today + timedelta(minutes=i)) for i, who in enumerate(people)]
    for day in range(0, 9):  # #coffee: four people every day, today too: usual, so not trending
        items += [(who, "#coffee time", NOW - timedelta(days=day, hours=3, minutes=i))
                  for i, who in enumerate(people[:4])]
    await posts(runtime, items)

    assert await tag_names(runtime) == ["Eclipse", "garden"]

    async with runtime.db.transaction(write=False) as session:
        eclipse = (await trends.trending_tags(session, limit=1, now=NOW, config=LOOSE))[0]
    assert len(eclipse.history) == 7
    assert eclipse.history[0].day == datetime(2026, 3, 10, tzinfo=UTC)  # newest first: today
    assert (eclipse.history[0].accounts, eclipse.history[0].uses) == (8, 8)
    assert all(h.accounts == 0 for h in eclipse.history[1:])
    assert [h.day for h in eclipse.history] == [datetime(2026, 3, 10 - i, tzinfo=UTC) for i in range(7)]


async def test_a_trend_fades_after_its_peak(runtime) -> None:
    people = await members(runtime, "p", 6)
    await posts(runtime, [(who, "#flash", NOW - timedelta(hours=1, minutes=i)) for i, who in enumerate(people)])
    assert await tag_names(runtime) == ["flash"]
    # Still trending the next morning (Mastodon's peak survives midnight), gone two days on.
    assert await tag_names(runtime, now=NOW + timedelta(hours=12)) == ["flash"]
    # Halving every 4 hours from its peak, it has faded by the same time next day.
    assert await tag_names(runtime, now=NOW + timedelta(hours=23)) == []
    assert await tag_names(runtime, now=NOW + timedelta(days=2)) == []
    # And nothing is known before it happened.
    assert await tag_names(runtime, now=NOW - timedelta(hours=3)) == []


async def test_one_member_repeating_a_tag_does_not_make_it_trend(runtime) -> None:
    [loud] = await members(runtime, "loud", 1)
    others = await members(runtime, "p", 3)
    items = [(loud, f"#buynow number {i}", NOW - timedelta(minutes=i)) for i in range(30)]
    items += [(who, "#picnic today", NOW - timedelta(minutes=5 + i)) for i, who in enumerate(others)]
    await posts(runtime, items)

    assert await tag_names(runtime) == ["picnic"]


async def test_only_public_posts_by_discoverable_visible_members_count(runtime) -> None:
    shown = await members(runtime, "shown", 3)
    hidden_away = await members(runtime, "optout", 2, discoverable=False)
    suspended = await members(runtime, "gone", 1, suspended=True)
    private = await members(runtime, "priv", 2)
    when = NOW - timedelta(hours=1)
    await posts(runtime, [(who, "#secretplan", when) for who in shown + hidden_away + suspended])
    await posts(runtime, [(private[0], "#secretplan", when)], visibility="private")
    await posts(runtime, [(private[1], "#secretplan", when)], visibility="direct")
    await posts(runtime, [(private[1], "#secretplan again", when)], visibility="unlisted")

    strict = trends.with_overrides(LOOSE, tag_min_accounts=4)
    assert await tag_names(runtime, config=strict) == []  # 9 people used it, but only 3 count
    async with runtime.db.transaction(write=False) as session:
        [found] = await trends.trending_tags(session, limit=5, now=NOW, config=LOOSE)
        histories = await trends.tag_histories(session, [found.id], now=NOW)
    assert (found.name, found.history[0].accounts, found.history[0].uses) == ("secretplan", 3, 3)
    assert histories[found.id] == found.history


# --- statuses ---------------------------------------------------------------------------------

async def test_recent_engagement_ranks_above_the_same_engagement_earlier(runtime) -> None:
    authors = await members(runtime, "a", 2)
    fans = await members(runtime, "fan", 4)
    # `busy_earlier` is the newer post, so a tie (no decay) would put it first.
    busy_now, busy_earlier = await posts(runtime, [(authors[0], "first", NOW - timedelta(hours=40)),
                                                   (authors[1], "second", NOW - timedelta(hours=39))])
    await favourites(runtime, busy_earlier, fans, NOW - timedelta(hours=30))
    await favourites(runtime, busy_now, fans, NOW - timedelta(hours=1))

    assert await trending(runtime) == [busy_now, busy_earlier]
    # Out of the window (72 hours by default) nothing trends any more.
    assert await trending(runtime, now=NOW + timedelta(days=3)) == []


async def test_what_cannot_trend_does_not(runtime) -> None:
    [author] = await members(runtime, "a", 1)
    [shy] = await members(runtime, "shy", 1, discoverable=False)
    fans = await members(runtime, "fan", 5)
    when = NOW - timedelta(hours=5)
    [plain, reply_target] = await posts(runtime, [(author, "plain", when), (author, "thread", when)])
    [warned] = await posts(runtime, [(author, "spoilers", when)], spoiler_text="film plot")
    [sensitive] = await posts(runtime, [(author, "nsfw", when)], sensitive=True)
    [unlisted] = await posts(runtime, [(author, "quiet", when)], visibility="unlisted")
    [opted_out] = await posts(runtime, [(shy, "not for trends", when)])
    [reply] = await posts(runtime, [(fans[0], "a reply", when)], in_reply_to_id=reply_target)
    for status_id in (plain, warned, sensitive, unlisted, opted_out, reply):
        await favourites(runtime, status_id, fans, when + timedelta(hours=1))
    # Only two favourites for this one: under the threshold of three.
    [scant] = await posts(runtime, [(author, "scant", when)])
    await favourites(runtime, scant, fans[:2], when + timedelta(hours=1))
    # Three favourites, but one is the author's own: praise from yourself is not a trend.
    [selfish] = await posts(runtime, [(author, "me me me", when)])
    await favourites(runtime, selfish, [author, *fans[:2]], when + timedelta(hours=1))

    # `thread` trends too, on replies: one reply from someone else is one act, below the threshold.
    assert await trending(runtime) == [plain]


async def test_one_author_fills_at_most_two_places(runtime) -> None:
    [prolific, other] = await members(runtime, "a", 2)
    fans = await members(runtime, "fan", 5)
    mine = await posts(runtime, [(prolific, f"post {i}", NOW - timedelta(hours=3, minutes=i)) for i in range(4)])
    [theirs] = await posts(runtime, [(other, "other", NOW - timedelta(hours=3))])
    for status_id in mine:
        await favourites(runtime, status_id, fans, NOW - timedelta(hours=1))
    await favourites(runtime, theirs, fans[:3], NOW - timedelta(hours=1))

    ranked = await trending(runtime)
    assert len([s for s in ranked if s in mine]) == 2
    assert theirs in ranked


async def test_blocks_and_mutes_hide_trending_posts_from_that_viewer(runtime) -> None:
    [viewer, blocked, muted, blocker, fine] = await members(runtime, "m", 5)
    fans = await members(runtime, "fan", 4)
    ids = await posts(runtime, [(who, f"hello from {who}", NOW - timedelta(hours=2))
                                for who in (blocked, muted, blocker, fine)])
    for status_id in ids:
        await favourites(runtime, status_id, fans, NOW - timedelta(hours=1))
    async with runtime.db.transaction() as session:
        me = await session.get(Account, viewer)
        await graph.block(session, blocker=me, target_id=blocked)
        await graph.mute(session, muter=me, target_id=muted)
        await graph.block(session, blocker=await session.get(Account, blocker), target_id=viewer)

    assert set(await trending(runtime)) == set(ids)  # signed out: everything
    assert await trending(runtime, viewer_id=viewer) == [ids[3]]


# --- the API ----------------------------------------------------------------------------------

async def _trending_now(runtime: Runtime) -> tuple[list[int], list[int]]:
    """Two tags and two posts trending at the real present (the API cannot be given a `now`)."""
    now = datetime.now(UTC)
    people = await members(runtime, "p", 4)
    fans = await members(runtime, "fan", 4)
    await posts(runtime, [(who, "#alpha #beta", now - timedelta(seconds=30 + i)) for i, who in enumerate(people)])
    await posts(runtime, [(who, "#alpha", now - timedelta(seconds=10 + i)) for i, who in enumerate(fans[:2])])
    ids = await posts(runtime, [(people[0], "busy", now - timedelta(minutes=20)),
                                (people[1], "busier", now - timedelta(minutes=20))])
    await favourites(runtime, ids[0], fans[:3], now - timedelta(minutes=10))
    await favourites(runtime, ids[1], fans, now - timedelta(minutes=10))
    return people, [ids[1], ids[0]]


async def test_the_trends_api_speaks_mastodon(runtime, client: httpx.AsyncClient, alice) -> None:
    _, posts_ranked = await _trending_now(runtime)

    tags = await client.get("/api/v1/trends/tags")
    assert tags.status_code == 200
    assert [t["name"] for t in tags.json()] == ["alpha", "beta"]  # 6 people vs 4
    first = tags.json()[0]
    assert first["url"].endswith("/tags/alpha") and "following" not in first
    assert len(first["history"]) == 7
    assert all(isinstance(v, str) for day in first["history"] for v in day.values())
    # Today's figures (or yesterday's, when this runs in the first minute after midnight UTC).
    assert sum(int(day["accounts"]) for day in first["history"][:2]) == 6
    assert sum(int(day["uses"]) for day in first["history"]) == 6
    assert int(first["history"][0]["day"]) % 86400 == 0
    assert (await client.get("/api/v1/trends")).json() == tags.json()  # Mastodon's older name
    signed_in = (await client.get("/api/v1/trends/tags", headers=alice.headers)).json()
    assert signed_in[0]["following"] is False

    found = await client.get("/api/v1/trends/statuses")
    assert found.status_code == 200
    assert [s["id"] for s in found.json()] == [str(i) for i in posts_ranked]
    assert found.json()[0]["favourites_count"] == 4
    assert (await client.get("/api/v1/trends/links")).json() == []


async def test_trends_pages_by_offset(runtime, client: httpx.AsyncClient) -> None:
    _, posts_ranked = await _trending_now(runtime)

    page = await client.get("/api/v1/trends/tags", params={"limit": 1})
    assert [t["name"] for t in page.json()] == ["alpha"]
    assert 'offset=1' in page.headers["Link"] and 'rel="next"' in page.headers["Link"]
    second = await client.get("/api/v1/trends/tags", params={"limit": 1, "offset": 1})
    assert [t["name"] for t in second.json()] == ["beta"]
    assert (await client.get("/api/v1/trends/tags", params={"offset": 2})).json() == []
    assert len((await client.get("/api/v1/trends/tags", params={"limit": 1000})).json()) == 2  # clamped, fine
    statuses_page = await client.get("/api/v1/trends/statuses", params={"limit": 1, "offset": 1})
    assert [s["id"] for s in statuses_page.json()] == [str(posts_ranked[1])]


@pytest.mark.parametrize("path", ["/api/v1/trends/tags", "/api/v1/trends/statuses", "/api/v1/trends"])
@pytest.mark.parametrize("params", [{"limit": "ten"}, {"offset": "-1"}, {"offset": "x"}, {"limit": "9" * 5000},
                                    {"offset": "100001"}, {"limit": "1.5"}])
async def test_bad_paging_is_a_clear_422(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422
    assert ("limit" in response.json()["error"]) or ("offset" in response.json()["error"])


async def test_the_list_is_cached_for_a_minute_and_can_be_cleared(runtime, client: httpx.AsyncClient) -> None:
    await _trending_now(runtime)
    before = [t["name"] for t in (await client.get("/api/v1/trends/tags")).json()]
    late = await members(runtime, "late", 5)
    await posts(runtime, [(who, "#gamma", datetime.now(UTC)) for who in late])

    assert [t["name"] for t in (await client.get("/api/v1/trends/tags")).json()] == before  # from the cache
    trends.clear_cache()
    assert "gamma" in [t["name"] for t in (await client.get("/api/v1/trends/tags")).json()]

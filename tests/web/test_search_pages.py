"""The search page, the trends panel and Home's For you / Following switch, over the in-process client
(SQLite, and PostgreSQL when configured). What a member sees: the results, the tabs, a refused query's
message, what never shows to them, and the trends."""

from __future__ import annotations

import re

import httpx
import pytest

from agora.search import for_you, trends
from tests.factories import Member, make_member, post
from tests.web.pages import signed_in


@pytest.fixture(autouse=True)
def fresh_trends():
    """Trend rankings and For you rankings are kept per process: each test starts with none."""
    trends.clear_cache()
    for_you.clear_snapshots()
    yield
    trends.clear_cache()
    for_you.clear_snapshots()


def result_ids(html: str) -> list[str]:
    """The post cards on a page, in order."""
    return re.findall(r'<article class="post[^"]*" id="post-(\d+)"', html)


def current_tab(html: str, label: str) -> bool:
    return re.search(rf'aria-current="page">{re.escape(label)}</a>', html) is not None


async def test_a_keyword_and_a_chinese_query_find_their_posts(client: httpx.AsyncClient, alice: Member,
                                                             bob: Member) -> None:
    tomato = await post(client, alice, "Tomatoes are ripening early this year")
    park = await post(client, alice, "我们今天去公园散步了", language="zh")
    await post(client, alice, "Nothing about vegetables here")
    await signed_in(client, bob)

    page = await client.get("/search", params={"q": "tomatoes"})
    assert page.status_code == 200
    assert result_ids(page.text) == [tomato["id"]]
    assert "Tomatoes are ripening early this year" in page.text
    assert 'value="tomatoes"' in page.text  # the box keeps the query
    assert current_tab(page.text, "Top")

    chinese = await client.get("/search", params={"q": "公园"})
    assert chinese.status_code == 200 and result_ids(chinese.text) == [park["id"]]

    nothing = await client.get("/search", params={"q": "zucchini"})
    assert nothing.status_code == 200 and result_ids(nothing.text) == []
    assert "No posts match “zucchini”." in nothing.text


async def test_a_private_post_never_shows_to_someone_who_may_not_see_it(client: httpx.AsyncClient, runtime,
                                                                         alice: Member, bob: Member) -> None:
    secret = await post(client, alice, "secret allotment plans", visibility="private")
    public = await post(client, alice, "public allotment news")
    await post(client, alice, "direct allotment gossip @bob", visibility="direct")
    await signed_in(client, bob)
    for tab in ("top", "latest"):
        page = await client.get("/search", params={"q": "allotment", "type": tab})
        assert page.status_code == 200
        assert public["id"] in result_ids(page.text) and secret["id"] not in result_ids(page.text)
        assert "secret allotment plans" not in page.text
    client.cookies.clear()  # signed out: the same
    visitor = await client.get("/search", params={"q": "allotment"})
    assert visitor.status_code == 200 and "secret allotment plans" not in visitor.text
    assert "allotment gossip" not in visitor.text
    # Its author finds it.
    await signed_in(client, alice)
    own = await client.get("/search", params={"q": "allotment", "type": "latest"})
    assert secret["id"] in result_ids(own.text)


@pytest.mark.parametrize("q, says", [
    ("since:2026-13-45", "since:2026-13-45 is not a date on the calendar"),
    ("until:yesterday tomatoes", "until: takes a date written YYYY-MM-DD"),
    ("lang:!!", "lang: takes a language code"),
    ("x" * 600, "The search is too long"),
])
async def test_a_malformed_query_says_what_is_wrong_on_the_page(client: httpx.AsyncClient, alice: Member,
                                                                q: str, says: str) -> None:
    await signed_in(client, alice)
    # The syntax is for posts; People and Tags read the box as a name, but a search too long is refused by all.
    tabs = ("top", "latest", "people", "tags") if len(q) > 512 else ("top", "latest")
    for tab in tabs:
        page = await client.get("/search", params={"q": q, "type": tab}, headers={"Accept": "text/html"})
        assert page.status_code == 422, (tab, page.text[:300])
        assert page.headers["content-type"].startswith("text/html")
        assert 'aria-invalid="true"' in page.text and says in page.text  # beside the box, not an error page
        assert 'id="search-q"' in page.text


async def test_injection_attempts_are_words_not_syntax(client: httpx.AsyncClient, alice: Member) -> None:
    await post(client, alice, "near the garden gate")
    for q in ['NEAR(garden gate)', '") OR ("', "text:* OR 1=1; --", "garden'--", "<script>alert(1)</script>"]:
        page = await client.get("/search", params={"q": q})
        assert page.status_code == 200, (q, page.text[:300])
        assert "<script>alert(1)</script>" not in page.text  # escaped wherever it is shown


async def test_bad_paging_is_a_clear_refusal(client: httpx.AsyncClient) -> None:
    page = await client.get("/search", params={"q": "x", "offset": "lots"}, headers={"Accept": "text/html"})
    assert page.status_code == 422 and "offset must be a whole number" in page.text


async def test_tabs_switch_between_posts_people_and_tags(client: httpx.AsyncClient, runtime, alice: Member,
                                                         bob: Member) -> None:
    grower = await make_member(runtime, "beansgrower")
    tagged = await post(client, grower, "Planted beans today #beanstalk")
    await signed_in(client, bob)

    top = await client.get("/search", params={"q": "beans"})
    assert current_tab(top.text, "Top") and tagged["id"] in result_ids(top.text)
    assert "@beansgrower" in top.text and "View all people" in top.text  # a few people above the posts
    assert 'href="/search?q=beans&amp;type=people"' in top.text

    people = await client.get("/search", params={"q": "beans", "type": "people"})
    assert current_tab(people.text, "People")
    assert 'id="account-' + grower.id + '"' in people.text and result_ids(people.text) == []
    assert "Follow" in people.text  # each with its follow button
    assert 'name="type" value="people"' in people.text  # a new search stays on People

    tags = await client.get("/search", params={"q": "#bean", "type": "tags"})
    assert current_tab(tags.text, "Tags") and 'href="/tags/beanstalk"' in tags.text
    assert "1 post in the last 7 days" in tags.text

    latest = await client.get("/search", params={"q": "beans", "type": "latest"})
    assert current_tab(latest.text, "Latest") and result_ids(latest.text) == [tagged["id"]]

    nobody = await client.get("/search", params={"q": "zzzz", "type": "people"})
    assert "No one matches “zzzz”." in nobody.text


async def test_results_page_on_as_the_page_scrolls(client: httpx.AsyncClient, alice: Member) -> None:
    made = [await post(client, alice, f"compost heap report number {i}") for i in range(23)]
    first = await client.get("/search", params={"q": "compost", "type": "latest"})
    shown = result_ids(first.text)
    assert shown == [p["id"] for p in reversed(made)][:20]
    more = re.search(r'class="more" href="([^"]+)"', first.text)
    assert more, "a full page links to the next"
    rest = await client.get(more.group(1).replace("&amp;", "&"), headers={"X-Agora-Fragment": "list"})
    assert rest.status_code == 200 and "<html" not in rest.text  # only the cards, for infinite scroll
    assert result_ids(rest.text) == [p["id"] for p in reversed(made)][20:]
    assert 'class="more"' not in rest.text  # the last page


async def _trend_tag(client: httpx.AsyncClient, runtime, tag: str, people: int = 4) -> None:
    """Several members use a tag never used before: today it is far above its usual rate."""
    for i in range(people):
        author = await make_member(runtime, f"{tag.lower()}{i}")
        await post(client, author, f"Look up! #{tag}")


async def test_the_trends_panel_shows_a_trending_tag(client: httpx.AsyncClient, runtime, alice: Member) -> None:
    await _trend_tag(client, runtime, "Eclipse")
    await post(client, alice, "just me and my #knitting")  # one voice does not trend
    visitor = await client.get("/search")
    assert visitor.status_code == 200
    assert 'href="/tags/Eclipse"' in visitor.text and "4 posts in the last 7 days" in visitor.text
    assert "knitting" not in visitor.text
    assert "Search syntax" in visitor.text and "from:" in visitor.text and "lang:de" in visitor.text

    results = await client.get("/search", params={"q": "oven"})  # beside results: in the side column
    assert 'class="trends trends-side"' in results.text and 'href="/tags/Eclipse"' in results.text
    explore = await client.get("/explore")
    assert 'class="trends trends-side"' in explore.text and 'href="/tags/Eclipse"' in explore.text
    await signed_in(client, alice)
    home = await client.get("/home")
    assert 'class="trends trends-side"' in home.text and 'href="/tags/Eclipse"' in home.text
    assert "search.css" in home.text
    # Infinite scroll asks for cards only: no panel there.
    piece = await client.get("/explore", headers={"X-Agora-Fragment": "list"})
    assert "trends" not in piece.text


async def test_trending_posts_show_and_respect_blocks(client: httpx.AsyncClient, runtime, alice: Member,
                                                      bob: Member) -> None:
    popular = await post(client, alice, "The first snowdrops are out")
    for i in range(3):
        fan = await make_member(runtime, f"fan{i}")
        liked = await client.post(f"/api/v1/statuses/{popular['id']}/favourite", headers=fan.headers)
        assert liked.status_code == 200
    await signed_in(client, bob)
    page = await client.get("/search")
    assert popular["id"] in result_ids(page.text)
    blocked = await client.post(f"/api/v1/accounts/{alice.id}/block", headers=bob.headers)
    assert blocked.status_code == 200
    after = await client.get("/search")
    assert popular["id"] not in result_ids(after.text) and "snowdrops" not in after.text


async def test_home_switches_between_following_and_for_you_and_remembers(client: httpx.AsyncClient, runtime,
                                                                         alice: Member, bob: Member) -> None:
    followed = await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    assert followed.status_code == 200
    mine = await post(client, alice, "Morning walk by the river")
    await signed_in(client, bob)

    home = await client.get("/home")
    assert home.status_code == 200 and current_tab(home.text, "Following")
    assert mine["id"] in result_ids(home.text) and 'id="new-posts"' in home.text

    for_you = await client.get("/home", params={"feed": "for_you"})
    assert for_you.status_code == 200 and current_tab(for_you.text, "For you")
    assert 'data-timeline="for_you"' in for_you.text and 'id="new-posts"' not in for_you.text
    assert mine["id"] in result_ids(for_you.text)  # a post by someone bob follows, ranked in
    # Remembered: the Home link opens For you again.
    again = await client.get("/home")
    assert current_tab(again.text, "For you")
    back = await client.get("/home", params={"feed": "following"})
    assert current_tab(back.text, "Following")
    assert current_tab((await client.get("/home")).text, "Following")


async def test_for_you_pages_on_without_repeating_a_post(client: httpx.AsyncClient, alice: Member,
                                                         bob: Member) -> None:
    assert (await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)).status_code == 200
    made = {(await post(client, alice, f"Seedling diary, day {i}"))["id"] for i in range(25)}
    await signed_in(client, bob)
    first = await client.get("/home", params={"feed": "for_you", "limit": "20"})
    shown = result_ids(first.text)
    more = re.search(r'class="more" href="([^"]+)"', first.text)
    assert len(shown) == 20 and more and "max_id=" in more.group(1)
    rest = await client.get(more.group(1).replace("&amp;", "&"), headers={"X-Agora-Fragment": "list"})
    assert rest.status_code == 200 and "<html" not in rest.text
    assert set(shown) | set(result_ids(rest.text)) == made and not set(shown) & set(result_ids(rest.text))

"""/assistant in the browser, over the in-process client: ask with and without JavaScript (a form
post, and the event stream assistant.js reads), explain a post, summarise a thread, the operator's
kill switch, CSRF. Real services and the real MiniLM model, as in tests/ai/test_assistant.py."""

from __future__ import annotations

import json
import re

import httpx
from sqlalchemy import select, update

from agora.config import Settings
from agora.kit.runtime import Runtime
from agora.models import Account, AiAudit
from agora.search.embedder import embed_missing
from tests.chat.helpers import follow
from tests.conftest import app_client
from tests.factories import Member, post
from tests.web.pages import csrf_of, form_post, signed_in

RAMEN = "When did the ramen place on Mill Lane open?"
OPENED = "The ramen place on Mill Lane opened on Thursday, the queue went round the block."
SECRET = "The ramen place on Mill Lane opened on Thursday, said my cousin ZEBRAQUARTZ who owns it."
_ARTICLE = re.compile(r'<article class="answer[^"]*">.*?</article>', re.DOTALL)


def chips(html: str) -> list[str]:
    """The cited posts' addresses, in citation order."""
    return re.findall(r'class="cite-chip" href="([^"]+)"', html)


def events(body: str) -> list[tuple[str, dict]]:
    found = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((lines["event"], json.loads(lines["data"])))
    return found


async def ramen_posts(client: httpx.AsyncClient, runtime: Runtime, alice: Member, carol: Member) -> tuple[str, str]:
    """Alice's public answer, and Carol's followers-only one that Bob (not a follower) may not see."""
    public = await post(client, alice, OPENED)
    private = await post(client, carol, SECRET, visibility="private")
    await embed_missing(runtime.db)
    return public["id"], private["id"]


async def test_anonymous_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/assistant")
    assert page.status_code == 303 and page.headers["location"] == "/auth/sign_in?next=%2Fassistant"


async def test_asking_without_javascript_shows_a_labelled_cited_answer(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member, carol: Member) -> None:
    public, private = await ramen_posts(client, runtime, alice, carol)
    await signed_in(client, bob)
    empty = await client.get("/assistant")
    assert empty.status_code == 200 and 'id="assistant-q"' in empty.text and 'aria-live="polite"' in empty.text
    assert 'href="/assistant"' in empty.text  # the navigation's link

    page = await form_post(client, "/assistant", "/assistant", {"q": RAMEN})
    assert page.status_code == 200, page.text[:500]
    answer = _ARTICLE.search(page.text)
    assert answer, "no answer on the page"
    shown = answer.group(0)
    assert "AI-generated" in shown and "Extractive: quotes members" in shown and 'href="/ai/model"' in shown
    assert "opened on Thursday" in shown
    assert chips(shown) == [f"/@alice/{public}"]  # the post Bob can see; never Carol's followers-only one
    assert "ZEBRAQUARTZ" not in page.text and private not in page.text
    assert f'<a class="cite-ref" href="/@alice/{public}"' in shown  # the [1] in the text opens the post too
    assert RAMEN in page.text  # the question stays in the box

    opened = await client.get(chips(shown)[0])  # the chip's address is the post's page
    assert opened.status_code == 200 and "queue went round the block" in opened.text


async def test_the_stream_sends_the_same_answer_word_by_word(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member, carol: Member) -> None:
    public, _ = await ramen_posts(client, runtime, alice, carol)
    await signed_in(client, bob)
    no_script = await form_post(client, "/assistant", "/assistant", {"q": RAMEN})
    page = await client.get("/assistant")
    streamed = await client.post("/assistant/ask", data={"q": RAMEN},
                                 headers={"X-CSRF-Token": csrf_of(page.text), "HX-Request": "true"})
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    sent = events(streamed.text)
    assert sent[0][0] == "start" and sent[0][1]["mode"] == "extractive" and "AI-generated" in sent[0][1]["html"]
    tokens = [data["text"] for name, data in sent if name == "token"]
    assert len(tokens) > 5  # word by word, not all at once
    assert sent[-1][0] == "done"
    done = sent[-1][1]
    assert done["citations"] == [int(public)]
    # The pieces join to the answer, and the finished piece is exactly what the no-script page shows.
    text = "".join(tokens)
    assert text == f"@alice wrote: “{OPENED}” [1]"
    answer = _ARTICLE.search(no_script.text)
    assert answer and done["html"].strip() == answer.group(0).strip()

    async with runtime.db.transaction(write=False) as session:
        rows = list(await session.scalars(select(AiAudit).where(AiAudit.asker_id == int(bob.id))))
    assert [(r.surface, r.question) for r in rows] == [("web", RAMEN), ("web", RAMEN)]
    assert rows[0].sources["cited"] == [int(public)] and rows[0].output == text


async def test_a_refusal_is_shown_as_one(client: httpx.AsyncClient, bob: Member) -> None:
    await signed_in(client, bob)
    page = await form_post(client, "/assistant", "/assistant", {"q": "How can I launder money through a small shop?"})
    assert page.status_code == 200
    assert "Refused" in page.text and "The assistant declined this request." in page.text
    assert chips(page.text) == []


async def test_an_empty_question_is_refused_beside_the_box(client: httpx.AsyncClient, bob: Member) -> None:
    await signed_in(client, bob)
    page = await form_post(client, "/assistant", "/assistant", {"q": "   "})
    assert page.status_code == 422
    assert 'id="assistant-q-error"' in page.text and "The question is empty." in page.text


async def test_explain_cites_the_post_and_only_posts_the_viewer_may_see(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member, carol: Member) -> None:
    public, private = await ramen_posts(client, runtime, alice, carol)
    reply = await post(client, carol, "@alice Their miso broth is the best on Mill Lane, try the ramen.",
                       in_reply_to_id=public)
    await embed_missing(runtime.db)
    await signed_in(client, bob)
    thread = await client.get(f"/@alice/{public}")
    assert f'href="/assistant?explain={public}"' in thread.text and "Ask the assistant" in thread.text

    page = await client.get(f"/assistant?explain={public}")
    assert page.status_code == 200 and "Explain this post" in page.text and "data-autostart" in page.text
    answered = await form_post(client, f"/assistant?explain={public}", "/assistant", {"explain": public})
    assert answered.status_code == 200
    cited = chips(answered.text)
    assert cited[0] == f"/@alice/{public}"  # the post itself is source [1]
    assert f"/@carol/{reply['id']}" in cited  # and the reply that talks about it
    assert f"/@carol/{private}" not in cited and "ZEBRAQUARTZ" not in answered.text

    # Carol's followers-only post: Bob may not see it, so there is nothing to explain (not even a 403).
    assert (await client.get(f"/assistant?explain={private}")).status_code == 404
    hidden = await form_post(client, "/assistant", "/assistant/ask", {"explain": private})
    assert hidden.status_code == 404
    assert (await client.get("/assistant?explain=not-an-id")).status_code == 404
    # A follower may.
    await follow(client, bob, carol)
    assert (await client.get(f"/assistant?explain={private}")).status_code == 200


async def test_summarise_cites_the_posts_of_the_thread_with_its_counts(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member, carol: Member) -> None:
    opener = await post(client, alice, "Which bus goes from the station to the Old Wharf on a Friday evening?")
    first = await post(client, carol, "@alice Number 7 from stand C, every 12 minutes, nine minutes ride.",
                       in_reply_to_id=opener["id"])
    second = await post(client, bob, "@carol The number 7 bus also stops at the market on the way to the wharf.",
                        in_reply_to_id=first["id"])
    elsewhere = await post(client, carol, "The number 7 bus to the Old Wharf was late again today.")
    await embed_missing(runtime.db)
    await signed_in(client, bob)
    thread = await client.get(f"/@alice/{opener['id']}")
    assert f'href="/assistant?thread={opener["id"]}"' in thread.text and "Summarise this thread" in thread.text

    page = await form_post(client, f"/assistant?thread={opener['id']}", "/assistant", {"thread": opener["id"]})
    assert page.status_code == 200
    assert "2 replies from 2 members" in page.text
    cited = chips(page.text)
    assert cited[0] == f"/@alice/{opener['id']}"
    assert set(cited) <= {f"/@alice/{opener['id']}", f"/@carol/{first['id']}", f"/@bob/{second['id']}"}
    assert f"/@carol/{first['id']}" in cited and f"/@carol/{elsewhere['id']}" not in cited
    assert "Number 7 from stand C" in page.text


async def test_direct_messages_and_members_who_opted_out_are_not_read(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member, carol: Member) -> None:
    opener = await post(client, alice, "The ramen place on Mill Lane opens a second kitchen next month.")
    reply = await post(client, carol, "@alice Their second kitchen will do gyoza and late-night miso ramen.",
                       in_reply_to_id=opener["id"])
    dm = await post(client, alice, "@bob the ramen place on Mill Lane is my cousin's, keep it quiet.",
                    visibility="direct")
    async with runtime.db.transaction() as session:  # Carol: "Let the assistant read and cite my posts" off
        await session.execute(update(Account).where(Account.id == int(carol.id)).values(ai_reading=False))
    await embed_missing(runtime.db)
    await signed_in(client, bob)

    mine_to_see = await form_post(client, "/assistant", "/assistant", {"explain": dm["id"]})
    assert mine_to_see.status_code == 200  # Bob may see the message, but the assistant does not read it
    assert "does not read this post" in mine_to_see.text and chips(mine_to_see.text) == []
    opted_out = await form_post(client, "/assistant", "/assistant", {"explain": reply["id"]})
    assert "does not read this post" in opted_out.text and chips(opted_out.text) == []
    summary = await form_post(client, "/assistant", "/assistant", {"thread": opener["id"]})
    assert "1 reply from 1 member" in summary.text  # counted, as the thread page shows it, but not quoted
    assert chips(summary.text) == [f"/@alice/{opener['id']}"] and "gyoza" not in summary.text


async def test_the_kill_switch_turns_the_page_off_and_the_endpoints_answer_503(settings: Settings,
                                                                              alice: Member) -> None:
    async with app_client(settings.model_copy(update={"ai_enabled": False})) as (client, _):
        await signed_in(client, alice)
        page = await client.get("/assistant")
        assert page.status_code == 200 and "switched off by the operator" in page.text
        assert 'id="assistant-q"' not in page.text
        token = csrf_of(page.text)  # the sign-out form still carries one
        streamed = await client.post("/assistant/ask", data={"q": RAMEN}, headers={"X-CSRF-Token": token})
        assert streamed.status_code == 503
        posted = await client.post("/assistant", data={"q": RAMEN, "csrf": token})
        assert posted.status_code == 503 and "switched off by the operator" in posted.text


async def test_asking_needs_the_forms_csrf_token(client: httpx.AsyncClient, bob: Member) -> None:
    await signed_in(client, bob)
    for path in ("/assistant", "/assistant/ask"):
        refused = await client.post(path, data={"q": RAMEN})
        assert refused.status_code == 403, path
        forged = await client.post(path, data={"q": RAMEN, "csrf": "x" * 40})
        assert forged.status_code == 403, path


async def test_the_page_shares_the_members_ai_budget_with_v1(settings: Settings, alice: Member,
                                                               bob: Member) -> None:
    """A member past AGORA_RATE_LIMIT_AI gets a clear 429 on the page too: it is no way round /v1's budget."""
    async with app_client(settings.model_copy(update={"rate_limit_ai": 2, "rate_limit_ai_window": 10**6})) as (
            client, _):
        await signed_in(client, bob)
        token = csrf_of((await client.get("/assistant")).text)
        asked = [await client.post("/assistant/ask", data={"q": RAMEN}, headers={"X-CSRF-Token": token})
                 for _ in range(2)]
        assert [a.status_code for a in asked] == [200, 200]
        refused = await client.post("/assistant/ask", data={"q": RAMEN}, headers={"X-CSRF-Token": token})
        assert refused.status_code == 429 and refused.headers["X-RateLimit-Remaining"] == "0"
        posted = await client.post("/assistant", data={"q": RAMEN, "csrf": token})
        assert posted.status_code == 429
        # Counted per member, not per address: alice, from the same address, is served.
        await signed_in(client, alice)
        token = csrf_of((await client.get("/assistant")).text)
        served = await client.post("/assistant/ask", data={"q": RAMEN}, headers={"X-CSRF-Token": token})
        assert served.status_code == 200


async def test_without_javascript_a_follow_up_is_read_with_the_question_before(
        client: httpx.AsyncClient, runtime: Runtime, alice: Member, bob: Member) -> None:
    await post(client, alice, OPENED)
    closes = await post(client, alice, "The ramen place on Mill Lane closes at 10 pm on weekdays.")
    await post(client, alice, "The library closes at 6 pm on Mondays from January.")
    await embed_missing(runtime.db)
    await signed_in(client, bob)
    first = await form_post(client, "/assistant", "/assistant", {"q": RAMEN})
    assert f'name="previous" id="assistant-previous" value="{RAMEN}"' in first.text
    assert "Your next question can follow on from this one." in first.text
    follow_up = await form_post(client, "/assistant", "/assistant",
                                {"q": "And when does it close?", "previous": RAMEN})
    assert chips(follow_up.text)[0] == f"/@alice/{closes['id']}"
    assert f'value="{RAMEN} And when does it close?"' in follow_up.text

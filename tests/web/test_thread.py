"""The thread page and what a member does to a post in the browser: like, repost, bookmark, edit, delete."""

from __future__ import annotations

import httpx

from tests.factories import Member, post
from tests.web.pages import csrf_of, form_post, signed_in

HTMX = {"HX-Request": "true"}


def url(status: dict) -> str:
    return f"/@{status['account']['username']}/{status['id']}"


async def api_status(client: httpx.AsyncClient, member: Member, status_id: str) -> httpx.Response:
    return await client.get(f"/api/v1/statuses/{status_id}", headers=member.headers)


async def act(client: httpx.AsyncClient, page_url: str, card_id: str, action: str, *,
              htmx: bool = True) -> httpx.Response:
    """Press a card's button, as the browser does: the card's one form, with the button's `do`."""
    return await form_post(client, page_url, f"/web/statuses/{card_id}/react", {"do": action}, htmx=htmx)


# --- reading a thread -------------------------------------------------------------------------------

async def test_thread_shows_ancestors_oldest_first_then_replies_in_reading_order(
        client, alice: Member, bob: Member, carol: Member) -> None:
    root = await post(client, alice, "root of the talk")
    middle = await post(client, bob, "bob answers root", in_reply_to_id=root["id"])
    deep = await post(client, carol, "carol answers bob", in_reply_to_id=middle["id"])
    later = await post(client, alice, "alice answers bob later", in_reply_to_id=middle["id"])
    await post(client, carol, "unrelated post")
    # Signed out: a public thread is readable by anyone.
    page = await client.get(url(middle))
    assert page.status_code == 200
    html = page.text
    order = [html.index(text) for text in ("root of the talk", "bob answers root", "carol answers bob",
                                           "alice answers bob later")]
    assert order == sorted(order)
    assert "unrelated post" not in html
    assert 'class="post focus"' in html and f'id="post-{middle["id"]}"' in html
    # The replies sit in the container the compose box appends to; ancestors do not.
    replies = html[html.index('id="replies"'):]
    assert deep["id"] in replies and later["id"] in replies and root["id"] not in replies
    assert "Sign in to reply" in html and 'action="/web/statuses"' not in html


async def test_a_reply_sent_from_the_thread_form_appears_in_the_thread(client, alice: Member, bob: Member) -> None:
    root = await post(client, alice, "what do you think?")
    await signed_in(client, bob)
    page = await client.get(url(root))
    assert 'id="reply"' in page.text and f'name="in_reply_to_id" value="{root["id"]}"' in page.text
    sent = await form_post(client, url(root), "/web/statuses", {
        "status": "I think yes", "visibility": "public", "in_reply_to_id": root["id"], "target": "replies"})
    assert sent.status_code == 303
    thread = await client.get(sent.headers["location"], follow_redirects=True)
    assert thread.url.path == url(root)
    replies = thread.text[thread.text.index('id="replies"'):]
    assert "I think yes" in replies and "No replies yet." not in replies
    # With htmx, the new reply comes back to be appended to the replies.
    more = await form_post(client, url(root), "/web/statuses", {
        "status": "and another thing", "visibility": "public", "in_reply_to_id": root["id"],
        "target": "replies"}, htmx=True)
    assert more.status_code == 200 and 'hx-swap-oob="beforeend:#replies"' in more.text
    assert "and another thing" in more.text


async def test_wrong_name_unknown_and_odd_ids(client, alice: Member, bob: Member) -> None:
    mine = await post(client, alice, "where do I live")
    moved = await client.get(f"/@bob/{mine['id']}")
    assert moved.status_code == 302 and moved.headers["location"] == url(mine)
    for address in ("/@alice/123456789012345", "/@alice/not-a-number", "/@alice/-5", "/@alice/99999999999999999999"):
        missing = await client.get(address)
        assert missing.status_code == 404, address
        assert "This page does not exist" in missing.text
    boost = (await client.post(f"/api/v1/statuses/{mine['id']}/reblog", headers=bob.headers)).json()
    followed = await client.get(f"/@bob/{boost['id']}")
    assert followed.status_code == 302 and followed.headers["location"] == url(mine)


async def test_a_stranger_cannot_see_a_followers_only_thread(client, alice: Member, bob: Member,
                                                             carol: Member) -> None:
    secret = await post(client, alice, "only for my followers 🤫", visibility="private")
    public_reply_parent = await post(client, alice, "open question")
    await post(client, alice, "private aside", visibility="private", in_reply_to_id=public_reply_parent["id"])
    for who in (None, carol):
        client.cookies.clear()
        if who is not None:
            await signed_in(client, who)
        page = await client.get(url(secret))
        assert page.status_code == 404 and "only for my followers" not in page.text
        assert (await client.get(url(secret) + "/history")).status_code == 404
        assert (await client.get(f"/web/statuses/{secret['id']}/card")).status_code == 404
        # A private reply is left out of a public thread, too.
        thread = await client.get(url(public_reply_parent))
        assert thread.status_code == 200 and "private aside" not in thread.text
    await signed_in(client, alice)
    assert "only for my followers" in (await client.get(url(secret))).text
    # Acting on it needs seeing it.
    await signed_in(client, carol)
    liked = await act(client, url(public_reply_parent), secret["id"], "favourite")
    assert liked.status_code == 404
    assert (await api_status(client, alice, secret["id"])).json()["favourites_count"] == 0


# --- reactions ----------------------------------------------------------------------------------------

async def test_like_repost_and_bookmark_with_htmx_return_the_pressed_card(client, alice: Member,
                                                                          bob: Member) -> None:
    status = await post(client, alice, "press my buttons")
    await signed_in(client, bob)
    liked = await act(client, url(status), status["id"], "favourite")
    assert liked.status_code == 200 and liked.text.lstrip().startswith("<article")
    assert 'class="action like on"' in liked.text and 'aria-pressed="true"' in liked.text
    assert 'name="do" value="unfavourite"' in liked.text  # pressed again, it undoes
    assert '<span class="count">1</span>' in liked.text and "<html" not in liked.text
    assert (await api_status(client, bob, status["id"])).json()["favourited"] is True

    reposted = await act(client, url(status), status["id"], "reblog")
    assert 'class="action repost on"' in reposted.text
    saved = await act(client, url(status), status["id"], "bookmark")
    assert 'class="action bookmark on"' in saved.text
    seen = (await api_status(client, bob, status["id"])).json()
    assert seen["reblogged"] is True and seen["bookmarked"] is True and seen["reblogs_count"] == 1

    for action, button in (("unfavourite", "like"), ("unreblog", "repost"), ("unbookmark", "bookmark")):
        undone = await act(client, url(status), status["id"], action)
        assert undone.status_code == 200 and f'class="action {button}"' in undone.text
    assert 'aria-pressed="true"' not in undone.text
    seen = (await api_status(client, bob, status["id"])).json()
    assert (seen["favourited"], seen["reblogged"], seen["bookmarked"]) == (False, False, False)
    assert seen["favourites_count"] == 0 and seen["reblogs_count"] == 0


async def test_without_javascript_a_reaction_redirects_back(client, alice: Member, bob: Member) -> None:
    status = await post(client, alice, "no script here")
    await signed_in(client, bob)
    answer = await client.post(f"/web/statuses/{status['id']}/favourite",
                               data={"csrf": csrf_of((await client.get(url(status))).text)},
                               headers={"Referer": f"http://testserver{url(status)}"})
    assert answer.status_code == 303 and answer.headers["location"] == url(status)
    assert (await api_status(client, bob, status["id"])).json()["favourited"] is True
    page = await client.get(url(status))
    assert 'class="action like on"' in page.text


async def test_reactions_on_a_repost_card_act_on_the_reposted_post(client, alice: Member, bob: Member,
                                                                   carol: Member) -> None:
    original = await post(client, alice, "worth sharing")
    carols = (await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=carol.headers)).json()
    await signed_in(client, bob)
    # Bob reposts and likes from carol's repost card: the card stays carol's repost, now pressed.
    reposted = await act(client, url(original), carols["id"], "reblog")
    assert reposted.status_code == 200 and f'id="post-{carols["id"]}"' in reposted.text
    assert "carol reposted" in reposted.text and 'class="action repost on"' in reposted.text
    liked = await act(client, url(original), carols["id"], "favourite")
    assert 'class="action like on"' in liked.text
    seen = (await api_status(client, bob, original["id"])).json()
    assert seen["reblogged"] is True and seen["favourited"] is True and seen["reblogs_count"] == 2
    # Undoing from bob's own repost card removes that card's repost: the post itself comes back.
    bobs = (await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=bob.headers)).json()
    assert bobs["id"] != original["id"]
    undone = await act(client, url(original), bobs["id"], "unreblog")
    assert undone.status_code == 200 and f'id="post-{original["id"]}"' in undone.text
    assert 'class="action repost"' in undone.text
    assert (await api_status(client, bob, original["id"])).json()["reblogged"] is False


async def test_bad_reactions_are_refused(client, alice: Member, bob: Member) -> None:
    status = await post(client, alice, "refuse politely")
    await signed_in(client, bob)
    assert (await act(client, url(status), status["id"], "explode")).status_code == 404
    assert (await act(client, url(status), "123456789", "favourite")).status_code == 404
    assert (await act(client, url(status), "abc", "favourite")).status_code == 404
    dm = await post(client, bob, "@alice just us", visibility="direct")
    refused = await act(client, url(status), dm["id"], "reblog")
    assert refused.status_code == 400 and "cannot be reposted" in refused.text
    # Missing CSRF token: refused, nothing changed.
    forged = await client.post(f"/web/statuses/{status['id']}/favourite", headers=HTMX)
    assert forged.status_code == 403
    forged = await client.post(f"/web/statuses/{status['id']}/delete", data={"csrf": "nope"})
    assert forged.status_code == 403
    assert (await api_status(client, bob, status["id"])).json()["favourited"] is False
    # Signed out: off to sign in.
    client.cookies.clear()
    page = await client.get(url(status))
    answer = await client.post(f"/web/statuses/{status['id']}/favourite", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/sign_in")


# --- delete ------------------------------------------------------------------------------------------

async def test_only_the_author_can_delete_a_post(client, alice: Member, bob: Member) -> None:
    status = await post(client, alice, "mine to delete")
    await signed_in(client, bob)
    refused = await form_post(client, url(status), f"/web/statuses/{status['id']}/delete", htmx=True)
    assert refused.status_code == 404
    assert (await api_status(client, alice, status["id"])).status_code == 200

    await signed_in(client, alice)
    gone = await form_post(client, url(status), f"/web/statuses/{status['id']}/delete", htmx=True)
    assert gone.status_code == 200 and gone.text == ""
    assert (await api_status(client, alice, status["id"])).status_code == 404
    assert (await client.get(url(status))).status_code == 404

    # Deleted from its own page with htmx: the browser leaves the page, which no longer exists.
    third = await post(client, alice, "delete me with htmx on my page")
    page = await client.get(url(third))
    left = await client.post(f"/web/statuses/{third['id']}/delete", data={"csrf": csrf_of(page.text)},
                             headers={**HTMX, "HX-Current-URL": f"http://testserver{url(third)}"})
    assert left.status_code == 200 and left.headers["HX-Redirect"] == "/home"

    # Without JavaScript, from the post's own page: home, since the page is gone.
    other = await post(client, alice, "delete me from my page")
    page = await client.get(url(other))
    answer = await client.post(f"/web/statuses/{other['id']}/delete", data={"csrf": csrf_of(page.text)},
                               headers={"Referer": f"http://testserver{url(other)}"})
    assert answer.status_code == 303 and answer.headers["location"] == "/home"


# --- edit and history ----------------------------------------------------------------------------------

async def test_edit_with_htmx_shows_the_edited_card_and_history_lists_both_versions(
        client, alice: Member) -> None:
    status = await post(client, alice, "first draft")
    await signed_in(client, alice)
    form = await client.get(url(status) + "/edit", headers={**HTMX, "HX-Target": f"post-{status['id']}"})
    assert form.status_code == 200 and "<html" not in form.text
    assert "first draft</textarea>" in form.text and f'hx-get="/web/statuses/{status["id"]}/card"' in form.text
    saved = await form_post(client, url(status), f"/web/statuses/{status['id']}/edit",
                            {"status": "second draft", "spoiler_text": "", "card": status["id"]}, htmx=True)
    assert saved.status_code == 200 and saved.text.lstrip().startswith("<article")
    assert "second draft" in saved.text and "Edited" in saved.text and url(status) + "/history" in saved.text
    assert (await api_status(client, alice, status["id"])).json()["content"] == "<p>second draft</p>"

    history = await client.get(url(status) + "/history")
    assert history.status_code == 200
    assert history.text.index("second draft") < history.text.index("first draft")  # newest first
    assert "Current version" in history.text and "Original" in history.text
    # Cancel brings the card back as it is.
    back = await client.get(f"/web/statuses/{status['id']}/card", headers=HTMX)
    assert back.status_code == 200 and "second draft" in back.text


async def test_edit_without_javascript_and_with_bad_input(client, alice: Member) -> None:
    status = await post(client, alice, "keep me")
    await signed_in(client, alice)
    page = await client.get(url(status) + "/edit")
    assert page.status_code == 200 and "<html" in page.text and "Edit post" in page.text
    token = csrf_of(page.text)
    empty = await client.post(f"/web/statuses/{status['id']}/edit",
                              data={"csrf": token, "status": "   ", "spoiler_text": "cw kept"})
    assert empty.status_code == 422 and "Write something." in empty.text and 'value="cw kept"' in empty.text
    huge = "长" * 501
    too_long = await client.post(f"/web/statuses/{status['id']}/edit", data={"csrf": token, "status": huge},
                                 headers=HTMX)
    assert too_long.status_code == 422 and "at most 500 characters; this one has 501" in too_long.text
    assert huge in too_long.text and 'aria-invalid="true"' in too_long.text
    long_cw = await client.post(f"/web/statuses/{status['id']}/edit",
                                data={"csrf": token, "status": "fine", "spoiler_text": "w" * 501})
    assert long_cw.status_code == 422 and "content warning can be at most 500" in long_cw.text
    assert (await api_status(client, alice, status["id"])).json()["content"] == "<p>keep me</p>"

    done = await client.post(f"/web/statuses/{status['id']}/edit",
                             data={"csrf": token, "status": "kept, then changed", "spoiler_text": "spoilers"})
    assert done.status_code == 303 and done.headers["location"] == url(status)
    seen = (await api_status(client, alice, status["id"])).json()
    assert seen["spoiler_text"] == "spoilers" and seen["edited_at"] is not None


async def test_nobody_else_can_edit_a_post(client, alice: Member, bob: Member) -> None:
    status = await post(client, alice, "hands off")
    await signed_in(client, bob)
    assert (await client.get(url(status) + "/edit")).status_code == 404
    page = await client.get(url(status))
    changed = await client.post(f"/web/statuses/{status['id']}/edit",
                                data={"csrf": csrf_of(page.text), "status": "bob was here"}, headers=HTMX)
    assert changed.status_code == 404
    seen = (await api_status(client, alice, status["id"])).json()
    assert seen["content"] == "<p>hands off</p>" and seen["edited_at"] is None
    # Signed out, the edit form sends the visitor to sign in.
    client.cookies.clear()
    assert (await client.get(url(status) + "/edit")).headers["location"].startswith("/auth/sign_in")


async def test_unicode_survives_the_thread_and_an_edit(client, alice: Member, bob: Member) -> None:
    words = "你好，世界 🌍🎉 مرحبا بالعالم"
    status = await post(client, alice, words)
    await post(client, bob, "回复 👍 شكرا", in_reply_to_id=status["id"])
    page = await client.get(url(status))
    assert words in page.text and "回复 👍 شكرا" in page.text and 'dir="auto"' in page.text
    await signed_in(client, alice)
    edited = "编辑过 ✏️ تم التعديل"
    saved = await form_post(client, url(status), f"/web/statuses/{status['id']}/edit",
                            {"status": edited, "spoiler_text": "剧透 ⚠️"}, htmx=True)
    assert saved.status_code == 200 and edited in saved.text and "剧透 ⚠️" in saved.text
    history = await client.get(url(status) + "/history")
    assert edited in history.text and words in history.text


async def test_editing_from_a_repost_card_puts_the_repost_card_back(client, alice: Member, bob: Member) -> None:
    status = await post(client, alice, "shared then fixed")
    boost = (await client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=bob.headers)).json()
    await signed_in(client, alice)
    form = await client.get(url(status) + "/edit", headers={**HTMX, "HX-Target": f"post-{boost['id']}"})
    assert f'id="post-{boost["id"]}"' in form.text and f'name="card" value="{boost["id"]}"' in form.text
    saved = await form_post(client, "/home", f"/web/statuses/{status['id']}/edit",
                            {"status": "shared and fixed", "card": boost["id"]}, htmx=True)
    assert saved.status_code == 200 and f'id="post-{boost["id"]}"' in saved.text
    assert "bob reposted" in saved.text and "shared and fixed" in saved.text
    # A card id that is not this post or a repost of it is ignored: the post's own card comes back.
    other = await post(client, alice, "something else")
    saved = await form_post(client, "/home", f"/web/statuses/{status['id']}/edit",
                            {"status": "fixed twice", "card": other["id"]}, htmx=True)
    assert f'id="post-{status["id"]}"' in saved.text and "something else" not in saved.text

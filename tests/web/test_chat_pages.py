"""Chat in the browser, through the real app: the inbox with unread counts and previews, message
requests, a conversation (oldest first, tombstones, edits, reactions, receipts), sending from the
form (twice with one client id: one message), new chats and groups, privacy (non-members 404), and
the page's event stream carrying chat from the moment the page was rendered."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from agora.models import MediaAttachment
from agora.web.session import SESSION_COOKIE
from tests.chat.helpers import direct, follow, group, history, send
from tests.factories import Member
from tests.streaming import WAIT, open_sse
from tests.web.pages import csrf_of, form_post, signed_in
from tests.web.test_live import web_session

CHAT_BADGE = re.compile(r'class="badge chat-badge" data-count="(\d+)"')


def chat_badge(html: str) -> int:
    counts = {int(c) for c in CHAT_BADGE.findall(html)}
    assert len(counts) == 1, f"the side and bottom navs disagree or are missing: {counts}"
    return counts.pop()


def message_ids(html: str) -> list[str]:
    return re.findall(r'<li class="msg[^"]*" id="msg-(\d+)"', html)


async def test_inbox_shows_unread_counts_previews_and_the_nav_badge(client, alice: Member, bob: Member) -> None:
    await follow(client, alice, bob)  # so bob's chat lands in alice's inbox, not her requests
    chat = await direct(client, bob, alice)
    await send(client, bob, chat["id"], "first, from bob")
    await send(client, bob, chat["id"], "and a second one <b>bold</b>")
    await signed_in(client, alice)

    home = await client.get("/home")
    assert chat_badge(home.text) == 2
    inbox = await client.get("/chat")
    assert inbox.status_code == 200
    row = re.search(rf'<li class="chat-row unread" id="chat-row-{chat["id"]}">(.*?)</li>', inbox.text, re.S)
    assert row, inbox.text[:2000]
    assert "bob" in row.group(1) and "and a second one &lt;b&gt;bold&lt;/b&gt;" in row.group(1)  # escaped, never HTML
    assert re.search(r'<span class="badge chat-unread">2<', row.group(1))

    # Opening the conversation shows it oldest first and reads it: the badge on that very page is 0.
    opened = await client.get(f"/chat/{chat['id']}")
    assert opened.status_code == 200
    assert opened.text.index("first, from bob") < opened.text.index("and a second one")
    assert chat_badge(opened.text) == 0
    assert chat_badge((await client.get("/home")).text) == 0
    again = await client.get("/chat")
    assert f'<li class="chat-row" id="chat-row-{chat["id"]}">' in again.text

    # Alice answers: the preview says so.
    await send(client, alice, chat["id"], "hi bob")
    assert "You: hi bob" in (await client.get("/chat")).text


async def test_message_requests_wait_until_accepted_or_declined(client, alice: Member, bob: Member,
                                                                carol: Member) -> None:
    from_bob = await direct(client, bob, alice)  # alice follows neither: both are requests
    await send(client, bob, from_bob["id"], "hello from a stranger")
    from_carol = await direct(client, carol, alice)
    await send(client, carol, from_carol["id"], "buy my stuff")
    await signed_in(client, alice)

    inbox = await client.get("/chat")
    assert "hello from a stranger" not in inbox.text and "Requests (2)" in inbox.text
    assert chat_badge(inbox.text) == 0  # requests are not unread messages
    requests = await client.get("/chat?tab=requests")
    assert "hello from a stranger" in requests.text and "buy my stuff" in requests.text

    accepted = await client.post(f"/web/chat/{from_bob['id']}/accept", data={"csrf": csrf_of(requests.text)})
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/chat/{from_bob['id']}"
    declined = await client.post(f"/web/chat/{from_carol['id']}/decline", data={"csrf": csrf_of(requests.text)})
    assert declined.status_code == 303 and declined.headers["location"] == "/chat?tab=requests"

    inbox = await client.get("/chat")
    assert "hello from a stranger" in inbox.text and "buy my stuff" not in inbox.text
    assert "Requests (" not in inbox.text
    assert "buy my stuff" not in (await client.get("/chat?tab=requests")).text


async def test_a_request_opened_offers_accept_and_answering_accepts_it(client, alice: Member, bob: Member) -> None:
    chat = await direct(client, bob, alice)
    await send(client, bob, chat["id"], "may I?")
    await signed_in(client, alice)
    opened = await client.get(f"/chat/{chat['id']}")
    assert "wants to send you messages" in opened.text and f'action="/web/chat/{chat["id"]}/accept"' in opened.text
    # Reading a request tells its sender nothing ("Seen" would tell a stranger the account is read).
    theirs = await client.get(f"/api/v1/chats/{chat['id']}", headers=bob.headers)
    assert theirs.json()["read_markers"] == []
    answer = await form_post(client, f"/chat/{chat['id']}", f"/web/chat/{chat['id']}/messages",
                             {"text": "sure", "client_id": "answer-1"})
    assert answer.status_code == 303
    assert "You: sure" in (await client.get("/chat")).text  # in the inbox now, not the requests


async def test_sending_from_the_form_and_sending_twice_makes_one_message(client, alice: Member, bob: Member) -> None:
    chat = await direct(client, alice, bob)
    await signed_in(client, alice)
    page = await client.get(f"/chat/{chat['id']}")
    assert 'id="chat-send"' in page.text and 'name="client_id"' in page.text
    form = {"csrf": csrf_of(page.text), "text": "Hello, Bob! 你好", "client_id": "web-123"}
    sent = await client.post(f"/web/chat/{chat['id']}/messages", data=form)
    assert sent.status_code == 303 and sent.headers["location"] == f"/chat/{chat['id']}#chat-send"
    again = await client.post(f"/web/chat/{chat['id']}/messages", data=form)  # a double click, a resend
    assert again.status_code == 303
    assert [m["text"] for m in await history(client, bob, chat["id"])] == ["Hello, Bob! 你好"]

    # The page script's send: the new message's HTML comes back to be put in place.
    scripted = await client.post(f"/web/chat/{chat['id']}/messages", headers={"HX-Request": "true"},
                                 data={**form, "client_id": "web-124", "text": "from the script"})
    assert scripted.status_code == 201
    assert '<li class="msg mine' in scripted.text and "from the script" in scripted.text
    replay = await client.post(f"/web/chat/{chat['id']}/messages", headers={"HX-Request": "true"},
                               data={**form, "client_id": "web-124", "text": "from the script"})
    assert replay.status_code == 200 and message_ids(replay.text) == message_ids(scripted.text)
    assert len(await history(client, bob, chat["id"])) == 2

    # Refused: said beside the box, what was typed kept; the script gets the message as text.
    empty = await client.post(f"/web/chat/{chat['id']}/messages", data={**form, "text": "   ", "client_id": "x1"})
    assert empty.status_code == 422 and "Write a message." in empty.text
    too_long = "a" * 10_001
    refused = await client.post(f"/web/chat/{chat['id']}/messages", data={**form, "text": too_long, "client_id": "x2"})
    assert refused.status_code == 422 and too_long in refused.text and 'aria-invalid="true"' in refused.text
    scripted_refusal = await client.post(f"/web/chat/{chat['id']}/messages", headers={"HX-Request": "true"},
                                         data={**form, "text": "", "client_id": "x3"})
    assert scripted_refusal.status_code == 422 and scripted_refusal.text == "Write a message."


async def test_the_conversation_shows_replies_edits_tombstones_reactions_and_receipts(
        client, alice: Member, bob: Member) -> None:
    chat = await direct(client, alice, bob)
    question = await send(client, alice, chat["id"], "lunch at noon?")
    answer = await send(client, bob, chat["id"], "yes!", reply_to_id=question["id"])
    oops = await send(client, bob, chat["id"], "something I regret")
    edited = await client.put(f"/api/v1/chats/{chat['id']}/messages/{answer['id']}", headers=bob.headers,
                              json={"text": "yes, at the usual place"})
    assert edited.status_code == 200
    assert (await client.delete(f"/api/v1/chats/{chat['id']}/messages/{oops['id']}",
                                headers=bob.headers)).status_code == 200
    await signed_in(client, alice)
    page = await client.get(f"/chat/{chat['id']}")
    assert "yes, at the usual place" in page.text and "Edited" in page.text
    assert "something I regret" not in page.text and "This message was deleted" in page.text
    quote = re.search(r'<a class="msg-quote" href="#msg-(\d+)">(.*?)</a>', page.text, re.S)
    assert quote and quote.group(1) == question["id"] and "lunch at noon?" in quote.group(2)
    # Bob answered, so he has read alice's question: "Seen" under it, her last message.
    assert re.search(rf'id="msg-{question["id"]}".*?<p class="chat-seen" id="chat-seen">Seen</p>', page.text, re.S)

    # React from the message's form; the button now says it is pressed, and pressing again removes it.
    action = f"/web/chat/{chat['id']}/messages/{answer['id']}/react"
    token = csrf_of(page.text)
    reacted = await client.post(action, data={"csrf": token, "do": "add:👍"}, headers={"HX-Request": "true"})
    assert reacted.status_code == 200
    pressed = r'value="remove:👍" class="reaction on" aria-pressed="true">👍 <span class="count">1<'
    assert re.search(pressed, reacted.text)
    removed = await client.post(action, data={"csrf": csrf_of(page.text), "do": "remove:👍"})
    assert removed.status_code == 303
    assert 'class="reaction on"' not in (await client.get(f"/chat/{chat['id']}")).text
    bad = await client.post(action, data={"csrf": csrf_of(page.text), "do": "add:no"}, headers={"HX-Request": "true"})
    assert bad.status_code == 400  # a toast, not a swap into the message

    # Alice writes again; once bob has read it, "Seen" shows under it.
    latest = await send(client, alice, chat["id"], "see you there")
    assert 'class="chat-seen"' not in (await client.get(f"/chat/{chat['id']}")).text
    read = await client.post(f"/api/v1/chats/{chat['id']}/read", headers=bob.headers, json={"message_id": latest["id"]})
    assert read.status_code == 200
    seen = await client.get(f"/chat/{chat['id']}")
    assert re.search(rf'id="msg-{latest["id"]}".*?<p class="chat-seen" id="chat-seen">Seen</p>', seen.text, re.S)


async def test_the_pieces_the_script_fetches(client, alice: Member, bob: Member) -> None:
    chat = await direct(client, alice, bob)
    first = await send(client, alice, chat["id"], "one")
    await send(client, bob, chat["id"], "two")
    await send(client, bob, chat["id"], "three")
    await signed_in(client, alice)
    newer = await client.get(f"/chat/{chat['id']}/messages", params={"after": first["id"]})
    assert newer.status_code == 200 and "<html" not in newer.text
    assert newer.text.index("two") < newer.text.index("three") and ">one<" not in newer.text
    one = await client.get(f"/chat/{chat['id']}/messages/{first['id']}")
    assert len(message_ids(one.text)) == 1 and "one" in one.text
    count = await client.get("/web/chat/unread")
    assert count.json() == {"unread": 2, "requests": 0}
    token = csrf_of((await client.get("/chat")).text)
    read = await client.post(f"/web/chat/{chat['id']}/read", data={"message_id": first["id"]},
                             headers={"X-CSRF-Token": token})  # as the script sends it
    assert read.status_code == 204
    typing = await client.post(f"/web/chat/{chat['id']}/typing", headers={"X-CSRF-Token": token})
    assert typing.status_code == 204
    forged = await client.post(f"/web/chat/{chat['id']}/read", data={"message_id": first["id"]})
    assert forged.status_code == 403  # no CSRF token


async def test_a_long_conversation_pages_back_and_speaks_the_readers_language(client, alice: Member,
                                                                               bob: Member) -> None:
    chat = await direct(client, alice, bob)
    for n in range(45):
        await send(client, bob if n % 2 else alice, chat["id"], f"message number {n}.")
    await signed_in(client, alice)
    latest = await client.get(f"/chat/{chat['id']}")
    assert "message number 44." in latest.text and "message number 4." not in latest.text
    older = re.search(r'<a class="more" href="(/chat/\d+\?before=\d+)">Show older messages</a>', latest.text)
    assert older
    back = await client.get(older.group(1))
    assert "message number 4." in back.text and "message number 0." in back.text
    assert "message number 5." not in back.text and "Show the latest messages" in back.text
    assert 'data-paged-back="true"' in back.text  # the script appends nothing new to an older page

    german = await client.get(f"/chat/{chat['id']}", headers={"Accept-Language": "de"})
    assert 'placeholder="Nachricht schreiben"' in german.text and ">Senden<" in german.text
    chinese = await client.get("/chat", headers={"Accept-Language": "zh-CN"})
    assert "新消息" in chinese.text and "消息请求" in chinese.text


async def test_new_message_and_new_group(client, alice: Member, bob: Member, carol: Member) -> None:
    await signed_in(client, alice)
    unknown = await form_post(client, "/chat", "/web/chat/direct", {"username": "nobody"})
    assert unknown.status_code == 422 and "No member is called @nobody." in unknown.text
    in_dialog = await form_post(client, "/chat", "/web/chat/direct", {"username": "@nobody"}, htmx=True)
    assert in_dialog.status_code == 422 and "<html" not in in_dialog.text and 'value="nobody"' in in_dialog.text
    started = await form_post(client, "/chat", "/web/chat/direct", {"username": "@Bob"})
    assert started.status_code == 303
    again = await form_post(client, "/chat", "/web/chat/direct", {"username": "bob"}, htmx=True)
    assert again.headers["HX-Redirect"] == started.headers["location"]  # one direct chat per pair

    missing = await form_post(client, "/chat/new/group", "/web/chat/group", {"name": "Trip", "members": "bob, ghost"})
    assert missing.status_code == 422 and "No member is called @ghost." in missing.text
    assert 'value="bob, ghost"' in missing.text  # what was typed is kept
    made = await form_post(client, "/chat/new/group", "/web/chat/group", {"name": "Trip 🏔", "members": "@bob carol"})
    assert made.status_code == 303
    page = await client.get(made.headers["location"])
    assert "<h1 dir=\"auto\">Trip 🏔</h1>" in page.text and "3 members" in page.text
    assert "created the group" in page.text and "added" in page.text and "@carol" in page.text
    assert "Owner" in page.text and "Leave group" in page.text


async def test_managing_a_group(client, alice: Member, bob: Member, carol: Member) -> None:
    await follow(client, bob, alice)
    chat = await group(client, alice, bob, name="Book club")
    gid = chat["id"]
    await signed_in(client, alice)
    renamed = await form_post(client, f"/chat/{gid}", f"/web/chat/{gid}/rename", {"name": "Readers"})
    assert renamed.status_code == 303
    added = await form_post(client, f"/chat/{gid}", f"/web/chat/{gid}/members", {"members": "carol"})
    assert added.status_code == 303
    page = await client.get(f"/chat/{gid}")
    assert "renamed the group to “Readers”" in page.text and "Invited" in page.text  # carol does not follow alice
    unknown = await form_post(client, f"/chat/{gid}", f"/web/chat/{gid}/members", {"members": "ghost"})
    assert unknown.status_code == 422 and "No member is called @ghost." in unknown.text
    assert re.search(r'<details class="chat-info" id="chat-info" open>', unknown.text)
    removed = await form_post(client, f"/chat/{gid}", f"/web/chat/{gid}/members/{carol.id}/remove")
    assert removed.status_code == 303
    assert "removed" in (await client.get(f"/chat/{gid}")).text

    # Bob is a plain member: no rename form, no remove buttons; he may still add and leave.
    await signed_in(client, bob)
    his = await client.get(f"/chat/{gid}")
    assert f'/web/chat/{gid}/rename' not in his.text and "/remove" not in his.text
    refused = await form_post(client, f"/chat/{gid}", f"/web/chat/{gid}/rename", {"name": "Mine now"})
    assert refused.status_code == 403
    left = await form_post(client, f"/chat/{gid}", f"/web/chat/{gid}/leave")
    assert left.status_code == 303 and left.headers["location"] == "/chat"
    assert (await client.get(f"/chat/{gid}")).status_code == 404


async def test_non_members_get_404_everywhere(client, alice: Member, bob: Member, carol: Member) -> None:
    chat = await direct(client, alice, bob)
    message = await send(client, alice, chat["id"], "just between us")
    await signed_in(client, carol)
    csrf = csrf_of((await client.get("/chat")).text)
    for path in (f"/chat/{chat['id']}", f"/chat/{chat['id']}/messages", f"/chat/{chat['id']}/messages/{message['id']}"):
        answer = await client.get(path)
        assert answer.status_code == 404 and "just between us" not in answer.text, path
    for action, data in ((f"/web/chat/{chat['id']}/messages", {"text": "let me in", "client_id": "c1"}),
                         (f"/web/chat/{chat['id']}/messages/{message['id']}/react", {"do": "add:👍"}),
                         (f"/web/chat/{chat['id']}/typing", {}), (f"/web/chat/{chat['id']}/read", {})):
        answer = await client.post(action, data={"csrf": csrf, **data})
        assert answer.status_code == 404, action
    assert (await client.get("/chat/12345")).status_code == 404
    assert (await client.get("/chat/not-an-id")).status_code == 404
    assert [m["text"] for m in await history(client, bob, chat["id"])] == ["just between us"]


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    answer = await client.get("/chat")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/sign_in")


async def test_the_page_stream_carries_chat_from_the_page_cursor_and_resumes_after_a_reconnect(
        live_server, alice: Member, bob: Member) -> None:
    cookie = await web_session(live_server.url, bob)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=WAIT, cookies={SESSION_COOKIE: cookie}) as http:
        chat = await direct(http, alice, bob)
        page = await http.get(f"/chat/{chat['id']}")
        cursor = re.search(r'data-chat-cursor="(\d+)"', page.text).group(1)
        await send(http, alice, chat["id"], "sent while the page loads")  # before its stream is open
        async with open_sse(live_server.url, "/web/live", cookies={SESSION_COOKIE: cookie},
                            params={"cursor": cursor}) as live:
            first = await live.until(live.event("chat.message"), what="the message sent during the load")
            assert first.json()["message"]["text"] == "sent while the page loads" and first.id
            assert (await http.post(f"/api/v1/chats/{chat['id']}/typing", headers=alice.headers)).status_code == 200
            typing = await live.until(live.event("chat.typing"), what="alice typing")
            assert typing.json()["account"]["username"] == "alice"
        await send(http, alice, chat["id"], "sent while away")
        # EventSource reconnects to the same address with the last id it saw: that id wins.
        async with open_sse(live_server.url, "/web/live", cookies={SESSION_COOKIE: cookie}, params={"cursor": cursor},
                            headers={"Last-Event-ID": first.id}) as again:
            await again.until(again.event("chat.ready"), what="the end of the replay")
            assert [e.json()["message"]["text"] for e in again.received if e.event == "chat.message"] \
                == ["sent while away"]


async def test_editing_your_own_message_in_place(client, alice: Member, bob: Member) -> None:
    chat = await direct(client, alice, bob)
    mine = await send(client, alice, chat["id"], "see you at noom")
    theirs = await send(client, bob, chat["id"], "sure")
    await signed_in(client, alice)
    page = await client.get(f"/chat/{chat['id']}")
    assert f'href="/chat/{chat["id"]}?edit={mine["id"]}#msg-{mine["id"]}"' in page.text
    assert f"?edit={theirs['id']}" not in page.text  # only your own messages offer "Edit"

    # Without JavaScript the link opens the page with the form in the message's place; the script
    # fetches the same form for the one message.
    for url in (f"/chat/{chat['id']}?edit={mine['id']}", f"/chat/{chat['id']}/messages/{mine['id']}?edit=1"):
        opened = await client.get(url)
        form = re.search(r'<form class="msg-edit".*?</form>', opened.text, re.S)
        assert form and ">see you at noom</textarea>" in form.group(0), url
    assert 'class="msg-edit"' not in (await client.get(f"/chat/{chat['id']}/messages/{theirs['id']}?edit=1")).text

    action = f"/web/chat/{chat['id']}/messages/{mine['id']}/edit"
    saved = await form_post(client, f"/chat/{chat['id']}", action, {"text": "see you at noon"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/chat/{chat['id']}#msg-{mine['id']}"
    shown = await client.get(f"/chat/{chat['id']}")
    assert "see you at noon" in shown.text and "noom" not in shown.text
    assert re.search(rf'id="msg-{mine["id"]}".*?class="edited"[^>]*>Edited<', shown.text, re.S)
    assert [m["text"] for m in await history(client, bob, chat["id"])][-1] == "see you at noon"

    scripted = await form_post(client, f"/chat/{chat['id']}", action, {"text": "noon, by the fountain"}, htmx=True)
    assert scripted.status_code == 200 and message_ids(scripted.text) == [mine["id"]]
    assert "noon, by the fountain" in scripted.text and 'class="msg-edit"' not in scripted.text

    # Refused: the form again with the reason, what was typed kept; nothing changes.
    empty = await form_post(client, f"/chat/{chat['id']}", action, {"text": "  "}, htmx=True)
    assert empty.status_code == 422 and "Write a message." in empty.text and 'class="msg-edit"' in empty.text
    too_long = "b" * 10_001
    refused = await form_post(client, f"/chat/{chat['id']}", action, {"text": too_long})
    assert refused.status_code == 422 and f">{too_long}</textarea>" in refused.text
    assert 'aria-invalid="true" aria-describedby="msg-edit-error-' in refused.text
    assert [m["text"] for m in await history(client, bob, chat["id"])][-1] == "noon, by the fountain"
    # Someone else's message cannot be edited.
    theirs_edit = await form_post(client, f"/chat/{chat['id']}",
                                  f"/web/chat/{chat['id']}/messages/{theirs['id']}/edit", {"text": "nope"})
    assert theirs_edit.status_code == 403
    assert (await history(client, bob, chat["id"]))[0]["text"] == "sure"  # newest first


async def test_muting_a_chat_marks_it_and_keeps_it_out_of_the_badge(client, alice: Member, bob: Member) -> None:
    await follow(client, alice, bob)
    chat = await direct(client, bob, alice)
    await send(client, bob, chat["id"], "first")
    await signed_in(client, alice)
    page = await client.get(f"/chat/{chat['id']}")
    assert "Chat info" in page.text and f'action="/web/chat/{chat["id"]}/mute"' in page.text
    assert 'class="chat-kind chat-muted"' not in page.text

    muted = await form_post(client, f"/chat/{chat['id']}", f"/web/chat/{chat['id']}/mute")
    assert muted.status_code == 303 and muted.headers["location"] == f"/chat/{chat['id']}"
    await send(client, bob, chat["id"], "while muted")
    inbox = await client.get("/chat")
    row = re.search(rf'id="chat-row-{chat["id"]}">(.*?)</li>', inbox.text, re.S)
    assert row and ">Muted<" in row.group(1)
    assert chat_badge(inbox.text) == 0 and (await client.get("/web/chat/unread")).json()["unread"] == 0
    page = await client.get(f"/chat/{chat['id']}")
    assert 'class="chat-kind chat-muted"' in page.text and "Unmute this chat" in page.text

    unmuted = await form_post(client, f"/chat/{chat['id']}", f"/web/chat/{chat['id']}/unmute")
    assert unmuted.status_code == 303
    await send(client, bob, chat["id"], "unmuted now")
    inbox = await client.get("/chat")
    row = re.search(rf'id="chat-row-{chat["id"]}">(.*?)</li>', inbox.text, re.S)
    assert row and ">Muted<" not in row.group(1) and chat_badge(inbox.text) == 1


async def test_searching_inside_a_conversation(client, alice: Member, bob: Member, carol: Member) -> None:
    chat = await direct(client, alice, bob)
    first = await send(client, alice, chat["id"], "pizza tonight?")
    await send(client, bob, chat["id"], "maybe")
    second = await send(client, bob, chat["id"], "No, PIZZA tomorrow")
    gone = await send(client, bob, chat["id"], "secret pizza place")
    assert (await client.delete(f"/api/v1/chats/{chat['id']}/messages/{gone['id']}",
                                headers=bob.headers)).status_code == 200
    await signed_in(client, alice)
    page = await client.get(f"/chat/{chat['id']}")
    assert f'action="/chat/{chat["id"]}/search"' in page.text and 'name="q" type="search"' in page.text

    found = await client.get(f"/chat/{chat['id']}/search", params={"q": "pizza"})
    assert found.status_code == 200
    links = re.findall(rf'href="/chat/{chat["id"]}\?before=(\d+)#msg-(\d+)"', found.text)
    assert [m for _b, m in links] == [second["id"], first["id"]]  # newest first; deleted and others left out
    assert "secret pizza place" not in found.text and "maybe" not in found.text
    # Each result opens the conversation at that message.
    before, target = links[1]
    at = await client.get(f"/chat/{chat['id']}", params={"before": before})
    assert at.status_code == 200 and target in message_ids(at.text)

    none = await client.get(f"/chat/{chat['id']}/search", params={"q": "sushi"})
    assert none.status_code == 200 and "No messages contain “sushi”." in none.text
    too_long = await client.get(f"/chat/{chat['id']}/search", params={"q": "x" * 201})
    assert too_long.status_code == 422 and "Search for at most 200 characters." in too_long.text
    await signed_in(client, carol)
    outsider = await client.get(f"/chat/{chat['id']}/search", params={"q": "pizza"})
    assert outsider.status_code == 404 and "pizza" not in outsider.text.split("<main", 1)[-1]


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image
    out = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(out, "PNG")
    return out.getvalue()


async def test_sending_an_image_with_its_description(client, runtime, alice: Member, bob: Member) -> None:
    chat = await direct(client, alice, bob)
    await signed_in(client, alice)
    page = await client.get(f"/chat/{chat['id']}")
    assert 'enctype="multipart/form-data"' in page.text and 'name="media" type="file"' in page.text

    sent = await form_post(client, f"/chat/{chat['id']}", f"/web/chat/{chat['id']}/messages",
                           {"text": "look", "alt": "A red square", "client_id": "img-1"},
                           files={"media": ("square.png", _png(), "image/png")})
    assert sent.status_code == 303, sent.text[:500]
    shown = await client.get(f"/chat/{chat['id']}")
    assert re.search(r'<a class="msg-media" href="/media/[^"]+"[^>]*><img src="/media/[^"]+" alt="A red square"',
                     shown.text)
    [message] = await history(client, bob, chat["id"])
    assert message["text"] == "look" and len(message["media_attachments"]) == 1
    # Sent again with the same client_id (a double click): one message, and no second copy of the image.
    again = await form_post(client, f"/chat/{chat['id']}", f"/web/chat/{chat['id']}/messages",
                            {"text": "look", "alt": "A red square", "client_id": "img-1"},
                            files={"media": ("square.png", _png(), "image/png")})
    assert again.status_code == 303 and len(await history(client, bob, chat["id"])) == 1
    async with runtime.db.transaction(write=False) as session:
        uploads = await session.scalar(select(func.count()).select_from(MediaAttachment).where(
            MediaAttachment.account_id == int(alice.id)))
    assert uploads == 1

    # An image alone is a message; the script gets it back to put in place.
    alone = await form_post(client, f"/chat/{chat['id']}", f"/web/chat/{chat['id']}/messages",
                            {"text": "", "alt": "", "client_id": "img-2"},
                            files={"media": ("square.png", _png(), "image/png")}, htmx=True)
    assert alone.status_code == 201 and 'class="msg-media"' in alone.text
    assert "Photo" in (await client.get("/chat")).text  # the inbox preview of an image without text

    broken = await form_post(client, f"/chat/{chat['id']}", f"/web/chat/{chat['id']}/messages",
                             {"text": "and this", "client_id": "img-3"},
                             files={"media": ("notes.png", b"not an image at all", "image/png")})
    assert broken.status_code == 422 and ">and this</textarea>" in broken.text
    assert 'id="chat-send-error" role="alert">' in broken.text  # not hidden: the reason shows under the box
    assert len(await history(client, bob, chat["id"])) == 2


async def test_pinning_a_message_and_the_pinned_list(client, alice: Member, bob: Member, carol: Member) -> None:
    chat = await direct(client, alice, bob)
    note = await send(client, bob, chat["id"], "the door code is 4711")
    await send(client, alice, chat["id"], "thanks")
    await signed_in(client, alice)
    page = await client.get(f"/chat/{chat['id']}")
    pin = f"/web/chat/{chat['id']}/messages/{note['id']}/pin"
    assert f'formaction="{pin}"' in page.text  # either side of a direct chat may pin
    assert "Pinned messages" not in page.text

    pinned = await client.post(pin, data={"csrf": csrf_of(page.text)}, headers={"HX-Request": "true"})
    assert pinned.status_code == 200 and "<html" not in pinned.text
    assert '<span class="pinned">Pinned</span>' in pinned.text and ">Unpin</button>" in pinned.text
    page = await client.get(f"/chat/{chat['id']}")
    listed = re.search(r'<ul class="chat-pinned"[^>]*>(.*?)</ul>', page.text, re.S)
    assert listed and "the door code is 4711" in listed.group(1) and "thanks" not in listed.group(1)
    assert f'href="/chat/{chat["id"]}?before={int(note["id"]) + 1}#msg-{note["id"]}"' in listed.group(1)
    assert [m["text"] for m in await history(client, bob, chat["id"], pinned="true")] == ["the door code is 4711"]

    unpinned = await client.post(f"/web/chat/{chat['id']}/messages/{note['id']}/unpin",
                                 data={"csrf": csrf_of(page.text)})  # without JavaScript: back to the message
    assert unpinned.status_code == 303 and unpinned.headers["location"] == f"/chat/{chat['id']}#msg-{note['id']}"
    after = await client.get(f"/chat/{chat['id']}")
    assert "Pinned messages" not in after.text and '<span class="pinned">' not in after.text

    # In a group only the owner and admins may pin: a member sees no "Pin" and is refused.
    club = await group(client, alice, bob, carol, name="Club")
    await follow(client, bob, alice)
    await client.post(f"/api/v1/chats/{club['id']}/accept", headers=bob.headers)
    said = await send(client, bob, club["id"], "meeting on friday")
    owner = await client.get(f"/chat/{club['id']}")
    assert f"/web/chat/{club['id']}/messages/{said['id']}/pin" in owner.text
    await signed_in(client, bob)
    his = await client.get(f"/chat/{club['id']}")
    assert his.status_code == 200 and "/pin" not in his.text
    one = await client.get(f"/chat/{club['id']}/messages/{said['id']}")  # what the script fetches
    assert one.status_code == 200 and "/pin" not in one.text
    refused = await client.post(f"/web/chat/{club['id']}/messages/{said['id']}/pin", data={"csrf": csrf_of(his.text)})
    assert refused.status_code == 403
    assert [m["text"] for m in await history(client, bob, club["id"], pinned="true")] == []


async def test_forwarding_a_message_to_another_conversation(client, alice: Member, bob: Member,
                                                            carol: Member) -> None:
    with_bob = await direct(client, alice, bob)
    with_carol = await direct(client, alice, carol)
    note = await send(client, bob, with_bob["id"], "party at eight, bring snacks")
    await signed_in(client, alice)
    page = await client.get(f"/chat/{with_bob['id']}")
    link = f'href="/chat/{with_bob["id"]}/messages/{note["id"]}/forward"'
    assert link in page.text

    picker = await client.get(f"/chat/{with_bob['id']}/messages/{note['id']}/forward")
    assert picker.status_code == 200 and "Forward message" in picker.text
    assert "party at eight, bring snacks" in picker.text
    for target in (with_carol, with_bob):
        assert f'name="to" value="{target["id"]}"' in picker.text
    client_id = re.search(rf'value="{with_carol["id"]}">\s*<input type="hidden" name="client_id" value="([^"]+)"',
                          picker.text)
    assert client_id
    form = {"csrf": csrf_of(picker.text), "to": with_carol["id"], "client_id": client_id.group(1)}
    action = f"/web/chat/{with_bob['id']}/messages/{note['id']}/forward"
    sent = await client.post(action, data=form)
    assert sent.status_code == 303 and sent.headers["location"] == f"/chat/{with_carol['id']}#chat-send"
    again = await client.post(action, data=form, headers={"HX-Request": "true"})  # a double click: one copy
    assert again.headers["HX-Redirect"] == f"/chat/{with_carol['id']}#chat-send"
    there = await client.get(f"/chat/{with_carol['id']}")
    assert len(message_ids(there.text)) == 1 and "party at eight, bring snacks" in there.text
    assert '<p class="msg-forwarded">Forwarded</p>' in there.text
    assert [m["text"] for m in await history(client, carol, with_carol["id"])] == ["party at eight, bring snacks"]

    # Not into a conversation you are not in, nor a message from one you cannot read.
    outsiders = await direct(client, bob, carol)
    csrf = csrf_of(there.text)
    assert (await client.post(action, data={"csrf": csrf, "to": outsiders["id"]})).status_code == 404
    secret = await send(client, bob, outsiders["id"], "just us two")
    stolen = await client.post(f"/web/chat/{with_bob['id']}/messages/{secret['id']}/forward",
                               data={"csrf": csrf, "to": with_carol["id"]})
    assert stolen.status_code == 404
    assert (await client.get(f"/chat/{outsiders['id']}/messages/{secret['id']}/forward")).status_code == 404
    assert (await client.post(action, data={"csrf": csrf, "to": "nope"})).status_code == 400
    german = await client.get(f"/chat/{with_bob['id']}/messages/{note['id']}/forward",
                              headers={"Accept-Language": "de"})
    assert "Nachricht weiterleiten" in german.text and "Forward message" not in german.text

from tests.chat.helpers import direct, group, history, replay, send


async def test_direct_chat_round_trip(client, alice, bob, carol):
    start = (await client.get("/api/v1/chats/events", headers=bob.headers)).json()["cursor"]
    chat = await direct(client, alice, bob)
    first = await send(client, alice, chat["id"], "hello @bob", client_id="c1")
    again = await send(client, alice, chat["id"], "hello @bob", client_id="c1")
    assert again["id"] == first["id"]
    assert [m["text"] for m in await history(client, alice, chat["id"])] == ["hello @bob"]
    events = (await replay(client, bob, start))["events"]
    assert [e["event"] for e in events] == ["chat.conversation", "chat.message"], events
    assert (await client.get(f"/api/v1/chats/{chat['id']}", headers=carol.headers)).status_code == 404
    requests = (await client.get("/api/v1/chats?requests=true", headers=bob.headers)).json()
    assert [c["id"] for c in requests] == [chat["id"]]
    assert requests[0]["unread_count"] == 1
    g = await group(client, alice, bob, carol)
    await send(client, carol, g["id"], "hi all")
    assert [m["kind"] for m in await history(client, bob, g["id"])] == ["text", "system", "system"]

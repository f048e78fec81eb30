"""A deleted message's images leave the disk too — unless a forwarded copy still shows them."""

from __future__ import annotations

from pathlib import Path

from tests.chat.helpers import direct, send, upload_image


def stored(settings, url: str) -> Path:
    return settings.media_dir / url.split("/media/", 1)[1]


async def test_deleting_a_message_removes_its_image_files(client, settings, alice, bob) -> None:
    chat = await direct(client, alice, bob)
    image = await upload_image(client, alice)
    sent = await send(client, alice, chat["id"], "look", media_ids=[image["id"]])
    files = [stored(settings, sent["media_attachments"][0][k]) for k in ("url", "preview_url")]
    assert all(f.exists() for f in files)
    response = await client.delete(f"/api/v1/chats/{chat['id']}/messages/{sent['id']}", headers=alice.headers)
    assert response.status_code == 200 and response.json()["media_attachments"] == []
    assert not any(f.exists() for f in files)


async def test_a_forwarded_copy_keeps_the_files_alive(client, settings, alice, bob, carol) -> None:
    chat = await direct(client, alice, bob)
    other = await direct(client, bob, carol)
    image = await upload_image(client, alice)
    sent = await send(client, alice, chat["id"], "look", media_ids=[image["id"]])
    forwarded = await send(client, bob, other["id"], "", forward_of_id=sent["id"])
    assert forwarded["forwarded"] is True and forwarded["media_attachments"][0]["url"] == \
        sent["media_attachments"][0]["url"]
    response = await client.delete(f"/api/v1/chats/{chat['id']}/messages/{sent['id']}", headers=alice.headers)
    assert response.status_code == 200
    assert stored(settings, forwarded["media_attachments"][0]["url"]).exists()
